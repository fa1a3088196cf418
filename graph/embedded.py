"""The embedded default store: one SQLite file on disk, no server.

Why SQLite: it is in the standard library, transactional and crash-safe (WAL journal; a crash
mid-import leaves the last committed state readable), and fast enough for the tens of thousands of
organisations a skills-partnership deployment holds. The algorithms never query it row by row:
:meth:`EmbeddedStore.snapshot` loads everything once into numpy/scipy arrays.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from domain.accounts import ApiKey, AuditEntry, Session, User
from domain.errors import ConflictError, NotFoundError, StoreUnavailableError, StoreWriteError
from domain.graph_data import GraphChanges, GraphData, MembershipRow, OrgRow, PartnershipRow
from domain.jobs import ACTIVE, Job, JobCounts, JobLimits, JobStatus
from domain.models import Membership, Organisation, Partnership, Role
from graph.account_rows import (
    API_KEY_FIELDS,
    SESSION_FIELDS,
    api_key_row,
    audit_row,
    session_row,
    stored_time,
)
from graph.base import (
    CHANGE_LOG_ITEMS,
    CHANGE_LOG_VERSIONS,
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
from graph.job_rows import job_row, saved

#: 2: users, API keys, sessions and the audit log. 3: background jobs and their results.
#: 4: the change log. 5: a version on every artifact (the one column ever added to a table: see
#: ``_add_artifact_versions``).
SCHEMA_VERSION = 5

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS organisations (
    org_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    stakeholder_type TEXT NOT NULL,
    sme INTEGER,
    country TEXT,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS org_country ON organisations(country);
CREATE INDEX IF NOT EXISTS org_type ON organisations(stakeholder_type);
CREATE TABLE IF NOT EXISTS org_regions (
    org_id TEXT NOT NULL REFERENCES organisations(org_id) ON DELETE CASCADE,
    code TEXT NOT NULL,
    PRIMARY KEY (org_id, code)
);
CREATE INDEX IF NOT EXISTS org_regions_code ON org_regions(code);
CREATE TABLE IF NOT EXISTS org_ecosystems (
    org_id TEXT NOT NULL REFERENCES organisations(org_id) ON DELETE CASCADE,
    ecosystem TEXT NOT NULL,
    PRIMARY KEY (org_id, ecosystem)
);
CREATE INDEX IF NOT EXISTS org_ecosystems_eco ON org_ecosystems(ecosystem);
CREATE TABLE IF NOT EXISTS partnerships (
    partnership_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    parent_id TEXT,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS partnership_kind ON partnerships(kind);
CREATE TABLE IF NOT EXISTS partnership_regions (
    partnership_id TEXT NOT NULL REFERENCES partnerships(partnership_id) ON DELETE CASCADE,
    code TEXT NOT NULL,
    PRIMARY KEY (partnership_id, code)
);
CREATE TABLE IF NOT EXISTS partnership_ecosystems (
    partnership_id TEXT NOT NULL REFERENCES partnerships(partnership_id) ON DELETE CASCADE,
    ecosystem TEXT NOT NULL,
    PRIMARY KEY (partnership_id, ecosystem)
);
CREATE TABLE IF NOT EXISTS memberships (
    org_id TEXT NOT NULL REFERENCES organisations(org_id) ON DELETE CASCADE,
    partnership_id TEXT NOT NULL REFERENCES partnerships(partnership_id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    since TEXT,
    PRIMARY KEY (org_id, partnership_id)
);
CREATE INDEX IF NOT EXISTS memberships_partnership ON memberships(partnership_id);
-- version: what put_artifact_if compares; 1 for artifacts written before versions existed, and
-- every write takes the next value of meta's 'artifact_version' counter (which starts at 1).
CREATE TABLE IF NOT EXISTS artifacts (
    name TEXT PRIMARY KEY,
    data BLOB NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS embeddings (
    kind TEXT NOT NULL,
    item_id TEXT NOT NULL,
    model TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (kind, model, item_id)
);
-- Accounts and the audit log (schema version 2). Times are graph.account_rows.stored_time text.
CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    label TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);
CREATE INDEX IF NOT EXISTS api_keys_user ON api_keys(user, created_at);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user, expires_at);
CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions(expires_at);
-- AUTOINCREMENT: seq never goes back, so among entries of the same time the highest is the last.
CREATE TABLE IF NOT EXISTS audit_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_at ON audit_log(at, seq);
CREATE INDEX IF NOT EXISTS audit_actor ON audit_log(actor, at, seq);
-- Background jobs (schema version 3): graph.job_rows; results in chunks per attempt.
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revision INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status, created_at);
CREATE TABLE IF NOT EXISTS job_results (
    job_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (job_id, attempt, seq)
);
-- The change log (schema version 4): the ids each data write touched, as JSON lists (NULL: too
-- many to list), one row per version; what lets a process apply the writes after its snapshot.
CREATE TABLE IF NOT EXISTS changes (version INTEGER PRIMARY KEY, organisations TEXT, partnerships TEXT);
"""


class EmbeddedStore:
    """A :class:`~graph.base.GraphStore` in one SQLite file (``<path>/pactmatch.sqlite``).

    One connection guarded by a lock: SQLite serialises writers anyway, and reads here are short,
    so a pool would add nothing but contention. The long reads that feed snapshots (everything, or
    the changes since a version) have a connection of their own, so a request's short reads never
    wait behind them (the WAL journal lets them read while others read and write).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self._db_file = self.path / "pactmatch.sqlite"
            self._conn = sqlite3.connect(self._db_file, check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.executescript(_SCHEMA)
            self._conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('version', '0')")
            self._conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('artifact_version', '1')")
            _add_artifact_versions(self._conn)
            # Every schema change so far only adds tables and indexes (IF NOT EXISTS, above), so a
            # file of an older schema is now upgraded: record that, never lowering a newer number.
            self._conn.execute(
                "INSERT INTO meta(key, value) VALUES ('schema_version', ?) ON CONFLICT(key) DO UPDATE "
                "SET value = excluded.value WHERE CAST(value AS INTEGER) < CAST(excluded.value AS INTEGER)",
                (str(SCHEMA_VERSION),),
            )
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailableError(f"cannot open the embedded store at {self.path}: {exc}") from exc
        self._lock = threading.RLock()
        self._snapshot_conn = sqlite3.connect(self._db_file, check_same_thread=False, isolation_level=None)
        self._snapshot_lock = threading.Lock()
        self.description = f"embedded store at {self.path}"

    # -- plumbing ---------------------------------------------------------------------------
    @contextmanager
    def _write(self, touched: Touched | None) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed whole, or rolled back whole on any error.

        A data write passes the :class:`~graph.base.Touched` its body fills in: the version goes
        up and the change log records what it touched, in the same transaction. Artifacts (fitted
        models, event documents), accounts and the audit log pass ``None``: they are not part of
        the snapshot, so writing them must not invalidate the snapshot caches keyed by
        ``version()``.
        """
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                if touched is not None:
                    _log_change(self._conn, touched)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        # sqlite3 rows are untyped; callers convert each column to its domain type.
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StoreUnavailableError(
                    f"reading the embedded store at {self.path} failed: {exc}"
                ) from exc

    @contextmanager
    def _account_write(self, what: str) -> Iterator[sqlite3.Connection]:
        """A write of accounts, the audit log or jobs: not graph data, so ``version()`` stays."""
        try:
            with self._write(None) as conn:
                yield conn
        except sqlite3.Error as exc:
            raise StoreWriteError(f"{what} failed and was rolled back: {exc}") from exc

    @contextmanager
    def _snapshot_read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction (a consistent view) on the snapshot reads' own connection."""
        with self._snapshot_lock:
            try:
                self._snapshot_conn.execute("BEGIN")
                try:
                    yield self._snapshot_conn
                finally:
                    self._snapshot_conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise StoreUnavailableError(
                    f"reading the embedded store at {self.path} failed: {exc}"
                ) from exc

    def close(self) -> None:
        with self._lock, self._snapshot_lock:
            self._conn.close()
            self._snapshot_conn.close()

    def version(self) -> int:
        return int(str(self._read("SELECT value FROM meta WHERE key = 'version'")[0][0]))

    # -- writes -----------------------------------------------------------------------------
    def import_batch(
        self,
        organisations: Sequence[Organisation] = (),
        partnerships: Sequence[Partnership] = (),
        memberships: Sequence[Membership] = (),
    ) -> ImportCounts:
        counts = ImportCounts()
        touched = Touched()
        try:
            with self._write(touched) as conn:
                counts.organisations = self._upsert_orgs(conn, organisations, touched)
                counts.partnerships = self._upsert_partnerships(conn, partnerships, touched)
                counts.memberships = self._upsert_memberships(conn, memberships, touched)
        except sqlite3.Error as exc:
            raise StoreWriteError(f"import rolled back: {exc}") from exc
        return counts

    @staticmethod
    def _existing(conn: sqlite3.Connection, table: str, key: str, ids: Sequence[str]) -> dict[str, str]:
        """id → stored JSON for the ids that exist (chunked under SQLite's parameter limit)."""
        found: dict[str, str] = {}
        column = "data" if table != "memberships" else "role || '|' || coalesce(since, '')"
        for start in range(0, len(ids), 900):
            chunk = ids[start : start + 900]
            marks = ",".join("?" * len(chunk))
            for item_id, data in conn.execute(
                f"SELECT {key}, {column} FROM {table} WHERE {key} IN ({marks})",  # nosec B608  (reviewed: only fixed names and ?-placeholders are formatted in; every value is a parameter)
                chunk,
            ):
                found[item_id] = data
        return found

    def _upsert_orgs(
        self, conn: sqlite3.Connection, orgs: Sequence[Organisation], touched: Touched
    ) -> UpsertCounts:
        latest = {o.org_id: o for o in orgs}  # last one wins within a batch
        existing = self._existing(conn, "organisations", "org_id", list(latest))
        counts, changed = _classify(latest, existing)
        touched.organisations.update(o.org_id for o in changed)
        conn.executemany(
            "INSERT INTO organisations(org_id, name, stakeholder_type, sme, country, data) VALUES (?,?,?,?,?,?) "
            "ON CONFLICT(org_id) DO UPDATE SET name=excluded.name, stakeholder_type=excluded.stakeholder_type, "
            "sme=excluded.sme, country=excluded.country, data=excluded.data",
            [
                (o.org_id, o.name, o.stakeholder_type.value, None if o.sme is None else int(o.sme), o.country,
                 o.model_dump_json())
                for o in changed
            ],
        )  # fmt: skip
        ids = [(o.org_id,) for o in changed]
        conn.executemany("DELETE FROM org_regions WHERE org_id = ?", ids)
        conn.executemany("DELETE FROM org_ecosystems WHERE org_id = ?", ids)
        conn.executemany(
            "INSERT INTO org_regions(org_id, code) VALUES (?, ?)",
            [(o.org_id, code) for o in changed for code in _region_keys(o)],
        )
        conn.executemany(
            "INSERT INTO org_ecosystems(org_id, ecosystem) VALUES (?, ?)",
            [(o.org_id, e.value) for o in changed for e in o.ecosystems],
        )
        return counts

    def _upsert_partnerships(
        self, conn: sqlite3.Connection, ps: Sequence[Partnership], touched: Touched
    ) -> UpsertCounts:
        latest = {p.partnership_id: p for p in ps}
        existing = self._existing(conn, "partnerships", "partnership_id", list(latest))
        counts, changed = _classify(latest, existing)
        touched.partnerships.update(p.partnership_id for p in changed)
        conn.executemany(
            "INSERT INTO partnerships(partnership_id, name, kind, parent_id, data) VALUES (?,?,?,?,?) "
            "ON CONFLICT(partnership_id) DO UPDATE SET name=excluded.name, kind=excluded.kind, "
            "parent_id=excluded.parent_id, data=excluded.data",
            [(p.partnership_id, p.name, p.kind.value, p.parent_id, p.model_dump_json()) for p in changed],
        )
        ids = [(p.partnership_id,) for p in changed]
        conn.executemany("DELETE FROM partnership_regions WHERE partnership_id = ?", ids)
        conn.executemany("DELETE FROM partnership_ecosystems WHERE partnership_id = ?", ids)
        conn.executemany(
            "INSERT INTO partnership_regions(partnership_id, code) VALUES (?, ?)",
            [(p.partnership_id, code) for p in changed for code in p.scope_regions],
        )
        conn.executemany(
            "INSERT INTO partnership_ecosystems(partnership_id, ecosystem) VALUES (?, ?)",
            [(p.partnership_id, e.value) for p in changed for e in p.ecosystems],
        )
        missing_parents = {p.parent_id for p in changed if p.parent_id} - set(
            self._existing(
                conn, "partnerships", "partnership_id", [p.parent_id for p in changed if p.parent_id]
            )
        )
        if missing_parents:
            raise ConflictError(f"unknown parent partnership(s): {', '.join(sorted(missing_parents))}")
        return counts

    def _upsert_memberships(
        self, conn: sqlite3.Connection, ms: Sequence[Membership], touched: Touched
    ) -> UpsertCounts:
        counts = UpsertCounts()
        latest = {(m.org_id, m.partnership_id): m for m in ms}
        if not latest:
            return counts
        orgs = set(self._existing(conn, "organisations", "org_id", sorted({k[0] for k in latest})))
        parts = set(self._existing(conn, "partnerships", "partnership_id", sorted({k[1] for k in latest})))
        missing = [k for k in latest if k[0] not in orgs or k[1] not in parts]
        if missing:
            org_id, pid = missing[0]
            what = f"organisation {org_id!r}" if org_id not in orgs else f"partnership {pid!r}"
            raise ConflictError(f"{len(missing)} membership(s) refer to unknown ids, e.g. {what}")
        existing: dict[tuple[str, str], str] = {}
        for org_id, pid, role, since in conn.execute(
            "SELECT org_id, partnership_id, role, since FROM memberships WHERE partnership_id IN "
            "(SELECT value FROM json_each(?))",
            (json.dumps(sorted(parts)),),
        ):
            existing[(org_id, pid)] = f"{role}|{since or ''}"
        rows = []
        for key, m in latest.items():
            value = f"{m.role.value}|{m.since.isoformat() if m.since else ''}"
            if key not in existing:
                counts.created += 1
            elif existing[key] != value:
                counts.updated += 1
            else:
                counts.unchanged += 1
                continue
            rows.append((m.org_id, m.partnership_id, m.role.value, m.since.isoformat() if m.since else None))
            touched.organisations.add(m.org_id)
            touched.partnerships.add(m.partnership_id)
        conn.executemany(
            "INSERT INTO memberships(org_id, partnership_id, role, since) VALUES (?,?,?,?) "
            "ON CONFLICT(org_id, partnership_id) DO UPDATE SET role=excluded.role, since=excluded.since",
            rows,
        )
        return counts

    def delete_organisation(self, org_id: str) -> None:
        with self._write(Touched(organisations={org_id})) as conn:
            if conn.execute("DELETE FROM organisations WHERE org_id = ?", (org_id,)).rowcount == 0:
                raise NotFoundError("organisation", org_id)
            conn.execute("DELETE FROM embeddings WHERE kind = 'organisation' AND item_id = ?", (org_id,))

    def delete_partnership(self, partnership_id: str) -> None:
        with self._write(Touched(partnerships={partnership_id})) as conn:
            if conn.execute(
                "SELECT 1 FROM partnerships WHERE parent_id = ? LIMIT 1", (partnership_id,)
            ).fetchone():
                raise ConflictError(
                    f"partnership {partnership_id!r} has derived partnerships; delete those first"
                )
            if (
                conn.execute("DELETE FROM partnerships WHERE partnership_id = ?", (partnership_id,)).rowcount
                == 0
            ):
                raise NotFoundError("partnership", partnership_id)
            conn.execute(
                "DELETE FROM embeddings WHERE kind = 'partnership' AND item_id = ?", (partnership_id,)
            )

    def delete_membership(self, org_id: str, partnership_id: str) -> None:
        with self._write(Touched({org_id}, {partnership_id})) as conn:
            deleted = conn.execute(
                "DELETE FROM memberships WHERE org_id = ? AND partnership_id = ?", (org_id, partnership_id)
            ).rowcount
            if deleted == 0:
                raise NotFoundError("membership", f"{org_id} in {partnership_id}")

    # -- reads ------------------------------------------------------------------------------
    def get_organisation(self, org_id: str) -> Organisation:
        rows = self._read("SELECT data FROM organisations WHERE org_id = ?", (org_id,))
        if not rows:
            raise NotFoundError("organisation", org_id)
        return Organisation.model_validate_json(str(rows[0][0]))

    def get_partnership(self, partnership_id: str) -> Partnership:
        rows = self._read("SELECT data FROM partnerships WHERE partnership_id = ?", (partnership_id,))
        if not rows:
            raise NotFoundError("partnership", partnership_id)
        return Partnership.model_validate_json(str(rows[0][0]))

    def list_organisations(self, flt: OrganisationFilter, offset: int, limit: int) -> Page[Organisation]:
        # Region, ecosystem and partnership filters are ``IN (subquery)``, not correlated ``EXISTS``:
        # SQLite then starts from the small indexed set (a partnership's members) instead of
        # testing all organisations one by one (260 ms → a few ms on a CORDIS store).
        where: list[str] = []
        params: list[object] = []
        if flt.country:
            where.append("o.country = ?")
            params.append(flt.country)
        if flt.stakeholder_type:
            where.append("o.stakeholder_type = ?")
            params.append(flt.stakeholder_type.value)
        if flt.sme is not None:
            where.append("o.sme = ?")
            params.append(int(flt.sme))
        if flt.region:
            where.append("o.org_id IN (SELECT org_id FROM org_regions WHERE code = ?)")
            params.append(flt.region)
        if flt.ecosystem:
            where.append("o.org_id IN (SELECT org_id FROM org_ecosystems WHERE ecosystem = ?)")
            params.append(flt.ecosystem.value)
        if flt.name_contains:
            where.append("o.name LIKE ? ESCAPE '\\'")
            params.append(f"%{_escape_like(flt.name_contains)}%")
        if flt.partnership_id:
            where.append("o.org_id IN (SELECT org_id FROM memberships WHERE partnership_id = ?)")
            params.append(flt.partnership_id)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        total = int(str(self._read(f"SELECT count(*) FROM organisations o {clause}", params)[0][0]))  # nosec B608  (reviewed: only fixed names and ?-placeholders are formatted in; every value is a parameter)
        rows = self._read(
            f"SELECT o.data FROM organisations o {clause} ORDER BY o.name, o.org_id LIMIT ? OFFSET ?",  # nosec B608  (reviewed: only fixed names and ?-placeholders are formatted in; every value is a parameter)
            [*params, limit, offset],
        )
        items = [Organisation.model_validate_json(str(r[0])) for r in rows]
        return Page(items=items, total=total, offset=offset, limit=limit)

    def list_partnerships(self, flt: PartnershipFilter, offset: int, limit: int) -> Page[Partnership]:
        where: list[str] = []
        params: list[object] = []
        if flt.kind:
            where.append("p.kind = ?")
            params.append(flt.kind.value)
        if flt.parent_id:
            where.append("p.parent_id = ?")
            params.append(flt.parent_id)
        if flt.region:
            # Scope touches the region: the scope code lies inside it, or contains it.
            where.append(
                "EXISTS (SELECT 1 FROM partnership_regions r WHERE r.partnership_id = p.partnership_id "
                "AND (r.code LIKE ? || '%' OR ? LIKE r.code || '%'))"
            )
            params.extend([flt.region, flt.region])
        if flt.ecosystem:
            where.append(
                "EXISTS (SELECT 1 FROM partnership_ecosystems e WHERE e.partnership_id = p.partnership_id "
                "AND e.ecosystem = ?)"
            )
            params.append(flt.ecosystem.value)
        if flt.name_contains:
            where.append("p.name LIKE ? ESCAPE '\\'")
            params.append(f"%{_escape_like(flt.name_contains)}%")
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        total = int(str(self._read(f"SELECT count(*) FROM partnerships p {clause}", params)[0][0]))  # nosec B608  (reviewed: only fixed names and ?-placeholders are formatted in; every value is a parameter)
        rows = self._read(
            f"SELECT p.data FROM partnerships p {clause} ORDER BY p.name, p.partnership_id LIMIT ? OFFSET ?",  # nosec B608  (reviewed: only fixed names and ?-placeholders are formatted in; every value is a parameter)
            [*params, limit, offset],
        )
        items = [Partnership.model_validate_json(str(r[0])) for r in rows]
        return Page(items=items, total=total, offset=offset, limit=limit)

    def memberships(
        self, *, org_id: str | None = None, partnership_id: str | None = None
    ) -> list[Membership]:
        where: list[str] = []
        params: list[object] = []
        if org_id is not None:
            where.append("org_id = ?")
            params.append(org_id)
        if partnership_id is not None:
            where.append("partnership_id = ?")
            params.append(partnership_id)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self._read(
            f"SELECT org_id, partnership_id, role, since FROM memberships {clause} ORDER BY partnership_id, org_id",  # nosec B608  (reviewed: only fixed names and ?-placeholders are formatted in; every value is a parameter)
            params,
        )
        return [_membership(r) for r in rows]

    def existing_ids(self, kind: EntityKind, ids: Sequence[str]) -> set[str]:
        table, key = _table(kind)
        with self._lock:
            return set(self._existing(self._conn, table, key, list(ids)))

    def iter_organisations(self) -> Iterator[Organisation]:
        for (data,) in self._read("SELECT data FROM organisations ORDER BY org_id"):
            yield Organisation.model_validate_json(str(data))

    def iter_partnerships(self) -> Iterator[Partnership]:
        for (data,) in self._read("SELECT data FROM partnerships ORDER BY partnership_id"):
            yield Partnership.model_validate_json(str(data))

    def iter_memberships(self) -> Iterator[Membership]:
        for row in self._read("SELECT org_id, partnership_id, role, since FROM memberships"):
            yield _membership(row)

    def counts(self) -> StoreCounts:
        (o,), (p,), (m,) = (
            self._read("SELECT count(*) FROM organisations")[0],
            self._read("SELECT count(*) FROM partnerships")[0],
            self._read("SELECT count(*) FROM memberships")[0],
        )
        return StoreCounts(organisations=int(str(o)), partnerships=int(str(p)), memberships=int(str(m)))

    # -- embeddings -------------------------------------------------------------------------
    def count_without_embedding(self, kind: EntityKind, model: str) -> int:
        table, key = _table(kind)
        rows = self._read(
            f"SELECT count(*) FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM embeddings e "  # nosec B608  (reviewed: only fixed names and ?-placeholders are formatted in)
            f"WHERE e.kind = ? AND e.model = ? AND e.item_id = t.{key})",
            (kind.value, model),
        )
        return int(str(rows[0][0]))

    def embedding_hashes(
        self, kind: EntityKind, model: str, ids: Sequence[str] | None = None
    ) -> dict[str, str]:
        sql = "SELECT item_id, text_hash FROM embeddings WHERE kind = ? AND model = ?"
        params: tuple[str, ...] = (kind.value, model)
        if ids is not None:
            sql += " AND item_id IN (SELECT value FROM json_each(?))"
            params += (json.dumps(list(ids)),)
        return {str(i): str(h) for i, h in self._read(sql, params)}

    def put_embeddings(
        self, kind: EntityKind, model: str, rows: Sequence[tuple[str, str, npt.NDArray[np.float32]]]
    ) -> None:
        table, key = _table(kind)
        touched = Touched()
        with self._write(touched) as conn:
            live = set(self._existing(conn, table, key, [r[0] for r in rows]))
            (touched.organisations if kind == EntityKind.ORGANISATION else touched.partnerships).update(live)
            conn.executemany(
                "INSERT INTO embeddings(kind, item_id, model, text_hash, vector) VALUES (?,?,?,?,?) "
                "ON CONFLICT(kind, model, item_id) DO UPDATE SET text_hash=excluded.text_hash, vector=excluded.vector",
                [
                    (kind.value, item_id, model, text_hash, np.asarray(vec, dtype=np.float32).tobytes())
                    for item_id, text_hash, vec in rows
                    if item_id in live
                ],
            )

    # -- artifacts --------------------------------------------------------------------------
    # BEGIN IMMEDIATE holds the file's write lock from the version check to the write: one atomic
    # step for every process of the store.
    def put_artifact(self, name: str, data: bytes) -> int:
        with self._write(None) as conn:
            return _save_artifact(conn, name, data)

    def put_artifact_if(
        self, name: str, data: bytes, expected: int, *, unchanged: Mapping[str, int] | None = None
    ) -> int | None:
        with self._write(None) as conn:
            for other, version in {**(unchanged or {}), name: expected}.items():
                row = conn.execute("SELECT version FROM artifacts WHERE name = ?", (other,)).fetchone()
                if (int(row[0]) if row else 0) != version:
                    return None
            return _save_artifact(conn, name, data)

    def get_artifact(self, name: str) -> bytes | None:
        rows = self._read("SELECT data FROM artifacts WHERE name = ?", (name,))
        return bytes(rows[0][0]) if rows else None

    def get_versioned_artifact(self, name: str) -> VersionedArtifact | None:
        rows = self._read("SELECT data, version FROM artifacts WHERE name = ?", (name,))
        return VersionedArtifact(bytes(rows[0][0]), int(rows[0][1])) if rows else None

    def list_artifacts(self, prefix: str = "") -> list[str]:
        rows = self._read(
            "SELECT name FROM artifacts WHERE substr(name, 1, ?) = ? ORDER BY name", (len(prefix), prefix)
        )
        return [str(r[0]) for r in rows]

    def delete_artifact(self, name: str) -> None:
        with self._write(None) as conn:
            if conn.execute("DELETE FROM artifacts WHERE name = ?", (name,)).rowcount == 0:
                raise NotFoundError("artifact", name)

    def delete_artifact_if(self, name: str, expected: int) -> bool:
        with self._write(None) as conn:
            return bool(
                conn.execute(
                    "DELETE FROM artifacts WHERE name = ? AND version = ?", (name, expected)
                ).rowcount
            )

    # -- accounts and the audit log ---------------------------------------------------------
    def put_user(self, user: User) -> None:
        with self._account_write(f"saving user {user.name!r}") as conn:
            conn.execute(
                "INSERT INTO users(name, data) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET data = excluded.data",
                (user.name, user.model_dump_json()),
            )

    def get_user(self, name: str) -> User | None:
        rows = self._read("SELECT data FROM users WHERE name = ?", (name,))
        return User.model_validate_json(str(rows[0][0])) if rows else None

    def list_users(self) -> list[User]:
        return [
            User.model_validate_json(str(data))
            for (data,) in self._read("SELECT data FROM users ORDER BY name")
        ]

    def delete_user(self, name: str) -> None:
        with self._account_write(f"deleting user {name!r}") as conn:
            if conn.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount == 0:
                raise NotFoundError("user", name)
            conn.execute("DELETE FROM api_keys WHERE user = ?", (name,))
            conn.execute("DELETE FROM sessions WHERE user = ?", (name,))

    def add_api_key(self, key: ApiKey) -> None:
        row = api_key_row(key)
        with self._account_write(f"adding API key {key.key_id!r}") as conn:
            added = conn.execute(
                f"INSERT INTO api_keys({_API_KEY_COLUMNS}) VALUES ({_API_KEY_VALUES}) ON CONFLICT(key_id) DO NOTHING",  # nosec B608  (reviewed: only fixed names and ?-placeholders are formatted in)
                row,
            ).rowcount
            if not added:
                raise ConflictError(f"API key {key.key_id!r} exists")

    def get_api_key(self, key_id: str) -> ApiKey | None:
        rows = self._read(f"SELECT {_API_KEY_COLUMNS} FROM api_keys WHERE key_id = ?", (key_id,))  # nosec B608  (reviewed: only fixed names and ?-placeholders are formatted in)
        return _api_key(rows[0]) if rows else None

    def list_api_keys(self, user: str | None = None) -> list[ApiKey]:
        clause, params = ("WHERE user = ?", (user,)) if user is not None else ("", ())
        rows = self._read(
            f"SELECT {_API_KEY_COLUMNS} FROM api_keys {clause} ORDER BY created_at, key_id",  # nosec B608  (reviewed: only fixed names and ?-placeholders are formatted in)
            params,
        )
        return [_api_key(r) for r in rows]

    def touch_api_key(self, key_id: str, at: datetime) -> None:
        when = stored_time(at)
        with self._account_write(f"recording a use of API key {key_id!r}") as conn:
            # The latest use wins, whichever process records it last.
            conn.execute(
                "UPDATE api_keys SET last_used_at = ? WHERE key_id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
                (when, key_id, when),
            )

    def revoke_api_key(self, key_id: str, at: datetime) -> None:
        when = stored_time(at)
        with self._account_write(f"revoking API key {key_id!r}") as conn:
            if (
                conn.execute(
                    "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE key_id = ?",
                    (when, key_id),
                ).rowcount
                == 0
            ):
                raise NotFoundError("API key", key_id)

    def add_session(self, session: Session) -> None:
        row = session_row(session)
        with self._account_write("adding a session") as conn:
            added = conn.execute(
                f"INSERT INTO sessions({_SESSION_COLUMNS}) VALUES ({_SESSION_VALUES}) ON CONFLICT(token_hash) DO NOTHING",  # nosec B608  (reviewed: only fixed names and ?-placeholders are formatted in)
                row,
            ).rowcount
            if not added:
                raise ConflictError("a session with this token exists")

    def get_session(self, token_hash: str) -> Session | None:
        rows = self._read(f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE token_hash = ?", (token_hash,))  # nosec B608  (reviewed: only fixed names and ?-placeholders are formatted in)
        return Session.model_validate(dict(zip(SESSION_FIELDS, rows[0], strict=True))) if rows else None

    def delete_session(self, token_hash: str) -> None:
        with self._account_write("ending a session") as conn:
            conn.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))

    def delete_sessions(self, user: str, *, expired_before: datetime | None = None) -> int:
        where: list[str] = []
        params: list[str] = []
        if user:
            where.append("user = ?")
            params.append(user)
        if expired_before is not None:
            where.append("expires_at < ?")
            params.append(stored_time(expired_before))
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        with self._account_write("ending sessions") as conn:
            return int(conn.execute(f"DELETE FROM sessions {clause}", params).rowcount)  # nosec B608  (reviewed: only fixed names and ?-placeholders are formatted in)

    def append_audit(self, entry: AuditEntry) -> None:
        row = audit_row(entry)
        with self._account_write("appending to the audit log") as conn:
            conn.execute("INSERT INTO audit_log(at, actor, data) VALUES (:at, :actor, :data)", row)

    def audit_log(self, offset: int, limit: int, *, actor: str | None = None) -> Page[AuditEntry]:
        clause, params = ("WHERE actor = ?", [actor]) if actor is not None else ("", [])
        total = int(str(self._read(f"SELECT count(*) FROM audit_log {clause}", params)[0][0]))  # nosec B608  (reviewed: only fixed names and ?-placeholders are formatted in)
        rows = self._read(
            f"SELECT data FROM audit_log {clause} ORDER BY at DESC, seq DESC LIMIT ? OFFSET ?",  # nosec B608  (reviewed: only fixed names and ?-placeholders are formatted in)
            [*params, limit, offset],
        )
        return Page([AuditEntry.model_validate_json(str(r[0])) for r in rows], total, offset, limit)

    # -- background jobs --------------------------------------------------------------------
    def add_job(self, job: Job, limits: JobLimits) -> JobCounts:
        row = job_row(job)
        # BEGIN IMMEDIATE holds the file's write lock from the count to the insert: one atomic
        # step for every process of the store.
        with self._account_write(f"queueing job {job.job_id!r}") as conn:
            owner_active, queued = conn.execute(
                "SELECT coalesce(sum(owner = ?), 0), coalesce(sum(status = ?), 0) FROM jobs "
                "WHERE status IN (?, ?)",
                (job.owner, JobStatus.QUEUED.value, *(s.value for s in ACTIVE)),
            ).fetchone()
            counts = JobCounts(owner_active=int(owner_active), queued=int(queued))
            if counts.admits(limits):
                added = conn.execute(
                    "INSERT INTO jobs(job_id, owner, status, created_at, revision, data) "
                    "VALUES (:job_id, :owner, :status, :created_at, :revision, :data) ON CONFLICT(job_id) DO NOTHING",
                    row,
                ).rowcount
                if not added:
                    raise ConflictError(f"job {job.job_id!r} exists")
        return counts

    def get_job(self, job_id: str) -> Job | None:
        rows = self._read("SELECT data FROM jobs WHERE job_id = ?", (job_id,))
        return Job.model_validate_json(str(rows[0][0])) if rows else None

    def list_jobs(self, status: JobStatus | None = None) -> list[Job]:
        clause, params = ("WHERE status = ?", (status.value,)) if status is not None else ("", ())
        rows = self._read(
            f"SELECT data FROM jobs {clause} ORDER BY created_at DESC, job_id DESC",  # nosec B608  (reviewed: only fixed names and ?-placeholders are formatted in)
            params,
        )
        return [Job.model_validate_json(str(r[0])) for r in rows]

    def update_job(self, job: Job) -> Job | None:
        new = saved(job)
        row = job_row(new)
        with self._account_write(f"saving job {job.job_id!r}") as conn:
            changed = conn.execute(
                "UPDATE jobs SET owner = :owner, status = :status, revision = :revision, data = :data "
                "WHERE job_id = :job_id AND revision = :expected",
                {**row, "expected": job.revision},
            ).rowcount
        return new if changed else None

    def delete_job(self, job_id: str) -> None:
        with self._account_write(f"deleting job {job_id!r}") as conn:
            if conn.execute("DELETE FROM jobs WHERE job_id = ?", (job_id,)).rowcount == 0:
                raise NotFoundError("job", job_id)
            conn.execute("DELETE FROM job_results WHERE job_id = ?", (job_id,))

    def put_job_result_chunk(self, job_id: str, attempt: int, seq: int, data: bytes) -> None:
        with self._account_write(f"saving a result chunk of job {job_id!r}") as conn:
            conn.execute(
                "INSERT INTO job_results(job_id, attempt, seq, data) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(job_id, attempt, seq) DO UPDATE SET data = excluded.data",
                (job_id, attempt, seq, data),
            )

    def job_result_chunk(self, job_id: str, attempt: int, seq: int) -> bytes | None:
        rows = self._read(
            "SELECT data FROM job_results WHERE job_id = ? AND attempt = ? AND seq = ?",
            (job_id, attempt, seq),
        )
        return bytes(rows[0][0]) if rows else None

    def delete_job_results(self, job_id: str) -> None:
        with self._account_write(f"deleting the results of job {job_id!r}") as conn:
            conn.execute("DELETE FROM job_results WHERE job_id = ?", (job_id,))

    # -- algorithms -------------------------------------------------------------------------
    def read_graph(self, model: str) -> GraphData:
        with self._snapshot_read() as conn:
            version = _version(conn)
            org_rows = conn.execute("SELECT data FROM organisations ORDER BY org_id").fetchall()
            p_rows = conn.execute("SELECT data FROM partnerships ORDER BY partnership_id").fetchall()
            m_rows = conn.execute("SELECT org_id, partnership_id, role FROM memberships").fetchall()
            org_vectors = _vectors(conn, EntityKind.ORGANISATION, model)
            p_vectors = _vectors(conn, EntityKind.PARTNERSHIP, model)
        return GraphData(
            [_org_row(r) for r in org_rows],
            [_partnership_row(r) for r in p_rows],
            [_membership_row(r) for r in m_rows],
            org_vectors,
            p_vectors,
            model=model,
            version=version,
        )

    def read_changes(self, model: str, since: int) -> GraphChanges | None:
        with self._snapshot_read() as conn:
            version = _version(conn)
            log = conn.execute(
                "SELECT organisations, partnerships FROM changes WHERE version > ?", (since,)
            ).fetchall()
            if since > version or len(log) != version - since or any(o is None for o, _ in log):
                return None  # the log does not reach back that far, or a write touched too much
            org_ids = {i for orgs, _ in log for i in json.loads(orgs)}
            p_ids = {i for _, ps in log for i in json.loads(ps)}
            if len(org_ids) + len(p_ids) > CHANGE_LOG_ITEMS:
                return None
            orgs, ps = json.dumps(sorted(org_ids)), json.dumps(sorted(p_ids))
            org_rows = conn.execute(
                "SELECT data FROM organisations WHERE org_id IN (SELECT value FROM json_each(?)) ORDER BY org_id",
                (orgs,),
            ).fetchall()
            p_rows = conn.execute(
                "SELECT data FROM partnerships WHERE partnership_id IN (SELECT value FROM json_each(?)) "
                "ORDER BY partnership_id",
                (ps,),
            ).fetchall()
            m_rows = conn.execute(
                "SELECT org_id, partnership_id, role FROM memberships WHERE org_id IN (SELECT value FROM json_each(?)) "
                "UNION SELECT org_id, partnership_id, role FROM memberships "
                "WHERE partnership_id IN (SELECT value FROM json_each(?))",
                (orgs, ps),
            ).fetchall()
            org_vectors = _vectors(conn, EntityKind.ORGANISATION, model, orgs)
            p_vectors = _vectors(conn, EntityKind.PARTNERSHIP, model, ps)
        data = GraphData(
            [_org_row(r) for r in org_rows],
            [_partnership_row(r) for r in p_rows],
            [_membership_row(r) for r in m_rows],
            org_vectors,
            p_vectors,
            model=model,
            version=version,
        )
        return GraphChanges(since, frozenset(org_ids), frozenset(p_ids), data)


def _version(conn: sqlite3.Connection) -> int:
    return int(str(conn.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()[0]))


def _log_change(conn: sqlite3.Connection, touched: Touched) -> None:
    """Raise the version and log what the write touched under it (in the write's transaction),
    keeping :data:`~graph.base.CHANGE_LOG_VERSIONS` versions of the log."""
    conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'version'")
    version = _version(conn)
    listed = touched.listed()
    conn.execute(
        "INSERT INTO changes(version, organisations, partnerships) VALUES (?, ?, ?)",
        (version, *(json.dumps(ids) for ids in listed)) if listed else (version, None, None),
    )
    conn.execute("DELETE FROM changes WHERE version <= ?", (version - CHANGE_LOG_VERSIONS,))


def _vectors(
    conn: sqlite3.Connection, kind: EntityKind, model: str, ids: str | None = None
) -> dict[str, npt.NDArray[np.float32]]:
    """The vectors of ``model`` of every item of ``kind``, or of the JSON list of ``ids``."""
    sql = "SELECT item_id, vector FROM embeddings WHERE kind = ? AND model = ?"
    params: tuple[str, ...] = (kind.value, model)
    if ids is not None:
        sql += " AND item_id IN (SELECT value FROM json_each(?))"
        params += (ids,)
    return {str(i): np.frombuffer(v, dtype=np.float32) for i, v in conn.execute(sql, params)}


def _org_row(row: tuple[Any, ...]) -> OrgRow:
    return OrgRow.from_json(json.loads(str(row[0])))


def _partnership_row(row: tuple[Any, ...]) -> PartnershipRow:
    return PartnershipRow.of(Partnership.model_validate_json(str(row[0])))


def _membership_row(row: tuple[Any, ...]) -> MembershipRow:
    org_id, pid, role = row
    return MembershipRow(str(org_id), str(pid), role == Role.COORDINATOR.value)


_Model = TypeVar("_Model", Organisation, Partnership)


def _classify(latest: dict[str, _Model], existing: dict[str, str]) -> tuple[UpsertCounts, list[_Model]]:
    """Count created / updated / unchanged items against their stored JSON; return the ones to write."""
    counts = UpsertCounts()
    changed: list[_Model] = []
    for item_id, item in latest.items():
        stored = existing.get(item_id)
        if stored is None:
            counts.created += 1
        elif stored != item.model_dump_json():
            counts.updated += 1
        else:
            counts.unchanged += 1
            continue
        changed.append(item)
    return counts, changed


def _region_keys(org: Organisation) -> set[str]:
    """Every region an organisation lies in (its codes and their ancestors, and its country)."""
    from domain.regions import ancestors, nuts_country

    keys = {a for code in org.nuts_codes for a in ancestors(code)}
    if org.country:
        keys.add(nuts_country(org.country))
    return keys


_API_KEY_COLUMNS = ", ".join(API_KEY_FIELDS)
_API_KEY_VALUES = ", ".join(f":{name}" for name in API_KEY_FIELDS)
_SESSION_COLUMNS = ", ".join(SESSION_FIELDS)
_SESSION_VALUES = ", ".join(f":{name}" for name in SESSION_FIELDS)


def _api_key(row: tuple[Any, ...]) -> ApiKey:
    return ApiKey.model_validate(dict(zip(API_KEY_FIELDS, row, strict=True)))


def _membership(row: tuple[Any, ...]) -> Membership:
    org_id, pid, role, since = row
    return Membership.model_validate({"org_id": org_id, "partnership_id": pid, "role": role, "since": since})


def _table(kind: EntityKind) -> tuple[str, str]:
    return (
        ("organisations", "org_id") if kind == EntityKind.ORGANISATION else ("partnerships", "partnership_id")
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _save_artifact(conn: sqlite3.Connection, name: str, data: bytes) -> int:
    """Write an artifact with the next version of the store's counter, inside the caller's
    transaction; returns that version."""
    (version,) = conn.execute(
        "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'artifact_version' "
        "RETURNING CAST(value AS INTEGER)"
    ).fetchone()
    conn.execute(
        "INSERT INTO artifacts(name, data, version) VALUES (?, ?, ?) "
        "ON CONFLICT(name) DO UPDATE SET data = excluded.data, version = excluded.version",
        (name, data, version),
    )
    return int(version)


def _add_artifact_versions(conn: sqlite3.Connection) -> None:
    """Give a file of schema 3 or older its artifact versions (every artifact at version 1).
    Two processes opening such a file at once may both try: the second finds the column there."""
    if "version" in {str(r[1]) for r in conn.execute("PRAGMA table_info(artifacts)")}:
        return
    try:
        conn.execute("ALTER TABLE artifacts ADD COLUMN version INTEGER NOT NULL DEFAULT 1")
    except sqlite3.OperationalError as exc:
        if "duplicate column" not in str(exc):
            raise
