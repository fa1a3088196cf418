"""The heuristic recommender: four explainable signals, weighted and added up.

``score = Σ_s w_s · signal_s`` with every signal in [0, 1] and weights summing to 1, so a score is
in [0, 1] and each contribution ``w_s · signal_s`` is that signal's exact share of it. It needs no
training data, which makes it the fallback whenever no learned ranker has been fitted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matching.features import (
    ProximitySignal,
    RegionSignal,
    SemanticSignal,
    TypeSignal,
    candidate_mask,
    graph_proximity,
    regional_fit,
    semantic,
    semantic_batch,
    type_complementarity,
)
from matching.snapshot import TYPE_ORDER, Snapshot
from matching.types import CandidateFilters, Contribution, PartnershipQuery, Recommendation
from pactmatch.errors import NotFoundError

SIGNALS = ("semantic", "graph", "region", "type")
DEFAULT_WEIGHTS: Mapping[str, float] = {"semantic": 0.40, "graph": 0.30, "region": 0.15, "type": 0.15}


def query_for_partnership(snapshot: Snapshot, partnership_id: str) -> PartnershipQuery:
    """The query for a stored partnership: its members, text vector, scope and ecosystems."""
    j = snapshot.partnership_index.get(partnership_id)
    if j is None:
        raise NotFoundError("partnership", partnership_id)
    vector = snapshot.partnership_vectors[j] if snapshot.partnership_has_vector[j] else None
    from matching.snapshot import ECOSYSTEM_ORDER

    mask = int(snapshot.partnership_ecosystems[j])
    return PartnershipQuery(
        member_indices=snapshot.members_of(j),
        vector=vector,
        scope_regions=snapshot.partnership_scope[j],
        ecosystems=tuple(e for b, e in enumerate(ECOSYSTEM_ORDER) if mask >> b & 1),
        exclude_partnership=j,
        label=snapshot.partnership_names[j],
    )


@dataclass
class _Signals:
    semantic: SemanticSignal
    graph: ProximitySignal
    region: RegionSignal
    type: TypeSignal


class HeuristicRecommender:
    """Rank non-member organisations for a partnership.

    Parameters
    ----------
    weights : mapping of signal name to weight
        Must cover ``semantic``, ``graph``, ``region``, ``type`` and sum to 1.

    Examples
    --------
    >>> rec = HeuristicRecommender().fit(snapshot)  # doctest: +SKIP
    >>> rec.recommend(query_for_partnership(snapshot, "P1"), top_k=5)  # doctest: +SKIP
    """

    name = "heuristic-v1"

    def __init__(self, weights: Mapping[str, float] = DEFAULT_WEIGHTS) -> None:
        self.weights = dict(weights)

    def fit(self, snapshot: Snapshot) -> HeuristicRecommender:
        if set(self.weights) != set(SIGNALS) or abs(sum(self.weights.values()) - 1.0) > 1e-9:
            raise ValueError(f"weights must cover {SIGNALS} and sum to 1, got {self.weights}")
        self.snapshot_ = snapshot
        _ = snapshot.org_degree  # warm the co-membership degrees once, not on the first query
        return self

    def _signals(self, query: PartnershipQuery) -> _Signals:
        s = self.snapshot_
        return _Signals(
            semantic(s, query),
            graph_proximity(s, query),
            regional_fit(s, query),
            type_complementarity(s, query),
        )

    def score_all(self, query: PartnershipQuery) -> tuple[npt.NDArray[np.float64], _Signals]:
        sig = self._signals(query)
        w = self.weights
        scores = (
            w["semantic"] * sig.semantic.values
            + w["graph"] * sig.graph.values
            + w["region"] * sig.region.values
            + w["type"] * sig.type.values
        )
        return scores, sig

    def recommend(
        self, query: PartnershipQuery, top_k: int = 10, filters: CandidateFilters | None = None
    ) -> list[Recommendation]:
        """The ``top_k`` best candidates, best first, each with its explanation."""
        scores, sig = self.score_all(query)
        mask = candidate_mask(self.snapshot_, query, filters or CandidateFilters())
        idx = top_indices(scores, mask, top_k)
        return [self._explain(int(i), sig) for i in idx]

    def recommend_batch(
        self,
        queries: Sequence[PartnershipQuery],
        filters: Sequence[Sequence[CandidateFilters]],
        top_k: int = 10,
    ) -> list[list[list[Recommendation]]]:
        """:meth:`recommend` for many queries, each under several filters: ``out[q][f]`` is a list.

        The text signal of all queries comes from one matrix product and each query's signals are
        computed once for all its filters (a gap report asks for one list per gap), which makes
        batch runs over tens of thousands of partnerships affordable. Results equal ``recommend``.
        """
        if len(filters) != len(queries):
            raise ValueError(f"{len(queries)} queries but {len(filters)} filter lists")
        s, w = self.snapshot_, self.weights
        semantics = semantic_batch(s, queries)
        out: list[list[list[Recommendation]]] = []
        for query, sem, per_query in zip(queries, semantics, filters, strict=True):
            if not per_query:
                out.append([])
                continue
            sig = _Signals(
                sem, graph_proximity(s, query), regional_fit(s, query), type_complementarity(s, query)
            )
            scores = (
                w["semantic"] * sig.semantic.values
                + w["graph"] * sig.graph.values
                + w["region"] * sig.region.values
                + w["type"] * sig.type.values
            )
            lists = []
            for flt in per_query:
                idx = top_indices(scores, candidate_mask(s, query, flt), top_k)
                lists.append([self._explain(int(i), sig) for i in idx])
            out.append(lists)
        return out

    def explain(self, query: PartnershipQuery, org_id: str) -> Recommendation:
        """The explanation of one organisation's score, whether or not it would be ranked."""
        i = self.snapshot_.org_index.get(org_id)
        if i is None:
            raise NotFoundError("organisation", org_id)
        _, sig = self.score_all(query)
        return self._explain(i, sig)

    def _explain(self, i: int, sig: _Signals) -> Recommendation:
        s, w = self.snapshot_, self.weights
        contributions = (
            Contribution(
                "semantic", w["semantic"] * float(sig.semantic.values[i]), _semantic_evidence(sig.semantic, i)
            ),
            Contribution("graph", w["graph"] * float(sig.graph.values[i]), _graph_evidence(s, sig.graph, i)),
            Contribution(
                "region", w["region"] * float(sig.region.values[i]), _region_evidence(s, sig.region, i)
            ),
            Contribution("type", w["type"] * float(sig.type.values[i]), _type_evidence(s, sig.type, i)),
        )
        return Recommendation(
            org_id=s.org_ids[i],
            score=sum(c.value for c in contributions),
            contributions=contributions,
            model=self.name,
        )


def top_indices(
    scores: npt.NDArray[np.float64], mask: npt.NDArray[np.bool_], top_k: int
) -> npt.NDArray[np.int64]:
    """Indices of the ``top_k`` highest masked scores, best first (ties broken by index)."""
    allowed = np.flatnonzero(mask)
    if top_k <= 0 or len(allowed) == 0:
        return np.zeros(0, dtype=np.int64)
    sub = scores[allowed]
    part = np.argpartition(-sub, top_k - 1)[:top_k] if len(allowed) > top_k else np.arange(len(allowed))
    order = np.lexsort((allowed[part], -sub[part]))
    return allowed[part[order]]


# -- evidence ----------------------------------------------------------------------------------
def _semantic_evidence(sig: SemanticSignal, i: int) -> str:
    if sig.source == "none":
        return "no text embedding to compare with"
    return f"text similarity {sig.values[i]:.2f} to the {sig.source}"


def _graph_evidence(s: Snapshot, sig: ProximitySignal, i: int) -> str:
    row = sig.links.getrow(i)
    if row.nnz == 0:
        return "no earlier collaboration with current members"
    # The members it shares most partnerships with, named.
    order = np.lexsort((row.indices, -row.data))[:3]
    named = "; ".join(
        f"{s.org_names[int(sig.members[col])]} ({int(n)} shared)"
        for col, n in zip(row.indices[order], row.data[order], strict=True)
    )
    return f"worked with {row.nnz} current member(s) in other partnerships, e.g. {named}"


def _region_evidence(s: Snapshot, sig: RegionSignal, i: int) -> str:
    lv = int(sig.level[i])
    if sig.source == "none":
        return "the partnership has no regions to compare with"
    if lv < 0:
        return f"outside the {sig.source} regions"
    from pactmatch.regions import RegionIndex

    index = RegionIndex.default()
    row = s.org_regions[i]
    if lv == 3:
        code = next(c for c in sig.references if row[min(len(c) - 2, 3)] == s.regions.lookup(c))
        return f"inside {code} {index.label(code)} ({sig.source})"
    code = s.regions.codes[int(row[lv])]
    what = "same country" if lv == 0 else f"same NUTS {lv}"
    return f"{what} as the {sig.source}: {code} {index.label(code)}"


def _type_evidence(s: Snapshot, sig: TypeSignal, i: int) -> str:
    t = int(s.org_types[i])
    label = TYPE_ORDER[t].label
    have = int(sig.member_counts[t])
    if have == 0:
        return f"the partnership has no {label} yet"
    return f"{label}: already {have} of {sig.n_members} members"
