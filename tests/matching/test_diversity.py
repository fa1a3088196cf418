"""MMR and quota re-ranking on a hand-built snapshot."""

from __future__ import annotations

import numpy as np
import pytest

from domain.errors import InvalidInputError
from domain.graph_data import MembershipRow, OrgRow, PartnershipRow
from domain.models import PartnershipKind, StakeholderType
from matching.diversity import DiversityOptions, diversify, diversify_recommendations
from matching.snapshot import Snapshot
from matching.types import Contribution, Recommendation

V = {"a": [1.0, 0.0], "b": [1.0, 0.0], "c": [0.0, 1.0], "d": [0.6, 0.8]}


@pytest.fixture
def snap() -> Snapshot:
    orgs = [
        OrgRow("a", "A", StakeholderType.LARGE_EMPLOYER, False, "DE", (), ()),
        OrgRow("b", "B", StakeholderType.LARGE_EMPLOYER, False, "DE", (), ()),
        OrgRow("c", "C", StakeholderType.SME, True, "FR", (), ()),
        OrgRow("d", "D", StakeholderType.SME, True, "DE", (), ()),
    ]
    vectors = {k: np.asarray(v, dtype=np.float32) for k, v in V.items()}
    return Snapshot.build(orgs, [], [], vectors)


RANKED = np.array([0, 1, 2, 3])  # a, b, c, d
SCORES = np.array([1.0, 0.9, 0.8, 0.0])


def test_no_diversity_keeps_the_order(snap: Snapshot) -> None:
    assert diversify(snap, RANKED, SCORES, 3, DiversityOptions()).tolist() == [0, 1, 2]


def test_mmr_skips_a_near_duplicate(snap: Snapshot) -> None:
    # d = 0.5: after a, b scores 0.5·0.9 − 0.5·1 = −0.05 (b duplicates a), c scores 0.5·0.8 − 0 = 0.4.
    assert diversify(snap, RANKED, SCORES, 2, DiversityOptions(diversity=0.5)).tolist() == [0, 2]


def test_sme_quota_and_country_cap(snap: Snapshot) -> None:
    assert set(diversify(snap, RANKED, SCORES, 2, DiversityOptions(min_sme_share=1.0)).tolist()) == {2, 3}
    # at most one per country: a (DE), then c (FR); b and d are German
    assert diversify(snap, RANKED, SCORES, 2, DiversityOptions(max_per_country=1)).tolist() == [0, 2]
    # a cap that cannot be met fills by relevance instead of returning fewer
    assert len(diversify(snap, RANKED, SCORES, 4, DiversityOptions(max_per_country=1))) == 4


def test_newcomer_quota(snap: Snapshot) -> None:
    # No memberships in this snapshot: everyone is a newcomer, so the quota changes nothing.
    assert diversify(snap, RANKED, SCORES, 2, DiversityOptions(min_newcomer_share=1.0)).tolist() == [0, 1]
    with_history = Snapshot.build(
        [OrgRow(o, o, StakeholderType.SME, True, "DE", (), ()) for o in "abcd"],
        [PartnershipRow("P", "P", PartnershipKind.OTHER, (), (), None, None)],
        [MembershipRow(o, "P", False) for o in "abc"],
        {k: np.asarray(v, dtype=np.float32) for k, v in V.items()},
    )
    # d (index 3) is the only newcomer and the least relevant: a 50% quota of 2 slots takes it.
    options = DiversityOptions(min_newcomer_share=0.5)
    assert diversify(with_history, RANKED, SCORES, 2, options).tolist() == [0, 3]


def test_recommendations_keep_their_scores(snap: Snapshot) -> None:
    recs = [
        Recommendation(o, s, (Contribution("x", s, ""),), "m") for o, s in zip("abcd", SCORES, strict=True)
    ]
    out = diversify_recommendations(snap, recs, 2, DiversityOptions(diversity=0.5))
    assert [r.org_id for r in out] == ["a", "c"]
    assert out[1] is recs[2]


@pytest.mark.parametrize("kwargs", [{"diversity": 1.5}, {"min_sme_share": -0.1}, {"max_per_country": 0}])
def test_bad_options_name_the_field(kwargs: dict[str, float]) -> None:
    with pytest.raises(InvalidInputError) as err:
        DiversityOptions(**kwargs)  # type: ignore[arg-type]
    assert err.value.issues[0].field == next(iter(kwargs))
