"""Shared fixtures: tiny hand-built data, stores, services, and the real CORDIS data when present."""

from __future__ import annotations

import csv
import gc
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from threadpoolctl import ThreadpoolController

from domain.accounts import Actor, Grant, Role
from domain.models import Membership, Organisation, Partnership
from embeddings import EmbeddingCache
from graph.embedded import EmbeddedStore
from pactmatch.accounts import AccountService
from pactmatch.service import PactmatchService
from tests.graph.cypher_lint import CypherLinter, RecordingDriver, SentStatement, StatementLog, check_sent

# These machines have two shared, noisy cores: a property's first draw can take seconds while the
# other core is busy. Timing is what benchmarks measure; here only the properties count.
settings.register_profile("shared-cores", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("shared-cores")

SHARED_DATA = Path(
    os.environ.get("PACTMATCH_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
CONSORTIA = SHARED_DATA / "consortia"

requires_shared_data = pytest.mark.skipif(
    not (CONSORTIA / "projects.csv").exists(), reason=f"real CORDIS data not found under {CONSORTIA}"
)


def cordis_slice(folder: Path, keep: Callable[[dict[str, str]], bool]) -> tuple[Path, Path]:
    """The real CORDIS projects ``keep`` accepts, and their participants, as files in ``folder``."""
    projects, participants = folder / "projects.csv", folder / "participants.csv"
    kept: set[str] = set()
    for source, target, wanted in (
        (CONSORTIA / "projects.csv", projects, keep),
        (CONSORTIA / "participants.csv", participants, lambda row: row["project_id"] in kept),
    ):
        with source.open(encoding="utf-8") as fh, target.open("w", encoding="utf-8") as out:
            reader = csv.DictReader(fh)
            writer = csv.DictWriter(out, fieldnames=reader.fieldnames or [])
            writer.writeheader()
            for row in reader:
                if wanted(row):
                    writer.writerow(row)
                    if target is projects:
                        kept.add(row["project_id"])
    return projects, participants


@pytest.fixture
def thawed_heap() -> Iterator[None]:
    """Nothing frozen when the test starts, and nothing left frozen after it: the service and the
    API freeze the whole heap (pactmatch.heap), and other tests count on the collector seeing it."""
    gc.unfreeze()
    yield
    gc.unfreeze()


def org(org_id: str, **kw: object) -> Organisation:
    data: dict[str, object] = {"name": f"Org {org_id}", "stakeholder_type": "sme", "country": "DE"}
    data.update(kw)
    return Organisation(org_id=org_id, **data)  # type: ignore[arg-type]


def partnership(pid: str, **kw: object) -> Partnership:
    data: dict[str, object] = {"name": f"Partnership {pid}"}
    data.update(kw)
    return Partnership(partnership_id=pid, **data)  # type: ignore[arg-type]


def member(org_id: str, pid: str, role: str = "member") -> Membership:
    return Membership(org_id=org_id, partnership_id=pid, role=role)  # type: ignore[arg-type]


def blas_threads() -> list[int]:
    """The thread count of every BLAS library numpy and scipy loaded."""
    return [lib.num_threads for lib in ThreadpoolController().select(user_api="blas").lib_controllers]


@pytest.fixture
def two_blas_threads() -> Iterator[list[int]]:
    """BLAS set to two threads for the test (their counts yielded); skipped where none runs two."""
    with ThreadpoolController().limit(limits=2, user_api="blas"):
        threads = blas_threads()
        if not threads or max(threads) < 2:
            pytest.skip("no BLAS here that runs more than one thread")
        yield threads


@pytest.fixture
def embedded_store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    store = EmbeddedStore(tmp_path / "store")
    yield store
    store.close()


@pytest.fixture
def hashing_service(embedded_store: EmbeddedStore, tmp_path: Path) -> PactmatchService:
    return PactmatchService(
        embedded_store, encoder="hashing", cache=EmbeddingCache(tmp_path / "cache.sqlite")
    )


#: Four small organisations with offers/wants in their descriptions, for the event tests.
EVENT_ORGS = [
    {"org_id": "u1", "name": "University of Ghent", "stakeholder_type": "higher_education", "country": "BE",
     "description": "Research and training in battery recycling"},
    {"org_id": "s1", "name": "Recycling SME", "stakeholder_type": "sme", "country": "BE",
     "description": "Battery recycling plant hiring technicians"},
    {"org_id": "v1", "name": "VET college", "stakeholder_type": "vet_provider", "country": "NL",
     "description": "Vocational training in recycling and welding"},
    {"org_id": "s2", "name": "Welding SME", "stakeholder_type": "sme", "country": "DE",
     "description": "Welding of steel structures, looking for apprentices"},
]  # fmt: skip


# -- Neo4j's linter over every statement the tests send over Bolt ---------------------------------
#: One linter process and one log for the session (module level so the summary can count them).
CYPHER_LINTER = CypherLinter()
#: Each statement is linted on a background thread as soon as it is first sent.
SENT_CYPHER = StatementLog(on_new=lambda sent: CYPHER_LINTER.prefetch(sent.text, sent.parameters))
#: The statements whose notes (warnings that fail nothing) were already shown.
_noted_cypher: set[SentStatement] = set()
#: Seconds the Bolt tests' teardowns waited for the linter (what linting them adds to the run).
_waited = [0.0]


@pytest.fixture(scope="session")
def cypher_linter() -> Iterator[CypherLinter]:
    """Neo4j's Cypher linter (``tools/cypher-lint``), started on first use."""
    yield CYPHER_LINTER
    CYPHER_LINTER.close()


@pytest.fixture(scope="session", autouse=True)
def recorded_cypher(cypher_linter: CypherLinter) -> Iterator[StatementLog]:
    """Every ``neo4j`` driver opened during the session records the statements it sends.

    ``GraphDatabase.driver`` itself is wrapped, so stores built by ``Neo4jStore.connect``, by the
    CLI, by the API's settings or by a test by hand all record alike; the Bolt tests talk to
    ArcadeDB, and this is how what they send is also checked against Neo4j's Cypher 5.
    """
    from neo4j import GraphDatabase

    real = GraphDatabase.driver
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            GraphDatabase,
            "driver",
            staticmethod(lambda *args, **kwargs: RecordingDriver(real(*args, **kwargs), SENT_CYPHER)),
        )
        yield SENT_CYPHER
    # Statements sent by the teardown of module- or session-wide fixtures.
    failing = check_sent(SENT_CYPHER.drain(), cypher_linter, _noted_cypher)
    if failing:
        pytest.fail("Neo4j's linter rejects Cypher sent over Bolt:\n" + "\n".join(failing), pytrace=False)


@pytest.fixture(autouse=True)
def lint_sent_cypher(recorded_cypher: StatementLog, cypher_linter: CypherLinter) -> Iterator[None]:
    """At the end of each test, lint what it sent over Bolt (nothing for most tests): an error
    fails the test that sent the statement (at its teardown)."""
    yield
    started = time.perf_counter()
    failing = check_sent(recorded_cypher.drain(), cypher_linter, _noted_cypher)
    _waited[0] += time.perf_counter() - started
    if failing:
        pytest.fail(
            "Neo4j's linter rejects Cypher this test sent over Bolt:\n" + "\n".join(failing), pytrace=False
        )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if CYPHER_LINTER.linted:
        terminalreporter.write_line(
            f"cypher-lint: Neo4j's linter checked {CYPHER_LINTER.linted} distinct statements "
            f"({len({s.text for s in SENT_CYPHER.distinct})} of them sent over Bolt; "
            f"{CYPHER_LINTER.ran} linted now, the rest cached) in {CYPHER_LINTER.seconds:.1f} s; "
            f"the Bolt tests waited {_waited[0]:.1f} s for it"
        )


#: The password every test account gets (10+ characters, as accounts require).
TEST_PASSWORD = "test-password-1"


def api_key(app: FastAPI, name: str, *grants: Grant) -> str:
    """A user ``name`` with ``grants`` in the app's store, and a new API key of theirs."""
    accounts: AccountService = app.state.accounts
    setup = Actor.cli("tests")
    if accounts.store.get_user(name) is None:
        accounts.add_user(name, TEST_PASSWORD, list(grants), setup)
    return accounts.create_key(name, "tests", setup)[1]


def client_as(app: FastAPI, name: str, *grants: Grant) -> TestClient:
    """A test client of ``app`` that sends an API key of a user holding ``grants``."""
    client = TestClient(app)
    client.headers["Authorization"] = f"Bearer {api_key(app, name, *grants)}"
    return client


def admin_client(app: FastAPI) -> TestClient:
    """A test client that calls the API as an admin (what every feature test of the API needs)."""
    return client_as(app, "test-admin", Grant(role=Role.ADMIN))


#: Who the tests' own service writes are made by (the audit log needs someone).
TEST_ACTOR = Actor.cli("tests")
