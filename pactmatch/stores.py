"""Open the configured store: a directory → the embedded store; a Bolt URI → the Neo4j store.

Application composition, not a store: it reads the settings and picks an implementation.
"""

from __future__ import annotations

from pathlib import Path

from domain.errors import InvalidInputError
from graph.base import GraphStore
from graph.embedded import EmbeddedStore
from pactmatch.settings import Settings

BOLT_SCHEMES = ("bolt://", "bolt+s://", "bolt+ssc://", "neo4j://", "neo4j+s://", "neo4j+ssc://")


def is_bolt_uri(location: str) -> bool:
    return location.strip().lower().startswith(BOLT_SCHEMES)


def open_store(location: str, settings: Settings | None = None) -> GraphStore:
    """The store at ``location``; raises :class:`~domain.errors.StoreUnavailableError` if unreachable."""
    settings = settings or Settings()
    if is_bolt_uri(location):
        from graph.neo4j_store import Neo4jStore

        store: GraphStore = Neo4jStore.connect(
            location,
            user=settings.neo4j_user,
            password=settings.neo4j_password.get_secret_value(),
            database=settings.neo4j_database,
            dialect=settings.neo4j_dialect,
            http_url=settings.arcadedb_http_url,
        )
        return store
    if "://" in location:
        raise InvalidInputError(
            f"unsupported store URI {location!r}: use a directory or one of {', '.join(BOLT_SCHEMES)}"
        )
    return EmbeddedStore(Path(location).expanduser())


def public_description(store: GraphStore) -> str:
    """What a store may be called where others read it (``/health``, report headers): an embedded
    store by its directory's name, never the server's absolute path; a server store as it describes
    itself (host and database, never credentials)."""
    if isinstance(store, EmbeddedStore):
        return f"embedded store {store.path.name!r}"
    return store.description
