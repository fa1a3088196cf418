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

from domain.candidates import CandidateFilters
from domain.errors import NotFoundError
from matching.candidates import (
    SIGNALS,
    CandidateFeatures,
    explain_candidate,
    heuristic_scores,
    heuristic_signals,
    rank_candidates,
)
from matching.candidates import top_indices as top_indices  # re-exported: callers import it from here
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
from matching.snapshot import Snapshot
from matching.types import PartnershipQuery, Recommendation

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


def snapshot_features(
    snapshot: Snapshot, sig: _Signals, eligible: npt.NDArray[np.bool_] | None = None
) -> CandidateFeatures:
    """Every organisation of the snapshot as a candidate (views of its arrays, no copies).

    Rows follow the snapshot's organisation order (by id), which is how the database path orders
    its pools too, so ties are broken the same way.
    """
    return CandidateFeatures(
        org_ids=snapshot.org_ids,
        names=snapshot.org_names,
        types=snapshot.org_types,
        regions=snapshot.org_regions,
        region_vocab=snapshot.regions,
        semantic=sig.semantic.values,
        semantic_source=sig.semantic.source,
        adamic_adar=sig.graph.raw,
        links=sig.graph.links,
        member_ids=[snapshot.org_ids[int(m)] for m in sig.graph.members],
        member_names=[snapshot.org_names[int(m)] for m in sig.graph.members],
        reference_regions=sig.region.references,
        region_source=sig.region.source,
        member_type_counts=sig.type.member_counts,
        eligible=eligible,
    )


class HeuristicRecommender:
    """Rank non-member organisations for a partnership.

    The signals come from the snapshot; the scoring and the explanations are
    :func:`matching.candidates.rank_candidates`, shared with the database candidate path.

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
        check_weights(self.weights)
        self.snapshot_ = snapshot
        _ = snapshot.org_degree  # warm the co-membership degrees once, not on the first query
        return self

    def _check_fitted(self) -> None:
        """A clear error before fit(), instead of an AttributeError on ``snapshot_`` mid-query."""
        if not hasattr(self, "snapshot_"):
            raise RuntimeError("HeuristicRecommender is not fitted: call fit() first")

    def _signals(self, query: PartnershipQuery, sem: SemanticSignal | None = None) -> _Signals:
        s = self.snapshot_
        return _Signals(
            sem if sem is not None else semantic(s, query),
            graph_proximity(s, query),
            regional_fit(s, query),
            type_complementarity(s, query),
        )

    def features(self, query: PartnershipQuery, filters: CandidateFilters | None = None) -> CandidateFeatures:
        """The candidate features of every organisation, members and filtered ones masked out."""
        self._check_fitted()
        sig = self._signals(query)
        return snapshot_features(
            self.snapshot_, sig, candidate_mask(self.snapshot_, query, filters or CandidateFilters())
        )

    def score_all(self, query: PartnershipQuery) -> tuple[npt.NDArray[np.float64], _Signals]:
        self._check_fitted()
        sig = self._signals(query)
        return heuristic_scores(heuristic_signals(snapshot_features(self.snapshot_, sig)), self.weights), sig

    def recommend(
        self, query: PartnershipQuery, top_k: int = 10, filters: CandidateFilters | None = None
    ) -> list[Recommendation]:
        """The ``top_k`` best candidates, best first, each with its explanation."""
        return rank_candidates(self.features(query, filters), self.weights, top_k, self.name)

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
        self._check_fitted()
        if len(filters) != len(queries):
            raise ValueError(f"{len(queries)} queries but {len(filters)} filter lists")
        s = self.snapshot_
        semantics = semantic_batch(s, queries)
        out: list[list[list[Recommendation]]] = []
        for query, sem, per_query in zip(queries, semantics, filters, strict=True):
            if not per_query:
                out.append([])
                continue
            features = snapshot_features(s, self._signals(query, sem))
            signals = heuristic_signals(features)
            out.append(
                [
                    rank_candidates(
                        features, self.weights, top_k, self.name, candidate_mask(s, query, flt), signals
                    )
                    for flt in per_query
                ]
            )
        return out

    def explain(self, query: PartnershipQuery, org_id: str) -> Recommendation:
        """The explanation of one organisation's score, whether or not it would be ranked."""
        self._check_fitted()
        i = self.snapshot_.org_index.get(org_id)
        if i is None:
            raise NotFoundError("organisation", org_id)
        features = snapshot_features(self.snapshot_, self._signals(query))
        return explain_candidate(features, i, self.weights, self.name)


def check_weights(weights: Mapping[str, float]) -> None:
    if set(weights) != set(SIGNALS) or abs(sum(weights.values()) - 1.0) > 1e-9:
        raise ValueError(f"weights must cover {SIGNALS} and sum to 1, got {dict(weights)}")
