"""The Neo4j store against a real Bolt server (ArcadeDB): what the contract suite does not cover.

Failure paths (server down, wrong credentials, unknown database, connection lost mid-import),
Bolt's message-size limit, rollback of a failed batch, and the candidate reads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from domain.candidates import CandidateFilters, PartnershipContext
from domain.errors import NotFoundError, StoreUnavailableError, StoreWriteError
from domain.models import StakeholderType
from embeddings import EmbeddingCache
from graph.arcadedb_server import ArcadeDBServer, free_port
from graph.base import CandidateReads, EntityKind
from graph.cypher import Label, embedding_properties
from graph.dialects import make_dialect
from graph.neo4j_store import Neo4jStore
from pactmatch.cli import app
from pactmatch.rankers import heuristic_ranker
from pactmatch.service import PactmatchService
from pactmatch.settings import Settings
from tests.conftest import member, org, partnership
from tests.graph.conftest import ARCADEDB_PASSWORD, fresh_bolt_store

pytestmark = pytest.mark.bolt


def test_server_down_at_start_up_is_a_clear_error() -> None:
    port = free_port()
    started = time.monotonic()
    with pytest.raises(
        StoreUnavailableError, match=f"cannot reach a graph database at bolt://127.0.0.1:{port}"
    ):
        Neo4jStore.connect(f"bolt://127.0.0.1:{port}", user="neo4j", password="x" * 8, database="neo4j")
    assert time.monotonic() - started < 15


def test_cli_exits_non_zero_with_one_line_when_the_server_is_down(tmp_path: Path) -> None:
    port = free_port()
    result = CliRunner().invoke(
        app, ["stats", "--store", f"bolt://127.0.0.1:{port}"], env={"PACTMATCH_CACHE_DIR": str(tmp_path)}
    )
    assert result.exit_code == 1
    assert "cannot reach a graph database" in result.output and "Traceback" not in result.output


#: Wrong credentials use a user of their own: ArcadeDB locks a user out after a few failed logins,
#: and the session's other tests need root.
INTRUDER = "intruder"


def test_wrong_credentials_and_unknown_database(arcadedb: ArcadeDBServer, tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailableError, match=f"authentication failed for user '{INTRUDER}'"):
        Neo4jStore.connect(arcadedb.bolt_uri, user=INTRUDER, password="wrong-password", database="pactmatch")
    with pytest.raises(StoreUnavailableError, match="database 'no_such_db' does not exist"):
        Neo4jStore.connect(arcadedb.bolt_uri, user="root", password=ARCADEDB_PASSWORD, database="no_such_db")
    env = {
        "PACTMATCH_NEO4J_USER": INTRUDER,
        "PACTMATCH_NEO4J_PASSWORD": "wrong-password",
        "PACTMATCH_NEO4J_DATABASE": "pactmatch",
        "PACTMATCH_CACHE_DIR": str(tmp_path),
    }
    result = CliRunner().invoke(app, ["stats", "--store", arcadedb.bolt_uri], env=env)
    assert result.exit_code == 1 and f"authentication failed for user '{INTRUDER}'" in result.output
    assert "Traceback" not in result.output


def test_api_answers_503_with_a_message_when_credentials_are_wrong(
    arcadedb: ArcadeDBServer, tmp_path: Path
) -> None:
    # A store handed a driver whose credentials the server rejects (e.g. a rotated password).
    from neo4j import GraphDatabase

    driver = GraphDatabase.driver(
        arcadedb.bolt_uri, auth=(INTRUDER, "rotated-password"), max_transaction_retry_time=1
    )
    store = Neo4jStore(driver, database="pactmatch", dialect=make_dialect("arcadedb"), user=INTRUDER)
    service = PactmatchService(store, encoder="hashing", cache=None)
    client = TestClient(create_app(Settings(encoder="hashing", cache_dir=tmp_path), service=service))
    client.headers["Authorization"] = "Bearer pm_0123456789ab_secret"  # checking it needs the store
    for path in ("/health", "/partnerships/p1/candidates", "/organisations"):
        response = client.get(path)
        assert response.status_code == 503, path
        assert f"authentication failed for user '{INTRUDER}'" in response.json()["detail"][0]["msg"]
        assert "Traceback" not in response.text
    # And the app refuses to start at all with wrong credentials in its settings.
    settings = Settings(
        store=arcadedb.bolt_uri, neo4j_user=INTRUDER, neo4j_password="wrong-password", cache_dir=tmp_path
    )
    with pytest.raises(StoreUnavailableError, match="authentication failed"):
        create_app(settings)


def test_embedding_batches_stay_under_the_bolt_message_limit(bolt_store: Neo4jStore) -> None:
    """2,000 × 1024-d vectors is ~18 MB of parameters: one message would exceed ArcadeDB's cap
    (and hang); byte-sized batches keep every message at a few MB."""
    n, dim = 2000, 1024
    bolt_store.import_batch([org(f"o{i}") for i in range(n)])
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    bolt_store.put_embeddings(
        EntityKind.ORGANISATION, "big", [(f"o{i}", f"h{i}", vectors[i]) for i in range(n)]
    )
    hashes = bolt_store.embedding_hashes(EntityKind.ORGANISATION, "big")
    assert len(hashes) == n and hashes["o1999"] == "h1999"


def test_large_artifact_round_trips_in_chunks(bolt_store: Neo4jStore) -> None:
    blob = np.random.default_rng(1).bytes(20 * 1024 * 1024 + 7)  # above the 16 MiB Bolt message cap
    bolt_store.put_artifact("big.bin", blob)
    assert bolt_store.get_artifact("big.bin") == blob
    bolt_store.put_artifact("big.bin", b"small now")
    assert bolt_store.get_artifact("big.bin") == b"small now"
    assert bolt_store.get_artifact("missing") is None


def test_a_failed_batch_rolls_back_the_whole_call_and_is_named(arcadedb: ArcadeDBServer) -> None:
    store = fresh_bolt_store(arcadedb, batch_size=2)
    try:
        store.import_batch([org(f"o{i}") for i in range(5)])
        good = np.eye(4, dtype=np.float32)
        store.put_embeddings(EntityKind.ORGANISATION, "m", [("o0", "h0", good[0])])  # creates the 4-d index
        version = store.version()
        rows = [(f"o{i}", f"new{i}", good[i % 4]) for i in range(4)]
        rows.append(("o4", "new4", np.ones(7, dtype=np.float32)))  # wrong dimension: the server refuses it
        with pytest.raises(StoreWriteError, match=r"embeddings batch 3 of 3.*rolled back"):
            store.put_embeddings(EntityKind.ORGANISATION, "m", rows)
        assert store.embedding_hashes(EntityKind.ORGANISATION, "m") == {"o0": "h0"}  # nothing of the call
        assert store.version() == version
    finally:
        store.close()
        arcadedb.drop_database(store.database)


def test_connection_lost_mid_import_leaves_nothing_partial(tmp_path: Path) -> None:
    """Kill the server (SIGKILL) during a large import: the import is reported as failed, and after
    a restart on the same data none of it is visible; importing again then works."""
    server = ArcadeDBServer(tmp_path / "adb", password=ARCADEDB_PASSWORD, database="crash", heap="512m")
    orgs = [org(f"o{i}", name=f"Organisation {i}") for i in range(4000)]
    parts = [partnership(f"p{j}") for j in range(800)]
    members = [member(f"o{(j * 7 + k) % 4000}", f"p{j}") for j in range(800) for k in range(25)]
    with server:
        store = Neo4jStore.connect(
            server.bolt_uri, user="root", password=ARCADEDB_PASSWORD, database="crash", dialect="arcadedb",
            http_url=server.http_url, batch_size=250, retry_seconds=1.0,
        )  # fmt: skip
        errors: list[BaseException] = []

        def run() -> None:
            try:
                store.import_batch(orgs, parts, members)
            except BaseException as exc:  # the test inspects it
                errors.append(exc)

        worker = threading.Thread(target=run)
        worker.start()
        time.sleep(1.5)
        assert worker.is_alive(), "the import finished before the server could be killed"
        server.kill()
        worker.join(60)
        assert not worker.is_alive()
        assert len(errors) == 1 and isinstance(errors[0], StoreWriteError | StoreUnavailableError)
        assert "import" in str(errors[0]) and "batch" in str(errors[0])
        server.start()  # same data directory and ports: recovery runs, uncommitted work is gone
        counts = store.counts()  # the same driver reconnects
        assert (counts.organisations, counts.partnerships, counts.memberships) == (0, 0, 0)
        again = store.import_batch(
            orgs[:50], parts[:10], [m for m in members[:250] if int(m.org_id[1:]) < 50]
        )
        assert again.organisations.created == 50 and store.counts().organisations == 50
        store.close()


def _small_graph(store: Neo4jStore) -> npt.NDArray[np.float32]:
    """p (scope DE11) has members a and b; a shares q with c and d, b shares r with d; e is alone.
    Vectors (model ``m``): a, c, d, e on axes 0..3 of 4, b none, p on axis 2 (so d is nearest)."""
    store.import_batch(
        [
            org("a", nuts_codes=["DE111"], stakeholder_type="vet_provider"),
            org("b", nuts_codes=["DE112"]),
            org("c", nuts_codes=["DE111"], name="Org c"),
            org("d", nuts_codes=["FR101"], stakeholder_type="higher_education"),
            org("e", nuts_codes=["DE212"]),
        ],
        [partnership("p", scope_regions=["DE11"]), partnership("q"), partnership("r")],
        [member(o, pid) for o, pid in ("ap", "bp", "aq", "cq", "dq", "br", "dr")],
    )
    vectors = np.eye(4, dtype=np.float32)
    store.put_embeddings(EntityKind.ORGANISATION, "m", [(o, o, vectors[i]) for i, o in enumerate("acde")])
    store.put_embeddings(EntityKind.PARTNERSHIP, "m", [("p", "p", vectors[2])])
    store.prepare_vector_search(EntityKind.ORGANISATION, "m")
    return vectors


def test_candidate_reads_answer_each_fixed_read_in_domain_words(bolt_store: Neo4jStore) -> None:
    vectors = _small_graph(bolt_store)
    others = CandidateFilters(exclude_org_ids=("a", "b"))

    def work(reads: CandidateReads) -> dict[str, Any]:
        context = reads.context("p")
        co = reads.co_members(["a", "b"])
        keys = {k: m.key for k, m in zip("ab", context.members, strict=True)}
        everyone = reads.columns([k for ks in co.values() for k in ks], None, others)
        return {
            "context": context,
            "co": co,
            "keys": keys,
            "by_key": {r.key: r.org_id for r in everyone},
            "everyone": everyone,
            "nearest": reads.nearest(vectors[2], 5, others),
            "closest": reads.closest(vectors[2], others, 10),
            "first_by_id": reads.closest(None, others, 2),
            "inside": reads.inside(["DE11"], vectors[2], others, 10),
            "sme_columns": reads.columns(
                [k for ks in co.values() for k in ks],
                vectors[2],
                CandidateFilters(stakeholder_types=(StakeholderType.SME,)),
            ),
            "partnerships": reads.partnerships_of(["a", "c", "d"]),
        }

    got = bolt_store.read_candidates("m", work)
    context: PartnershipContext = got["context"]
    assert context.partnership_id == "p" and context.scope_regions == ("DE11",)
    np.testing.assert_allclose(context.vector, vectors[2])
    assert [(m.org_id, m.stakeholder_type, m.region_path, m.vector) for m in context.members] == [
        ("a", StakeholderType.VET_PROVIDER, ("DE", "DE1", "DE11", "DE111"), None),  # p has its own vector
        ("b", StakeholderType.SME, ("DE", "DE1", "DE11", "DE112"), None),
    ]
    by_key = got["by_key"]
    co = {z: sorted(by_key[k] for k in ks) for z, ks in got["co"].items()}
    assert co == {"a": ["b", "c", "d"], "b": ["a", "d"]}  # members are each other's co-members too
    assert all(not r.eligible for r in got["everyone"] if r.org_id in "ab")
    nearest = got["nearest"]
    assert nearest is not None and nearest[0].org_id == "d" and nearest[0].similarity == pytest.approx(1.0)
    assert {r.org_id: r.eligible for r in nearest} == {"a": False, "c": True, "d": True, "e": True}
    assert [(r.org_id, r.similarity) for r in got["closest"]] == [
        ("d", pytest.approx(1.0)),
        ("c", 0.0),
        ("e", 0.0),
    ]
    assert [r.org_id for r in got["first_by_id"]] == ["c", "d"] and got["first_by_id"][0].similarity == 0.0
    assert [r.org_id for r in got["inside"]] == ["c"]  # a and b are inside too, but excluded
    c = got["inside"][0]
    assert (c.name, c.stakeholder_type, c.region_path) == (
        "Org c",
        StakeholderType.SME,
        ("DE", "DE1", "DE11", "DE111"),
    )
    # without the members' exclusion, b (an SME) passes; a and d are of other types
    assert {r.org_id: r.eligible for r in got["sme_columns"]} == {
        "a": False,
        "b": True,
        "c": True,
        "d": False,
    }
    shared = got["partnerships"]
    assert (
        len(shared["a"] & shared["c"]) == 1
        and len(shared["a"] & shared["d"]) == 1
        and not shared["c"] - shared["a"]
    )


def test_candidate_reads_of_an_unknown_partnership(bolt_store: Neo4jStore) -> None:
    with pytest.raises(NotFoundError):
        bolt_store.read_candidates("m", lambda reads: reads.context("nope"))


def test_the_index_cannot_answer_without_vectors_of_the_model_or_after_a_write(
    bolt_store: Neo4jStore,
) -> None:
    """The vector search runs in a transaction of its own (a failing procedure would abort the
    read's): with no index for the model it answers None, as it does when a write landed since the
    read began (its hits would come from another version); the exact scan then answers."""
    vectors = _small_graph(bolt_store)
    assert (
        bolt_store.read_candidates("other-model", lambda r: r.nearest(vectors[0], 5, CandidateFilters()))
        is None
    )

    def write_in_between(reads: CandidateReads) -> Any:
        bolt_store.import_batch([org("late")])
        return reads.nearest(vectors[0], 5, CandidateFilters())

    assert bolt_store.read_candidates("m", write_in_between) is None
    assert bolt_store.read_candidates("m", lambda r: r.nearest(vectors[0], 5, CandidateFilters())) is not None


def test_bolt_candidates_are_the_snapshot_paths_on_a_graph_every_source_works_on(
    bolt_store: Neo4jStore, tmp_path: Path
) -> None:
    """120 organisations with random vectors, linked and regional ones, through the service: the
    database path (the store's reads and matching's search) gives the snapshot path's lists."""
    _vector_graph(bolt_store)
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    bolt = PactmatchService(bolt_store, encoder="hashing", cache=cache, ranker_factory=heuristic_ranker)
    snapshot_path = PactmatchService(
        bolt_store, encoder="hashing", cache=cache, ranker_factory=heuristic_ranker
    )
    snapshot_path._candidate_source = lambda: None  # type: ignore[method-assign]
    for flt in (
        CandidateFilters(),
        CandidateFilters(countries=("FR",)),
        CandidateFilters(exclude_org_ids=("o007",)),
    ):
        for top_k in (1, 10):
            expected = snapshot_path.candidates("p", top_k, flt)
            got = bolt.candidates("p", top_k, flt)
            assert [(i.org_id, round(i.score, 6)) for i in got.items] == [
                (i.org_id, round(i.score, 6)) for i in expected.items
            ]


def test_concurrent_candidate_queries_get_their_own_answers(bolt_store: Neo4jStore, tmp_path: Path) -> None:
    """Twelve API threads at once, each its own read transaction, get what a query alone gets."""
    _vector_graph(bolt_store)
    service = PactmatchService(bolt_store, encoder="hashing", cache=EmbeddingCache(tmp_path / "c.sqlite"))
    filters = [
        CandidateFilters(),
        CandidateFilters(exclude_org_ids=("o007",)),
        CandidateFilters(countries=("FR",)),
    ]
    alone = [service.candidates("p", 10, f).items for f in filters]
    results: dict[int, Any] = {}
    errors: list[BaseException] = []

    def query(n: int) -> None:
        try:
            results[n] = service.candidates("p", 10, filters[n % 3]).items
        except BaseException as exc:  # surfaced below, with the thread's own error
            errors.append(exc)

    threads = [threading.Thread(target=query, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors and len(results) == 12
    for n, got in results.items():
        assert got == alone[n % 3]


def test_embeddings_are_node_properties_with_a_vector_index(bolt_store: Neo4jStore) -> None:
    bolt_store.import_batch([org("a"), org("b")])
    vectors = np.eye(3, dtype=np.float32)
    bolt_store.put_embeddings(
        EntityKind.ORGANISATION, "m", [("a", "ha", vectors[0]), ("b", "hb", vectors[1])]
    )
    bolt_store.prepare_vector_search(EntityKind.ORGANISATION, "m")  # the index is built before any search
    bolt_store.prepare_vector_search(EntityKind.PARTNERSHIP, "m")  # never searched: nothing to build
    props = embedding_properties("m")
    index = bolt_store.dialect.vector_index_name(Label.ORGANISATION, props.vector)
    with bolt_store._session() as session:
        hits = session.run(
            "CALL db.index.vector.queryNodes($index, 1, $v) YIELD node, score RETURN node.org_id AS id, score",
            index=index, v=[0.0, 1.0, 0.0],
        ).data()  # fmt: skip
    assert hits[0]["id"] == "b" and hits[0]["score"] == pytest.approx(1.0)


def _random_embeddings(
    store: Neo4jStore, rng: np.random.Generator, org_ids: list[str]
) -> npt.NDArray[np.float32]:
    """Random unit 8-d vectors for ``org_ids`` and, the last one, for partnership ``p`` (model
    ``m``), with the organisations' vector index built; returns the vectors, in that order."""
    vectors = rng.normal(size=(len(org_ids) + 1, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store.put_embeddings(EntityKind.ORGANISATION, "m", [(o, o, vectors[i]) for i, o in enumerate(org_ids)])
    store.put_embeddings(EntityKind.PARTNERSHIP, "m", [("p", "p", vectors[-1])])
    store.prepare_vector_search(EntityKind.ORGANISATION, "m")
    return vectors


def _vector_graph(
    store: Neo4jStore,
    *,
    n: int = 120,
    linked: int = 30,
    seed: int = 5,
    in_de: Callable[[int], bool] = lambda i: i % 2 == 1,
) -> tuple[list[str], npt.NDArray[np.float32]]:
    """``n`` organisations with random 8-d vectors (DE111 where ``in_de``, else FR101), two of them
    members of ``p`` (scope DE11, a vector too) and the first ``linked`` in ``q``: every source of
    a candidate query has work."""
    rng = np.random.default_rng(seed)
    ids = [f"o{i:03d}" for i in range(n)]
    store.import_batch(
        [org(o, nuts_codes=["DE111" if in_de(i) else "FR101"]) for i, o in enumerate(ids)],
        [partnership("p", scope_regions=["DE11"]), partnership("q")],
        [member("o000", "p"), member("o001", "p"), *(member(o, "q") for o in ids[:linked])],
    )
    return ids, _random_embeddings(store, rng, ids)
