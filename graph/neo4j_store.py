"""The Neo4j store: the production store, over Bolt, for a Neo4j server/cluster, Aura, or ArcadeDB.

It implements the same :class:`~graph.base.GraphStore` contract as the embedded store (one
contract suite runs against both) and answers the fixed reads of a candidate search
(:class:`~graph.base.CandidateReads`, :meth:`Neo4jStore.read_candidates`), so that API workers
stay stateless and a candidate query never needs the whole graph in memory. It returns data;
which reads to make and whether they settle the top k is :mod:`matching.candidate_search`'s.

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
  the service's snapshot cache key (it also serialises writers, which is what we want); writes
  of artifacts, accounts and the audit log leave it alone, as in the embedded store.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from domain.accounts import ApiKey, AuditEntry, Session, User
from domain.candidates import CandidateFilters, CandidateRow, ContextMember, PartnershipContext
from domain.errors import (
    ConflictError,
    NotFoundError,
    PactmatchError,
    StoreUnavailableError,
    StoreWriteError,
)
from domain.graph_data import GraphChanges, GraphData, MembershipRow, OrgRow, PartnershipRow
from domain.jobs import ACTIVE, Job, JobCounts, JobLimits, JobStatus
from domain.models import Membership, Organisation, Partnership, Role, StakeholderType
from domain.regions import ancestors, nuts_country
from graph import cypher
from graph.account_rows import api_key_row, audit_row, session_row, stored_time
from graph.base import (
    CHANGE_LOG_ITEMS,
    CHANGE_LOG_VERSIONS,
    CandidateReads,
    EntityKind,
    ImportCounts,
    OrganisationFilter,
    Page,
    PartnershipFilter,
    StoreCounts,
    Touched,
    UpsertCounts,
    VersionedArtifact,
)
from graph.cypher import Label, Rel
from graph.dialects import ArcadeHttp, Dialect, default_arcadedb_http_url, detect_dialect, make_dialect
from graph.job_rows import job_row, saved

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
        )
        try:
            store.ensure_schema()
        except BaseException:
            store.close()
            raise
        return store

    # -- plumbing -------------------------------------------------------------------------------
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

    def _write(
        self, work: Callable[[Any], T], what: str | Callable[[], str], *, touched: Touched | None
    ) -> T:
        """Run ``work`` in one managed write transaction.

        A data write passes the :class:`~graph.base.Touched` that ``work`` fills in: the version
        counter goes up and the change log records what it touched, in the same transaction.
        Artifacts, accounts and the audit log pass ``None``: they are not snapshot data, so writing
        them must not invalidate the caches keyed by :meth:`version` (as in the embedded store).
        """

        def unit(tx: Any) -> T:
            result = work(tx)
            if touched is not None:
                tx.run(cypher.BUMP_VERSION).consume()
                listed = touched.listed()
                organisations, partnerships = listed or ([], [])
                tx.run(
                    cypher.LOG_CHANGE,
                    listed=listed is not None,
                    organisations=organisations,
                    partnerships=partnerships,
                ).consume()
                tx.run(cypher.PRUNE_CHANGES, keep=CHANGE_LOG_VERSIONS).consume()
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
        self._run_schema(cypher.INIT_AUDIT_SEQ)
        self._run_schema(cypher.INIT_JOBS_LOCK)
        self._run_schema(cypher.INIT_ARTIFACT_VERSION)

    def close(self) -> None:
        self._driver.close()

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
        touched = Touched()

        def work(tx: Any) -> ImportCounts:
            step[0] = _FIRST_STEP  # a retried transaction starts over
            touched.organisations.clear()
            touched.partnerships.clear()
            counts = ImportCounts()
            counts.organisations = self._upsert_organisations(tx, organisations, step, touched)
            counts.partnerships = self._upsert_partnerships(tx, partnerships, step, touched)
            counts.memberships = self._upsert_memberships(tx, memberships, step, touched)
            step[0] = _closing_step(step[0])  # the version bump and the commit follow `work`
            return counts

        return self._write(work, lambda: f"import (at {step[0]})", touched=touched)

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

    def _upsert_organisations(
        self, tx: Any, orgs: Sequence[Organisation], step: list[str], touched: Touched
    ) -> UpsertCounts:
        latest = {o.org_id: o for o in orgs}  # last one wins within a batch
        if not latest:
            return UpsertCounts()
        existing = self._existing_data(tx, Label.ORGANISATION, list(latest), step)
        counts, created, updated = self._classify(latest, existing)
        changed: list[Organisation] = created + updated
        touched.organisations.update(o.org_id for o in changed)
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

    def _upsert_partnerships(
        self, tx: Any, ps: Sequence[Partnership], step: list[str], touched: Touched
    ) -> UpsertCounts:
        latest = {p.partnership_id: p for p in ps}
        if not latest:
            return UpsertCounts()
        existing = self._existing_data(tx, Label.PARTNERSHIP, list(latest), step)
        counts, created, updated = self._classify(latest, existing)
        changed: list[Partnership] = created + updated
        touched.partnerships.update(p.partnership_id for p in changed)
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

    def _upsert_memberships(
        self, tx: Any, ms: Sequence[Membership], step: list[str], touched: Touched
    ) -> UpsertCounts:
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
                continue
            touched.organisations.add(m.org_id)
            touched.partnerships.add(m.partnership_id)
        # Membership rows are bounded (ids ≤ 200 characters), so row batches stay far below the cap.
        written = self._run_batches(tx, cypher.CREATE_MEMBERSHIPS, created, "new memberships", step)
        written += self._run_batches(tx, cypher.UPDATE_MEMBERSHIPS, updated, "changed memberships", step)
        if written != len(created) + len(updated):
            raise StoreWriteError(
                f"only {written} of {len(created) + len(updated)} memberships were written; import rolled back"
            )
        return counts

    def _delete(
        self, statement: str, params: dict[str, Any], kind: str, item_id: str, what: str, touched: Touched
    ) -> None:
        def work(tx: Any) -> None:
            record = tx.run(statement, params).single()
            if record is None or int(record["n"] or 0) == 0:
                raise NotFoundError(kind, item_id)

        self._write(work, what, touched=touched)

    def delete_organisation(self, org_id: str) -> None:
        self._delete(
            cypher.DELETE_ORGANISATION,
            {"id": org_id},
            "organisation",
            org_id,
            f"deleting organisation {org_id!r}",
            Touched(organisations={org_id}),
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

        self._write(
            work, f"deleting partnership {partnership_id!r}", touched=Touched(partnerships={partnership_id})
        )

    def delete_membership(self, org_id: str, partnership_id: str) -> None:
        self._delete(
            cypher.DELETE_MEMBERSHIP,
            {"org_id": org_id, "partnership_id": partnership_id},
            "membership",
            f"{org_id} in {partnership_id}",
            "deleting a membership",
            Touched({org_id}, {partnership_id}),
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
    def count_without_embedding(self, kind: EntityKind, model: str) -> int:
        statement = cypher.count_without_embedding(_label_of(kind), cypher.embedding_properties(model))
        return self._read(lambda tx: _count(tx.run(statement)), f"counting {kind.value}s without a vector")

    def embedding_hashes(
        self, kind: EntityKind, model: str, ids: Sequence[str] | None = None
    ) -> dict[str, str]:
        label, props = _label_of(kind), cypher.embedding_properties(model)
        if ids is None:
            statement, params = cypher.embedding_hashes(label, props), {}
        else:
            statement, params = cypher.embedding_hashes_of(label, props), {"ids": list(ids)}
        return self._read(
            lambda tx: {str(r["id"]): str(r["hash"]) for r in tx.run(statement, params)},
            "reading embedding hashes",
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

        # Rows of deleted items are skipped by the statement; listing them anyway touches nothing.
        ids = {item_id for item_id, _, _ in rows}
        touched = Touched(organisations=ids) if kind == EntityKind.ORGANISATION else Touched(partnerships=ids)
        self._write(work, lambda: f"storing {kind.value} embeddings ({step[0]})", touched=touched)

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
    # Every write takes cypher.NEXT_ARTIFACT_VERSION first (the lock, and the version it writes).
    def put_artifact(self, name: str, data: bytes) -> int:
        return self._write(
            lambda tx: self._save_artifact(tx, name, data), f"saving artifact {name!r}", touched=None
        )

    def put_artifact_if(
        self, name: str, data: bytes, expected: int, *, unchanged: Mapping[str, int] | None = None
    ) -> int | None:
        wanted = {**(unchanged or {}), name: expected}

        def work(tx: Any) -> int | None:
            version = int(tx.run(cypher.NEXT_ARTIFACT_VERSION).single()["value"])
            stored = {
                str(r["name"]): int(r["version"])
                for r in tx.run(cypher.ARTIFACT_VERSIONS, names=list(wanted))
            }
            if any(stored.get(n, 0) != v for n, v in wanted.items()):
                return None
            return self._save_artifact(tx, name, data, version)

        return self._write(work, f"saving artifact {name!r}", touched=None)

    @staticmethod
    def _save_artifact(tx: Any, name: str, data: bytes, version: int | None = None) -> int:
        if version is None:
            version = int(tx.run(cypher.NEXT_ARTIFACT_VERSION).single()["value"])
        chunks = [data[i : i + ARTIFACT_CHUNK_BYTES] for i in range(0, len(data), ARTIFACT_CHUNK_BYTES)] or [
            b""
        ]
        tx.run(cypher.DELETE_ARTIFACT_CHUNKS, name=name).consume()
        tx.run(cypher.PUT_ARTIFACT, name=name, size=len(data), chunks=len(chunks), version=version).consume()
        for seq, chunk in enumerate(chunks):
            tx.run(cypher.PUT_ARTIFACT_CHUNK, name=name, seq=seq, data=bytes(chunk)).consume()
        return version

    def get_artifact(self, name: str) -> bytes | None:
        found = self.get_versioned_artifact(name)
        return None if found is None else found.data

    def get_versioned_artifact(self, name: str) -> VersionedArtifact | None:
        def work(tx: Any) -> VersionedArtifact | None:
            head = tx.run(cypher.GET_ARTIFACT, name=name).single()
            if head is None:
                return None
            parts = [bytes(r["data"]) for r in tx.run(cypher.GET_ARTIFACT_CHUNKS, name=name)]
            data = b"".join(parts)
            if len(parts) != int(head["chunks"]) or len(data) != int(head["size"]):
                raise StoreUnavailableError(f"artifact {name!r} is incomplete in the store")
            return VersionedArtifact(data, int(head["version"]))

        return self._read(work, f"reading artifact {name!r}")

    def list_artifacts(self, prefix: str = "") -> list[str]:
        return self._read(
            lambda tx: [str(r["name"]) for r in tx.run(cypher.LIST_ARTIFACTS, prefix=prefix)],
            "listing artifacts",
        )

    def delete_artifact(self, name: str) -> None:
        def work(tx: Any) -> None:
            tx.run(cypher.NEXT_ARTIFACT_VERSION).consume()
            record = tx.run(cypher.DELETE_ARTIFACT, name=name).single()
            if record is None or int(record["n"] or 0) == 0:
                raise NotFoundError("artifact", name)
            tx.run(cypher.DELETE_ARTIFACT_CHUNKS, name=name).consume()

        self._write(work, f"deleting artifact {name!r}", touched=None)

    def delete_artifact_if(self, name: str, expected: int) -> bool:
        def work(tx: Any) -> bool:
            tx.run(cypher.NEXT_ARTIFACT_VERSION).consume()
            if _count(tx.run(cypher.DELETE_ARTIFACT_IF, name=name, expected=expected)) == 0:
                return False
            tx.run(cypher.DELETE_ARTIFACT_CHUNKS, name=name).consume()
            return True

        return self._write(work, f"deleting artifact {name!r}", touched=None)

    # -- accounts and the audit log ---------------------------------------------------------------
    # Not graph data: every write here is touched=None, so version() stays.
    def put_user(self, user: User) -> None:
        self._write(
            lambda tx: tx.run(cypher.PUT_USER, name=user.name, data=user.model_dump_json()).consume(),
            f"saving user {user.name!r}",
            touched=None,
        )

    def get_user(self, name: str) -> User | None:
        data = self._one_data(Label.USER, name)
        return None if data is None else User.model_validate_json(data)

    def list_users(self) -> list[User]:
        return [User.model_validate_json(data) for data in self._all_data(Label.USER)]

    def delete_user(self, name: str) -> None:
        def work(tx: Any) -> None:
            if _count(tx.run(cypher.DELETE_USER, name=name)) == 0:
                raise NotFoundError("user", name)
            tx.run(cypher.DELETE_USER_API_KEYS, name=name).consume()
            tx.run(cypher.delete_sessions(by_user=True, expired=False), user=name).consume()

        self._write(work, f"deleting user {name!r}", touched=None)

    def add_api_key(self, key: ApiKey) -> None:
        row = api_key_row(key)

        def work(tx: Any) -> None:
            if tx.run(cypher.existing_ids(Label.API_KEY), ids=[key.key_id]).single() is not None:
                raise ConflictError(f"API key {key.key_id!r} exists")
            tx.run(cypher.ADD_API_KEY, row).consume()

        self._write(work, f"adding API key {key.key_id!r}", touched=None)

    def get_api_key(self, key_id: str) -> ApiKey | None:
        keys = self._api_keys(cypher.GET_API_KEY, {"key_id": key_id})
        return keys[0] if keys else None

    def list_api_keys(self, user: str | None = None) -> list[ApiKey]:
        if user is None:
            return self._api_keys(cypher.LIST_API_KEYS, {})
        return self._api_keys(cypher.LIST_USER_API_KEYS, {"user": user})

    def _api_keys(self, statement: str, params: dict[str, Any]) -> list[ApiKey]:
        return self._read(
            lambda tx: [ApiKey.model_validate(r.data()) for r in tx.run(statement, params)],
            "reading API keys",
        )

    def touch_api_key(self, key_id: str, at: datetime) -> None:
        when = stored_time(at)
        self._write(
            lambda tx: tx.run(cypher.TOUCH_API_KEY, key_id=key_id, at=when).consume(),
            f"recording a use of API key {key_id!r}",
            touched=None,
        )

    def revoke_api_key(self, key_id: str, at: datetime) -> None:
        when = stored_time(at)

        def work(tx: Any) -> None:
            if _count(tx.run(cypher.REVOKE_API_KEY, key_id=key_id, at=when)) == 0:
                raise NotFoundError("API key", key_id)

        self._write(work, f"revoking API key {key_id!r}", touched=None)

    def add_session(self, session: Session) -> None:
        row = session_row(session)

        def work(tx: Any) -> None:
            if tx.run(cypher.existing_ids(Label.SESSION), ids=[session.token_hash]).single() is not None:
                raise ConflictError("a session with this token exists")
            tx.run(cypher.ADD_SESSION, row).consume()

        self._write(work, "adding a session", touched=None)

    def get_session(self, token_hash: str) -> Session | None:
        def work(tx: Any) -> Session | None:
            record = tx.run(cypher.GET_SESSION, token_hash=token_hash).single()
            return None if record is None else Session.model_validate(record.data())

        return self._read(work, "reading a session")

    def delete_session(self, token_hash: str) -> None:
        self._write(
            lambda tx: tx.run(cypher.DELETE_SESSION, token_hash=token_hash).consume(),
            "ending a session",
            touched=None,
        )

    def delete_sessions(self, user: str, *, expired_before: datetime | None = None) -> int:
        statement = cypher.delete_sessions(by_user=bool(user), expired=expired_before is not None)
        params = {}
        if user:
            params["user"] = user
        if expired_before is not None:
            params["before"] = stored_time(expired_before)
        return self._write(lambda tx: _count(tx.run(statement, params)), "ending sessions", touched=None)

    def append_audit(self, entry: AuditEntry) -> None:
        row = audit_row(entry)
        self._write(
            lambda tx: tx.run(cypher.APPEND_AUDIT, row).consume(), "appending to the audit log", touched=None
        )

    def audit_log(self, offset: int, limit: int, *, actor: str | None = None) -> Page[AuditEntry]:
        count, page = cypher.audit_log(actor=actor)
        total, rows = self._page(count, page, offset, limit, "reading the audit log")
        return Page([AuditEntry.model_validate_json(d) for d in rows], total, offset, limit)

    # -- background jobs ------------------------------------------------------------------------
    # Not graph data: touched=None (no version bump, no change log). Each write of a record
    # takes cypher.LOCK_JOBS first.
    def add_job(self, job: Job, limits: JobLimits) -> JobCounts:
        row = job_row(job)

        def work(tx: Any) -> JobCounts:
            tx.run(cypher.LOCK_JOBS).consume()
            active = [
                (r["owner"], r["status"])
                for r in tx.run(cypher.ACTIVE_JOBS, statuses=[s.value for s in ACTIVE])
            ]
            counts = JobCounts(
                owner_active=sum(owner == job.owner for owner, _ in active),
                queued=sum(status == JobStatus.QUEUED.value for _, status in active),
            )
            if counts.admits(limits):
                if tx.run(cypher.existing_ids(Label.JOB), ids=[job.job_id]).single() is not None:
                    raise ConflictError(f"job {job.job_id!r} exists")
                tx.run(cypher.ADD_JOB, row).consume()
            return counts

        return self._write(work, f"queueing job {job.job_id!r}", touched=None)

    def get_job(self, job_id: str) -> Job | None:
        data = self._one_data(Label.JOB, job_id)
        return None if data is None else Job.model_validate_json(data)

    def list_jobs(self, status: JobStatus | None = None) -> list[Job]:
        if status is None:
            statement, params = cypher.LIST_JOBS, {}
        else:
            statement, params = cypher.LIST_JOBS_IN, {"status": status.value}
        return self._read(
            lambda tx: [Job.model_validate_json(str(r["data"])) for r in tx.run(statement, params)],
            "listing jobs",
        )

    def update_job(self, job: Job) -> Job | None:
        new = saved(job)
        row = job_row(new)

        def work(tx: Any) -> bool:
            tx.run(cypher.LOCK_JOBS).consume()
            return _count(tx.run(cypher.UPDATE_JOB, row, expected=job.revision)) > 0

        return new if self._write(work, f"saving job {job.job_id!r}", touched=None) else None

    def delete_job(self, job_id: str) -> None:
        def work(tx: Any) -> None:
            tx.run(cypher.LOCK_JOBS).consume()
            if _count(tx.run(cypher.DELETE_JOB, job_id=job_id)) == 0:
                raise NotFoundError("job", job_id)
            tx.run(cypher.DELETE_JOB_RESULTS, job_id=job_id).consume()

        self._write(work, f"deleting job {job_id!r}", touched=None)

    def put_job_result_chunk(self, job_id: str, attempt: int, seq: int, data: bytes) -> None:
        self._write(
            lambda tx: tx.run(
                cypher.PUT_JOB_RESULT_CHUNK, job_id=job_id, attempt=attempt, seq=seq, data=bytes(data)
            ).consume(),
            f"saving a result chunk of job {job_id!r}",
            touched=None,
        )

    def job_result_chunk(self, job_id: str, attempt: int, seq: int) -> bytes | None:
        def work(tx: Any) -> bytes | None:
            record = tx.run(cypher.GET_JOB_RESULT_CHUNK, job_id=job_id, attempt=attempt, seq=seq).single()
            return None if record is None else bytes(record["data"])

        return self._read(work, f"reading the result of job {job_id!r}")

    def delete_job_results(self, job_id: str) -> None:
        self._write(
            lambda tx: tx.run(cypher.DELETE_JOB_RESULTS, job_id=job_id).consume(),
            f"deleting the results of job {job_id!r}",
            touched=None,
        )

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

    def read_changes(self, model: str, since: int) -> GraphChanges | None:
        """The change log's answer, read in one transaction (a consistent view)."""
        props = cypher.embedding_properties(model)

        def work(tx: Any) -> GraphChanges | None:
            version = _version_of(tx.run(cypher.VERSION).single())
            log = list(tx.run(cypher.CHANGES_SINCE, since=since))
            if since > version or len(log) != version - since or not all(r["listed"] for r in log):
                return None  # the log does not reach back that far, or a write touched too much
            org_ids = sorted({str(i) for r in log for i in r["organisations"] or ()})
            p_ids = sorted({str(i) for r in log for i in r["partnerships"] or ()})
            if len(org_ids) + len(p_ids) > CHANGE_LOG_ITEMS:
                return None
            orgs = [
                OrgRow.from_json(json.loads(r["data"]))
                for r in tx.run(cypher.existing_data(Label.ORGANISATION), ids=org_ids)
            ]
            parts = [
                PartnershipRow.of(Partnership.model_validate_json(r["data"]))
                for r in tx.run(cypher.existing_data(Label.PARTNERSHIP), ids=p_ids)
            ]
            members = {
                MembershipRow(str(r["org_id"]), str(r["partnership_id"]), r["role"] == Role.COORDINATOR.value)
                for statement, ids in (
                    (cypher.MEMBERSHIPS_OF_ORGANISATIONS, org_ids),
                    (cypher.MEMBERSHIPS_OF_PARTNERSHIPS, p_ids),
                )
                for r in tx.run(statement, ids=ids)
            }
            org_vectors, p_vectors = (
                {
                    str(r["id"]): np.asarray(r["vector"], dtype=np.float32)
                    for r in tx.run(cypher.vectors_of(label, props), ids=ids)
                }
                for label, ids in ((Label.ORGANISATION, org_ids), (Label.PARTNERSHIP, p_ids))
            )
            data = GraphData(
                orgs,
                parts,
                sorted(members, key=_membership_key),
                org_vectors,
                p_vectors,
                model=model,
                version=version,
            )
            return GraphChanges(since, frozenset(org_ids), frozenset(p_ids), data)

        return self._read(work, f"reading the changes since version {since}")

    # -- candidate reads ------------------------------------------------------------------------
    def read_candidates(self, model: str, work: Callable[[CandidateReads], T]) -> T:
        """Run ``work`` with this store's candidate reads, in one read transaction."""
        props = cypher.embedding_properties(model)
        return self._read(lambda tx: work(_CandidateReads(self, tx, props)), "reading candidates")

    def _nearest(self, statement: str, params: dict[str, Any], version: int) -> list[Any] | None:
        """The vector search, in a read transaction of its own: a failing procedure (no index for
        this model yet) aborts the transaction it runs in, and the exact scan that answers then
        needs the candidate read's. ``None`` when the index cannot answer, or the store is no
        longer at ``version`` (the candidate read's scan then answers, from one version)."""
        from neo4j.exceptions import ClientError

        def work(tx: Any) -> list[Any] | None:
            if _version_of(tx.run(cypher.VERSION).single()) != version:
                return None
            found = tx.run(statement, params).single()
            return list(found["hits"]) if found is not None else []

        try:
            return self._read(work, "the vector search for candidates")
        except StoreUnavailableError as exc:
            if not isinstance(exc.__cause__, ClientError):
                raise
            log.warning(
                "vector index %s unusable (%s); using an exact scan", params["index"], exc.__cause__.message
            )
            return None


class _CandidateReads:
    """:class:`~graph.base.CandidateReads` in one read transaction ``tx`` (keys: element ids)."""

    def __init__(self, store: Neo4jStore, tx: Any, props: cypher.EmbeddingProperties) -> None:
        self.store, self.tx, self.props = store, tx, props
        self.version = _version_of(tx.run(cypher.VERSION).single())

    def _rows(self, statement: str, params: dict[str, Any], column: str = "rows") -> list[Any]:
        record = self.tx.run(statement, params).single()
        return list(record[column]) if record is not None else []

    def _search(
        self, vector: npt.NDArray[np.float32] | None, filters: CandidateFilters
    ) -> tuple[cypher.Statement, str | None, dict[str, Any]]:
        """The filter expression, the cosine expression and the parameters of a filtered read."""
        flt = cypher.candidate_filter(filters)
        if vector is None:
            return flt, None, dict(flt.params)
        cosine = self.store.dialect.cosine(f"c.{self.props.vector}", "$vector")
        return flt, cosine, {**flt.params, "vector": vector.tolist()}

    def context(self, partnership_id: str) -> PartnershipContext:
        record = self.tx.run(cypher.candidate_context(self.props), pid=partnership_id).single()
        if record is None:
            raise NotFoundError("partnership", partnership_id)
        members = tuple(
            ContextMember(
                str(m["org_id"]),
                str(m["eid"]),
                str(m["name"]),
                _TYPES[m["stakeholder_type"]],
                tuple(m["region_path"] or ()),
                None if m.get("vector") is None else np.asarray(m["vector"], dtype=np.float32),
            )
            for m in record["members"]
            if m and m.get("org_id") is not None
        )
        vector = record["vector"]
        return PartnershipContext(
            partnership_id,
            tuple(record["scope"] or ()),
            None if vector is None else np.asarray(vector, dtype=np.float32),
            members,
        )

    def co_members(self, member_ids: Sequence[str]) -> dict[str, list[str]]:
        links = self._rows(cypher.CANDIDATE_NEIGHBOURHOOD, {"member_ids": list(member_ids)}, "links")
        return {str(z): [str(c) for c in keys] for z, keys in links}

    def nearest(
        self, vector: npt.NDArray[np.float32], k: int, filters: CandidateFilters
    ) -> list[CandidateRow] | None:
        flt, _, params = self._search(vector, filters)
        index = self.store.dialect.vector_index_name(Label.ORGANISATION, self.props.vector)
        hits = self.store._nearest(
            cypher.candidate_nearest(flt), {**params, "index": index, "k": k}, self.version
        )
        if hits is None:
            return None
        to_cosine = self.store.dialect.index_score_to_cosine
        return [_row(h, to_cosine(float(h[5])), bool(h[6])) for h in hits]

    def closest(
        self, vector: npt.NDArray[np.float32] | None, filters: CandidateFilters, limit: int
    ) -> list[CandidateRow]:
        flt, cosine, params = self._search(vector, filters)
        statement = cypher.candidate_closest(filters, flt, self.props, cosine)
        return [_row(r, r[5], True) for r in self._rows(statement, {**params, "n": limit})]

    def inside(
        self,
        regions: Sequence[str],
        vector: npt.NDArray[np.float32] | None,
        filters: CandidateFilters,
        limit: int,
    ) -> list[CandidateRow]:
        flt, cosine, params = self._search(vector, filters)
        statement = cypher.candidate_inside(flt, self.props, cosine)
        rows = self._rows(statement, {**params, "refs": list(regions), "n": limit})
        # Best first, ties by id, as ORDER BY had them: one row of a list need not keep the order.
        rows.sort(key=lambda r: (-float(r[5]), str(r[0])))
        return [_row(r, r[5], True) for r in rows]

    def columns(
        self, keys: Sequence[str], vector: npt.NDArray[np.float32] | None, filters: CandidateFilters
    ) -> list[CandidateRow]:
        flt, cosine, params = self._search(vector, filters)
        statement = cypher.candidate_columns(flt, self.props, cosine)
        return [_row(r, r[5], bool(r[6])) for r in self._rows(statement, {**params, "eids": list(keys)})]

    def partnerships_of(self, org_ids: Sequence[str]) -> dict[str, set[str]]:
        found = self._rows(cypher.PARTNERSHIPS_OF, {"ids": list(org_ids)}, "partnerships")
        return {str(i): set(ps) for i, ps in found}


_TYPES = {t.value: t for t in StakeholderType}


def _row(r: Sequence[Any], similarity: object, eligible: bool) -> CandidateRow:
    """A candidate from a ``[*CANDIDATE_ROW, ...]`` list (see :data:`graph.cypher.CANDIDATE_ROW`)."""
    sim = None if similarity is None else float(similarity)  # type: ignore[arg-type]
    return CandidateRow(str(r[0]), str(r[4]), str(r[1]), _TYPES[r[2]], tuple(r[3] or ()), sim, eligible)


def _count(result: Any) -> int:
    """The ``n`` column of a statement's single row (0 without one)."""
    record = result.single()
    return 0 if record is None else int(record["n"] or 0)


def _membership_key(m: MembershipRow) -> tuple[str, str]:
    return m.partnership_id, m.org_id


def _version_of(record: Any) -> int:
    """The store version from the record of :data:`graph.cypher.VERSION` (0 before the first write)."""
    return int(record["value"]) if record and record["value"] is not None else 0


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
