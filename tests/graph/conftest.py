"""The ``store`` fixture, parametrised over every store implementation.

``embedded`` is the SQLite store in a temporary directory. ``bolt`` is the Neo4j store talking
Bolt to a real ArcadeDB server (started once per test session from the bundled
``arcadedb-embedded`` JRE on free loopback ports), with a fresh database per test. No Neo4j
server exists on the build machines; ArcadeDB is the real Bolt server the suite runs against.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from graph.arcadedb_server import ArcadeDBServer
from graph.base import GraphStore
from graph.embedded import EmbeddedStore
from graph.neo4j_store import Neo4jStore

STORE_KINDS = ["embedded", pytest.param("bolt", marks=pytest.mark.bolt)]
ARCADEDB_PASSWORD = "pactmatch-test"
_databases = itertools.count(1)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start linting the Cypher builders' cases in the background when the session runs them:
    Neo4j's analysis takes tenths of a second per statement, and the tests before them hide it."""
    if any(item.nodeid.startswith("tests/graph/test_cypher_lint.py") for item in session.items):
        from tests.conftest import CYPHER_LINTER
        from tests.graph.test_cypher_lint import prefetch_cases

        prefetch_cases(CYPHER_LINTER)


@pytest.fixture(scope="session")
def arcadedb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArcadeDBServer]:
    """One ArcadeDB server (with Bolt) for the whole session, stopped at the end."""
    server = ArcadeDBServer(
        tmp_path_factory.mktemp("arcadedb"), password=ARCADEDB_PASSWORD, database="pactmatch", heap="768m"
    )
    with server:
        yield server


def fresh_bolt_store(server: ArcadeDBServer, **kwargs: object) -> Neo4jStore:
    """A Neo4j store on a new, empty database of ``server``."""
    name = f"t{next(_databases)}"
    server.ensure_database(name)
    return Neo4jStore.connect(
        server.bolt_uri,
        user=server.user,
        password=server.password,
        database=name,
        dialect="arcadedb",
        http_url=server.http_url,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def bolt_store(arcadedb: ArcadeDBServer) -> Iterator[Neo4jStore]:
    store = fresh_bolt_store(arcadedb)
    yield store
    store.close()
    arcadedb.drop_database(store.database)


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphStore]:
    if request.param == "embedded":
        s = EmbeddedStore(tmp_path / "store")
        yield s
        s.close()
    else:
        yield request.getfixturevalue("bolt_store")


@pytest.fixture
def reopen(store: GraphStore, request: pytest.FixtureRequest) -> Iterator[Callable[[], GraphStore]]:
    """Opens another store on the data of ``store``, as another process of the service would
    (for the embedded store: another SQLite connection to the file); all closed at the end."""
    opened: list[GraphStore] = []

    def another() -> GraphStore:
        if isinstance(store, EmbeddedStore):
            other: GraphStore = EmbeddedStore(store.path)
        else:
            assert isinstance(store, Neo4jStore)
            server: ArcadeDBServer = request.getfixturevalue("arcadedb")
            other = Neo4jStore.connect(
                server.bolt_uri,
                user=server.user,
                password=server.password,
                database=store.database,
                dialect="arcadedb",
                http_url=server.http_url,
            )
        opened.append(other)
        return other

    yield another
    for other in opened:
        other.close()
