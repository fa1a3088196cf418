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
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from domain.graph_data import GraphChanges, GraphData, MembershipRow, OrgRow, PartnershipRow
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

    def copy(self) -> RegionVocabulary:
        """A vocabulary with the same ids that can grow without changing this one."""
        other = RegionVocabulary()
        other.codes, other.ids = list(self.codes), dict(self.ids)
        return other


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
        org_vectors = org_vectors or {}
        partnership_vectors = partnership_vectors or {}
        if not dim:
            sample = next(iter(org_vectors.values()), None)
            if sample is None:
                sample = next(iter(partnership_vectors.values()), None)
            dim = int(sample.shape[0]) if sample is not None else 0
        org_index = {o.org_id: i for i, o in enumerate(orgs)}
        p_index = {p.partnership_id: j for j, p in enumerate(partnerships)}
        shape = (len(orgs), len(partnerships))
        rows, cols, coord = _entries(memberships, org_index, p_index)
        member, coordinators = _membership_matrices((rows, cols), (rows[coord], cols[coord]), shape)
        return cls(
            **_org_columns(orgs, org_vectors, dim, vocab),
            **_partnership_columns(partnerships, partnership_vectors, dim),
            membership=member,
            coordinators=coordinators,
            regions=vocab,
            model=model,
            version=version,
        )

    def with_changes(self, changes: GraphChanges) -> Snapshot | None:
        """This snapshot with ``changes`` applied: the snapshot of ``changes.data.version``.

        It holds what :meth:`build` would make of the store at that version, except that rows keep
        their places: a changed item stays where it was, a new one is appended and a deleted one
        removed, so indices (and the order among tied scores) may differ from a rebuild's. The
        columns are copied, never changed in place, so a query running on this snapshot meanwhile
        still sees one version. Costs scale with the items touched plus one copy of each array
        that changed (tens of milliseconds on CORDIS, where a rebuild takes seconds).

        ``None`` when the changes cannot be applied: another encoder's vectors, or the first
        vectors of a snapshot that had none (its matrices have no columns yet). Rebuild then.
        """
        data, dim = changes.data, self.org_vectors.shape[1]
        if data.model != self.model or (not dim and (data.org_vectors or data.partnership_vectors)):
            return None
        vocab = self.regions.copy()
        org_rows = _Rows(self.org_index, changes.org_ids, {o.org_id: o for o in data.organisations})
        p_rows = _Rows(
            self.partnership_index, changes.partnership_ids, {p.partnership_id: p for p in data.partnerships}
        )
        org_columns = org_rows.patch(
            self._columns(_ORG_COLUMNS), _org_columns(org_rows.written, data.org_vectors, dim, vocab)
        )
        p_columns = p_rows.patch(
            self._columns(_PARTNERSHIP_COLUMNS),
            _partnership_columns(p_rows.written, data.partnership_vectors, dim),
        )
        shape = (len(org_columns["org_ids"]), len(p_columns["partnership_ids"]))
        org_index = org_rows.index(org_columns["org_ids"])
        p_index = p_rows.index(p_columns["partnership_ids"])
        rows, cols, coord = _entries(data.memberships, org_index, p_index)
        touched = np.flatnonzero(org_rows.touched), np.flatnonzero(p_rows.touched)
        before = _memberships_at(self, self.membership, self.membership_csc, *touched)
        after = _pairs(org_columns["org_ids"], p_columns["partnership_ids"], rows, cols)
        carried: dict[str, object] = {"org_index": org_index, "partnership_index": p_index}
        if (
            not org_rows.moved
            and not p_rows.moved
            and before == after
            and _memberships_at(self, self.coordinators, self.coordinators.tocsc(), *touched)
            == _pairs(org_columns["org_ids"], p_columns["partnership_ids"], rows[coord], cols[coord])
        ):
            # Only rows were rewritten (a profile, a vector): the matrices and what follows from
            # them are shared, not rebuilt.
            member, coordinators = self.membership, self.coordinators
            carried.update((name, self.__dict__[name]) for name in _FROM_MEMBERSHIP if name in self.__dict__)
        else:
            # Entries of untouched rows and columns carry over; the touched get theirs from `data`.
            member_rows, member_cols = _carried(self.membership, org_rows, p_rows)
            coord_rows, coord_cols = _carried(self.coordinators, org_rows, p_rows)
            member, coordinators = _membership_matrices(
                (np.concatenate([member_rows, rows]), np.concatenate([member_cols, cols])),
                (np.concatenate([coord_rows, rows[coord]]), np.concatenate([coord_cols, cols[coord]])),
                shape,
            )
        patched = Snapshot(
            **org_columns,
            **p_columns,
            membership=member,
            coordinators=coordinators,
            regions=vocab,
            model=self.model,
            version=data.version,
        )
        patched.__dict__.update(carried)  # cached_property values, known without computing them
        if "org_degree" in self.__dict__ and "org_degree" not in carried:
            # The ranker warmed it: recounted where it can have changed, not everywhere.
            patched.__dict__["org_degree"] = _patched_degree(self, patched, org_rows, before ^ after)
        return patched

    def _columns(self, names: Sequence[str]) -> dict[str, Any]:
        return {name: getattr(self, name) for name in names}

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


#: The per-organisation and per-partnership columns (one entry per row, in row order).
_ORG_COLUMNS = (
    "org_ids", "org_names", "org_types", "org_sme", "org_regions", "org_all_regions",
    "org_ecosystems", "org_vectors", "org_has_vector",
)  # fmt: skip
_PARTNERSHIP_COLUMNS = (
    "partnership_ids", "partnership_names", "partnership_kinds", "partnership_scope",
    "partnership_ecosystems", "partnership_parent", "partnership_start", "partnership_vectors",
    "partnership_has_vector",
)  # fmt: skip


def _org_columns(
    orgs: Sequence[OrgRow], vectors: Mapping[str, npt.NDArray[np.float32]], dim: int, vocab: RegionVocabulary
) -> dict[str, Any]:
    """The organisation columns of ``orgs`` (their region ids added to ``vocab``)."""
    org_regions = np.full((len(orgs), 4), NO_REGION, dtype=np.int32)
    for i, o in enumerate(orgs):
        primary = o.nuts_codes[0] if o.nuts_codes else None
        if primary is None and o.country:
            primary = nuts_country(o.country)
        org_regions[i] = region_levels(primary, vocab)
    ov, ohas = _stack([o.org_id for o in orgs], vectors, dim)
    return {
        "org_ids": [o.org_id for o in orgs],
        "org_names": [o.name for o in orgs],
        "org_types": np.array([TYPE_ORDER.index(o.stakeholder_type) for o in orgs], dtype=np.int16),
        "org_sme": np.array([-1 if o.sme is None else int(o.sme) for o in orgs], dtype=np.int8),
        "org_regions": org_regions,
        "org_all_regions": [o.nuts_codes for o in orgs],
        "org_ecosystems": np.array([ecosystem_mask(o.ecosystems) for o in orgs], dtype=np.uint32),
        "org_vectors": ov,
        "org_has_vector": ohas,
    }


def _partnership_columns(
    partnerships: Sequence[PartnershipRow], vectors: Mapping[str, npt.NDArray[np.float32]], dim: int
) -> dict[str, Any]:
    pv, phas = _stack([p.partnership_id for p in partnerships], vectors, dim)
    return {
        "partnership_ids": [p.partnership_id for p in partnerships],
        "partnership_names": [p.name for p in partnerships],
        "partnership_kinds": np.array([KIND_ORDER.index(p.kind) for p in partnerships], dtype=np.int8),
        "partnership_scope": [p.scope_regions for p in partnerships],
        "partnership_ecosystems": np.array(
            [ecosystem_mask(p.ecosystems) for p in partnerships], dtype=np.uint32
        ),
        "partnership_parent": [p.parent_id for p in partnerships],
        "partnership_start": [p.start_date for p in partnerships],
        "partnership_vectors": pv,
        "partnership_has_vector": phas,
    }


def _entries(
    memberships: Sequence[MembershipRow], org_index: Mapping[str, int], p_index: Mapping[str, int]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Row, column and coordinator flag of each membership between known ids."""
    rows: list[int] = []
    cols: list[int] = []
    coord: list[bool] = []
    for m in memberships:
        oi, pj = org_index.get(m.org_id), p_index.get(m.partnership_id)
        if oi is not None and pj is not None:
            rows.append(oi)
            cols.append(pj)
            coord.append(m.coordinator)
    return np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64), np.asarray(coord, dtype=bool)


def _membership_matrices(
    members: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]],
    coordinators: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]],
    shape: tuple[int, int],
) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """The membership and coordinator matrices (1.0 per entry) of (row, column) entries."""
    out = []
    for rows, cols in (members, coordinators):
        matrix = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=shape)
        matrix.data[:] = 1.0  # duplicates collapse to one entry
        out.append(matrix)
    return out[0], out[1]


#: Cached properties computed from the membership matrix alone.
_FROM_MEMBERSHIP = ("membership_csc", "org_degree", "org_popularity")


def _memberships_at(
    s: Snapshot,
    by_row: sparse.csr_matrix,
    by_column: sparse.csc_matrix,
    rows: npt.NDArray[np.int64],
    cols: npt.NDArray[np.int64],
) -> set[tuple[str, str]]:
    """The entries of one of ``s``'s matrices (given by rows and by columns) in organisations
    ``rows`` or partnerships ``cols``, as (organisation, partnership) ids."""
    in_rows, in_cols = by_row[rows].tocoo(), by_column[:, cols].tocoo()
    return _pairs(s.org_ids, s.partnership_ids, rows[in_rows.row], in_rows.col) | _pairs(
        s.org_ids, s.partnership_ids, in_cols.row, cols[in_cols.col]
    )


def _pairs(
    org_ids: Sequence[str],
    partnership_ids: Sequence[str],
    rows: npt.NDArray[np.int64],
    cols: npt.NDArray[np.int64],
) -> set[tuple[str, str]]:
    return {(org_ids[r], partnership_ids[c]) for r, c in zip(rows.tolist(), cols.tolist(), strict=True)}


def _carried(
    matrix: sparse.csr_matrix, orgs: _Rows, partnerships: _Rows
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The entries of ``matrix`` outside touched rows and columns, at their rows and columns after
    the patch (a removed row or column is always touched)."""
    old = matrix.tocoo()
    keep = ~(orgs.touched[old.row] | partnerships.touched[old.col])
    return orgs.new_place[old.row[keep]], partnerships.new_place[old.col[keep]]


class _Rows:
    """Where the rows of one side (organisations or partnerships) go when changes are applied.

    A touched id with a row in the changes is written: replaced in its place, or appended when new
    (in id order); a touched id without one was deleted and its row is removed.
    """

    def __init__(self, index: Mapping[str, int], touched: frozenset[str], rows: Mapping[str, Any]) -> None:
        self.old_index = index
        written = sorted(rows)
        self.written = [rows[i] for i in written]
        self.replaced = [n for n, i in enumerate(written) if i in index]
        self.at = np.asarray([index[written[n]] for n in self.replaced], dtype=np.int64)
        self.appended = [n for n, i in enumerate(written) if i not in index]
        self.touched = np.zeros(len(index), dtype=bool)
        self.touched[[index[i] for i in touched if i in index]] = True
        self.keep = np.ones(len(index), dtype=bool)
        self.keep[[index[i] for i in touched if i in index and i not in rows]] = False
        self.removed = not self.keep.all()
        self.moved = self.removed or bool(self.appended)
        #: Old row -> its row after the patch (-1: removed); rows after a removed one move up.
        self.new_place = np.where(self.keep, np.cumsum(self.keep) - 1, -1)

    def patch(self, old: Mapping[str, Any], written: Mapping[str, Any]) -> dict[str, Any]:
        """Each column with the written rows in place, the removed dropped and the new appended,
        in one copy; a column whose rows were written unchanged (an organisation's vector when
        only its memberships changed) is shared with the old snapshot instead."""
        out: dict[str, Any] = {}
        for name, column in old.items():
            new = written[name]
            if not self.moved and _same(column, self.at, new, self.replaced):
                out[name] = column
            elif isinstance(column, np.ndarray):
                patched = (
                    np.concatenate([column[self.keep], new[self.appended]]) if self.moved else column.copy()
                )
                patched[self.new_place[self.at]] = new[self.replaced]
                out[name] = patched
            else:
                items = (
                    [x for x, k in zip(column, self.keep, strict=True) if k] if self.removed else list(column)
                )
                items += [new[n] for n in self.appended]
                for at, n in zip(self.new_place[self.at], self.replaced, strict=True):
                    items[at] = new[n]
                out[name] = items
        return out

    def index(self, ids: Sequence[str]) -> Mapping[str, int]:
        """id -> row after the patch: the old index shared when no row moved or appeared, copied
        and extended when rows were only appended (faster than counting them all again)."""
        if self.removed:
            return {item_id: i for i, item_id in enumerate(ids)}
        if not self.appended:
            return self.old_index
        index = dict(self.old_index)
        first_new = len(index)
        index.update((item_id, i) for i, item_id in enumerate(ids[first_new:], first_new))
        return index


def _same(column: Any, at: npt.NDArray[np.int64], new: Any, replaced: list[int]) -> bool:
    """Whether rows ``at`` of ``column`` already hold rows ``replaced`` of ``new``."""
    if isinstance(column, np.ndarray):
        return bool(np.array_equal(column[at], new[replaced]))
    return all(column[i] == new[n] for i, n in zip(at, replaced, strict=True))


def _patched_degree(
    old: Snapshot, new: Snapshot, orgs: _Rows, changed: set[tuple[str, str]]
) -> npt.NDArray[np.float64]:
    """``new.org_degree`` from ``old.org_degree``, recounted only where it can have changed.

    Two organisations start or stop sharing a partnership only where a membership of one of them
    in it came or went (``changed``), so only the organisations of those memberships and the
    members of those partnerships (before and after) are recounted.
    """
    degree = np.zeros(new.n_orgs, dtype=np.float64)
    degree[orgs.new_place[orgs.keep]] = old.org_degree[orgs.keep]
    reached = {org_id for org_id, _ in changed}
    for pid in {pid for _, pid in changed}:
        for s in (old, new):
            j = s.partnership_index.get(pid)
            if j is not None:
                reached.update(s.org_ids[i] for i in s.members_of(j))
    recount = np.asarray(sorted(new.org_index[i] for i in reached if i in new.org_index), dtype=np.int64)
    # Co-members per row, the organisation itself included where it belongs anywhere.
    co = new.membership[recount] @ new.membership_csc.T
    degree[recount] = np.diff(co.indptr) - (np.diff(new.membership.indptr)[recount] > 0)
    return degree


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
