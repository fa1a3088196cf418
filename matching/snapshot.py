"""The in-memory snapshot the algorithms run on.

A store builds it once (``GraphStore.snapshot``); recommenders, gap mapping and synergies read it.
Organisations and partnerships are rows of numpy arrays; memberships are a sparse
organisation × partnership matrix, which makes co-membership questions sparse matrix products
instead of Python loops over a graph.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

import numpy as np
import numpy.typing as npt
from scipy import sparse

from domain.graph_data import GraphData, MembershipRow, OrgRow, PartnershipRow
from domain.models import Ecosystem, PartnershipKind, StakeholderType
from domain.regions import nuts_country

TYPE_ORDER: tuple[StakeholderType, ...] = tuple(StakeholderType)
ECOSYSTEM_ORDER: tuple[Ecosystem, ...] = tuple(Ecosystem)
KIND_ORDER: tuple[PartnershipKind, ...] = tuple(PartnershipKind)
NO_REGION = -1


def ecosystem_mask(ecosystems: Sequence[Ecosystem | str]) -> int:
    """Bit mask of ecosystems (bit i = ``ECOSYSTEM_ORDER[i]``)."""
    mask = 0
    for eco in ecosystems:
        mask |= 1 << ECOSYSTEM_ORDER.index(Ecosystem(eco))
    return mask


class RegionVocabulary:
    """Dense integer ids for NUTS codes (and countries), so region tests become array compares."""

    def __init__(self) -> None:
        self.codes: list[str] = []
        self.ids: dict[str, int] = {}

    def id(self, code: str) -> int:
        if code not in self.ids:
            self.ids[code] = len(self.codes)
            self.codes.append(code)
        return self.ids[code]

    def lookup(self, code: str) -> int:
        return self.ids.get(code, NO_REGION)


def region_levels(code: str | None, vocab: RegionVocabulary) -> list[int]:
    """Ids of a code's ancestors at levels 0..3 (``NO_REGION`` below the code's own level)."""
    out = [NO_REGION] * 4
    if code:
        for level in range(min(len(code) - 2, 3) + 1):
            out[level] = vocab.id(code[: level + 2])
    return out


@dataclass(frozen=True, eq=False)
class Snapshot:
    """Organisations, partnerships, memberships and embeddings as arrays.

    Attributes ending in ``_vectors`` are L2-normalised float32 matrices (zero rows where an item
    has no embedding yet, flagged by the matching ``*_has_vector`` mask).
    """

    org_ids: list[str]
    org_names: list[str]
    org_types: npt.NDArray[np.int16]
    org_sme: npt.NDArray[np.int8]  # 1 SME, 0 not, -1 unknown
    org_regions: npt.NDArray[np.int32]  # (n, 4): ids of the primary code's ancestors at levels 0..3
    org_all_regions: list[tuple[str, ...]]
    org_ecosystems: npt.NDArray[np.uint32]  # bit masks
    org_vectors: npt.NDArray[np.float32]
    org_has_vector: npt.NDArray[np.bool_]
    partnership_ids: list[str]
    partnership_names: list[str]
    partnership_kinds: npt.NDArray[np.int8]
    partnership_scope: list[tuple[str, ...]]
    partnership_ecosystems: npt.NDArray[np.uint32]
    partnership_parent: list[str | None]
    partnership_start: list[date | None]
    partnership_vectors: npt.NDArray[np.float32]
    partnership_has_vector: npt.NDArray[np.bool_]
    membership: sparse.csr_matrix  # (orgs × partnerships), 1.0 per membership
    coordinators: sparse.csr_matrix  # same shape, 1.0 where the organisation coordinates
    regions: RegionVocabulary
    model: str = ""
    version: int = 0
    extra: dict[str, object] = field(default_factory=dict)

    @cached_property
    def scoped_partnerships(self) -> npt.NDArray[np.int64]:
        """Indices of the partnerships that declare a scope (few: CORDIS consortia declare none)."""
        return np.fromiter((j for j, scope in enumerate(self.partnership_scope) if scope), dtype=np.int64)

    @classmethod
    def from_data(cls, data: GraphData) -> Snapshot:
        """The snapshot of what a store read (:meth:`graph.base.GraphStore.read_graph`)."""
        return cls.build(
            data.organisations,
            data.partnerships,
            data.memberships,
            data.org_vectors,
            data.partnership_vectors,
            model=data.model,
            version=data.version,
        )

    @classmethod
    def build(
        cls,
        orgs: Sequence[OrgRow],
        partnerships: Sequence[PartnershipRow],
        memberships: Sequence[MembershipRow],
        org_vectors: Mapping[str, npt.NDArray[np.float32]] | None = None,
        partnership_vectors: Mapping[str, npt.NDArray[np.float32]] | None = None,
        *,
        dim: int = 0,
        model: str = "",
        version: int = 0,
    ) -> Snapshot:
        """Assemble a snapshot from plain rows; memberships to unknown ids are ignored."""
        vocab = RegionVocabulary()
        org_index = {o.org_id: i for i, o in enumerate(orgs)}
        p_index = {p.partnership_id: j for j, p in enumerate(partnerships)}
        org_vectors = org_vectors or {}
        partnership_vectors = partnership_vectors or {}
        if not dim:
            sample = next(iter(org_vectors.values()), None)
            if sample is None:
                sample = next(iter(partnership_vectors.values()), None)
            dim = int(sample.shape[0]) if sample is not None else 0

        org_regions = np.full((len(orgs), 4), NO_REGION, dtype=np.int32)
        for i, o in enumerate(orgs):
            primary = o.nuts_codes[0] if o.nuts_codes else None
            if primary is None and o.country:
                primary = nuts_country(o.country)
            org_regions[i] = region_levels(primary, vocab)
        ov, ohas = _stack([o.org_id for o in orgs], org_vectors, dim)
        pv, phas = _stack([p.partnership_id for p in partnerships], partnership_vectors, dim)

        rows: list[int] = []
        cols: list[int] = []
        coord: list[float] = []
        for m in memberships:
            oi, pj = org_index.get(m.org_id), p_index.get(m.partnership_id)
            if oi is not None and pj is not None:
                rows.append(oi)
                cols.append(pj)
                coord.append(1.0 if m.coordinator else 0.0)
        shape = (len(orgs), len(partnerships))
        member = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=shape)
        member.data[:] = 1.0  # duplicates collapse to one membership
        coordinators = sparse.csr_matrix((np.asarray(coord, dtype=np.float32), (rows, cols)), shape=shape)
        coordinators.eliminate_zeros()

        return cls(
            org_ids=[o.org_id for o in orgs],
            org_names=[o.name for o in orgs],
            org_types=np.array([TYPE_ORDER.index(o.stakeholder_type) for o in orgs], dtype=np.int16),
            org_sme=np.array([-1 if o.sme is None else int(o.sme) for o in orgs], dtype=np.int8),
            org_regions=org_regions,
            org_all_regions=[o.nuts_codes for o in orgs],
            org_ecosystems=np.array([ecosystem_mask(o.ecosystems) for o in orgs], dtype=np.uint32),
            org_vectors=ov,
            org_has_vector=ohas,
            partnership_ids=[p.partnership_id for p in partnerships],
            partnership_names=[p.name for p in partnerships],
            partnership_kinds=np.array([KIND_ORDER.index(p.kind) for p in partnerships], dtype=np.int8),
            partnership_scope=[p.scope_regions for p in partnerships],
            partnership_ecosystems=np.array(
                [ecosystem_mask(p.ecosystems) for p in partnerships], dtype=np.uint32
            ),
            partnership_parent=[p.parent_id for p in partnerships],
            partnership_start=[p.start_date for p in partnerships],
            partnership_vectors=pv,
            partnership_has_vector=phas,
            membership=member,
            coordinators=coordinators,
            regions=vocab,
            model=model,
            version=version,
        )

    # -- lookups -------------------------------------------------------------------------------
    @cached_property
    def org_index(self) -> dict[str, int]:
        return {org_id: i for i, org_id in enumerate(self.org_ids)}

    @cached_property
    def partnership_index(self) -> dict[str, int]:
        return {pid: j for j, pid in enumerate(self.partnership_ids)}

    @property
    def n_orgs(self) -> int:
        return len(self.org_ids)

    @property
    def n_partnerships(self) -> int:
        return len(self.partnership_ids)

    @cached_property
    def membership_csc(self) -> sparse.csc_matrix:
        """Column access: the members of a partnership."""
        return self.membership.tocsc()

    def members_of(self, partnership: int) -> npt.NDArray[np.int64]:
        col = self.membership_csc
        return np.asarray(col.indices[col.indptr[partnership] : col.indptr[partnership + 1]], dtype=np.int64)

    def partnerships_of(self, org: int) -> npt.NDArray[np.int64]:
        m = self.membership
        return np.asarray(m.indices[m.indptr[org] : m.indptr[org + 1]], dtype=np.int64)

    @cached_property
    def multi_region_orgs(self) -> list[int]:
        """Organisations with more than one NUTS code (region filters check all their codes)."""
        return [i for i, codes in enumerate(self.org_all_regions) if len(codes) > 1]

    @cached_property
    def org_degree(self) -> npt.NDArray[np.float64]:
        """Number of distinct co-members of each organisation (degree in the co-membership graph)."""
        co = (self.membership @ self.membership.T).tocsr()
        co.setdiag(0)
        co.eliminate_zeros()
        degree: npt.NDArray[np.float64] = np.diff(co.indptr).astype(np.float64)
        return degree

    @cached_property
    def org_popularity(self) -> npt.NDArray[np.float64]:
        """Number of partnerships each organisation belongs to."""
        popularity: npt.NDArray[np.float64] = (
            np.asarray(self.membership.sum(axis=1)).ravel().astype(np.float64)
        )
        return popularity


def _stack(
    ids: Sequence[str], vectors: Mapping[str, npt.NDArray[np.float32]], dim: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    """Rows of ``vectors`` in the order of ``ids`` (zeros and False where missing or mis-sized)."""
    matrix = np.zeros((len(ids), dim), dtype=np.float32)
    has = np.zeros(len(ids), dtype=bool)
    for i, item_id in enumerate(ids):
        vec = vectors.get(item_id)
        if vec is not None and dim and vec.shape[0] == dim:
            matrix[i] = vec
            has[i] = True
    return matrix, has
