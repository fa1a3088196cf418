"""Partnerships an organisation could join: the heuristic recommender seen from the organisation.

For an organisation ``o`` and each partnership ``P`` it is not a member of,

.. math:: score(o, P) = 0.40 · semantic + 0.30 · graph + 0.15 · region + 0.15 · type

with the very signals :mod:`matching.candidates` gives ``o`` as a candidate for ``P``. The score a
member sees for a partnership is therefore the score that partnership's coordinators see for the
member under the heuristic ranker (tests check the two directions agree pair by pair):

* ``semantic``: cos(o, P's text embedding), or for a partnership without text cos(o, Σ_{z∈S_P} v_z)
  (its members' centroid), clipped to [0, 1];
* ``graph``: the Adamic–Adar index AA(o, P) = Σ_{z ∈ S_P ∩ N(o)} 1 / log max(2, |N(z)|) over
  co-membership in other partnerships, squashed AA / (1 + AA);
* ``region``: :data:`~matching.candidates.REGION_TIERS` by the deepest NUTS level o's primary region
  shares with P's scope (without one, with its members' regions);
* ``type``: 1 − (members of o's stakeholder type) / |S_P|: partnerships lacking o's type score highest.

One ranking scores every partnership with a few sparse products over the membership matrix
``M`` (organisations × partnerships), so it costs milliseconds at 30,000 partnerships:

* text: ``Vp·v_o`` and, for partnerships without text, ``Mᵀ(V·v_o) / ‖MᵀV‖`` (norms from ``fit``);
* graph: ``Mᵀ(1[M·M[o]ᵀ > 0] ⊙ w)`` with ``w_z = 1 / log max(2, |N(z)|)``;
* type: ``1 − Mᵀ1[t = t_o] / Mᵀ1``;
* region: the columns of o's region ids in per-level (partnerships × regions) reference matrices.

The learned ranker is not used in this direction: its features belong to one partnership and its
candidate pool, so ranking 30,000 partnerships would cost 30,000 query contexts.

Examples
--------
>>> rec = PartnershipRecommender().fit(snapshot)  # doctest: +SKIP
>>> [r.partnership_id for r in rec.recommend("org-1", top_k=3).items]  # doctest: +SKIP
['rsp-basque-energy', 'lsp-renewables', 'rsp-navarra']
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse

from domain.errors import NotFoundError
from domain.models import Ecosystem, PartnershipKind
from domain.regions import ancestors, nuts_country
from matching.blas import single_threaded_blas
from matching.candidates import (
    HeuristicSignals,
    graph_evidence,
    heuristic_scores,
    region_evidence,
    region_tier,
    semantic_evidence,
    squash,
    top_indices,
    type_evidence,
)
from matching.recommender import DEFAULT_WEIGHTS, check_weights
from matching.snapshot import KIND_ORDER, NO_REGION, TYPE_ORDER, Snapshot, ecosystem_mask
from matching.types import Contribution, PartnershipRecommendation

#: What the text signal compared with, per partnership (index into this tuple).
TEXT_SOURCES = ("none", "partnership text", "members' profiles")
_NONE, _TEXT, _MEMBERS = range(3)
#: Partnerships per block when summing members' vectors in ``fit`` (bounds its memory).
_BLOCK = 4096


@dataclass(frozen=True)
class PartnershipFilters:
    """Which partnerships may be proposed (all must hold; empty means no restriction).

    A partnership's *area* is its scope, or, without one, the regions its members are in (the
    regions the region signal compares with): CORDIS-like consortia declare no scope, and where
    they work is where their members are.
    """

    kinds: tuple[PartnershipKind, ...] = ()
    ecosystems: tuple[Ecosystem, ...] = ()
    regions: tuple[str, ...] = ()  # NUTS codes, any level: the area touches one of them
    countries: tuple[str, ...] = ()  # ISO alpha-2: the area touches one of them
    exclude_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class JoinSignals:
    """The four signals of one organisation for every partnership, and what explains them."""

    org: int
    values: HeuristicSignals  # arrays over partnerships
    text_source: npt.NDArray[np.int8]  # index into TEXT_SOURCES
    shared: npt.NDArray[np.float64]  # partnerships shared with each organisation (the graph evidence)


@dataclass(frozen=True)
class JoinPage:
    """One page of the ranking, best first, and how many partnerships it ranks in all."""

    items: list[PartnershipRecommendation]
    total: int


class PartnershipRecommender:
    """Rank the partnerships an organisation is not a member of, each with its explanation.

    Parameters
    ----------
    weights : mapping of signal name to weight
        Must cover ``semantic``, ``graph``, ``region``, ``type`` and sum to 1; the defaults are
        the candidate ranker's, which is what makes the two directions agree.
    """

    name = "heuristic-join-v1"

    snapshot_: Snapshot
    members_t_: sparse.csr_matrix  # (partnerships × organisations)
    with_vectors_: sparse.csr_matrix  # the same, organisations without an embedding left out
    sizes_: npt.NDArray[np.float64]  # members per partnership
    link_weight_: npt.NDArray[np.float64]  # 1 / log max(2, co-members) per organisation
    has_text_: npt.NDArray[np.bool_]
    centroid_norm_: npt.NDArray[np.float64]  # ‖Σ members' vectors‖ of partnerships without text
    inside_: list[sparse.csc_matrix]  # per level 0..3: reference codes at that level
    within_: list[sparse.csc_matrix]  # per level 0..2: ancestors of deeper reference codes
    areas_: tuple[dict[str, set[int]], dict[str, set[int]]] | None  # see _touching

    def __init__(self, weights: Mapping[str, float] = DEFAULT_WEIGHTS) -> None:
        self.weights = dict(weights)

    def fit(self, snapshot: Snapshot) -> PartnershipRecommender:
        """Precompute what every organisation's ranking shares: transposed memberships, member
        counts, the members' vector-sum norms and the reference-region matrices."""
        check_weights(self.weights)
        s = snapshot
        self.snapshot_ = s
        self.members_t_ = s.membership.T.tocsr()
        self.sizes_ = np.asarray(self.members_t_.sum(axis=1)).ravel().astype(np.float64)
        self.link_weight_ = 1.0 / np.log(np.maximum(2.0, s.org_degree))
        keep = sparse.diags(s.org_has_vector.astype(np.float32))
        self.with_vectors_ = (self.members_t_ @ keep).tocsr()
        self.has_text_ = s.partnership_has_vector & np.any(s.partnership_vectors != 0, axis=1)
        self.centroid_norm_ = self._centroid_norms()
        self.inside_, self.within_ = self._reference_matrices()
        self.areas_ = None
        return self

    # -- fitting helpers ------------------------------------------------------------------------
    def _centroid_norms(self) -> npt.NDArray[np.float64]:
        s = self.snapshot_
        norms = np.zeros(s.n_partnerships)
        rows = np.flatnonzero(~self.has_text_)
        if not s.org_vectors.shape[1] or not len(rows):
            return norms
        for start in range(0, len(rows), _BLOCK):
            block = rows[start : start + _BLOCK]
            sums = np.asarray(self.with_vectors_[block] @ s.org_vectors)
            norms[block] = np.linalg.norm(sums, axis=1)
        return norms

    def _reference_matrices(self) -> tuple[list[sparse.csc_matrix], list[sparse.csc_matrix]]:
        """(partnerships × region ids) matrices of each partnership's reference regions.

        ``inside_[lv]`` holds its reference codes of level ``lv``; ``within_[lv]`` the level-``lv``
        ancestors of its deeper reference codes: the two tests of
        :func:`matching.candidates.region_levels`, one column per region an organisation can be in.
        Members' regions come from sparse products; declared scopes, which are few, from a loop.
        """
        s = self.snapshot_
        n_regions = len(s.regions.codes)
        paths = s.org_regions
        deepest = _deepest_level(paths)
        scoped = np.array([bool(scope) for scope in s.partnership_scope], dtype=bool)
        unscoped = sparse.diags((~scoped).astype(np.float32))

        def from_members(selected: npt.NDArray[np.bool_], level: int) -> sparse.csr_matrix:
            rows = np.flatnonzero(selected & (paths[:, level] != NO_REGION))
            one_hot = sparse.csr_matrix(
                (np.ones(len(rows), dtype=np.float32), (rows, paths[rows, level])),
                shape=(s.n_orgs, n_regions),
            )
            product: sparse.csr_matrix = unscoped @ (self.members_t_ @ one_hot)
            return product

        inside = [from_members(deepest == lv, lv) for lv in range(4)]
        within = [from_members(deepest > lv, lv) for lv in range(3)]
        scope_entries: dict[tuple[str, int], tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
        for j in np.flatnonzero(scoped):
            for code in s.partnership_scope[j]:
                level = len(code) - 2
                if level <= 3 and (rid := s.regions.lookup(code)) != NO_REGION:
                    scope_entries[("inside", level)][0].append(int(j))
                    scope_entries[("inside", level)][1].append(rid)
                for lv in range(min(level, 3)):
                    if (aid := s.regions.lookup(code[: lv + 2])) != NO_REGION:
                        scope_entries[("within", lv)][0].append(int(j))
                        scope_entries[("within", lv)][1].append(aid)

        def finish(kind: str, level: int, matrix: sparse.csr_matrix) -> sparse.csc_matrix:
            rows, cols = scope_entries.get((kind, level), ([], []))
            declared = sparse.csr_matrix(
                (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=matrix.shape
            )
            out = (matrix + declared).tocsc()
            out.eliminate_zeros()
            return out

        return (
            [finish("inside", lv, m) for lv, m in enumerate(inside)],
            [finish("within", lv, m) for lv, m in enumerate(within)],
        )

    def _check_fitted(self) -> None:
        if not hasattr(self, "snapshot_"):
            raise RuntimeError("PartnershipRecommender is not fitted: call fit() first")

    def _org(self, org_id: str) -> int:
        self._check_fitted()
        o = self.snapshot_.org_index.get(org_id)
        if o is None:
            raise NotFoundError("organisation", org_id)
        return o

    # -- signals --------------------------------------------------------------------------------
    def signals(self, org_id: str) -> JoinSignals:
        """The four signals of ``org_id`` for every partnership (members' own partnerships too)."""
        o = self._org(org_id)
        s = self.snapshot_
        semantic, source = self._semantic(o)
        row = s.membership[o]
        shared = np.asarray((s.membership @ row.T).todense()).ravel()
        shared[o] = 0.0
        adamic_adar = self.members_t_ @ ((shared > 0) * self.link_weight_)
        same_type = (s.org_types == s.org_types[o]).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            type_values = np.where(self.sizes_ > 0, 1.0 - (self.members_t_ @ same_type) / self.sizes_, 1.0)
        level = self._region_levels(s.org_regions[o])
        values = HeuristicSignals(
            semantic=semantic,
            graph=squash(np.asarray(adamic_adar, dtype=np.float64)),
            region=region_tier(level),
            region_level=level,
            type=type_values,
        )
        return JoinSignals(o, values, source, shared)

    def _semantic(self, o: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int8]]:
        s = self.snapshot_
        source = np.full(s.n_partnerships, _NONE, dtype=np.int8)
        source[self.centroid_norm_ > 0] = _MEMBERS
        source[self.has_text_] = _TEXT
        values = np.zeros(s.n_partnerships)
        if not s.org_vectors.shape[1]:
            return values, np.full(s.n_partnerships, _NONE, dtype=np.int8)
        v = s.org_vectors[o]
        with single_threaded_blas():  # one query's products: see matching.blas
            text = (s.partnership_vectors @ v).astype(np.float64)
            to_members = np.asarray(self.with_vectors_ @ (s.org_vectors @ v).astype(np.float64)).ravel()
        values[source == _TEXT] = text[source == _TEXT]
        centroid = source == _MEMBERS
        values[centroid] = to_members[centroid] / self.centroid_norm_[centroid]
        return np.clip(values, 0.0, 1.0), source

    def _region_levels(self, path: npt.NDArray[np.int32]) -> npt.NDArray[np.int8]:
        """Deepest NUTS level each partnership's reference regions share with ``path`` (3 inside)."""
        level = np.full(self.snapshot_.n_partnerships, -1, dtype=np.int8)
        for lv in range(4):
            if path[lv] != NO_REGION:
                level[_column_rows(self.inside_[lv], int(path[lv]))] = 3
        for lv in (2, 1, 0):
            if path[lv] != NO_REGION:
                rows = _column_rows(self.within_[lv], int(path[lv]))
                level[rows[level[rows] < lv]] = lv
        return level

    # -- ranking --------------------------------------------------------------------------------
    def eligible(self, org_id: str, filters: PartnershipFilters | None = None) -> npt.NDArray[np.bool_]:
        """Partnerships that may be proposed: not the organisation's own, passing every filter."""
        o = self._org(org_id)
        s, flt = self.snapshot_, filters or PartnershipFilters()
        mask = np.ones(s.n_partnerships, dtype=bool)
        mask[s.partnerships_of(o)] = False
        if flt.kinds:
            mask &= np.isin(s.partnership_kinds, [KIND_ORDER.index(k) for k in flt.kinds])
        if flt.ecosystems:
            mask &= (s.partnership_ecosystems & np.uint32(ecosystem_mask(flt.ecosystems))) != 0
        for pid in flt.exclude_ids:
            if (j := s.partnership_index.get(pid)) is not None:
                mask[j] = False
        places = [*flt.regions, *(nuts_country(c) for c in flt.countries)]
        if places:
            mask &= self._touching(places)
        return mask

    def recommend(
        self, org_id: str, top_k: int = 10, filters: PartnershipFilters | None = None, offset: int = 0
    ) -> JoinPage:
        """Partnerships ranked ``offset + 1`` to ``offset + top_k`` (ties by partnership order), each
        explained, and the number of partnerships eligible in all."""
        sig = self.signals(org_id)
        mask = self.eligible(org_id, filters)
        scores = heuristic_scores(sig.values, self.weights)
        rows = top_indices(scores, mask, offset + top_k)[offset:]
        return JoinPage(self._explain(sig, [int(j) for j in rows]), int(mask.sum()))

    def explain(self, org_id: str, partnership_id: str) -> PartnershipRecommendation:
        """The explanation of one partnership's score for the organisation, ranked or not."""
        sig = self.signals(org_id)
        j = self.snapshot_.partnership_index.get(partnership_id)
        if j is None:
            raise NotFoundError("partnership", partnership_id)
        return self._explain(sig, [j])[0]

    def _explain(self, sig: JoinSignals, rows: list[int]) -> list[PartnershipRecommendation]:
        """The explanations of partnerships ``rows``; the graph evidence of all of them comes from
        one (rows × members) matrix of shared partnerships, built once (scipy's per-matrix cost
        would otherwise be most of a page's time)."""
        members = [self.snapshot_.members_of(j) for j in rows]
        counts = [sig.shared[m] for m in members]
        links = sparse.csr_matrix(
            (
                np.concatenate([c[c > 0] for c in counts]).astype(np.float32)
                if rows
                else np.zeros(0, np.float32),
                np.concatenate([np.flatnonzero(c) for c in counts]) if rows else np.zeros(0, np.int64),
                np.cumsum([0, *(np.count_nonzero(c) for c in counts)]),
            ),
            shape=(len(rows), max((len(m) for m in members), default=0)),
        )
        return [self._explain_one(sig, j, members[n], links, n) for n, j in enumerate(rows)]

    def _explain_one(
        self, sig: JoinSignals, j: int, members: npt.NDArray[np.int64], links: sparse.csr_matrix, row: int
    ) -> PartnershipRecommendation:
        s, o, v = self.snapshot_, sig.org, sig.values
        references, region_source = self.reference_regions(j)
        type_counts = np.bincount(s.org_types[members], minlength=len(TYPE_ORDER)).astype(np.int64)
        w = self.weights
        contributions = (
            Contribution(
                "semantic",
                w["semantic"] * float(v.semantic[j]),
                semantic_evidence(TEXT_SOURCES[int(sig.text_source[j])], float(v.semantic[j])),
            ),
            Contribution(
                "graph",
                w["graph"] * float(v.graph[j]),
                graph_evidence(links, [s.org_names[int(m)] for m in members], row),
            ),
            Contribution(
                "region",
                w["region"] * float(v.region[j]),
                region_evidence(
                    int(v.region_level[j]), s.org_regions[o], s.regions, references, region_source
                ),
            ),
            Contribution(
                "type", w["type"] * float(v.type[j]), type_evidence(int(s.org_types[o]), type_counts)
            ),
        )
        return PartnershipRecommendation(
            partnership_id=s.partnership_ids[j],
            score=sum(c.value for c in contributions),
            contributions=contributions,
            model=self.name,
        )

    # -- areas ----------------------------------------------------------------------------------
    def reference_regions(self, j: int) -> tuple[tuple[str, ...], str]:
        """Partnership ``j``'s scope, else its members' (deepest) regions, and which of the two."""
        s = self.snapshot_
        if s.partnership_scope[j]:
            return s.partnership_scope[j], "scope"
        paths = s.org_regions[s.members_of(j)]
        deepest = _deepest_level(paths)
        codes = {s.regions.codes[int(p[d])] for p, d in zip(paths, deepest, strict=True) if d >= 0}
        return tuple(sorted(codes)), ("members" if codes else "none")

    def _touching(self, places: list[str]) -> npt.NDArray[np.bool_]:
        """Partnerships whose area touches one of ``places``: an area code lies inside the place
        or contains it (the store's ``scope touches`` test, applied to the area)."""
        if self.areas_ is None:  # built on the first place filter only: a loop over partnerships
            under: dict[str, set[int]] = defaultdict(set)
            exact: dict[str, set[int]] = defaultdict(set)
            for j in range(self.snapshot_.n_partnerships):
                for code in self.reference_regions(j)[0]:
                    exact[code].add(j)
                    for a in ancestors(code):
                        under[a].add(j)
            self.areas_ = (dict(under), dict(exact))
        under_, exact_ = self.areas_
        hits: set[int] = set()
        for place in places:
            hits |= under_.get(place, set())
            for a in ancestors(place)[1:]:
                hits |= exact_.get(a, set())
        touched = np.zeros(self.snapshot_.n_partnerships, dtype=bool)
        touched[np.fromiter(hits, dtype=np.int64, count=len(hits))] = True
        return touched


def _deepest_level(paths: npt.NDArray[np.int32]) -> npt.NDArray[np.int64]:
    """The deepest level (0..3) with a region in each row of level paths; -1 for none."""
    present = paths != NO_REGION
    deepest: npt.NDArray[np.int64] = np.where(
        present.any(axis=1), 3 - np.argmax(present[:, ::-1], axis=1), -1
    )
    return deepest


def _column_rows(matrix: sparse.csc_matrix, column: int) -> npt.NDArray[np.int32]:
    """The rows with an entry in ``column`` (column indices past the matrix have none)."""
    if column >= matrix.shape[1]:
        return np.zeros(0, dtype=np.int32)
    rows: npt.NDArray[np.int32] = matrix.indices[matrix.indptr[column] : matrix.indptr[column + 1]]
    return rows


__all__ = ["JoinPage", "JoinSignals", "PartnershipFilters", "PartnershipRecommender"]
