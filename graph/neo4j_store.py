"""The Neo4j store: the production store, over Bolt, for a Neo4j server/cluster, Aura, or ArcadeDB.

It implements the same :class:`~graph.base.GraphStore` contract as the embedded store (one
contract suite runs against both) and adds candidate retrieval pushed down to the database
(:meth:`Neo4jStore.candidate_features`), so that API workers stay stateless and a candidate
query never needs the whole graph in memory.

Design notes
------------
* The store is *handed* a :class:`neo4j.Driver`; :meth:`Neo4jStore.connect` builds one, checks
  connectivity and credentials up front and turns every failure into a
  :class:`~domain.errors.StoreUnavailableError` with a clear message.
* All Cypher lives in :mod:`graph.cypher`; what differs between Neo4j and ArcadeDB lives in
  :mod:`graph.dialects`.
* Writes run in managed transactions (``execute_write``), which the driver retries on transient
  errors (deadlocks, leader switches, a dropped connection) for ``max_transaction_retry_time``.
* **Atomicity of** :meth:`import_batch`: one transaction for the whole call, holding several
  ``UNWIND $rows`` statements of at most ``batch_size`` rows and ``max_batch_bytes`` of parameters
  each (Bolt servers cap a message; ArcadeDB's cap is 16 MiB and it *hangs* the client beyond
  it). Either all statements commit or none does; a failure names the statement's batch.
* Every data write transaction ends by bumping the ``(:PactmatchMeta {key: 'version'})`` counter,
  the service's snapshot cache key (it also serialises writers, which is what we want); artifact
  writes leave it alone, as in the embedded store.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from scipy import sparse

from domain.candidates import CandidateFilters
from domain.errors import (
    ConflictError,
    NotFoundError,
    PactmatchError,
    StoreUnavailableError,
    StoreWriteError,
)
from domain.graph_data import GraphData, MembershipRow, OrgRow, PartnershipRow
from domain.models import Membership, Organisation, Partnership, Role
from domain.regions import ancestors, nuts_country
from graph import cypher
from graph.base import (
    EntityKind,
    ImportCounts,
    OrganisationFilter,
    Page,
    PartnershipFilter,
    StoreCounts,
    UpsertCounts,
)
from graph.candidate_pool import CandidatePool, PoolFrame
from graph.columns_cache import DEFAULT_MAX_ENTRIES, ColumnsCache, ColumnsCacheStats
from graph.cypher import Label, Rel
from graph.dialects import ArcadeHttp, Dialect, default_arcadedb_http_url, detect_dialect, make_dialect
from graph.neighbourhood_cache import DEFAULT_MAX_IDS, NeighbourhoodCache, NeighbourhoodCacheStats
from matching.candidates import (
    REGION_TIERS,
    CandidateFeatures,
    PoolGoal,
    ScreenedOut,
    SignalBounds,
    adamic_adar_from_links,
    could_enter,
    deepest_code,
    graph_bound_to_pass,
    heuristic_scores,
    heuristic_signals,
    pool_is_exact,
    reference_regions_from,
    select_top,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_BATCH_SIZE = 1000
#: Parameters per statement. Far below ArcadeDB's 16 MiB Bolt message cap (beyond it the server
#: drops the message and the client waits forever) and small enough to keep server memory flat.
DEFAULT_MAX_BATCH_BYTES = 4 * 1024 * 1024
#: Seconds the driver keeps retrying a transaction on transient errors: long enough to ride out a
#: deadlock or a cluster leader switch, short enough that a dead server fails a request quickly.
DEFAULT_RETRY_SECONDS = 5.0
ARTIFACT_CHUNK_BYTES = 2 * 1024 * 1024
SCHEMA_VERSION = 1


# -- batching -----------------------------------------------------------------------------------
def approx_bytes(value: object) -> int:
    """A generous estimate of a parameter's PackStream size (to keep each message small)."""
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, int | float):
        return 9
    if isinstance(value, str):
        return len(value.encode("utf-8")) + 5
    if isinstance(value, bytes | bytearray):
        return len(value) + 5
    if isinstance(value, dict):
        return 5 + sum(approx_bytes(k) + approx_bytes(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return 5 + sum(approx_bytes(v) for v in value)
    return len(str(value)) + 5


@dataclass(frozen=True)
class Batch:
    rows: list[Any]
    start: int  # index of the first row in the whole list
    number: int  # 1-based
    total: int


def batches(
    rows: Sequence[T], max_rows: int, max_bytes: int, size: Callable[[T], int] = approx_bytes
) -> list[Batch]:
    """Consecutive slices of at most ``max_rows`` rows and (roughly) ``max_bytes`` parameter bytes.

    A single row larger than ``max_bytes`` travels alone.
    """
    chunks: list[tuple[int, list[Any]]] = []
    current: list[Any] = []
    start = used = 0
    for i, row in enumerate(rows):
        n = size(row)
        if current and (len(current) >= max_rows or used + n > max_bytes):
            chunks.append((start, current))
            current, start, used = [], i, 0
        current.append(row)
        used += n
    if current:
        chunks.append((start, current))
    return [Batch(rows, start, k + 1, len(chunks)) for k, (start, rows) in enumerate(chunks)]


# -- domain → node properties --------------------------------------------------------------------
def region_path(code: str | None) -> list[str]:
    """The code's ancestors at NUTS levels 0..3 ("" below the code's level; Neo4j lists hold no nulls)."""
    if not code:
        return ["", "", "", ""]
    return [code[: level + 2] if level <= len(code) - 2 else "" for level in range(4)]


def primary_code(org: Organisation) -> str | None:
    """The code the regional signal uses: the first NUTS code, else the country (as in the snapshot)."""
    if org.nuts_codes:
        return org.nuts_codes[0]
    return nuts_country(org.country) if org.country else None


def organisation_props(org: Organisation) -> dict[str, Any]:
    path = region_path(primary_code(org))
    # Candidate region filters look at every code's ancestors (or the country without codes).
    filter_regions = sorted({a for c in org.nuts_codes for a in ancestors(c)})
    if not filter_regions and org.country:
        filter_regions = [nuts_country(org.country)]
    return {
        "name": org.name,
        "stakeholder_type": org.stakeholder_type.value,
        "sme": org.sme,
        "country": org.country,
        "nuts0": path[0] or None,
        "region_path": path,
        "regions": filter_regions,
        "data": org.model_dump_json(),
    }


def organisation_locations(org: Organisation) -> list[str]:
    """Regions an organisation is LOCATED_IN: its codes and its country (``PART_OF`` adds the rest)."""
    targets = set(org.nuts_codes)
    if org.country:
        targets.add(nuts_country(org.country))
    return sorted(targets)


def partnership_props(p: Partnership) -> dict[str, Any]:
    return {
        "name": p.name,
        "kind": p.kind.value,
        "parent_id": p.parent_id,
        "scope": list(p.scope_regions),
        "start_date": p.start_date.isoformat() if p.start_date else None,
        "data": p.model_dump_json(),
    }


def _since(value: object) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _membership(org_id: object, pid: object, role: object, since: object) -> Membership:
    return Membership.model_validate(
        {"org_id": org_id, "partnership_id": pid, "role": role, "since": _since(since)}
    )


# -- the store ------------------------------------------------------------------------------------
class Neo4jStore:
    """A :class:`~graph.base.GraphStore` in a Neo4j-compatible graph database, over Bolt.

    Parameters
    ----------
    driver : neo4j.Driver
        Owned by the store from now on (closed by :meth:`close`).
    database : str
        The database every session uses.
    dialect : Dialect
        Server-specific parts (vector index DDL, cosine scale); see :mod:`graph.dialects`.
    batch_size, max_batch_bytes : int
        Rows and parameter bytes per ``UNWIND`` statement.
    neighbourhood_cache_ids : int
        Budget of the per-member neighbourhood cache of candidate queries, in element ids
        (:class:`~graph.neighbourhood_cache.NeighbourhoodCache`; ``0`` turns it off).
    columns_cache_entries : int
        Organisations whose screening columns candidate queries keep
        (:class:`~graph.columns_cache.ColumnsCache`; ``0`` turns it off).
    parallel_reads : bool
        Run a candidate query's vector search in a read transaction of its own on a small thread
        pool, beside the query's other reads (default); ``False`` runs the same read first.
    """

    def __init__(
        self,
        driver: Any,
        *,
        database: str,
        dialect: Dialect | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES,
        description: str | None = None,
        user: str = "",
        neighbourhood_cache_ids: int = DEFAULT_MAX_IDS,
        columns_cache_entries: int = DEFAULT_MAX_ENTRIES,
        parallel_reads: bool = True,
    ) -> None:
        if batch_size < 1 or max_batch_bytes < 1024:
            raise ValueError("batch_size must be ≥ 1 and max_batch_bytes ≥ 1024")
        self._driver = driver
        self.database = database
        self.dialect = dialect or make_dialect("neo4j")
        self.batch_size = batch_size
        self.max_batch_bytes = max_batch_bytes
        self.user = user
        self.description = description or f"Neo4j store ({self.dialect.name}), database {database!r}"
        self._vector_indexes: set[tuple[Label, str]] = set()
        self._vector_dims: dict[tuple[Label, str], int] = {}
        # Context and neighbourhood of recent candidate queries, keyed by the store version: a
        # widened pool (or the next page of the same list) does not traverse the graph again.
        # Its Adamic–Adar values are keyed by element id and matched in later transactions: sound
        # because element ids are reused only after a delete, and every delete bumps the version.
        self._candidate_cache = _LruCache(64)
        # Each member's co-members across partnerships, keyed by the store version too: big
        # organisations sit in many partnerships, so most members of a new query were expanded
        # by an earlier one and the two-hop expansion runs only for the others.
        self._neighbourhood_cache = NeighbourhoodCache(neighbourhood_cache_ids)
        # The type and region of organisations read by any source, keyed by the store version:
        # what screening linked candidates needs, so it reads only those no query has read yet.
        self._columns_cache = ColumnsCache(columns_cache_entries)
        # How many organisations lie inside a region, keyed by (store version, code): what a
        # widening query checks before listing a country (see _CandidateQuery._region_goal).
        self._region_sizes = _LruCache(4096)
        self._query_counts: Counter[str] = Counter()
        self._query_counts_lock = threading.Lock()
        #: Called with (step, seconds) for each statement of a candidate query when set: how
        #: ``bench/bench_bolt.py`` breaks a query's time down. ``None`` in the product.
        self.step_timer: Callable[[str, float], None] | None = None
        #: Whether a candidate query runs its vector search in a transaction of its own, beside
        #: the neighbourhood's reads (see :meth:`_CandidateQuery._start_vector_search`).
        self.parallel_reads = parallel_reads
        self._background: ThreadPoolExecutor | None = None
        self._background_lock = threading.Lock()

    @classmethod
    def connect(
        cls,
        uri: str,
        *,
        user: str,
        password: str,
        database: str,
        dialect: str | None = None,
        http_url: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        retry_seconds: float = DEFAULT_RETRY_SECONDS,
        connection_timeout: float = 5.0,
        neighbourhood_cache_ids: int = DEFAULT_MAX_IDS,
        columns_cache_entries: int = DEFAULT_MAX_ENTRIES,
        parallel_reads: bool = True,
    ) -> Neo4jStore:
        """Open a driver, check server, credentials and database, and bootstrap the schema.

        ``dialect`` is ``neo4j``, ``arcadedb`` or ``None`` (detected from the server's agent
        string). ``http_url`` is ArcadeDB's HTTP API (default: port 2480 on the Bolt host), used
        only to create vector indexes.
        """
        from neo4j import GraphDatabase
        from neo4j.exceptions import AuthError, ConfigurationError, DriverError, Neo4jError

        where = _redact(uri)
        try:
            driver = GraphDatabase.driver(
                uri,
                auth=(user, password),
                max_transaction_retry_time=retry_seconds,
                connection_timeout=connection_timeout,
                connection_acquisition_timeout=max(connection_timeout * 2, 10.0),
            )
        except (ConfigurationError, ValueError) as exc:
            raise StoreUnavailableError(f"invalid graph database URI {where}: {exc}") from exc
        try:
            driver.verify_connectivity()
            agent = driver.get_server_info().agent or ""
            with driver.session(database=database) as session:
                session.run(cypher.SERVER_CHECK).consume()
        except AuthError as exc:
            driver.close()
            raise StoreUnavailableError(f"authentication failed for user {user!r} at {where}") from exc
        except Neo4jError as exc:
            driver.close()
            if "DatabaseNotFound" in (exc.code or ""):
                raise StoreUnavailableError(f"database {database!r} does not exist at {where}") from exc
            raise StoreUnavailableError(
                f"graph database at {where} refused the connection: {exc.message}"
            ) from exc
        except (DriverError, OSError) as exc:
            driver.close()
            raise StoreUnavailableError(f"cannot reach a graph database at {where}: {exc}") from exc
        name = dialect or detect_dialect(agent)
        http = None
        if name.strip().lower() == "arcadedb":
            http = ArcadeHttp(http_url or default_arcadedb_http_url(uri), user, password, database)
        store = cls(
            driver,
            database=database,
            dialect=make_dialect(name, http),
            batch_size=batch_size,
            description=f"Neo4j store ({name}) at {where}, database {database!r}",
            user=user,
            neighbourhood_cache_ids=neighbourhood_cache_ids,
            columns_cache_entries=columns_cache_entries,
            parallel_reads=parallel_reads,
        )
        try:
            store.ensure_schema()
        except BaseException:
            store.close()
            raise
        return store

    # -- plumbing -------------------------------------------------------------------------------
    def neighbourhood_cache_stats(self) -> NeighbourhoodCacheStats:
        """How full the per-member neighbourhood cache is and how often it answered (benchmarks)."""
        return self._neighbourhood_cache.stats()

    def columns_cache_stats(self) -> ColumnsCacheStats:
        """How full the screening columns cache is and how often it answered (benchmarks)."""
        return self._columns_cache.stats()

    def candidate_query_counts(self) -> dict[str, int]:
        """How candidate queries with a goal settled it since the store opened (benchmarks and
        monitoring): by the first pool, or by widening (and which sources were widened), or not."""
        with self._query_counts_lock:
            return dict(self._query_counts)

    def _count(self, *events: str) -> None:
        with self._query_counts_lock:
            self._query_counts.update(events)

    def _session(self) -> Any:
        return self._driver.session(database=self.database)

    def _failure(self, exc: Exception, what: str, *, write: bool) -> PactmatchError:
        """The product error for a driver error (never a driver exception past this class)."""
        from neo4j.exceptions import AuthError, ConstraintError, DriverError, Neo4jError

        if isinstance(exc, PactmatchError):
            return exc
        if isinstance(exc, AuthError):
            return StoreUnavailableError(f"authentication failed for user {self.user!r} ({self.description})")
        if isinstance(exc, ConstraintError):
            return ConflictError(f"{what}: a uniqueness constraint was violated; nothing was written")
        if isinstance(exc, Neo4jError):
            if "DatabaseNotFound" in (exc.code or ""):
                return StoreUnavailableError(
                    f"database {self.database!r} does not exist ({self.description})"
                )
            message = exc.message or str(exc)
            if write:
                return StoreWriteError(f"{what} failed and was rolled back: {message}")
            return StoreUnavailableError(f"{what} failed: {message}")
        if isinstance(exc, DriverError | OSError):
            if write:
                return StoreWriteError(
                    f"{what} failed: the graph database became unreachable ({exc}); the transaction was not committed"
                )
            return StoreUnavailableError(f"{what} failed: the graph database is unreachable ({exc})")
        raise exc

    def _read(self, work: Callable[[Any], T], what: str) -> T:
        try:
            with self._session() as session:
                return session.execute_read(work)  # type: ignore[no-any-return]
        except Exception as exc:
            raise self._failure(exc, what, write=False) from exc

    def _write(self, work: Callable[[Any], T], what: str | Callable[[], str], *, data: bool = True) -> T:
        """Run ``work`` in one managed write transaction that also bumps the version counter.

        ``data=False`` for artifacts: they are not snapshot data, so writing them must not
        invalidate the caches keyed by :meth:`version` (as in the embedded store).
        """

        def unit(tx: Any) -> T:
            result = work(tx)
            if data:
                tx.run(cypher.BUMP_VERSION).consume()
            return result

        try:
            with self._session() as session:
                return session.execute_write(unit)  # type: ignore[no-any-return]
        except Exception as exc:
            raise self._failure(exc, what() if callable(what) else what, write=True) from exc

    def _run_schema(self, statement: str) -> None:
        try:
            with self._session() as session:
                session.run(statement).consume()
        except Exception as exc:
            raise self._failure(exc, "schema set-up", write=True) from exc

    def ensure_schema(self) -> None:
        """Constraints, indexes and the version counter (idempotent; run at connect)."""
        for statement in cypher.schema_statements():
            self._run_schema(statement)
        self._run_schema(cypher.INIT_VERSION)

    def close(self) -> None:
        with self._background_lock:
            background, self._background = self._background, None
        if background is not None:
            background.shutdown(wait=True)
        self._driver.close()

    def _in_background(self, fn: Callable[[], T]) -> Future[T]:
        """Run ``fn`` on the store's small thread pool (started on first use).

        Four threads: each candidate query sends at most one statement there, so four serve four
        queries at once; more wait for a thread, which delays them but cannot block them (the
        work never waits on the query that submitted it).
        """
        with self._background_lock:
            if self._background is None:
                self._background = ThreadPoolExecutor(max_workers=4, thread_name_prefix="pactmatch-bolt")
            return self._background.submit(fn)

    def _vector_hits(self, statement: str, params: dict[str, Any], version: int) -> list[Any] | None:
        """A candidate query's vector search, in a read transaction of its own; ``None`` when the
        store is no longer at ``version`` (a write landed since the query began: the query's own
        transaction then answers with the exact scan, so its pool comes from one version)."""
        timer = self.step_timer

        def work(tx: Any) -> list[Any] | None:
            if _version_of(tx.run(cypher.VERSION).single()) != version:
                return None
            started = time.perf_counter()
            found = tx.run(statement, params).single()
            if timer is not None:
                timer("vector search", time.perf_counter() - started)
            return list(found["hits"]) if found is not None else []

        return self._read(work, "the vector search for candidates")

    def version(self) -> int:
        def work(tx: Any) -> int:
            return _version_of(tx.run(cypher.VERSION).single())

        return self._read(work, "reading the store version")

    # -- writes ---------------------------------------------------------------------------------
    def _statement_batches(self, rows: Sequence[Any]) -> list[Batch]:
        return batches(rows, self.batch_size, self.max_batch_bytes)

    def import_batch(
        self,
        organisations: Sequence[Organisation] = (),
        partnerships: Sequence[Partnership] = (),
        memberships: Sequence[Membership] = (),
    ) -> ImportCounts:
        step = [_FIRST_STEP]

        def work(tx: Any) -> ImportCounts:
            step[0] = _FIRST_STEP  # a retried transaction starts over
            counts = ImportCounts()
            counts.organisations = self._upsert_organisations(tx, organisations, step)
            counts.partnerships = self._upsert_partnerships(tx, partnerships, step)
            counts.memberships = self._upsert_memberships(tx, memberships, step)
            step[0] = _closing_step(step[0])  # the version bump and the commit follow `work`
            return counts

        return self._write(work, lambda: f"import (at {step[0]})")

    def _run_batches(
        self, tx: Any, statement: str, rows: Sequence[Any], what: str, step: list[str], key: str = "rows"
    ) -> int:
        """Run ``statement`` over ``rows`` in batches; returns the summed ``n`` column (if any)."""
        total = 0
        for batch in self._statement_batches(rows):
            step[0] = _batch_step(what, batch.start, len(batch.rows), batch.number, batch.total)
            record = tx.run(statement, {key: batch.rows}).single()
            if record is not None:
                total += int(record.get("n") or 0)
        return total

    def _existing_data(self, tx: Any, label: Label, ids: Sequence[str], step: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for start in range(0, len(ids), self.batch_size):
            step[0] = _read_step(f"reading existing {label.value} rows", start, self.batch_size, len(ids))
            for record in tx.run(cypher.existing_data(label), ids=list(ids[start : start + self.batch_size])):
                found[record["id"]] = record["data"]
        return found

    def _existing_ids(
        self, tx: Any, label: Label, ids: Sequence[str], step: list[str] | None = None
    ) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(ids), self.batch_size):
            if step is not None:
                step[0] = _read_step(f"checking {label.value} references", start, self.batch_size, len(ids))
            chunk = list(ids[start : start + self.batch_size])
            found.update(r["id"] for r in tx.run(cypher.existing_ids(label), ids=chunk))
        return found

    def _classify(
        self, latest: dict[str, Any], existing: dict[str, str]
    ) -> tuple[UpsertCounts, list[Any], list[Any]]:
        counts = UpsertCounts()
        created: list[Any] = []
        updated: list[Any] = []
        for item_id, item in latest.items():
            if item_id not in existing:
                counts.created += 1
                created.append(item)
            elif existing[item_id] != item.model_dump_json():
                counts.updated += 1
                updated.append(item)
            else:
                counts.unchanged += 1
        return counts, created, updated

    def _upsert_organisations(self, tx: Any, orgs: Sequence[Organisation], step: list[str]) -> UpsertCounts:
        latest = {o.org_id: o for o in orgs}  # last one wins within a batch
        if not latest:
            return UpsertCounts()
        existing = self._existing_data(tx, Label.ORGANISATION, list(latest), step)
        counts, created, updated = self._classify(latest, existing)
        changed: list[Organisation] = created + updated
        if not changed:
            return counts
        self._ensure_regions(tx, {code for o in changed for code in organisation_locations(o)}, step)
        self._ensure_ecosystems(tx, {e.value for o in changed for e in o.ecosystems}, step)
        rows = [{"id": o.org_id, "props": organisation_props(o)} for o in created]
        self._run_batches(tx, cypher.create_nodes(Label.ORGANISATION), rows, "new organisations", step)
        rows = [{"id": o.org_id, "props": organisation_props(o)} for o in updated]
        self._run_batches(tx, cypher.update_nodes(Label.ORGANISATION), rows, "changed organisations", step)
        stale = [o.org_id for o in updated]
        for rel in (Rel.LOCATED_IN, Rel.IN_ECOSYSTEM):
            self._run_batches(
                tx, cypher.delete_links(Label.ORGANISATION, rel), stale, f"unlinking {rel}", step, "ids"
            )
        located = [{"a": o.org_id, "b": code} for o in changed for code in organisation_locations(o)]
        self._run_batches(
            tx,
            cypher.create_links(Label.ORGANISATION, Rel.LOCATED_IN, Label.REGION),
            located,
            "locations",
            step,
        )
        eco = [{"a": o.org_id, "b": e.value} for o in changed for e in o.ecosystems]
        self._run_batches(
            tx,
            cypher.create_links(Label.ORGANISATION, Rel.IN_ECOSYSTEM, Label.ECOSYSTEM),
            eco,
            "organisation ecosystems",
            step,
        )
        return counts

    def _ensure_regions(self, tx: Any, codes: Iterable[str], step: list[str]) -> None:
        """Region nodes for ``codes`` and all their ancestors, chained with PART_OF."""
        every = sorted({a for code in codes for a in ancestors(code)})
        if not every:
            return
        self._run_batches(
            tx, cypher.MERGE_REGIONS, [{"code": c, "level": len(c) - 2} for c in every], "regions", step
        )
        parents = [{"code": c, "parent": c[:-1]} for c in every if len(c) > 2]
        self._run_batches(tx, cypher.LINK_REGION_PARENTS, parents, "region hierarchy", step)

    def _ensure_ecosystems(self, tx: Any, codes: set[str], step: list[str]) -> None:
        if codes:
            self._run_batches(tx, cypher.MERGE_ECOSYSTEMS, sorted(codes), "ecosystems", step, "codes")

    def _upsert_partnerships(self, tx: Any, ps: Sequence[Partnership], step: list[str]) -> UpsertCounts:
        latest = {p.partnership_id: p for p in ps}
        if not latest:
            return UpsertCounts()
        existing = self._existing_data(tx, Label.PARTNERSHIP, list(latest), step)
        counts, created, updated = self._classify(latest, existing)
        changed: list[Partnership] = created + updated
        if not changed:
            return counts
        self._ensure_ecosystems(tx, {e.value for p in changed for e in p.ecosystems}, step)
        rows = [{"id": p.partnership_id, "props": partnership_props(p)} for p in created]
        self._run_batches(tx, cypher.create_nodes(Label.PARTNERSHIP), rows, "new partnerships", step)
        rows = [{"id": p.partnership_id, "props": partnership_props(p)} for p in updated]
        self._run_batches(tx, cypher.update_nodes(Label.PARTNERSHIP), rows, "changed partnerships", step)
        parents = sorted({p.parent_id for p in changed if p.parent_id})
        missing = set(parents) - self._existing_ids(tx, Label.PARTNERSHIP, parents, step)
        if missing:
            raise ConflictError(f"unknown parent partnership(s): {', '.join(sorted(missing))}")
        stale = [p.partnership_id for p in updated]
        for rel in (Rel.IN_ECOSYSTEM, Rel.DERIVED_FROM):
            self._run_batches(
                tx, cypher.delete_links(Label.PARTNERSHIP, rel), stale, f"unlinking {rel}", step, "ids"
            )
        eco = [{"a": p.partnership_id, "b": e.value} for p in changed for e in p.ecosystems]
        self._run_batches(
            tx,
            cypher.create_links(Label.PARTNERSHIP, Rel.IN_ECOSYSTEM, Label.ECOSYSTEM),
            eco,
            "partnership ecosystems",
            step,
        )
        derived = [{"a": p.partnership_id, "b": p.parent_id} for p in changed if p.parent_id]
        self._run_batches(
            tx,
            cypher.create_links(Label.PARTNERSHIP, Rel.DERIVED_FROM, Label.PARTNERSHIP),
            derived,
            "derivations",
            step,
        )
        return counts

    def _upsert_memberships(self, tx: Any, ms: Sequence[Membership], step: list[str]) -> UpsertCounts:
        counts = UpsertCounts()
        latest = {(m.org_id, m.partnership_id): m for m in ms}
        if not latest:
            return counts
        orgs = self._existing_ids(tx, Label.ORGANISATION, sorted({k[0] for k in latest}), step)
        parts = self._existing_ids(tx, Label.PARTNERSHIP, sorted({k[1] for k in latest}), step)
        missing = [k for k in latest if k[0] not in orgs or k[1] not in parts]
        if missing:
            org_id, pid = missing[0]
            what = f"organisation {org_id!r}" if org_id not in orgs else f"partnership {pid!r}"
            raise ConflictError(f"{len(missing)} membership(s) refer to unknown ids, e.g. {what}")
        existing: dict[tuple[str, str], str] = {}
        pids = sorted(parts)
        for start in range(0, len(pids), self.batch_size):
            step[0] = _read_step(
                "reading existing memberships of partnerships", start, self.batch_size, len(pids)
            )
            for r in tx.run(cypher.EXISTING_MEMBERSHIPS, pids=pids[start : start + self.batch_size]):
                existing[(r["org_id"], r["partnership_id"])] = f"{r['role']}|{_since(r['since']) or ''}"
        created: list[dict[str, Any]] = []
        updated: list[dict[str, Any]] = []
        for key, m in latest.items():
            since = m.since.isoformat() if m.since else None
            row = {
                "org_id": m.org_id,
                "partnership_id": m.partnership_id,
                "role": m.role.value,
                "since": since,
            }
            if key not in existing:
                counts.created += 1
                created.append(row)
            elif existing[key] != f"{m.role.value}|{since or ''}":
                counts.updated += 1
                updated.append(row)
            else:
                counts.unchanged += 1
        # Membership rows are bounded (ids ≤ 200 characters), so row batches stay far below the cap.
        written = self._run_batches(tx, cypher.CREATE_MEMBERSHIPS, created, "new memberships", step)
        written += self._run_batches(tx, cypher.UPDATE_MEMBERSHIPS, updated, "changed memberships", step)
        if written != len(created) + len(updated):
            raise StoreWriteError(
                f"only {written} of {len(created) + len(updated)} memberships were written; import rolled back"
            )
        return counts

    def _delete(self, statement: str, params: dict[str, Any], kind: str, item_id: str, what: str) -> None:
        def work(tx: Any) -> None:
            record = tx.run(statement, params).single()
            if record is None or int(record["n"] or 0) == 0:
                raise NotFoundError(kind, item_id)

        self._write(work, what)

    def delete_organisation(self, org_id: str) -> None:
        self._delete(
            cypher.DELETE_ORGANISATION,
            {"id": org_id},
            "organisation",
            org_id,
            f"deleting organisation {org_id!r}",
        )

    def delete_partnership(self, partnership_id: str) -> None:
        def work(tx: Any) -> None:
            derived = tx.run(cypher.DERIVED_PARTNERSHIPS, id=partnership_id).single()
            if derived is not None and int(derived["n"] or 0) > 0:
                raise ConflictError(
                    f"partnership {partnership_id!r} has derived partnerships; delete those first"
                )
            record = tx.run(cypher.DELETE_PARTNERSHIP, id=partnership_id).single()
            if record is None or int(record["n"] or 0) == 0:
                raise NotFoundError("partnership", partnership_id)

        self._write(work, f"deleting partnership {partnership_id!r}")

    def delete_membership(self, org_id: str, partnership_id: str) -> None:
        self._delete(
            cypher.DELETE_MEMBERSHIP,
            {"org_id": org_id, "partnership_id": partnership_id},
            "membership",
            f"{org_id} in {partnership_id}",
            "deleting a membership",
        )

    # -- reads ----------------------------------------------------------------------------------
    def _one_data(self, label: Label, item_id: str) -> str | None:
        def work(tx: Any) -> str | None:
            record = tx.run(cypher.node_data(label), id=item_id).single()
            return None if record is None else str(record["data"])

        return self._read(work, f"reading {label.value.lower()} {item_id!r}")

    def get_organisation(self, org_id: str) -> Organisation:
        data = self._one_data(Label.ORGANISATION, org_id)
        if data is None:
            raise NotFoundError("organisation", org_id)
        return Organisation.model_validate_json(data)

    def get_partnership(self, partnership_id: str) -> Partnership:
        data = self._one_data(Label.PARTNERSHIP, partnership_id)
        if data is None:
            raise NotFoundError("partnership", partnership_id)
        return Partnership.model_validate_json(data)

    def _page(
        self, count: cypher.Statement, page: cypher.Statement, offset: int, limit: int, what: str
    ) -> tuple[int, list[str]]:
        def work(tx: Any) -> tuple[int, list[str]]:
            record = tx.run(count.text, count.params).single()
            total = int(record["total"]) if record else 0
            rows = [r["data"] for r in tx.run(page.text, {**page.params, "offset": offset, "limit": limit})]
            return total, rows

        return self._read(work, what)

    def list_organisations(self, flt: OrganisationFilter, offset: int, limit: int) -> Page[Organisation]:
        count, page = cypher.list_organisations(
            country=flt.country,
            region=flt.region,
            stakeholder_type=flt.stakeholder_type.value if flt.stakeholder_type else None,
            sme=flt.sme,
            ecosystem=flt.ecosystem.value if flt.ecosystem else None,
            name_contains=flt.name_contains or None,
            partnership_id=flt.partnership_id,
        )
        total, rows = self._page(count, page, offset, limit, "listing organisations")
        return Page([Organisation.model_validate_json(d) for d in rows], total, offset, limit)

    def list_partnerships(self, flt: PartnershipFilter, offset: int, limit: int) -> Page[Partnership]:
        count, page = cypher.list_partnerships(
            kind=flt.kind.value if flt.kind else None,
            region=flt.region,
            ecosystem=flt.ecosystem.value if flt.ecosystem else None,
            name_contains=flt.name_contains or None,
            parent_id=flt.parent_id,
        )
        total, rows = self._page(count, page, offset, limit, "listing partnerships")
        return Page([Partnership.model_validate_json(d) for d in rows], total, offset, limit)

    def memberships(
        self, *, org_id: str | None = None, partnership_id: str | None = None
    ) -> list[Membership]:
        statement = cypher.memberships(by_org=org_id is not None, by_partnership=partnership_id is not None)
        params = {"org_id": org_id, "partnership_id": partnership_id}

        def work(tx: Any) -> list[Membership]:
            return [
                _membership(r["org_id"], r["partnership_id"], r["role"], r["since"])
                for r in tx.run(statement, params)
            ]

        return self._read(work, "reading memberships")

    def existing_ids(self, kind: EntityKind, ids: Sequence[str]) -> set[str]:
        label = _label_of(kind)
        return self._read(lambda tx: self._existing_ids(tx, label, list(ids)), f"checking {kind.value} ids")

    def _all_data(self, label: Label) -> list[str]:
        return self._read(
            lambda tx: [str(r["data"]) for r in tx.run(cypher.iter_data(label))],
            f"reading all {label.value} nodes",
        )

    def iter_organisations(self) -> Iterator[Organisation]:
        for data in self._all_data(Label.ORGANISATION):
            yield Organisation.model_validate_json(data)

    def iter_partnerships(self) -> Iterator[Partnership]:
        for data in self._all_data(Label.PARTNERSHIP):
            yield Partnership.model_validate_json(data)

    def iter_memberships(self) -> Iterator[Membership]:
        rows = self._read(
            lambda tx: [tuple(r.values()) for r in tx.run(cypher.ITER_MEMBERSHIPS)], "reading memberships"
        )
        for org_id, pid, role, since in rows:
            yield _membership(org_id, pid, role, since)

    def counts(self) -> StoreCounts:
        def work(tx: Any) -> StoreCounts:
            o = tx.run(cypher.count_nodes(Label.ORGANISATION)).single()["n"]
            p = tx.run(cypher.count_nodes(Label.PARTNERSHIP)).single()["n"]
            m = tx.run(cypher.COUNT_MEMBERSHIPS).single()["n"]
            return StoreCounts(organisations=int(o), partnerships=int(p), memberships=int(m))

        return self._read(work, "counting")

    # -- embeddings -----------------------------------------------------------------------------
    def embedding_hashes(self, kind: EntityKind, model: str) -> dict[str, str]:
        statement = cypher.embedding_hashes(_label_of(kind), cypher.embedding_properties(model))
        return self._read(
            lambda tx: {str(r["id"]): str(r["hash"]) for r in tx.run(statement)}, "reading embedding hashes"
        )

    def _ensure_vector_index(self, label: Label, model: str, dim: int) -> None:
        prop = cypher.embedding_properties(model).vector
        if (label, prop) in self._vector_indexes:
            return
        self.dialect.ensure_vector_index(self._run_schema, label, prop, dim)
        self._vector_indexes.add((label, prop))
        self._vector_dims[(label, prop)] = dim

    def put_embeddings(
        self, kind: EntityKind, model: str, rows: Sequence[tuple[str, str, npt.NDArray[np.float32]]]
    ) -> None:
        if not rows:
            return
        label = _label_of(kind)
        props = cypher.embedding_properties(model)
        dim = int(np.asarray(rows[0][2]).shape[0])
        # Before the vectors: ArcadeDB stores a declared float-array property as float32.
        self._ensure_vector_index(label, model, dim)
        # .tolist(): the driver packs Python floats several times faster than numpy scalars.
        payload = [
            {"id": item_id, "hash": text_hash, "vector": np.asarray(vec, dtype=np.float32).tolist()}
            for item_id, text_hash, vec in rows
        ]
        row_bytes = dim * 9 + 200
        step = ["starting"]

        def work(tx: Any) -> None:
            for batch in batches(payload, self.batch_size, self.max_batch_bytes, lambda _r: row_bytes):
                step[0] = f"embeddings batch {batch.number} of {batch.total}"
                tx.run(cypher.put_embeddings(label, props), rows=batch.rows).consume()

        self._write(work, lambda: f"storing {kind.value} embeddings ({step[0]})")

    def prepare_vector_search(self, kind: EntityKind, model: str) -> None:
        """Build the vector index of ``kind``/``model`` now where the server builds it lazily.

        Only the organisation index is ever searched (candidate queries read a partnership's own
        vector directly), so a partnership index is left to build if something ever searches it.
        """
        label = _label_of(kind)
        prop = cypher.embedding_properties(model).vector
        if label != Label.ORGANISATION or (label, prop) not in self._vector_indexes:
            return  # not searched, or no vectors written by this store: nothing to build
        dim = self._vector_dims[(label, prop)]

        def search(index: str, k: int, vector: list[float]) -> None:
            self._read(
                lambda tx: tx.run(cypher.VECTOR_INDEX_PROBE, index=index, k=k, vector=vector).consume(),
                f"building the vector index of {label.value}.{prop}",
            )

        self.dialect.build_vector_index(search, label, prop, dim)

    def _vectors(self, tx: Any, label: Label, model: str) -> dict[str, npt.NDArray[np.float32]]:
        statement = cypher.vectors(label, cypher.embedding_properties(model))
        return {str(r["id"]): np.asarray(r["vector"], dtype=np.float32) for r in tx.run(statement)}

    # -- artifacts ------------------------------------------------------------------------------
    def put_artifact(self, name: str, data: bytes) -> None:
        chunks = [data[i : i + ARTIFACT_CHUNK_BYTES] for i in range(0, len(data), ARTIFACT_CHUNK_BYTES)] or [
            b""
        ]

        def work(tx: Any) -> None:
            tx.run(cypher.DELETE_ARTIFACT_CHUNKS, name=name).consume()
            tx.run(cypher.PUT_ARTIFACT, name=name, size=len(data), chunks=len(chunks)).consume()
            for seq, chunk in enumerate(chunks):
                tx.run(cypher.PUT_ARTIFACT_CHUNK, name=name, seq=seq, data=bytes(chunk)).consume()

        self._write(work, f"saving artifact {name!r}", data=False)

    def get_artifact(self, name: str) -> bytes | None:
        def work(tx: Any) -> bytes | None:
            head = tx.run(cypher.GET_ARTIFACT, name=name).single()
            if head is None:
                return None
            parts = [bytes(r["data"]) for r in tx.run(cypher.GET_ARTIFACT_CHUNKS, name=name)]
            data = b"".join(parts)
            if len(parts) != int(head["chunks"]) or len(data) != int(head["size"]):
                raise StoreUnavailableError(f"artifact {name!r} is incomplete in the store")
            return data

        return self._read(work, f"reading artifact {name!r}")

    def list_artifacts(self, prefix: str = "") -> list[str]:
        return self._read(
            lambda tx: [str(r["name"]) for r in tx.run(cypher.LIST_ARTIFACTS, prefix=prefix)],
            "listing artifacts",
        )

    def delete_artifact(self, name: str) -> None:
        def work(tx: Any) -> None:
            record = tx.run(cypher.DELETE_ARTIFACT, name=name).single()
            if record is None or int(record["n"] or 0) == 0:
                raise NotFoundError("artifact", name)
            tx.run(cypher.DELETE_ARTIFACT_CHUNKS, name=name).consume()

        self._write(work, f"deleting artifact {name!r}", data=False)

    # -- algorithms -----------------------------------------------------------------------------
    def read_graph(self, model: str) -> GraphData:
        """Everything, read in one transaction (a consistent view)."""

        def work(tx: Any) -> GraphData:
            version = _version_of(tx.run(cypher.VERSION).single())
            orgs = [
                OrgRow.from_json(json.loads(r["data"])) for r in tx.run(cypher.iter_data(Label.ORGANISATION))
            ]
            parts = [
                PartnershipRow.of(Partnership.model_validate_json(r["data"]))
                for r in tx.run(cypher.iter_data(Label.PARTNERSHIP))
            ]
            members = [
                MembershipRow(str(r["org_id"]), str(r["partnership_id"]), r["role"] == Role.COORDINATOR.value)
                for r in tx.run(cypher.SNAPSHOT_MEMBERSHIPS)
            ]
            org_vectors = self._vectors(tx, Label.ORGANISATION, model)
            p_vectors = self._vectors(tx, Label.PARTNERSHIP, model)
            return GraphData(orgs, parts, members, org_vectors, p_vectors, model=model, version=version)

        return self._read(work, "reading the graph")

    # -- candidate retrieval pushed down to the database ---------------------------------------------
    def candidate_features(
        self,
        partnership_id: str,
        filters: CandidateFilters,
        pool_size: int,
        *,
        model: str,
        exhaustive_regions: bool = False,
        goal: PoolGoal | None = None,
    ) -> CandidateFeatures:
        """Features of a candidate pool for ``partnership_id``, computed in the database.

        The pool is the union of the vector index's top hits (exact cosine over the filtered
        organisations instead when filters starve the index), the co-membership neighbourhood
        ranked by Adamic–Adar, and the organisations inside the partnership's reference regions
        (NUTS 2/3 ones always, country and NUTS 1 ones with ``exhaustive_regions``); each source
        contributes up to ``pool_size`` candidates. The returned
        :class:`~matching.candidates.SignalBounds` bound the signals of everyone outside the
        pool, so the caller can check the pool holds the true top-k (and widen it if not).
        With a ``goal``, a pool that does not settle it only because of the graph bound takes in
        the linked candidates above the bound that would (:func:`~matching.candidates.graph_bound_to_pass`),
        in the same transaction: their Adamic–Adar values are known, only their columns are read.
        Graph evidence is filled later, for the winners only (:meth:`candidate_evidence`).
        """
        if pool_size < 1:
            raise ValueError("pool_size must be ≥ 1")
        props = cypher.embedding_properties(model)
        flt = cypher.candidate_filter(filters)
        return self._read(
            lambda tx: _CandidateQuery(
                self, tx, partnership_id, filters, flt, props, pool_size, exhaustive_regions, goal
            ).run(),
            f"finding candidates for {partnership_id!r}",
        )

    def candidate_evidence(self, features: CandidateFeatures, rows: Sequence[int]) -> CandidateFeatures:
        """``features`` with the graph evidence (shared partnerships per member) of ``rows`` filled in."""
        wanted = [features.org_ids[i] for i in rows if features.adamic_adar[i] > 0]
        if not wanted or not len(features.member_ids):
            return features
        ids = sorted(set(wanted) | set(features.member_ids))

        def work(tx: Any) -> dict[str, set[str]]:
            started = time.perf_counter()
            record = tx.run(cypher.PARTNERSHIPS_OF, ids=ids).single()
            if self.step_timer is not None:
                self.step_timer("evidence", time.perf_counter() - started)
            return {str(i): set(ps) for i, ps in (record["partnerships"] if record is not None else [])}

        partnerships = self._read(work, "reading candidate evidence")
        row_of = {features.org_ids[i]: i for i in rows}
        triples = [
            (row_of[c], j, len(shared))
            for c in wanted
            for j, z in enumerate(features.member_ids)
            if (shared := partnerships.get(c, set()) & partnerships.get(z, set()))
        ]
        links = sparse.csr_matrix(
            (
                np.array([t[2] for t in triples], dtype=np.float32),
                (
                    np.array([t[0] for t in triples], dtype=np.int64),
                    np.array([t[1] for t in triples], dtype=np.int64),
                ),
            ),
            shape=features.links.shape,
        )
        return replace(features, links=links)


@dataclass(frozen=True)
class _CandidateBase:
    """What a candidate query computes once per partnership, filters and store version."""

    member_ids: list[str]
    member_names: list[str]
    member_types: list[str]
    reference: npt.NDArray[np.float32] | None
    semantic_source: str
    refs: tuple[str, ...]
    region_source: str
    aa: dict[str, float]  # Adamic–Adar of every linked non-member, by element id
    by_aa: list[str]  # those element ids, best first (ties by element id)


class _LruCache:
    """A small thread-safe LRU map (API workers query from several threads)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


class _CandidateQuery:
    """The read transaction behind :meth:`Neo4jStore.candidate_features` (one query per source)."""

    def __init__(
        self,
        store: Neo4jStore,
        tx: Any,
        partnership_id: str,
        filters: CandidateFilters,
        flt: cypher.Statement,
        props: cypher.EmbeddingProperties,
        pool_size: int,
        exhaustive_regions: bool,
        goal: PoolGoal | None = None,
    ) -> None:
        self.store, self.tx, self.pid = store, tx, partnership_id
        self.filters, self.flt, self.props, self.n = filters, flt, props, pool_size
        self.exhaustive_regions = exhaustive_regions
        self.goal = goal
        self.linked = 0  # eligible linked candidates read into the pool

    def _single(self, step: str, statement: str, params: dict[str, Any]) -> Any:
        """Run one statement and return its single record, timed as ``step`` when the store's
        :attr:`Neo4jStore.step_timer` is set (the benchmark's per-step breakdown)."""
        timer = self.store.step_timer
        started = time.perf_counter()
        record = self.tx.run(statement, params).single()
        if timer is not None:
            timer(step, time.perf_counter() - started)
        return record

    def run(self) -> CandidateFeatures:
        version = _version_of(self._single("version", cypher.VERSION, {}))
        # The context and the neighbourhood do not depend on the filters: one entry serves them all.
        base = self.store._candidate_cache.get((self.pid, self.props.vector, version))
        if base is None:
            base = self._base(version)
            self.store._candidate_cache.put((self.pid, self.props.vector, version), base)
        self.base = base
        params = {**self.flt.params, "member_ids": base.member_ids, "pid": self.pid}
        cosine = None
        if base.reference is not None:
            cosine = self.store.dialect.cosine(f"c.{self.props.vector}", "$vector")
            params["vector"] = base.reference.tolist()
        self.params, self.cosine, self.version = params, cosine, version
        search = self._start_vector_search(version) if cosine is not None else None
        # every source returns its candidates' columns with them
        self.frame = PoolFrame.of(
            base.member_ids,
            base.member_names,
            base.member_types,
            semantic_source=base.semantic_source,
            reference_regions=base.refs,
            region_source=base.region_source,
            allowed_types=self.filters.stakeholder_types,
        )
        pool = CandidatePool(self.frame, base.aa)
        self.resolved = 0  # how many of base.by_aa (best first) have been read
        self._by_graph(pool, want=self.n)
        complete = False
        semantic_bound = 0.0
        if cosine is not None:
            semantic_bound, complete = self._by_text(params, cosine, pool, search)
        else:
            complete = self._small_enough(params, pool)
        region_bound = 0.0
        if base.refs:
            region_bound = self._by_region(params, base.refs, cosine, pool)
        outside = self._best_outside(pool)
        unseen = (
            None
            if complete  # every eligible organisation is in the pool
            else SignalBounds(semantic=max(0.0, semantic_bound), adamic_adar=outside, region=region_bound)
        )
        features = pool.features(unseen)
        if self.goal is None:
            return features
        if unseen is not None and outside:
            features = self._settle_graph_bound(features, pool, base, unseen)
        if unseen is None or self._settled(features):
            self.store._count("queries", "settled by the first pool")
            return features
        if self.goal.widen_to <= self.n:
            self.store._count("queries", "not settled")
            return features
        features = self._widen(features, pool)
        self.store._count("queries", "widened", *(() if self._settled(features) else ("not settled",)))
        return features

    def _settled(self, features: CandidateFeatures) -> bool:
        """Whether ``features`` provably hold the goal's top k (:func:`~matching.candidates.pool_is_exact`)."""
        assert self.goal is not None
        weights, top_k, tolerance = self.goal.weights, self.goal.top_k, self.goal.tolerance
        _, scores = select_top(features, weights, top_k)
        return pool_is_exact(features, weights, scores.tolist(), top_k, tolerance)

    def _widen(self, features: CandidateFeatures, pool: CandidatePool) -> CandidateFeatures:
        """Widen, in this transaction, only the sources whose bounds keep ``features`` from settling.

        The pool read so far stays (a second query of every source would read the linked
        candidates' columns again, search the vector index four times deeper and list whole
        countries, whichever bound failed). Each source is widened to ``goal.widen_to`` only when
        the test cannot pass without it, judged optimistically for the others (the graph bound
        can always be settled to 0 by reading linked candidates by id):

        * the reference regions are listed in full (countries and NUTS 1 too) when that can
          lower the regional bound: not when a region holds more organisations than the wider
          pool takes, so the listing would be cut off and the bound stay 1.0 (a count, cached
          per store version, says so);
        * the vector search goes deeper only when the text bound fails the test even with the
          regional bound at its best; it runs beside the regional listing;
        * then the graph bound is settled as in the first pool. Where the test still fails (the
          text or regional bound fails on its own), as many linked candidates are read as the
          wider pool holds, so the list, exact or not, draws on the best-connected ones too.

        On CORDIS 12% of queries need this; half of them need no deeper vector search, and
        countries such as the UK or Germany are never listed (docs/neo4j.md).
        """
        assert self.goal is not None and features.unseen is not None
        goal, base, unseen = self.goal, self.base, features.unseen
        _, scores = select_top(features, goal.weights, goal.top_k)
        top = scores.tolist()

        def settles(semantic: float, region: float) -> bool:
            """Would the pool settle with these bounds and the graph bound at 0? The k-th score
            only rises as the pool grows, so a pass now is a pass after widening."""
            bounds = replace(unseen, semantic=semantic, adamic_adar=0.0, region=region)
            return pool_is_exact(
                replace(features, unseen=bounds), goal.weights, top, goal.top_k, goal.tolerance
            )

        self.n = goal.widen_to
        region_goal = self._region_goal(unseen.region)
        if region_goal is None and unseen.region == 1.0 and base.refs:
            self.store._count("widened: regions too big to list")
        best_region = unseen.region if region_goal is None else region_goal
        text = self.cosine is not None and not settles(unseen.semantic, best_region)
        search = self._start_vector_search(self.version) if text else None
        region = unseen.region
        if region_goal is not None:
            self.exhaustive_regions = True
            region = self._by_region(self.params, base.refs, self.cosine, pool)
            self.store._count("widened: regions listed in full")
        semantic, complete = unseen.semantic, False
        if self.cosine is not None and (text or (region > best_region and not settles(semantic, region))):
            semantic, complete = self._by_text(self.params, self.cosine, pool, search)
            semantic = max(0.0, semantic)
            self.store._count("widened: vector search deepened")
        if complete:  # every eligible organisation is in the pool
            return pool.features(None)
        widened = replace(unseen, semantic=semantic, adamic_adar=self._best_outside(pool), region=region)
        features = pool.features(widened)
        if widened.adamic_adar:
            features = self._settle_graph_bound(features, pool, base, widened)
        if self.resolved < len(base.by_aa) and not self._settled(features):
            features = self._fill_by_graph(features, pool)
        return features

    def _region_goal(self, region_bound: float) -> float | None:
        """The regional bound a full listing of the reference regions leaves when it is not cut
        off at the pool size; ``None`` when such a listing cannot lower ``region_bound``."""
        refs = self.base.refs
        if region_bound < 1.0 or not refs:
            return None  # every reference was listed in full already (or there are none)
        f = self.filters
        if not _restricting(f) and not f.org_ids:
            # Without a restricting filter everyone inside is eligible but the members and the
            # excluded: a region holding more than the pool takes besides them is cut off.
            sizes = self._region_sizes(refs)
            if max(sizes.values(), default=0) - len(self.base.member_ids) - len(f.exclude_org_ids) > self.n:
                return None
        return max((REGION_TIERS[min(len(c) - 2, 3) - 1] for c in refs if len(c) > 2), default=0.0)

    def _region_sizes(self, codes: Sequence[str]) -> dict[str, int]:
        """How many organisations lie inside each of ``codes`` (cached per store version)."""
        cache = self.store._region_sizes
        sizes = {c: n for c in codes if (n := cache.get((self.version, c))) is not None}
        missing = [c for c in codes if c not in sizes]
        if missing:
            record = self._single("region sizes", cypher.REGION_SIZES, {"codes": missing})
            read = {str(c): int(n) for c, n in (record["sizes"] if record is not None else [])}
            for c in missing:
                sizes[c] = read.get(c, 0)
                cache.put((self.version, c), sizes[c])
        return sizes

    def _by_graph(self, pool: CandidatePool, *, want: int = 0, floor: float | None = None) -> None:
        """Read neighbourhood candidates, best Adamic–Adar first: ``want`` eligible ones more, or
        every one above ``floor``. Columns, similarity and filters come in one statement per chunk;
        chunks double, so a selective filter costs a few statements, not one per candidate."""

        def read(end: int) -> int:
            eids = self.base.by_aa[self.resolved : end]
            self.resolved = end
            return self._add_linked(pool, eids) if eids else 0

        if floor is not None:
            read(max(self.resolved, self._end_above(floor)))
        else:
            self._in_doubling_chunks(want, read)

    def _in_doubling_chunks(self, want: int, read: Callable[[int], int]) -> None:
        """Call ``read(end)`` on the linked candidates not read yet, in chunks that start at
        ``want`` and double, until ``want`` eligible ones have been read (filters may reject any
        share) or none are left. ``read`` reads ``base.by_aa`` up to ``end``, moves ``resolved``
        there and returns how many of them were eligible."""
        done, chunk, by_aa = 0, max(want, 1), self.base.by_aa
        while done < want and self.resolved < len(by_aa):
            done += read(min(len(by_aa), self.resolved + chunk))
            chunk *= 2

    def _add_linked(self, pool: CandidatePool, eids: Sequence[str]) -> int:
        """Read the columns, similarity and eligibility of the linked candidates ``eids`` in one
        statement; add the eligible ones to ``pool`` and return how many they were."""
        statement = cypher.candidate_linked(self.flt, self.props, self.cosine)
        added = 0
        for r in self._rows("neighbourhood columns", statement, {**self.params, "eids": list(eids)}):
            if r[_ROW + 1]:
                pool.add(r, r[_ROW])
                added += 1
        self.linked += added
        return added

    def _end_above(self, floor: float) -> int:
        """Where the linked candidates not read yet fall to ``floor`` or below (``by_aa`` is best first)."""
        by_aa, aa = self.base.by_aa, self.base.aa
        end = self.resolved
        while end < len(by_aa) and aa[by_aa[end]] > floor:
            end += 1
        return end

    def _best_outside(self, pool: CandidatePool) -> float:
        """A bound on the Adamic–Adar of eligible candidates outside the pool: the best one not
        read yet (``by_aa`` is best first; every eligible one read is in the pool)."""
        return self.base.aa[self.base.by_aa[self.resolved]] if self.resolved < len(self.base.by_aa) else 0.0

    def _settle_graph_bound(
        self,
        features: CandidateFeatures,
        pool: CandidatePool,
        base: _CandidateBase,
        unseen: SignalBounds,
    ) -> CandidateFeatures:
        """Add the linked candidates whose Adamic–Adar alone keeps the pool from settling the goal.

        Widening every source (a vector search four times deeper, country-wide regional lists)
        costs far more than reading the columns of known neighbourhood candidates by id.
        """
        assert self.goal is not None
        weights, top_k, tolerance = self.goal.weights, self.goal.top_k, self.goal.tolerance
        _, scores = select_top(features, weights, top_k)
        if pool_is_exact(features, weights, scores.tolist(), top_k, tolerance):
            return features
        floor = graph_bound_to_pass(features, weights, scores.tolist(), top_k, tolerance)
        if floor is None:
            return features  # another signal's bound fails the test: only widening helps
        before = self.resolved
        screened = None
        if self.cosine is None:
            self._by_graph(pool, floor=floor)
        else:
            end = self._end_above(floor)
            _, screened = self._screened_by_graph(pool, end, unseen.semantic, float(scores[top_k - 1]))
        if self.resolved == before:
            return features
        return pool.features(
            replace(
                unseen,
                adamic_adar=self._best_outside(pool),
                screened=ScreenedOut.join(unseen.screened, screened),
            )
        )

    def _fill_by_graph(self, features: CandidateFeatures, pool: CandidatePool) -> CandidateFeatures:
        """Read as many more linked candidates, best Adamic–Adar first, as the wider pool holds:
        the pool did not settle, and the (approximate) list should draw on the best-connected too.

        Screened as the graph settle is (:meth:`_screened_by_graph`): those whose score, bounded
        with the text bound, cannot reach the k-th stay out, so the list is the one reading them
        all with their cosine would give, at a fraction of the read (on CORDIS ~1,200 linked
        candidates, 40–60 ms with the cosine). Chunks double while filters leave too few eligible.
        """
        assert self.goal is not None and features.unseen is not None
        unseen, top_k = features.unseen, self.goal.top_k
        want = self.n - self.linked
        if self.cosine is None:
            self._by_graph(pool, want=want)
            return pool.features(replace(unseen, adamic_adar=self._best_outside(pool)))
        _, scores = select_top(features, self.goal.weights, top_k)
        kth = float(scores[top_k - 1]) if len(scores) >= top_k else -math.inf
        screened = unseen.screened

        def read(end: int) -> int:
            nonlocal screened
            eligible, out = self._screened_by_graph(pool, end, unseen.semantic, kth)
            screened = ScreenedOut.join(screened, out)
            return eligible

        self._in_doubling_chunks(want, read)
        return pool.features(replace(unseen, adamic_adar=self._best_outside(pool), screened=screened))

    def _screened_by_graph(
        self, pool: CandidatePool, end: int, semantic_bound: float, kth: float
    ) -> tuple[int, ScreenedOut | None]:
        """Add the linked candidates not read yet up to ``end`` (of ``base.by_aa``) that could
        still enter the top: the others stay out, as :class:`~matching.candidates.ScreenedOut`.
        Returns how many eligible ones were screened, and that bound.

        Two reads instead of one. Their columns and eligibility first, without the cosine (from
        the columns cache where it holds them, :meth:`_screening_rows`): each
        one's score is then bounded with ``semantic_bound`` (no unseen organisation is closer to
        the text) in place of its similarity (:func:`~matching.candidates.could_enter`). Then the
        cosine of those that pass only. On ArcadeDB holding CORDIS the cosine is three quarters of
        reading such a neighbourhood (3,706 candidates: 52 → 12 ms on the server without it), and
        about 5% of the candidates pass (docs/neo4j.md).
        """
        assert self.goal is not None
        if end <= self.resolved:
            return 0, None
        pooled = pool.element_ids()  # found by another source: nothing to screen
        eids = [e for e in self.base.by_aa[self.resolved : end] if e not in pooled]
        self.resolved = end
        if not eids:
            return 0, None
        bound = min(1.0, max(0.0, semantic_bound))
        screen = CandidatePool(self.frame, self.base.aa, pool.vocab)
        for r in self._screening_rows(eids):
            if r[_ROW + 1]:
                screen.add(r, bound)
        if not len(screen):
            return 0, None
        bounded = screen.features(None)
        scores = heuristic_scores(heuristic_signals(bounded), self.goal.weights)
        enter = could_enter(scores, kth, self.goal.tolerance)
        if enter.any():
            self._add_linked(
                pool, [screen.element_id(bounded.org_ids[int(i)]) for i in np.flatnonzero(enter)]
            )
        if enter.all():
            return len(screen), None
        out = ~enter
        return len(screen), ScreenedOut.under(
            self.goal.weights, float(scores[out].max()), float(bounded.adamic_adar[out].max())
        )

    def _screening_rows(self, eids: Sequence[str]) -> list[Any]:
        """Columns and eligibility of the linked candidates ``eids``, without their cosine:
        ``[*CANDIDATE_ROW, None, eligible]`` each (names left empty where cached: a screening
        scores, it never shows). From the store's :class:`~graph.columns_cache.ColumnsCache`
        where it holds them and eligibility needs no filter (not a member, not excluded), from
        the database for the others."""
        f = self.filters
        cached = {} if _restricting(f) or f.org_ids else self.store._columns_cache.get(self.version, eids)
        missing = [e for e in eids if e not in cached] if cached else list(eids)
        rows: list[Any] = []
        if missing:
            statement = cypher.candidate_linked(self.flt, self.props, None)
            rows = self._rows("neighbourhood screen", statement, {**self.params, "eids": missing})
        if cached:
            ineligible = {*self.base.member_ids, *f.exclude_org_ids}
            rows += [
                [org_id, "", kind, path, eid, None, org_id not in ineligible]
                for eid, (org_id, kind, path) in cached.items()
            ]
        return rows

    def _base(self, version: int) -> _CandidateBase:
        """The partnership's context and its whole co-membership neighbourhood (cached per version)."""
        context = self._single("context", cypher.candidate_context(self.props), {"pid": self.pid})
        if context is None:
            raise NotFoundError("partnership", self.pid)
        members = [m for m in context["members"] if m and m.get("org_id") is not None]
        member_ids = [str(m["org_id"]) for m in members]
        reference, semantic_source = _reference_vector(context["vector"], [m.get("vector") for m in members])
        refs, region_source = reference_regions_from(
            tuple(context["scope"] or ()), [deepest_code(m.get("region_path") or ()) for m in members]
        )
        member_eids = {str(m["eid"]) for m in members}
        aa = self._neighbourhood(member_ids, member_eids, version) if member_ids else {}
        return _CandidateBase(
            member_ids=member_ids,
            member_names=[str(m["name"]) for m in members],
            member_types=[str(m["stakeholder_type"]) for m in members],
            reference=reference,
            semantic_source=semantic_source,
            refs=refs,
            region_source=region_source,
            aa=aa,
            by_aa=_best_first(aa),
        )

    def _neighbourhood(self, member_ids: list[str], member_eids: set[str], version: int) -> dict[str, float]:
        """Adamic–Adar of every linked non-member, by element id (filters apply when read).

        Members whose co-members the store's :class:`~graph.neighbourhood_cache.NeighbourhoodCache`
        holds for this ``version`` are not expanded again; the statement runs for the others only,
        and not at all when every member is cached. Cached element ids come from earlier
        transactions: that is sound within one version, since ids are reused only after a delete,
        and every delete bumps the version (the per-partnership cache relies on the same). Members
        are excluded here, per partnership, so one entry serves every partnership of the member.
        """
        cache = self.store._neighbourhood_cache
        linked: dict[str, Sequence[str]] = dict(cache.get(version, member_ids))
        missing = [z for z in dict.fromkeys(member_ids) if z not in linked]
        if missing:
            record = self._single("neighbourhood", cypher.candidate_neighbourhood(), {"member_ids": missing})
            read = {str(z): [str(c) for c in cs] for z, cs in (record["links"] if record is not None else [])}
            for z in missing:
                linked[z] = read.get(z, [])  # a member without co-members has no row: cache it empty
                cache.put(version, z, linked[z])
        # |N(z)| counts every co-member (members too); only non-members are candidates.
        return adamic_adar_from_links(
            [(z, len(ids), [c for c in ids if c not in member_eids]) for z, ids in linked.items() if ids]
        )

    def _by_text(
        self,
        params: dict[str, Any],
        cosine: str,
        pool: CandidatePool,
        search: Future[list[Any] | None] | None = None,
    ) -> tuple[float, bool]:
        """Add the best candidates by text; returns (bound on everyone else's text similarity,
        whether every eligible organisation was seen). ``search`` is the vector search already
        running beside this transaction, if any."""
        dialect = self.store.dialect
        if not self.filters.org_ids:
            k = self._vector_k()
            hits = self._vector_search_hits(search)
            if hits:
                self.store._columns_cache.put(self.version, hits)
            # Enough eligible hits from a non-exhausted index: all of them join the pool (their
            # columns came with them) and the k-th hit bounds everyone else. Otherwise filters
            # starve the index, or the graph is small: the exact scan answers.
            if hits is not None and len(hits) >= k:
                eligible = [h for h in hits if h[_ROW + 1]]
                if len(eligible) >= self.n:
                    for h in eligible:
                        pool.add(h, dialect.index_score_to_cosine(float(h[_ROW])))
                    lowest = min(float(h[_ROW]) for h in hits)  # hits are not promised sorted
                    return dialect.index_score_to_cosine(lowest), False
        statement = cypher.candidate_exact_search(self.filters, self.flt, self.props, cosine)
        rows = self._rows("exact search", statement, {**params, "n": self.n})
        for r in rows:
            pool.add(r, r[_ROW])
        if len(rows) < self.n:
            return 0.0, True  # every eligible organisation is in
        return min(float(r[_ROW]) for r in rows), False

    def _vector_search(self, version: int) -> Callable[[], list[Any] | None]:
        """The vector search of this query, as a read of its own (see :meth:`Neo4jStore._vector_hits`).

        Never inside this query's transaction: a procedure error (no index for this model yet)
        aborts the transaction it runs in, and the exact scan that answers then needs this one.
        """
        statement = cypher.candidate_vector_search(self.flt)
        index = self.store.dialect.vector_index_name(Label.ORGANISATION, self.props.vector)
        params = {**self.params, "index": index, "k": self._vector_k()}
        return lambda: self.store._vector_hits(statement, params, version)

    def _start_vector_search(self, version: int) -> Future[list[Any] | None] | None:
        """Start the vector search on the store's thread pool while this transaction reads the
        neighbourhood's columns: the two are independent, and the server runs them side by side
        (docs/neo4j.md has what that saves). ``None`` when the query has no vector search (an
        explicit organisation list) or the store runs its reads one at a time."""
        if self.filters.org_ids or not self.store.parallel_reads:
            return None
        return self.store._in_background(self._vector_search(version))

    def _vector_search_hits(self, search: Future[list[Any] | None] | None) -> list[Any] | None:
        """The index's top ``k`` hits, from the search started beside this transaction or run now.

        ``None`` when the index cannot answer (no index for this model yet) or a write landed
        since the query began (the hits would come from another version): the exact scan, in
        this transaction, answers then.
        """
        from neo4j.exceptions import ClientError

        try:
            return search.result() if search is not None else self._vector_search(self.version)()
        except StoreUnavailableError as exc:
            if not isinstance(exc.__cause__, ClientError):
                raise
            index = self.store.dialect.vector_index_name(Label.ORGANISATION, self.props.vector)
            log.warning("vector index %s unusable (%s); using an exact scan", index, exc.__cause__.message)
            return None

    def _vector_k(self) -> int:
        """How many index hits to ask for: the pool needs ``n`` eligible ones.

        Without a restricting filter only the members and the explicitly excluded organisations are
        ineligible, so ``n`` plus those always suffice; a restricting filter may reject any share
        of the hits, so twice ``n`` are asked for (the exact scan answers when even they fall
        short). The index's cost grows with ``k``: on ArcadeDB holding CORDIS, 800 → ~410 hits
        halved the vector search's mean time (docs/neo4j.md).
        """
        f = self.filters
        if _restricting(f):
            return min(max(2 * self.n, 50), 10_000)
        return min(max(self.n + len(self.base.member_ids) + len(f.exclude_org_ids), 50), 10_000)

    def _small_enough(self, params: dict[str, Any], pool: CandidatePool) -> bool:
        """Without a text reference: take every eligible organisation when there are few."""
        statement = cypher.candidate_exact_search(self.filters, self.flt, self.props, "0.0")
        rows = self._rows("exact search", statement, {**params, "n": self.n})
        if len(rows) < self.n:
            for r in rows:
                pool.add(r, None)
            return True
        return False

    def _by_region(
        self,
        params: dict[str, Any],
        refs: Sequence[str],
        cosine: str | None,
        pool: CandidatePool,
    ) -> float:
        """Add the organisations inside the reference regions; returns the bound on others' regional fit.

        NUTS 2/3 references hold few organisations and are always listed; country and NUTS 1
        references (often thousands of organisations) only when the caller asks for an exhaustive
        pool. Once everyone inside a reference is in the pool, others share at most the level above.
        """
        listed = list(refs) if self.exhaustive_regions else [c for c in refs if len(c) - 2 >= 2]
        if not listed:
            return 1.0
        statement = cypher.candidate_regional(self.flt, self.props, cosine)
        rows = self._rows("regional", statement, {**params, "refs": listed, "n": self.n + 1})
        # Best first (ties by id), as ORDER BY had them: one row of a list need not keep the order.
        rows.sort(key=lambda r: (-float(r[_ROW]), str(r[0])))
        for r in rows[: self.n]:
            pool.add(r, r[_ROW] if cosine else None)
        if len(rows) > self.n or len(listed) < len(refs):
            return 1.0
        return max((REGION_TIERS[min(len(c) - 2, 3) - 1] for c in listed if len(c) > 2), default=0.0)

    def _rows(self, step: str, statement: str, params: dict[str, Any]) -> list[Any]:
        """The list a one-row candidate statement returns (``[*CANDIDATE_ROW, extra...]`` each)."""
        record = self._single(step, statement, params)
        rows = list(record["rows"]) if record is not None else []
        self.store._columns_cache.put(self.version, rows)
        return rows


#: Length of :data:`graph.cypher.CANDIDATE_ROW`: a source's own columns start at this index.
_ROW = 5


def _restricting(f: CandidateFilters) -> bool:
    """Whether ``f`` may reject any share of the organisations (not only listed ones)."""
    return bool(f.countries or f.regions or f.stakeholder_types or f.sme_only or f.ecosystems)


def _best_first(aa: dict[str, float]) -> list[str]:
    """Keys by value, highest first, ties by key: a stable sort by key, then by value (reverse
    keeps ties in order). Neighbourhoods hold thousands of keys; this avoids a tuple per key."""
    keys = sorted(aa)
    keys.sort(key=aa.__getitem__, reverse=True)
    return keys


def _version_of(record: Any) -> int:
    """The store version from the record of :data:`graph.cypher.VERSION` (0 before the first write)."""
    return int(record["value"]) if record and record["value"] is not None else 0


def _reference_vector(
    own: Sequence[float] | None, member_vectors: Sequence[Sequence[float] | None]
) -> tuple[npt.NDArray[np.float32] | None, str]:
    """The partnership's text vector, else its members' normalised centroid (as the snapshot path)."""
    if own is not None:
        vector = np.asarray(own, dtype=np.float32)
        if np.any(vector):
            return vector, "partnership text"
    stacked = [np.asarray(v, dtype=np.float32) for v in member_vectors if v is not None]
    if stacked:
        centroid = np.stack(stacked).mean(axis=0)
        norm = float(np.linalg.norm(centroid))
        if norm > 0:
            return (centroid / norm).astype(np.float32), "members' profiles"
    return None, "none"


def _label_of(kind: EntityKind) -> Label:
    return Label.ORGANISATION if kind == EntityKind.ORGANISATION else Label.PARTNERSHIP


def _redact(uri: str) -> str:
    """A URI without any user:password@ part (descriptions and errors never show credentials)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return uri


def _batch_step(what: str, start: int, size: int, number: int, total: int) -> str:
    """How a failed import names where it stopped: every chunked read or write is a numbered batch."""
    return f"{what} batch {number} of {total} (rows {start + 1}-{start + size})"


#: Where an import stands before its first statement.
_FIRST_STEP = "starting, before batch 1"


def _closing_step(last: str) -> str:
    """Where an import stands after its last batch: bumping the version counter, then committing.

    Named after the last batch that ran, so a failure there (a server killed at the very end)
    still tells which batch the import had reached, like a failure in any batch.
    """
    if last == _FIRST_STEP:
        return "bumping the version and committing (no batch had to run)"
    return f"bumping the version and committing, after {last}"


def _read_step(what: str, start: int, batch_size: int, n_rows: int) -> str:
    total = max(1, -(-n_rows // batch_size))
    return _batch_step(what, start, min(batch_size, n_rows - start), start // batch_size + 1, total)
