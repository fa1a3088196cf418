"""The store contract, in domain words.

Every store (the embedded default and the Neo4j/Bolt store) implements :class:`GraphStore` and
passes one contract test suite (``tests/graph/test_contract.py``). Stores take and return the
frozen domain models of :mod:`domain.models`, never driver records, and raise only
:mod:`domain.errors` exceptions.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, Protocol, TypeVar, runtime_checkable

import numpy as np
import numpy.typing as npt

from domain.candidates import CandidateFilters
from domain.graph_data import GraphData
from domain.models import (
    Ecosystem,
    Membership,
    Organisation,
    Partnership,
    PartnershipKind,
    StakeholderType,
)
from matching.candidates import CandidateFeatures, PoolGoal

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
    def embedding_hashes(self, kind: EntityKind, model: str) -> dict[str, str]:
        """Item id → hash of the text its stored embedding was computed from."""
        ...

    def put_embeddings(
        self, kind: EntityKind, model: str, rows: Sequence[tuple[str, str, npt.NDArray[np.float32]]]
    ) -> None:
        """Store ``(item id, text hash, vector)`` rows; ids that no longer exist are skipped."""
        ...

    # -- artifacts (fitted models saved with the store) ---------------------------------------
    def put_artifact(self, name: str, data: bytes) -> None:
        """Save a named blob (e.g. a fitted ranker) with the store, replacing an older one."""
        ...

    def get_artifact(self, name: str) -> bytes | None: ...

    def list_artifacts(self, prefix: str = "") -> list[str]:
        """Names of saved artifacts starting with ``prefix``, sorted."""
        ...

    def delete_artifact(self, name: str) -> None:
        """Remove an artifact; ``NotFoundError`` if absent."""
        ...

    # -- algorithms --------------------------------------------------------------------------
    def read_graph(self, model: str) -> GraphData:
        """Everything the matching algorithms need, with the embeddings of ``model``, read in one
        consistent version (``matching.snapshot.Snapshot.from_data`` builds their arrays)."""
        ...

    def version(self) -> int:
        """A number that changes whenever committed data changes (snapshot cache key).

        Artifact writes do not change it: artifacts are not part of the snapshot.
        """
        ...

    def close(self) -> None: ...


@runtime_checkable
class CandidateSource(Protocol):
    """A store that finds candidates itself (the Neo4j store), instead of from a snapshot.

    The service uses it for the heuristic ranking: the features come from the database for a pool
    of candidates, the scoring is :mod:`matching.candidates`, the same as on the snapshot path.
    """

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
        """Features of up to ``pool_size`` candidates per source, with bounds on everyone else.

        ``exhaustive_regions`` also lists the organisations inside country-wide or NUTS 1
        reference regions (costly on large graphs; the last resort of a widening pool). With a
        ``goal``, the source may add candidates beyond ``pool_size`` that settle it.
        """
        ...

    def candidate_evidence(self, features: CandidateFeatures, rows: Sequence[int]) -> CandidateFeatures:
        """``features`` with the graph evidence of ``rows`` filled in (for explanations)."""
        ...

    def prepare_vector_search(self, kind: EntityKind, model: str) -> None:
        """Have the vector index of ``kind``/``model`` ready to search (after writing vectors),
        so the first candidate query does not pay for building it."""
        ...
