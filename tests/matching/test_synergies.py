"""Synergies on a tiny hand-built set whose signal values were worked out by hand.

  L1 large-scale, tourism, no scope (EU27): o1 large employer ES511, o2 VET provider DE111
  R1 regional ES51, tourism, derives from L1: o1, o3 regional authority ES511, o4 higher education ES512
  R2 regional ES51, digital:                  o3, o5 SME ES511
  R3 regional FR10, textiles:                 o6 SME FR101

members (Adamic–Adar, squashed): R1–L1 share o1, in 2 partnerships: x = 1/log 2 = 1.4427,
  x/(1+x) = 0.5906; R1–R2 share o3 likewise; L1–R2 share nobody.
ecosystems (Jaccard): R1–L1 = 1; R1–R2 = 0.
regions: R1 reaches NUTS 2 (ES, ES5, ES51), L1 only countries, so R1–L1 is compared at level 0:
  {ES} ∩ EU27 over min(1, 27) = 1. R1–R2: 1 at levels 0, 1, 2 → 1. R1–R3: nothing shared → 0.
complementarity: R1 misses VET, SMEs, trade unions and chambers (4); L1 misses public authorities,
  HE, SMEs, trade unions and representative organisations (5). L1 fills R1's VET need (o2); R1 fills
  L1's public-authority (o3) and HE (o4) needs: (1 + 2) / (4 + 5) = 1/3.
"""

from __future__ import annotations

import math

import pytest

from domain.errors import InvalidInputError, NotFoundError
from domain.models import PartnershipKind, StakeholderType
from matching.recommender import HeuristicRecommender
from matching.snapshot import Snapshot
from matching.synergies import DEFAULT_SYNERGY_WEIGHTS, SYNERGY_SIGNALS, SynergyFinder, SynergyPair
from pactmatch.importers.report import ParsedBatch
from pactmatch.service import PactmatchService
from tests.conftest import TEST_ACTOR, member, org, partnership

ORGS = [
    org("o1", stakeholder_type="large_employer", country="ES", nuts_codes=["ES511"]),
    org("o2", stakeholder_type="vet_provider", country="DE", nuts_codes=["DE111"]),
    org("o3", stakeholder_type="regional_local_authority", country="ES", nuts_codes=["ES511"]),
    org("o4", stakeholder_type="higher_education", country="ES", nuts_codes=["ES512"]),
    org("o5", stakeholder_type="sme", country="ES", nuts_codes=["ES511"]),
    org("o6", stakeholder_type="sme", country="FR", nuts_codes=["FR101"]),
]
PARTNERSHIPS = [
    partnership("L1", kind="large_scale", ecosystems=["tourism"], description="tourism skills hospitality"),
    partnership(
        "R1", kind="regional", scope_regions=["ES51"], ecosystems=["tourism"], parent_id="L1",
        description="tourism skills hospitality catalonia",
    ),
    partnership("R2", kind="regional", scope_regions=["ES51"], ecosystems=["digital"], description="digital skills catalonia"),
    partnership("R3", kind="regional", scope_regions=["FR10"], ecosystems=["textiles"], description="textile skills paris"),
]  # fmt: skip
MEMBERS = [
    member("o1", "L1"), member("o2", "L1"),
    member("o1", "R1"), member("o3", "R1"), member("o4", "R1"),
    member("o3", "R2"), member("o5", "R2"),
    member("o6", "R3"),
]  # fmt: skip
TEXTS = {p.partnership_id: p.description for p in PARTNERSHIPS}
AA_ONE = (1 / math.log(2)) / (1 + 1 / math.log(2))


@pytest.fixture
def snapshot(hashing_service: PactmatchService) -> Snapshot:
    report = hashing_service.import_batch(ParsedBatch(ORGS, PARTNERSHIPS, MEMBERS), "test", actor=TEST_ACTOR)
    assert report.ok
    return hashing_service.snapshot()


@pytest.fixture
def finder(snapshot: Snapshot) -> SynergyFinder:
    return SynergyFinder(top_k=3).fit(snapshot, TEXTS, HeuristicRecommender().fit(snapshot))


def _signals(pair: SynergyPair) -> dict[str, float]:
    return {c.signal: c.value / DEFAULT_SYNERGY_WEIGHTS[c.signal] for c in pair.contributions}


def _pair(pairs: list[SynergyPair], other: str) -> SynergyPair:
    return next(p for p in pairs if p.b_id == other)


def test_signals_are_the_hand_computed_ones(finder: SynergyFinder) -> None:
    pairs = finder.for_partnership("R1")
    assert {p.b_id for p in pairs} == {"L1", "R2", "R3"}
    l1 = _signals(_pair(pairs, "L1"))
    assert l1["members"] == pytest.approx(AA_ONE, abs=1e-6)
    assert l1["ecosystems"] == pytest.approx(1.0)
    assert l1["regions"] == pytest.approx(1.0)
    assert l1["complementarity"] == pytest.approx(1 / 3, abs=1e-6)
    r2 = _signals(_pair(pairs, "R2"))
    assert r2["members"] == pytest.approx(AA_ONE, abs=1e-6)
    assert r2["ecosystems"] == 0.0
    assert r2["regions"] == pytest.approx(1.0)
    r3 = _signals(_pair(pairs, "R3"))
    assert r3["members"] == 0.0 and r3["regions"] == 0.0
    for p in pairs:
        assert sum(c.value for c in p.contributions) == pytest.approx(p.score)
        assert [c.signal for c in p.contributions] == list(SYNERGY_SIGNALS)
    assert [p.score for p in pairs] == sorted((p.score for p in pairs), reverse=True)


def test_explanations(finder: SynergyFinder) -> None:
    pair = _pair(finder.for_partnership("R1"), "L1")
    assert pair.a_id == "R1" and pair.kind == "large_scale-regional"
    assert [b.org_id for b in pair.bridges] == ["o1"] and pair.n_shared_members == 1
    assert pair.overlapping_regions == ("ES",)
    assert [e.value for e in pair.shared_ecosystems] == ["tourism"]
    assert any("tourism" in t for t in pair.shared_terms)
    assert set(pair.a_brings) == {StakeholderType.REGIONAL_LOCAL_AUTHORITY, StakeholderType.HIGHER_EDUCATION}
    assert pair.b_brings == (StakeholderType.VET_PROVIDER,)
    assert pair.b_fills == ("VET providers",)  # L1's VET provider meets R1's unmet requirement
    assert set(pair.a_fills) == {
        "public authorities (local, regional or national) or employment services",
        "higher education institutions",
    }
    assert pair.linked == ("R1 derives from L1",)
    r2 = _pair(finder.for_partnership("R1"), "R2")
    assert r2.overlapping_regions == ("ES51",)
    assert r2.linked == ()


def test_recruits_come_from_the_other_side(finder: SynergyFinder) -> None:
    pair = _pair(finder.for_partnership("R2"), "R1")
    # R1's members that are not in R2 (o3 is in both) may be proposed to R2, and vice versa.
    assert pair.recruits_for_a and {r.org_id for r in pair.recruits_for_a} <= {"o1", "o4"}
    assert all(r.from_partnership == "R1" and r.to_partnership == "R2" for r in pair.recruits_for_a)
    assert {r.org_id for r in pair.recruits_for_b} == {"o5"}


def test_linked_by_many_shared_members(snapshot: Snapshot) -> None:
    finder = SynergyFinder(top_k=3, linked_min_shared=1, linked_share=0.3).fit(snapshot, TEXTS)
    pair = _pair(finder.for_partnership("R2"), "R1")
    assert pair.linked == ("1 shared members (50% of the smaller partnership)",)


def test_all_pairs_once_best_first_and_block_size_does_not_matter(snapshot: Snapshot) -> None:
    one = list(SynergyFinder(top_k=3, block=1).fit(snapshot, TEXTS).all_pairs())
    big = list(SynergyFinder(top_k=3, block=256).fit(snapshot, TEXTS).all_pairs())
    keys = [(p.a_id, p.b_id) for p in one]
    assert keys == [(p.a_id, p.b_id) for p in big]
    assert len(keys) == len({frozenset(k) for k in keys}) == 6  # every pair of 4, once
    assert [p.score for p in one] == sorted((p.score for p in one), reverse=True)
    single = {p.b_id: p.score for p in SynergyFinder(top_k=3).fit(snapshot, TEXTS).for_partnership("R1")}
    for p in one:
        if "R1" in (p.a_id, p.b_id):
            other = p.b_id if p.a_id == "R1" else p.a_id
            assert p.score == pytest.approx(single[other])


def test_pair_kind_filter(snapshot: Snapshot) -> None:
    finder = SynergyFinder(top_k=3, pair_kinds=["large_scale-regional"]).fit(snapshot, TEXTS)
    assert [p.b_id for p in finder.for_partnership("R1")] == ["L1"]
    assert {p.b_kind for p in finder.for_partnership("L1")} == {PartnershipKind.REGIONAL}


def test_bad_parameters(snapshot: Snapshot) -> None:
    with pytest.raises(InvalidInputError, match="top_k"):
        SynergyFinder(top_k=0).fit(snapshot)
    with pytest.raises(InvalidInputError, match="pair_kinds"):
        SynergyFinder(pair_kinds=["regional-galactic"]).fit(snapshot)
    with pytest.raises(InvalidInputError, match="weights"):
        SynergyFinder(weights={"text": 1.0}).fit(snapshot)
    with pytest.raises(NotFoundError):
        SynergyFinder().fit(snapshot).for_partnership("nope")
