"""Shortlist outcomes as feedback, on the tiny graph of test_features: an organisation that joined is
ranked as it was before it joined, and each outcome's rank is reported per latest status."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from domain.graph_data import MembershipRow
from domain.outreach import Outcome, ShortlistStatus
from matching.evaluation.baselines import HeuristicIndexRanker, PopularityRanker
from matching.evaluation.feedback import StatusRanks, latest_outcomes, rank_outcomes, without_joined
from matching.recommender import HeuristicRecommender
from matching.snapshot import Snapshot
from tests.matching.test_features import orow, prow


def outcome(org_id: str, status: str, day: int, pid: str = "P") -> Outcome:
    return Outcome(partnership_id=pid, org_id=org_id, status=ShortlistStatus(status), on=date(2026, 1, day))


@pytest.fixture
def joined_world() -> Snapshot:
    """test_features.snap, after c joined P (P: a, b, c)."""
    orgs = [orow("a", nuts=("DE111",)), orow("b", "higher_education", nuts=("DE112",)),
            orow("c", "vet_provider", nuts=("DE121",)), orow("d", nuts=("DE211",)),
            orow("e", "trade_union", nuts=("FR101",), country="FR")]  # fmt: skip
    pairs = [("a", "P"), ("b", "P"), ("c", "P"), ("a", "Q"), ("c", "Q"), ("d", "Q"), ("b", "R"), ("c", "R"),
             ("d", "S"), ("e", "S")]  # fmt: skip
    vectors = {"a": np.array([1, 0, 0], np.float32), "c": np.array([0.6, 0.8, 0], np.float32),
               "d": np.array([0, 1, 0], np.float32)}  # fmt: skip
    return Snapshot.build(
        orgs, [prow("P", scope=("DE11",)), prow("Q"), prow("R"), prow("S")],
        [MembershipRow(o, p, False) for o, p in pairs], vectors, {"P": np.array([1, 0, 0], np.float32)},
    )  # fmt: skip


def test_the_last_row_of_each_pair_is_its_latest_outcome() -> None:
    found = latest_outcomes(
        [outcome("c", "shortlisted", 9), outcome("d", "declined", 2), outcome("c", "joined", 5)]
    )
    assert [(o.org_id, o.status.value) for o in found] == [("c", "joined"), ("d", "declined")]


def test_without_joined_takes_out_only_the_memberships_joins_led_to(joined_world: Snapshot) -> None:
    before = joined_world
    after = without_joined(
        before, [outcome("c", "joined", 9), outcome("d", "declined", 2), outcome("x", "joined", 1)]
    )
    p, c = after.partnership_index["P"], after.org_index["c"]
    assert sorted(after.org_ids[i] for i in after.members_of(p)) == ["a", "b"]
    assert after.membership.nnz == before.membership.nnz - 1
    assert (
        after.org_degree[c] == 3
    )  # a, d (Q) and b (R): P no longer links it to a and b... a stays through Q
    assert before.org_degree[before.org_index["b"]] == 2 and after.org_degree[after.org_index["b"]] == 2
    assert without_joined(before, [outcome("d", "declined", 2)]) is before


def test_ranks_per_status_as_before_the_join(joined_world: Snapshot) -> None:
    outcomes = latest_outcomes([outcome("c", "joined", 9), outcome("e", "declined", 3), outcome("a", "contacted", 4),
                                outcome("c", "shortlisted", 1, pid="gone")])  # fmt: skip
    world = without_joined(joined_world, outcomes)
    heuristic = HeuristicIndexRanker(HeuristicRecommender().fit(world))
    result = rank_outcomes(world, [heuristic, PopularityRanker(world)], outcomes)
    assert result.partnerships == 1 and result.outcomes == 2
    assert result.skipped == {
        "a member without a joined outcome": 1, "partnership or organisation no longer in the store": 1,
    }  # fmt: skip
    # Without its membership, c is test_recommender's top candidate for P again; e ranks below d.
    assert result.rankers["heuristic-v1"][ShortlistStatus.JOINED].ranks == [1]
    assert result.rankers["heuristic-v1"][ShortlistStatus.DECLINED].ranks == [3]
    assert set(result.rankers["popularity"]) == {ShortlistStatus.JOINED, ShortlistStatus.DECLINED}
    assert rank_outcomes(world, [heuristic], outcomes, depth=2).rankers["heuristic-v1"][
        ShortlistStatus.DECLINED
    ].ranks == [None]


def test_status_ranks_summaries() -> None:
    ranks = StatusRanks(ShortlistStatus.JOINED, [1, 4, None, 20])
    assert ranks.count == 4 and ranks.found == [1, 4, 20]
    assert ranks.share_within(10) == 0.5 and ranks.median_rank == 12.0
    assert ranks.mrr == pytest.approx((1 + 1 / 4 + 1 / 20) / 4)
    assert StatusRanks(ShortlistStatus.JOINED, [None, None, 3]).median_rank is None
    assert StatusRanks(ShortlistStatus.JOINED).median_rank is None
