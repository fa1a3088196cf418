"""pactmatch: partner matching and stakeholder mapping for Pact for Skills partnerships.

The core package holds what every layer shares: the frozen domain model, the NUTS region index,
settings, importers and the service that wires a store, an encoder and the recommender together.
"""

__version__ = "0.1.0"
