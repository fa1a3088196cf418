"""The learned ranker: honest additive explanations, JSON round trip, candidate pool, better than chance."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest

from domain.candidates import CandidateFilters
from domain.errors import InvalidInputError, NotFoundError
from embeddings import make_encoder
from matching.evaluation.baselines import RandomRanker
from matching.evaluation.data import case_query
from matching.evaluation.harness import case_indices, evaluate_rankers, fit_learned_ranker, rehide
from matching.evaluation.split import temporal_split
from matching.evaluation.synthetic import synthetic_consortia
from matching.learned import ESTIMATORS, FEATURES, LearnedRecommender
from matching.learned.context import query_context
from matching.learned.explain import EVIDENCE
from matching.learned.features import pair_features
from matching.learned.models import LinearModel, TreeModel
from matching.learned.pools import candidate_pool, newcomer_pool
from matching.recommender import query_for_partnership

ENCODER = make_encoder("hashing")
DATA = synthetic_consortia(300, 420, seed=3)


def embed(texts: object) -> np.ndarray:
    return ENCODER.encode(list(texts))  # type: ignore[call-overload]


@pytest.fixture(scope="module", params=ESTIMATORS)
def fitted(request: pytest.FixtureRequest) -> LearnedRecommender:
    return fit_learned_ranker(
        DATA.organisations, DATA.partnerships, DATA.memberships, fit_cut=date(2017, 1, 1), end=date(2018, 1, 1),
        embed=embed, model=ENCODER.name, ranker=LearnedRecommender(estimator=request.param),
    )  # fmt: skip


@pytest.fixture(scope="module")
def test_setup(fitted: LearnedRecommender):  # type: ignore[no-untyped-def]
    from matching.evaluation.data import history_snapshot

    split = temporal_split(DATA.partnerships, DATA.memberships, date(2018, 1, 1))
    snap = history_snapshot(
        DATA.organisations, DATA.partnerships, DATA.memberships, split, embed, model=ENCODER.name
    )
    return split, snap, fitted.bind(snap)


def test_contributions_sum_to_the_models_score(test_setup) -> None:  # type: ignore[no-untyped-def]
    split, snap, ranker = test_setup
    case = split.cases[0]
    query = case_query(snap, case)
    recs = ranker.recommend(query, top_k=8)
    assert len(recs) == 8
    m = ranker.model_
    ctx = query_context(ranker.stats_, query)
    for r in recs:
        assert r.model == f"learned-{ranker.estimator}-v2"
        assert [c.signal for c in r.contributions] == ["baseline", *FEATURES]
        assert sum(c.value for c in r.contributions) == pytest.approx(r.score)
        x = pair_features(ranker.stats_, ctx, np.array([snap.org_index[r.org_id]]))[0]
        # The score is the model's own output, recomputed here from the model itself
        # (float32 text similarities differ in the last bits between a pool and a single row).
        if isinstance(m, LinearModel):
            assert r.score == pytest.approx(m.intercept + float(((x - m.mean) / m.scale) @ m.coef), abs=1e-5)
        else:
            assert isinstance(m, TreeModel)
            assert r.score == pytest.approx(float(m.booster.predict(x[None, :], raw_score=True)[0]), abs=1e-4)
        assert all(c.evidence for c in r.contributions)
    assert [r.score for r in recs] == sorted((r.score for r in recs), reverse=True)
    assert not {r.org_id for r in recs} & set(case.visible)
    again = ranker.explain(query, recs[0].org_id)
    assert again.score == pytest.approx(recs[0].score)
    with pytest.raises(NotFoundError):
        ranker.explain(query, "nobody")


def test_every_feature_has_one_evidence_row() -> None:
    assert tuple(EVIDENCE) == FEATURES


def test_filters_are_respected(test_setup) -> None:  # type: ignore[no-untyped-def]
    split, snap, ranker = test_setup
    query = case_query(snap, split.cases[1])
    recs = ranker.recommend(query, top_k=5, filters=CandidateFilters(countries=("FI",)))
    assert recs and all(r.org_id in {o.org_id for o in DATA.organisations if o.country == "FI"} for r in recs)


def test_filters_that_leave_nobody_give_an_empty_list(test_setup) -> None:  # type: ignore[no-untyped-def]
    """LightGBM cannot explain zero rows (it divides by the row count): no candidate, no call."""
    split, snap, ranker = test_setup
    query = case_query(snap, split.cases[1])
    assert ranker.recommend(query, top_k=5, filters=CandidateFilters(org_ids=("nobody",))) == []


def test_json_round_trip_gives_identical_rankings(test_setup, fitted: LearnedRecommender) -> None:  # type: ignore[no-untyped-def]
    split, snap, ranker = test_setup
    text = json.dumps(fitted.to_dict())
    loaded = LearnedRecommender.from_dict(json.loads(text)).bind(snap)
    assert loaded.meta_["encoder_model"] == ENCODER.name
    for case in split.cases[:5]:
        q = case_query(snap, case)
        a, b = ranker.recommend(q, top_k=10), loaded.recommend(q, top_k=10)
        assert [r.org_id for r in a] == [r.org_id for r in b]
        assert [r.score for r in a] == pytest.approx([r.score for r in b])


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


def test_unfitted_ranker_says_so() -> None:
    with pytest.raises(RuntimeError, match="not fitted"):
        LearnedRecommender().rank(None, np.ones(1, dtype=bool), 1)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="training example"):
        LearnedRecommender().fit(None, [])  # type: ignore[arg-type]


def test_pool_respects_the_mask_and_holds_graph_neighbours(test_setup) -> None:  # type: ignore[no-untyped-def]
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


def test_learned_ranker_beats_chance_on_structured_data(test_setup) -> None:  # type: ignore[no-untyped-def]
    split, snap, ranker = test_setup
    result = evaluate_rankers(snap, split, [(RandomRanker(snap), "baseline"), (ranker, "product")])
    random_r10, learned_r10 = (r.all.recall_at_10 for r in result.rankers)
    assert learned_r10 > 3 * random_r10 + 0.05
    assert result.rankers[1].extra["pool_recall"] > 0.5


def test_the_service_query_works_on_a_stored_partnership(test_setup) -> None:  # type: ignore[no-untyped-def]
    split, snap, ranker = test_setup
    history_id = next(iter(sorted(split.history)))
    recs = ranker.recommend(query_for_partnership(snap, history_id), top_k=3)
    members = {snap.org_ids[i] for i in snap.members_of(snap.partnership_index[history_id])}
    assert recs and not {r.org_id for r in recs} & members
    assert case_indices(snap, [recs[0].org_id])[0] == snap.org_index[recs[0].org_id]


def test_newcomer_source_adds_unaffiliated_organisations_of_member_countries(test_setup) -> None:  # type: ignore[no-untyped-def]
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
    case = temporal_split(DATA.partnerships, DATA.memberships, date(2018, 1, 1)).cases[0]
    others = [rehide(case, s) for s in (1, 2, 3)]
    for other in others:
        assert sorted(other.visible + other.hidden) == sorted(case.visible + case.hidden)
        assert len(other.hidden) == len(case.hidden)
    assert any(o.hidden != case.hidden for o in others)
