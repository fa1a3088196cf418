"""Explanations for people: every signal and feature has its reason, and the reasons add up."""

from __future__ import annotations

import pytest

from matching.candidates import SIGNALS
from matching.evaluation.data import case_query
from matching.learned.features import FEATURES
from matching.recommender import HeuristicRecommender
from matching.types import Contribution
from pactmatch.reasons import PLAIN, REASON_OF, REASONS, Audience, explain_for_people
from tests.matching.synthetic import fitted_learned, ranking_history


def test_every_signal_and_feature_has_a_reason() -> None:
    assert set(REASON_OF) == set(SIGNALS) | set(FEATURES)
    assert set(REASON_OF.values()) == set(REASONS)
    assert set(PLAIN) <= set(REASON_OF)


def test_heuristic_contributions_become_four_reasons() -> None:
    parts = [
        Contribution("semantic", 0.16, "text similarity 0.40 to the partnership text"),
        Contribution("graph", 0.0, "no earlier collaboration with current members"),
        Contribution("region", 0.15, "inside DE11 Stuttgart (scope)"),
        Contribution("type", 0.15, "the partnership has no VET provider yet"),
    ]
    explanation = explain_for_people(parts, Audience.CANDIDATE)
    assert explanation.baseline == 0.0
    assert [(r.key, r.label, r.value, r.evidence) for r in explanation.reasons] == [
        (
            "collaboration",
            "worked with your members before",
            0.0,
            "no earlier collaboration with current members",
        ),
        ("topic", "topic fit", 0.16, "text similarity 0.40 to the partnership text"),
        ("region", "region", 0.15, "inside DE11 Stuttgart (scope)"),
        ("type", "a stakeholder type you lack", 0.15, "the partnership has no VET provider yet"),
    ]
    assert explain_for_people(parts, Audience.JOIN).reasons[3].label == "a stakeholder type it lacks"


def test_the_evidence_is_the_plain_one_that_pushes_most_in_the_reasons_direction() -> None:
    up = [
        Contribution("graph_random_walk", 0.30, "reachable ... (walk score 19.4)"),
        Contribution("graph_adamic_adar", 0.10, "worked with 2 current member(s), e.g. Acme (2 shared)"),
        Contribution("graph_common_members", 0.05, "worked before with 2 of 8 current members"),
    ]
    [reason] = explain_for_people(up, Audience.CANDIDATE).reasons
    assert reason.value == pytest.approx(0.45) and reason.evidence.startswith(
        "worked with 2 current member(s)"
    )
    assert reason.signals == ("graph_random_walk", "graph_adamic_adar", "graph_common_members")
    down = [
        Contribution("popularity", 0.02, "member of 3 partnership(s)"),
        Contribution("no_history", -0.20, "no earlier partnership"),
    ]
    [activity] = explain_for_people(down, Audience.CANDIDATE).reasons
    assert activity.value == pytest.approx(-0.18) and activity.evidence == "no earlier partnership"
    [only] = explain_for_people(
        [Contribution("graph_loyalty", 0.1, "loyalty 0.3")], Audience.CANDIDATE
    ).reasons
    assert only.evidence == "loyalty 0.3"  # nothing plainer in the group


@pytest.mark.parametrize("estimator", ["logreg", "lgbm"])
def test_learned_explanations_group_into_five_reasons_that_add_up(estimator: str) -> None:
    split, snapshot = ranking_history()
    ranker = fitted_learned(estimator).bind(snapshot)  # type: ignore[arg-type]
    for rec in ranker.recommend(case_query(snapshot, split.cases[0]), top_k=5):
        explanation = explain_for_people(rec.contributions, Audience.CANDIDATE)
        assert [r.key for r in explanation.reasons] == list(REASONS)
        assert explanation.baseline == rec.contributions[0].value
        assert explanation.baseline + sum(r.value for r in explanation.reasons) == pytest.approx(rec.score)
        assert sum(len(r.signals) for r in explanation.reasons) == len(FEATURES)
        assert all("walk score" not in r.evidence for r in explanation.reasons)


def test_heuristic_recommendations_keep_their_score() -> None:
    split, snapshot = ranking_history()
    for rec in HeuristicRecommender().fit(snapshot).recommend(case_query(snapshot, split.cases[1]), top_k=3):
        explanation = explain_for_people(rec.contributions, Audience.CANDIDATE)
        assert sum(r.value for r in explanation.reasons) == pytest.approx(rec.score)
