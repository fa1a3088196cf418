"""The heuristic recommender on a tiny hand-built graph: its ranking, a score by hand, top-k selection.

What every recommender must do is checked for it in test_recommender_conformance.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from domain.candidates import CandidateFilters
from domain.errors import NotFoundError
from domain.models import StakeholderType
from matching.recommender import HeuristicRecommender, query_for_partnership, top_indices
from matching.snapshot import Snapshot
from matching.types import Contribution, Recommendation
from tests.matching.test_features import snap  # noqa: F401  (fixture)


def test_ranking_on_the_tiny_graph(snap: Snapshot) -> None:  # noqa: F811
    rec = HeuristicRecommender().fit(snap)
    results = rec.recommend(query_for_partnership(snap, "P"), top_k=10)
    assert [r.org_id for r in results][:1] == ["c"]  # text, graph, region and a missing type all point at c
    assert {r.org_id for r in results} == {"c", "d", "e", "f"}  # members a, b never recommended
    for r in results:
        assert [c.signal for c in r.contributions] == ["semantic", "graph", "region", "type"]


def test_score_of_c_by_hand(snap: Snapshot) -> None:  # noqa: F811
    rec = HeuristicRecommender().fit(snap)
    c = rec.explain(query_for_partnership(snap, "P"), "c")
    aa = 1 / np.log(3) + 1 / np.log(2)
    expected = 0.40 * 0.6 + 0.30 * aa / (1 + aa) + 0.15 * 0.5 + 0.15 * 1.0
    assert c.score == pytest.approx(expected)
    graph = next(x for x in c.contributions if x.signal == "graph")
    assert "worked with 2 current member(s)" in graph.evidence and "Org a" in graph.evidence


def test_type_filter_and_unknown_partnership(snap: Snapshot) -> None:  # noqa: F811
    rec = HeuristicRecommender().fit(snap)
    q = query_for_partnership(snap, "P")
    only = rec.recommend(
        q, top_k=5, filters=CandidateFilters(stakeholder_types=(StakeholderType.TRADE_UNION,))
    )
    assert [r.org_id for r in only] == ["e"]
    with pytest.raises(NotFoundError):
        query_for_partnership(snap, "nope")


def test_weights_must_cover_signals_and_sum_to_one(snap: Snapshot) -> None:  # noqa: F811
    with pytest.raises(ValueError, match="sum to 1"):
        HeuristicRecommender({"semantic": 1.0, "graph": 0.5, "region": 0.0, "type": 0.0}).fit(snap)


def test_top_indices_respects_mask_order_and_ties() -> None:
    scores = np.array([0.5, 0.9, 0.5, 0.1, 0.9])
    mask = np.array([True, True, True, True, False])
    assert top_indices(scores, mask, 3).tolist() == [1, 0, 2]
    assert top_indices(scores, mask, 10).tolist() == [1, 0, 2, 3]
    assert top_indices(scores, np.zeros(5, bool), 3).tolist() == []


def test_recommendation_rejects_contributions_that_do_not_add_up() -> None:
    with pytest.raises(ValueError, match="sum"):
        Recommendation("x", 1.0, (Contribution("semantic", 0.5, ""),), "m")
