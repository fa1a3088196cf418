"""The recommender contract: every recommender passes these same tests.

Parametrised over the recommenders through the ``recommender`` fixture: the heuristic one and the
learned one with each of its models, fitted on synthetic consortia (``tests/matching/synthetic.py``)
and ranking that data's test partnerships. A check that holds for one recommender only belongs in
its own module (test_recommender.py, test_learned.py).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from functools import partial

import numpy as np
import pytest

from domain.candidates import CandidateFilters
from domain.errors import NotFoundError
from domain.models import Organisation, StakeholderType
from matching.evaluation.data import case_query
from matching.learned import LearnedRecommender
from matching.recommender import HeuristicRecommender, query_for_partnership
from matching.types import PartnershipQuery
from tests.matching.synthetic import DATA, fitted_learned, ranking_history

Recommender = HeuristicRecommender | LearnedRecommender

UNFITTED: dict[str, Callable[[], Recommender]] = {
    "heuristic": HeuristicRecommender,
    "learned-logreg": partial(LearnedRecommender, estimator="logreg"),
    "learned-lgbm": partial(LearnedRecommender, estimator="lgbm"),
}
ORGS: dict[str, Organisation] = {o.org_id: o for o in DATA.organisations}
REGION = DATA.organisations[0].nuts_codes[0]  # a NUTS-1 region: a filter deeper than the country
ECOSYSTEM = DATA.organisations[0].ecosystems[0]


@pytest.fixture(scope="module", params=list(UNFITTED))
def recommender(request: pytest.FixtureRequest) -> Recommender:
    _, snapshot = ranking_history()
    if request.param == "heuristic":
        return HeuristicRecommender().fit(snapshot)
    return fitted_learned(request.param.removeprefix("learned-")).bind(snapshot)


@pytest.fixture(scope="module")
def queries() -> list[PartnershipQuery]:
    """Test partnerships (visible members and text), one without text, and a stored partnership."""
    split, snapshot = ranking_history()
    cases = [case_query(snapshot, case) for case in split.cases[:3]]
    stored = query_for_partnership(snapshot, min(split.history))
    return [*cases, dataclasses.replace(cases[0], vector=None), stored]


def member_ids(query: PartnershipQuery) -> set[str]:
    _, snapshot = ranking_history()
    return {snapshot.org_ids[int(i)] for i in query.member_indices}


@pytest.mark.parametrize("top_k", [1, 5, 12])
def test_recommend_returns_top_k_best_first_without_members_or_duplicates(
    recommender: Recommender, queries: list[PartnershipQuery], top_k: int
) -> None:
    for query in queries:
        recs = recommender.recommend(query, top_k=top_k)
        ids = [r.org_id for r in recs]
        assert len(ids) == top_k  # 300 organisations: always enough candidates
        assert len(set(ids)) == len(ids)
        assert not set(ids) & member_ids(query)
        assert set(ids) <= set(ORGS)
        scores = [r.score for r in recs]
        assert scores == sorted(scores, reverse=True)


def test_every_recommendation_names_the_recommender(
    recommender: Recommender, queries: list[PartnershipQuery]
) -> None:
    assert {r.model for q in queries for r in recommender.recommend(q)} == {recommender.name}


def test_contributions_add_up_to_the_score_and_each_has_evidence(
    recommender: Recommender, queries: list[PartnershipQuery]
) -> None:
    for query in queries:
        recs = recommender.recommend(query)
        signals = [c.signal for c in recs[0].contributions]
        assert len(set(signals)) == len(signals)
        for r in recs:
            assert [c.signal for c in r.contributions] == signals  # the same signals for every candidate
            assert sum(c.value for c in r.contributions) == pytest.approx(r.score)
            assert all(isinstance(c.evidence, str) and c.evidence for c in r.contributions)


def test_recommend_is_deterministic(recommender: Recommender, queries: list[PartnershipQuery]) -> None:
    for query in queries:
        assert recommender.recommend(query) == recommender.recommend(query)


@pytest.mark.parametrize(
    ("filters", "keeps"),
    [
        (CandidateFilters(countries=("FI",)), lambda o: o.country == "FI"),
        (CandidateFilters(regions=(REGION,)), lambda o: any(c.startswith(REGION) for c in o.nuts_codes)),
        (
            CandidateFilters(stakeholder_types=(StakeholderType.HIGHER_EDUCATION,)),
            lambda o: o.stakeholder_type == StakeholderType.HIGHER_EDUCATION,
        ),
        (CandidateFilters(sme_only=True), lambda o: o.sme is True),
        (CandidateFilters(ecosystems=(ECOSYSTEM,)), lambda o: ECOSYSTEM in o.ecosystems),
    ],
    ids=["country", "region", "type", "sme", "ecosystem"],
)
def test_filters_are_respected(
    recommender: Recommender,
    queries: list[PartnershipQuery],
    filters: CandidateFilters,
    keeps: Callable[[Organisation], bool],
) -> None:
    for query in queries:
        recs = recommender.recommend(query, top_k=5, filters=filters)
        assert recs
        assert all(keeps(ORGS[r.org_id]) for r in recs)


def test_excluded_organisations_are_left_out(
    recommender: Recommender, queries: list[PartnershipQuery]
) -> None:
    query = queries[0]
    best = [r.org_id for r in recommender.recommend(query, top_k=3)]
    recs = recommender.recommend(query, top_k=5, filters=CandidateFilters(exclude_org_ids=tuple(best)))
    assert len(recs) == 5
    assert not {r.org_id for r in recs} & set(best)


def test_listed_organisations_only_and_never_members(
    recommender: Recommender, queries: list[PartnershipQuery]
) -> None:
    query = queries[0]
    members = sorted(member_ids(query))
    listed = ("O000007", "O000100", "O000211")
    assert not set(listed) & set(members)
    filters = CandidateFilters(org_ids=(*listed, members[0], "nobody"))
    recs = recommender.recommend(query, top_k=10, filters=filters)
    assert sorted(r.org_id for r in recs) == sorted(listed)  # fewer than top_k: all of them, no more


@pytest.mark.parametrize(
    "filters",
    [
        CandidateFilters(org_ids=("nobody",)),
        CandidateFilters(countries=("LU",)),  # no organisation there
        CandidateFilters(sme_only=True, stakeholder_types=(StakeholderType.HIGHER_EDUCATION,)),
    ],
    ids=["unknown-id", "empty-country", "contradiction"],
)
def test_filters_that_leave_nobody_give_an_empty_list(
    recommender: Recommender, queries: list[PartnershipQuery], filters: CandidateFilters
) -> None:
    assert recommender.recommend(queries[0], top_k=5, filters=filters) == []


def test_only_members_listed_gives_an_empty_list(
    recommender: Recommender, queries: list[PartnershipQuery]
) -> None:
    query = queries[0]
    filters = CandidateFilters(org_ids=tuple(member_ids(query)))
    assert recommender.recommend(query, top_k=5, filters=filters) == []


def test_a_partnership_without_members_still_gets_recommendations(
    recommender: Recommender, queries: list[PartnershipQuery]
) -> None:
    query = dataclasses.replace(queries[0], member_indices=np.zeros(0, dtype=np.int64))
    recs = recommender.recommend(query, top_k=5)
    assert len(recs) == 5
    assert all(c.evidence for r in recs for c in r.contributions)


def test_explain_agrees_with_recommend(recommender: Recommender, queries: list[PartnershipQuery]) -> None:
    for query in queries:
        for r in recommender.recommend(query, top_k=3):
            again = recommender.explain(query, r.org_id)
            assert again.org_id == r.org_id and again.model == r.model
            # float32 text similarities may differ in the last bits between a pool and a single row
            assert again.score == pytest.approx(r.score, abs=1e-5)
            assert [c.signal for c in again.contributions] == [c.signal for c in r.contributions]


def test_explain_covers_organisations_that_would_not_be_recommended(
    recommender: Recommender, queries: list[PartnershipQuery]
) -> None:
    query = queries[0]
    member = sorted(member_ids(query))[0]
    explained = recommender.explain(query, member)
    assert explained.org_id == member
    assert all(c.evidence for c in explained.contributions)


def test_unknown_organisation_is_not_found(recommender: Recommender, queries: list[PartnershipQuery]) -> None:
    with pytest.raises(NotFoundError):
        recommender.explain(queries[0], "nobody")


def test_a_stored_recommender_ranks_identically(
    recommender: Recommender, queries: list[PartnershipQuery]
) -> None:
    if not isinstance(recommender, LearnedRecommender):
        pytest.skip(f"{recommender.name} stores nothing: it is built from the snapshot alone")
    _, snapshot = ranking_history()
    loaded = LearnedRecommender.from_dict(json.loads(json.dumps(recommender.to_dict()))).bind(snapshot)
    for query in queries:
        assert loaded.recommend(query) == recommender.recommend(query)


@pytest.mark.parametrize("kind", list(UNFITTED))
def test_an_unfitted_recommender_says_so(kind: str, queries: list[PartnershipQuery]) -> None:
    unfitted = UNFITTED[kind]()
    with pytest.raises(RuntimeError, match="not fitted"):
        unfitted.recommend(queries[0])
    with pytest.raises(RuntimeError, match="not fitted"):
        unfitted.explain(queries[0], "O000007")
