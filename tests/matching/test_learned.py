"""The learned ranker's own checks: its models' scores, stored models, candidate pool, better than chance.

What every recommender must do is checked for it in test_recommender_conformance.py.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from domain.errors import InvalidInputError
from matching.evaluation.baselines import RandomRanker
from matching.evaluation.data import case_query
from matching.evaluation.harness import evaluate_rankers, rehide
from matching.evaluation.split import TemporalSplit, temporal_split
from matching.learned import ESTIMATORS, FEATURES, LearnedRecommender
from matching.learned.context import query_context
from matching.learned.explain import EVIDENCE
from matching.learned.features import pair_features
from matching.learned.models import LinearModel, TreeModel
from matching.learned.pools import candidate_pool, newcomer_pool
from matching.snapshot import Snapshot
from tests.matching.synthetic import DATA, ENCODER, TEST_CUT, fitted_learned, ranking_history

Setup = tuple[TemporalSplit, Snapshot, LearnedRecommender]


@pytest.fixture(scope="module", params=ESTIMATORS)
def fitted(request: pytest.FixtureRequest) -> LearnedRecommender:
    return fitted_learned(request.param)


@pytest.fixture(scope="module")
def test_setup(fitted: LearnedRecommender) -> Setup:
    split, snap = ranking_history()
    return split, snap, fitted.bind(snap)


def test_scores_are_the_models_own_output_split_per_feature(test_setup: Setup) -> None:
    split, snap, ranker = test_setup
    query = case_query(snap, split.cases[0])
    m = ranker.model_
    ctx = query_context(ranker.stats_, query)
    for r in ranker.recommend(query, top_k=8):
        assert r.model == f"learned-{ranker.estimator}-v2"
        assert [c.signal for c in r.contributions] == ["baseline", *FEATURES]
        x = pair_features(ranker.stats_, ctx, np.array([snap.org_index[r.org_id]]))[0]
        # The score is the model's own output, recomputed here from the model itself
        # (float32 text similarities differ in the last bits between a pool and a single row).
        if isinstance(m, LinearModel):
            assert r.score == pytest.approx(m.intercept + float(((x - m.mean) / m.scale) @ m.coef), abs=1e-5)
        else:
            assert isinstance(m, TreeModel)
            assert r.score == pytest.approx(float(m.booster.predict(x[None, :], raw_score=True)[0]), abs=1e-4)


def test_every_feature_has_one_evidence_row() -> None:
    assert tuple(EVIDENCE) == FEATURES


def test_the_stored_model_keeps_its_meta(fitted: LearnedRecommender) -> None:
    loaded = LearnedRecommender.from_dict(json.loads(json.dumps(fitted.to_dict(note="x"))))
    assert loaded.meta_["encoder_model"] == ENCODER.name
    assert loaded.meta_["note"] == "x"
    assert loaded.training_ == fitted.training_


BAD_COMMON = [
    ({"format": "pickle"}, "not a pactmatch-learned-ranker"),
    ({"format_version": 1}, "format version"),
    ({"features": ["x"]}, "features"),
    ({"estimator": "svm"}, "'estimator'"),
    ({"pool": {"bogus": 1}}, "'pool'"),
]
BAD_BY_ESTIMATOR = {
    "logreg": [
        ({"coef": [1.0]}, "'coef'"),
        ({"mean": [float("nan")] * len(FEATURES)}, "'mean'"),
        ({"scale": [0.0] * len(FEATURES)}, "'scale'"),
        ({"intercept": "x"}, "intercept"),
    ],
    "lgbm": [
        ({"booster": 3}, "'booster'"),
        ({"booster": "tree\nversion=v4\nnum_class=banana\n"}, "'booster'"),
    ],
}


@pytest.mark.parametrize(("patch", "message"), BAD_COMMON)
def test_bad_stored_models_are_refused_clearly(fitted: LearnedRecommender, patch: dict, message: str) -> None:  # type: ignore[type-arg]
    data = {**fitted.to_dict(), **patch}
    with pytest.raises((InvalidInputError, ValueError), match=message):
        LearnedRecommender.from_dict(data)
    for extra, text in BAD_BY_ESTIMATOR[fitted.estimator]:
        with pytest.raises(InvalidInputError, match=text):
            LearnedRecommender.from_dict({**fitted.to_dict(), **extra})


@pytest.mark.parametrize("fitted", ["lgbm"], indirect=True)
def test_a_booster_with_other_features_is_refused(fitted: LearnedRecommender) -> None:
    assert fitted.estimator == "lgbm"
    data = fitted.to_dict()
    text = str(data["booster"]).replace("feature_names=text_partnership", "feature_names=renamed", 1)
    with pytest.raises(InvalidInputError, match="uses features"):
        LearnedRecommender.from_dict({**data, "booster": text})


def test_rank_before_fit_and_fit_without_examples_say_so() -> None:
    with pytest.raises(RuntimeError, match="not fitted"):
        LearnedRecommender().rank(None, np.ones(1, dtype=bool), 1)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="training example"):
        LearnedRecommender().fit(None, [])  # type: ignore[arg-type]


def test_pool_respects_the_mask_and_holds_graph_neighbours(test_setup: Setup) -> None:
    split, snap, ranker = test_setup
    query = case_query(snap, split.cases[2])
    mask = np.ones(snap.n_orgs, dtype=bool)
    mask[query.member_indices] = False
    mask[:50] = False
    ctx = query_context(ranker.stats_, query)
    pool = candidate_pool(ranker.stats_, ctx, mask, ranker.pool)
    assert mask[pool].all()
    linked = np.flatnonzero((ctx.proximity.raw > 0) & mask)
    assert set(linked.tolist()) <= set(pool.tolist())  # fewer than the graph quota here, so all are in


def test_learned_ranker_beats_chance_on_structured_data(test_setup: Setup) -> None:
    split, snap, ranker = test_setup
    result = evaluate_rankers(snap, split, [(RandomRanker(snap), "baseline"), (ranker, "product")])
    random_r10, learned_r10 = (r.all.recall_at_10 for r in result.rankers)
    assert learned_r10 > 3 * random_r10 + 0.05
    assert result.rankers[1].extra["pool_recall"] > 0.5


def test_newcomer_source_adds_unaffiliated_organisations_of_member_countries(test_setup: Setup) -> None:
    split, snap, ranker = test_setup
    stats = ranker.stats_
    case = next(c for c in split.cases if c.cold_hidden)
    query = case_query(snap, case)
    mask = np.ones(snap.n_orgs, dtype=bool)
    mask[query.member_indices] = False
    ctx = query_context(stats, query)
    fresh = newcomer_pool(stats, ctx, mask, 5)
    member_countries = set(stats.country[query.member_indices].tolist())
    assert 0 < len(fresh) <= 5
    assert (snap.org_popularity[fresh] == 0).all() and mask[fresh].all()
    assert set(stats.country[fresh].tolist()) <= member_countries
    # Without a quota of newcomers the source is off; masked organisations never come back.
    assert len(newcomer_pool(stats, ctx, mask, 0)) == 0
    mask[fresh] = False
    assert not set(newcomer_pool(stats, ctx, mask, 5).tolist()) & set(fresh.tolist())
    assert set(fresh.tolist()) <= set(
        candidate_pool(stats, ctx, np.ones(snap.n_orgs, dtype=bool)).tolist()
    ) | set(query.member_indices.tolist())


def test_rehide_keeps_the_consortium_and_changes_the_split() -> None:
    case = temporal_split(DATA.partnerships, DATA.memberships, TEST_CUT).cases[0]
    others = [rehide(case, s) for s in (1, 2, 3)]
    for other in others:
        assert sorted(other.visible + other.hidden) == sorted(case.visible + case.hidden)
        assert len(other.hidden) == len(case.hidden)
    assert any(o.hidden != case.hidden for o in others)
