"""The store contract, in domain words.

Every store (the embedded default and the Neo4j/Bolt store) implements :class:`GraphStore` and
passes one contract test suite (``tests/graph/test_contract.py``). Stores take and return the
frozen domain types of :mod:`domain`, never driver records, raise only :mod:`domain.errors`
exceptions, and never score: they return data, and :mod:`matching` ranks it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Generic, NamedTuple, Protocol, TypeVar, runtime_checkable

import numpy as np
import numpy.typing as npt

from domain.accounts import ApiKey, AuditEntry, Session, User
from domain.candidates import CandidateFilters, CandidateRow, PartnershipContext
from domain.graph_data import GraphChanges, GraphData
from domain.jobs import Job, JobCounts, JobLimits, JobStatus
from domain.models import (
    Ecosystem,
    Membership,
    Organisation,
    Partnership,
    PartnershipKind,
    StakeholderType,
)

T = TypeVar("T")


class EntityKind(StrEnum):
    ORGANISATION = "organisation"
    PARTNERSHIP = "partnership"


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    offset: int
    limit: int


class VersionedArtifact(NamedTuple):
    """An artifact's bytes and its version, read together (:meth:`GraphStore.get_versioned_artifact`)."""

    data: bytes
    version: int


@dataclass(frozen=True)
class OrganisationFilter:
    """Filters for listing organisations; ``None`` / empty means no restriction."""

    country: str | None = None
    region: str | None = None  # NUTS code at any level: matches the code and everything inside it
    stakeholder_type: StakeholderType | None = None
    sme: bool | None = None
    ecosystem: Ecosystem | None = None
    name_contains: str | None = None
    partnership_id: str | None = None  # members of this partnership


@dataclass(frozen=True)
class PartnershipFilter:
    kind: PartnershipKind | None = None
    region: str | None = None  # partnerships whose scope touches this region
    ecosystem: Ecosystem | None = None
    name_contains: str | None = None
    parent_id: str | None = None


@dataclass
class UpsertCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged

    def __iadd__(self, other: UpsertCounts) -> UpsertCounts:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self


@dataclass
class ImportCounts:
    organisations: UpsertCounts = field(default_factory=UpsertCounts)
    partnerships: UpsertCounts = field(default_factory=UpsertCounts)
    memberships: UpsertCounts = field(default_factory=UpsertCounts)


@dataclass(frozen=True)
class StoreCounts:
    organisations: int
    partnerships: int
    memberships: int


#: The most ids a change-log entry lists, and the most a reader applies at once: beyond that,
#: rereading everything costs about what applying the changes would (an import writes thousands).
CHANGE_LOG_ITEMS = 1000
#: How many versions back the change log reaches; a snapshot older than that is read again whole.
CHANGE_LOG_VERSIONS = 10_000


@dataclass
class Touched:
    """The organisations and partnerships one write touched: its entry in a store's change log.

    A membership touches its organisation and its partnership; a vector, its item.
    """

    organisations: set[str] = field(default_factory=set)
    partnerships: set[str] = field(default_factory=set)

    def listed(self) -> tuple[list[str], list[str]] | None:
        """The ids to log, sorted; ``None`` when there are too many to list (readers rebuild)."""
        if len(self.organisations) + len(self.partnerships) > CHANGE_LOG_ITEMS:
            return None
        return sorted(self.organisations), sorted(self.partnerships)


@runtime_checkable
class GraphStore(Protocol):
    """What the service needs from a store."""

    #: A short description for logs and ``/health`` (never contains credentials).
    description: str

    # -- writes ------------------------------------------------------------------------------
    def import_batch(
        self,
        organisations: Sequence[Organisation] = (),
        partnerships: Sequence[Partnership] = (),
        memberships: Sequence[Membership] = (),
    ) -> ImportCounts:
        """Upsert everything in one all-or-nothing unit; raise ``ConflictError`` for memberships whose
        organisation or partnership exists neither in the batch nor in the store."""
        ...

    def delete_organisation(self, org_id: str) -> None:
        """Delete an organisation and its memberships; ``NotFoundError`` if absent."""
        ...

    def delete_partnership(self, partnership_id: str) -> None: ...

    def delete_membership(self, org_id: str, partnership_id: str) -> None: ...

    # -- reads -------------------------------------------------------------------------------
    def get_organisation(self, org_id: str) -> Organisation: ...

    def get_partnership(self, partnership_id: str) -> Partnership: ...

    def list_organisations(self, flt: OrganisationFilter, offset: int, limit: int) -> Page[Organisation]: ...

    def list_partnerships(self, flt: PartnershipFilter, offset: int, limit: int) -> Page[Partnership]: ...

    def memberships(
        self, *, org_id: str | None = None, partnership_id: str | None = None
    ) -> list[Membership]: ...

    def existing_ids(self, kind: EntityKind, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` exist (for validating references before a write)."""
        ...

    def iter_organisations(self) -> Iterator[Organisation]:
        """Every organisation (bulk export, embedding refresh)."""
        ...

    def iter_partnerships(self) -> Iterator[Partnership]: ...

    def iter_memberships(self) -> Iterator[Membership]: ...

    def counts(self) -> StoreCounts: ...

    # -- embeddings --------------------------------------------------------------------------
    def count_without_embedding(self, kind: EntityKind, model: str) -> int:
        """How many organisations (or partnerships) have no vector of ``model``: what an import
        stopped before its embedding step left undone (``/health`` and ``stats`` report it)."""
        ...

    def embedding_hashes(
        self, kind: EntityKind, model: str, ids: Sequence[str] | None = None
    ) -> dict[str, str]:
        """Item id → hash of the text its stored embedding was computed from (of ``ids`` only,
        when given: a single write's refresh must not read every hash of the store)."""
        ...

    def put_embeddings(
        self, kind: EntityKind, model: str, rows: Sequence[tuple[str, str, npt.NDArray[np.float32]]]
    ) -> None:
        """Store ``(item id, text hash, vector)`` rows; ids that no longer exist are skipped."""
        ...

    # -- artifacts (fitted models, event documents) --------------------------------------------
    # Every artifact has a version: a number, unique in the store and never reused, that each write
    # of it takes (0 stands for "no such artifact"). Artifact writes are serialised store-wide, so
    # a compare-and-set on versions is one atomic step for every process of the store.
    def put_artifact(self, name: str, data: bytes) -> int:
        """Save a named blob (e.g. a fitted ranker) with the store, replacing an older one;
        returns its new version."""
        ...

    def put_artifact_if(
        self, name: str, data: bytes, expected: int, *, unchanged: Mapping[str, int] | None = None
    ) -> int | None:
        """Compare-and-set: save ``name`` only if its stored version is still ``expected`` (0: only
        if there is none) and every artifact named in ``unchanged`` (what it was derived from) still
        has the version given there, all in one transaction. Returns the new version, or ``None``
        when any of them changed meanwhile (nothing is written: read again and retry)."""
        ...

    def get_artifact(self, name: str) -> bytes | None: ...

    def get_versioned_artifact(self, name: str) -> VersionedArtifact | None:
        """The artifact and its version, read together (``None`` if absent)."""
        ...

    def list_artifacts(self, prefix: str = "") -> list[str]:
        """Names of saved artifacts starting with ``prefix``, sorted."""
        ...

    def delete_artifact(self, name: str) -> None:
        """Remove an artifact; ``NotFoundError`` if absent."""
        ...

    def delete_artifact_if(self, name: str, expected: int) -> bool:
        """Remove the artifact only if its version is still ``expected``; ``False`` (nothing
        removed) when it changed meanwhile or is gone."""
        ...

    # -- accounts and the audit log ------------------------------------------------------------
    # Not graph data: none of these writes changes version() (no snapshot is rebuilt on a login).
    # Each write is atomic; the API key and session writes that several API processes make at
    # once (last use, revocation) change their own fields only, so neither can undo the other.
    def put_user(self, user: User) -> None:
        """Create or replace the user ``user.name`` (grants, password hash, lock-out state)."""
        ...

    def get_user(self, name: str) -> User | None: ...

    def list_users(self) -> list[User]:
        """Every user, by name."""
        ...

    def delete_user(self, name: str) -> None:
        """Delete the user with their API keys and sessions; ``NotFoundError`` if absent."""
        ...

    def add_api_key(self, key: ApiKey) -> None:
        """Store a new key; ``ConflictError`` if its ``key_id`` is taken."""
        ...

    def get_api_key(self, key_id: str) -> ApiKey | None: ...

    def list_api_keys(self, user: str | None = None) -> list[ApiKey]:
        """Keys (of ``user``, or all), oldest first."""
        ...

    def touch_api_key(self, key_id: str, at: datetime) -> None:
        """Record a use of the key (``last_used_at``); nothing if it is gone."""
        ...

    def revoke_api_key(self, key_id: str, at: datetime) -> None:
        """Mark the key revoked at ``at`` (kept, for the audit trail); ``NotFoundError`` if absent.
        Revoking a revoked key keeps the first time."""
        ...

    def add_session(self, session: Session) -> None: ...

    def get_session(self, token_hash: str) -> Session | None: ...

    def delete_session(self, token_hash: str) -> None:
        """End one session (nothing if it is gone)."""
        ...

    def delete_sessions(self, user: str, *, expired_before: datetime | None = None) -> int:
        """End every session of ``user`` (``""``: of everyone) that expires before
        ``expired_before`` (``None``: all of them); returns how many were ended."""
        ...

    def append_audit(self, entry: AuditEntry) -> None:
        """Add one entry to the append-only audit log."""
        ...

    def audit_log(self, offset: int, limit: int, *, actor: str | None = None) -> Page[AuditEntry]:
        """Entries newest first (ties: last appended first), optionally of one actor."""
        ...

    # -- background jobs (pactmatch.jobs) --------------------------------------------------------
    # Not graph data either: none of these writes changes version(). Every change of a job is a
    # compare-and-set on its revision, so concurrent writers from several processes never lose one.
    def add_job(self, job: Job, limits: JobLimits) -> JobCounts:
        """Queue ``job`` (revision 0) if the queue as it is now admits it (``JobCounts.admits``),
        in one atomic step; returns the counts it was judged by (nothing is written when they do
        not admit it). ``ConflictError`` if its id is taken."""
        ...

    def get_job(self, job_id: str) -> Job | None: ...

    def list_jobs(self, status: JobStatus | None = None) -> list[Job]:
        """Jobs (in ``status``, or all), newest first."""
        ...

    def update_job(self, job: Job) -> Job | None:
        """Save ``job`` if the stored one still has ``job.revision``; returns it as saved (the
        revision bumped), or ``None`` when it changed meanwhile or is gone (read it and retry)."""
        ...

    def delete_job(self, job_id: str) -> None:
        """Forget the job and every chunk of its results; ``NotFoundError`` if absent."""
        ...

    def put_job_result_chunk(self, job_id: str, attempt: int, seq: int, data: bytes) -> None:
        """Store chunk ``seq`` (0, 1, ...; at most a few MiB) of the result written by ``attempt``."""
        ...

    def job_result_chunk(self, job_id: str, attempt: int, seq: int) -> bytes | None: ...

    def delete_job_results(self, job_id: str) -> None:
        """Drop the result chunks of every attempt of the job (nothing if there are none)."""
        ...

    # -- algorithms --------------------------------------------------------------------------
    def read_graph(self, model: str) -> GraphData:
        """Everything the matching algorithms need, with the embeddings of ``model``, read in one
        consistent version (``matching.snapshot.Snapshot.from_data`` builds their arrays)."""
        ...

    def read_changes(self, model: str, since: int) -> GraphChanges | None:
        """What the writes after version ``since`` touched, as it is now, read in one consistent
        version with the embeddings of ``model``: what turns the snapshot of ``since`` into the
        current one without reading everything (:meth:`read_graph`).

        Every data write logs the ids it touched in the same transaction. ``None`` when the log
        cannot answer: it no longer reaches back to ``since``, or the writes since touched more
        than :data:`CHANGE_LOG_ITEMS` items (read the whole graph then).
        """
        ...

    def version(self) -> int:
        """A number that changes whenever committed data changes (snapshot cache key).

        Artifact writes do not change it: artifacts are not part of the snapshot.
        """
        ...

    def close(self) -> None: ...


class CandidateReads(Protocol):
    """The fixed reads a candidate search makes, answered in one consistent read of the database.

    Keys (a store's own identifiers of organisations, such as Neo4j element ids) are valid within
    the read that returned them. Every read that takes ``filters`` returns only organisations
    passing them, or flags the others ``eligible=False`` where it says so. ``vector`` is the search
    vector (``None``: no text reference; similarities are then 0). Which reads to make, and when
    their union provably holds the top k, is :mod:`matching.candidate_search`'s business.
    """

    def context(self, partnership_id: str) -> PartnershipContext:
        """The partnership's scope, text embedding and members; ``NotFoundError`` if absent."""
        ...

    def co_members(self, member_ids: Sequence[str]) -> dict[str, list[str]]:
        """Each member's distinct co-members across all partnerships, as keys (members included)."""
        ...

    def nearest(
        self, vector: npt.NDArray[np.float32], k: int, filters: CandidateFilters
    ) -> list[CandidateRow] | None:
        """The vector index's ``k`` nearest organisations, the ineligible flagged; ``None`` when the
        index cannot answer (none for this model yet, or the data changed since the read began)."""
        ...

    def closest(
        self, vector: npt.NDArray[np.float32] | None, filters: CandidateFilters, limit: int
    ) -> list[CandidateRow]:
        """An exact scan: the ``limit`` eligible organisations closest to ``vector``, best first
        (without a vector: the first by id); fewer only when fewer are eligible."""
        ...

    def inside(
        self,
        regions: Sequence[str],
        vector: npt.NDArray[np.float32] | None,
        filters: CandidateFilters,
        limit: int,
    ) -> list[CandidateRow]:
        """Up to ``limit`` eligible organisations located inside ``regions`` (NUTS codes, any
        level), closest to ``vector`` first, ties by id."""
        ...

    def columns(
        self, keys: Sequence[str], vector: npt.NDArray[np.float32] | None, filters: CandidateFilters
    ) -> list[CandidateRow]:
        """The organisations with these keys, the ineligible flagged."""
        ...

    def partnerships_of(self, org_ids: Sequence[str]) -> dict[str, set[str]]:
        """The partnerships of each organisation, in identifiers that are the same for all of them
        (what the graph evidence counts shared partnerships with)."""
        ...


@runtime_checkable
class CandidateSource(Protocol):
    """A store that answers candidate reads itself (the Neo4j store), so that no API worker holds
    the graph in memory; the embedded store has none and the service ranks from the snapshot."""

    def read_candidates(self, model: str, work: Callable[[CandidateReads], T]) -> T:
        """Run ``work`` with the reads of the embeddings of ``model``, in one read transaction
        (retried as a whole on transient errors) and return what it returns."""
        ...

    def prepare_vector_search(self, kind: EntityKind, model: str) -> None:
        """Have the vector index of ``kind``/``model`` ready to search (after writing vectors),
        so the first candidate query does not pay for building it."""
        ...
