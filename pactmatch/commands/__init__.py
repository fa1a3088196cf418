"""Feature command groups of the CLI; each module exposes ``register(app)``."""
