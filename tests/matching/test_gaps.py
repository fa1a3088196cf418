"""Gap mapping on a tiny hand-built set of partnerships whose gaps were worked out by hand.

Organisations (type, NUTS, ecosystems), members of:
  a1 regional authority  ES511 tourism       R1
  a2 higher education    ES511               R1
  a3 large employer      ES512 tourism       R1, L1
  a4 SME                 ES513               R1
  a5 VET provider        ES511 tourism       —
  a6 VET provider        DE111               L1
  a7 trade union         ES514               —
  a8 chamber             (ES, country only)  —
  a9 VET provider        ES300               R2

R1 regional, scope ES51, ecosystems tourism + digital: lacks a VET provider, a trade union and a
   chamber/employers' organisation; nobody works in digital; at NUTS 3, Tarragona (ES514) has no member.
R2 regional, scope ES30 (Madrid), only a9: lacks everything but VET; nobody of those types is in
   Madrid, so the search relaxes to Spain.
L1 large-scale, no scope (= EU27), tourism: members in ES and DE only, so 25 countries are missing.
"""

from __future__ import annotations

import numpy as np
import pytest

from domain.candidates import CandidateFilters
from domain.errors import InvalidInputError, NotFoundError
from domain.models import PartnershipKind, StakeholderType
from domain.regions import EU27, RegionIndex, nuts_country
from matching.gaps import GapMapper, member_type_counts, recommend_many, region_stakeholders, scope_units
from matching.recommender import HeuristicRecommender, query_for_partnership
from matching.snapshot import TYPE_ORDER, Snapshot
from matching.target_mix import parse_target_mix
from matching.types import PartnershipQuery, Recommendation
from pactmatch.importers.report import ParsedBatch
from pactmatch.service import PactmatchService
from tests.conftest import TEST_ACTOR, member, org, partnership

ORGS = [
    org(
        "a1",
        stakeholder_type="regional_local_authority",
        country="ES",
        nuts_codes=["ES511"],
        ecosystems=["tourism"],
    ),
    org("a2", stakeholder_type="higher_education", country="ES", nuts_codes=["ES511"]),
    org("a3", stakeholder_type="large_employer", country="ES", nuts_codes=["ES512"], ecosystems=["tourism"]),
    org("a4", stakeholder_type="sme", country="ES", nuts_codes=["ES513"]),
    org("a5", stakeholder_type="vet_provider", country="ES", nuts_codes=["ES511"], ecosystems=["tourism"]),
    org("a6", stakeholder_type="vet_provider", country="DE", nuts_codes=["DE111"]),
    org("a7", stakeholder_type="trade_union", country="ES", nuts_codes=["ES514"]),
    org("a8", stakeholder_type="chamber_business_association", country="ES"),
    org("a9", stakeholder_type="vet_provider", country="ES", nuts_codes=["ES300"]),
]
PARTNERSHIPS = [
    partnership("R1", kind="regional", scope_regions=["ES51"], ecosystems=["tourism", "digital"]),
    partnership("R2", kind="regional", scope_regions=["ES30"]),
    partnership("L1", kind="large_scale", ecosystems=["tourism"]),
]
MEMBERS = [
    member("a1", "R1"), member("a2", "R1"), member("a3", "R1"), member("a4", "R1"),
    member("a3", "L1"), member("a6", "L1"),
    member("a9", "R2"),
]  # fmt: skip


@pytest.fixture
def snapshot(hashing_service: PactmatchService) -> Snapshot:
    report = hashing_service.import_batch(ParsedBatch(ORGS, PARTNERSHIPS, MEMBERS), "test", actor=TEST_ACTOR)
    assert report.ok
    return hashing_service.snapshot()


@pytest.fixture
def mapper(snapshot: Snapshot) -> GapMapper:
    return GapMapper(candidates_per_gap=5).fit(snapshot, HeuristicRecommender().fit(snapshot))


def _ids(gap_candidates: object) -> list[str]:
    return [c.org_id for c in gap_candidates]  # type: ignore[attr-defined]


def test_regional_gaps_are_exactly_the_hand_worked_ones(mapper: GapMapper) -> None:
    report = mapper.report("R1")
    assert [(g.category, g.key) for g in report.gaps] == [
        ("composition", "vet"),
        ("composition", "trade_unions"),
        ("composition", "economic_representatives"),
        ("sector", "digital"),
    ]
    vet, union, chamber, digital = report.gaps
    # Only a5 is a VET provider inside ES51 (a6 is in Stuttgart, a9 in Madrid).
    assert _ids(vet.candidates) == ["a5"]
    assert vet.filters.regions == ("ES51",)
    assert vet.search.startswith("VET provider in the scope (ES51)")
    assert _ids(union.candidates) == ["a7"]  # Tarragona is in scope
    assert "none" not in union.search
    # a8 (chamber) only has a country, so it is not known to be in ES51: found once the search is Spain-wide.
    assert _ids(chamber.candidates) == ["a8"]
    assert chamber.filters.countries == ("ES",)
    assert chamber.search == (
        "chamber of commerce / business association / employers' organisation in ES (none found chamber of "
        "commerce / business association / employers' organisation in the scope (ES51))"
    )
    # Nobody states "digital": the search relaxes from ES51 to Spain to anywhere and finds no one.
    assert digital.candidates == ()
    assert digital.search.startswith("no candidate working in digital in the scope (ES51)")
    # Composition numbers.
    statuses = {s.requirement.id: s for s in report.composition.requirements}
    assert statuses["smes"].count == 1 and statuses["smes"].share == 0.25
    assert statuses["vet"].needed == 1
    assert report.composition.type_counts[TYPE_ORDER.index(StakeholderType.SME)] == 1
    # Geography at the scope's own level: ES51 has members.
    assert [(u.code, u.members) for u in report.geography.units] == [("ES51", 4)]


def test_level_three_names_the_empty_province(snapshot: Snapshot) -> None:
    mapper = GapMapper(level=3, candidates_per_gap=5).fit(snapshot, HeuristicRecommender().fit(snapshot))
    report = mapper.report("R1")
    units = {u.code: u.members for u in report.geography.units}
    assert units == {"ES511": 2, "ES512": 1, "ES513": 1, "ES514": 0}
    tarragona = report.gaps_of("geography")
    assert [g.key for g in tarragona] == ["ES514"]
    assert _ids(tarragona[0].candidates) == ["a7"]
    assert "Tarragona" in tarragona[0].label
    # a coverage row per unit, by stakeholder type
    barcelona = next(u for u in report.geography.units if u.code == "ES511")
    assert barcelona.type_counts[TYPE_ORDER.index(StakeholderType.REGIONAL_LOCAL_AUTHORITY)] == 1
    assert barcelona.type_counts[TYPE_ORDER.index(StakeholderType.HIGHER_EDUCATION)] == 1


def test_search_relaxes_to_the_country_and_says_so(mapper: GapMapper) -> None:
    report = mapper.report("R2")
    gaps = {g.key: g for g in report.gaps}
    assert set(gaps) == {
        "regional_authority",
        "higher_education",
        "large_employers",
        "smes",
        "trade_unions",
        "economic_representatives",
    }
    he = gaps["higher_education"]
    assert _ids(he.candidates) == ["a2"]
    assert he.filters.countries == ("ES",)
    assert (
        he.search
        == "higher education institution in ES (none found higher education institution in the scope (ES30))"
    )
    assert _ids(gaps["economic_representatives"].candidates) == ["a8"]  # its country is enough in Spain
    assert _ids(gaps["trade_unions"].candidates) == ["a7"]


def test_large_scale_without_scope_is_checked_against_the_eu27(mapper: GapMapper) -> None:
    report = mapper.report("L1")
    missing = [g.key for g in report.gaps_of("geography")]
    expected = sorted(nuts_country(c) for c in EU27 if c not in ("ES", "DE"))
    assert sorted(missing) == expected and len(missing) == 25
    assert report.geography.basis.startswith("EU27")
    # No organisation in Greece at all: the gap says so instead of listing outsiders.
    greece = next(g for g in report.gaps_of("geography") if g.key == "EL")
    assert greece.candidates == () and greece.search.startswith("no candidate")
    # Composition: VET provider a6 and large employer a3 are members.
    keys = {g.key for g in report.gaps_of("composition")}
    assert keys == {
        "public_authorities",
        "higher_education",
        "smes",
        "trade_unions",
        "representative_organisations",
    }
    he = next(g for g in report.gaps_of("composition") if g.key == "higher_education")
    # a2 is in the EU27 but does not state the partnership's ecosystem (tourism): the ecosystem step
    # is relaxed, the country restriction (EU27) is kept.
    assert _ids(he.candidates) == ["a2"]
    assert he.filters.countries == EU27 and he.filters.ecosystems == ()


def test_target_mix_override_changes_the_gaps(snapshot: Snapshot) -> None:
    override = parse_target_mix(
        {
            "partnerships": {
                "R1": {"requirements": [{"id": "smes", "label": "SMEs", "types": ["sme"], "min_share": 0.5}]}
            }
        }
    )
    mix = GapMapper(override, candidates_per_gap=1).fit(snapshot, HeuristicRecommender().fit(snapshot))
    report = mix.report("R1")
    comp = report.gaps_of("composition")
    assert [g.key for g in comp] == ["smes"]
    # 1 SME of 4 members; share 50 % needs k ≥ (0.5·4 − 1)/0.5 = 2 more
    assert report.composition.requirements[0].needed == 2
    assert "2 more needed" in comp[0].detail


def test_batch_equals_one_by_one_and_reports_progress(mapper: GapMapper, snapshot: Snapshot) -> None:
    calls: list[tuple[str, int, int]] = []
    mapper.chunk = 2
    batch = list(mapper.reports(progress=lambda phase, done, total: calls.append((phase, done, total))))
    assert [r.partnership_id for r in batch] == snapshot.partnership_ids
    for r in batch:
        single = mapper.report(r.partnership_id)
        assert [(g.key, _ids(g.candidates)) for g in single.gaps] == [
            (g.key, _ids(g.candidates)) for g in r.gaps
        ]
    assert calls[0] == ("gap reports", 0, 3) and calls[-1] == ("gap reports", 3, 3)


def test_ranker_without_batch_support_is_used_one_query_at_a_time(snapshot: Snapshot) -> None:
    inner = HeuristicRecommender().fit(snapshot)

    class Plain:
        name = "plain"
        calls = 0

        def recommend(
            self, query: PartnershipQuery, top_k: int = 10, filters: CandidateFilters | None = None
        ) -> list[Recommendation]:
            Plain.calls += 1
            return inner.recommend(query, top_k, filters)

    q = query_for_partnership(snapshot, "R1")
    flt = [CandidateFilters(stakeholder_types=(StakeholderType.VET_PROVIDER,)), CandidateFilters()]
    out = recommend_many(Plain(), [q], [flt], 3)
    assert Plain.calls == 2
    assert [[r.org_id for r in lst] for lst in out[0]] == [
        [r.org_id for r in inner.recommend(q, 3, f)] for f in flt
    ]


def test_no_candidates_requested(snapshot: Snapshot) -> None:
    mapper = GapMapper(candidates_per_gap=0).fit(snapshot, HeuristicRecommender().fit(snapshot))
    report = mapper.report("R1")
    assert len(report.gaps) == 4 and all(g.candidates == () for g in report.gaps)


def test_bad_parameters(snapshot: Snapshot) -> None:
    rec = HeuristicRecommender().fit(snapshot)
    with pytest.raises(InvalidInputError, match="level"):
        GapMapper(level=4).fit(snapshot, rec)
    with pytest.raises(InvalidInputError, match="candidates_per_gap"):
        GapMapper(candidates_per_gap=-1).fit(snapshot, rec)
    with pytest.raises(NotFoundError):
        GapMapper().fit(snapshot, rec).report("nope")


def test_member_type_counts_match_a_loop(snapshot: Snapshot) -> None:
    counts = member_type_counts(snapshot)
    for j in range(snapshot.n_partnerships):
        expected = np.bincount(snapshot.org_types[snapshot.members_of(j)], minlength=len(TYPE_ORDER))
        assert counts[j].tolist() == expected.tolist()


def test_scope_units() -> None:
    index = RegionIndex.default()
    assert scope_units(["ES51"], PartnershipKind.REGIONAL, None, index) == (["ES51"], "declared scope")
    units, basis = scope_units(["ES51", "ES514"], PartnershipKind.REGIONAL, 2, index)
    assert units == ["ES51"] and basis == "declared scope at NUTS level 2"
    units, _ = scope_units(["DE"], PartnershipKind.REGIONAL, 1, index)
    assert "DEZ" not in units and "DE1" in units and len(units) == 16  # Extra-Regio left out
    assert scope_units([], PartnershipKind.OTHER, None, index) == ([], "no scope declared")
    units, _ = scope_units(["ES51", "FR10"], PartnershipKind.LARGE_SCALE, None, index)
    assert units == ["ES", "FR"]


def test_region_view(snapshot: Snapshot) -> None:
    view = region_stakeholders(snapshot, "ES51")
    assert view.organisations == 6  # a1 a2 a3 a4 a5 a7 (a8 is only known to be in Spain)
    rows = {r.stakeholder_type: r for r in view.by_type}
    assert rows[StakeholderType.VET_PROVIDER].organisations == 1
    assert [o.org_id for o in rows[StakeholderType.VET_PROVIDER].examples] == ["a5"]
    assert [o.org_id for o in rows[StakeholderType.TRADE_UNION].examples] == ["a7"]
    assert rows[StakeholderType.LARGE_EMPLOYER].unaffiliated == 0
    assert view.unaffiliated == 2
    # R1 by scope with 4 members there; L1 by the EU27 default scope with a3 there; R2 not at all.
    assert [(p.partnership_id, p.in_scope, p.members_in_region) for p in view.partnerships] == [
        ("R1", True, 4),
        ("L1", True, 1),
    ]
    spain = region_stakeholders(snapshot, "ES")
    assert spain.organisations == 8 and spain.partnerships_total == 3


def test_recommend_batch_equals_recommend(snapshot: Snapshot) -> None:
    rec = HeuristicRecommender().fit(snapshot)
    queries = [query_for_partnership(snapshot, p) for p in ("R1", "R2", "L1")]
    flt = [
        CandidateFilters(),
        CandidateFilters(countries=("ES",)),
        CandidateFilters(org_ids=("a5", "a6", "a9")),
    ]
    batch = rec.recommend_batch(queries, [flt] * 3, 4)
    for q, lists in zip(queries, batch, strict=True):
        for f, got in zip(flt, lists, strict=True):
            want = rec.recommend(q, 4, f)
            assert [r.org_id for r in got] == [r.org_id for r in want]
            assert [r.score for r in got] == pytest.approx([r.score for r in want], abs=1e-6)
    # org_ids restricts to the listed organisations (members are still never candidates)
    assert {r.org_id for r in batch[0][2]} == {"a5", "a6", "a9"}
    assert {r.org_id for r in batch[2][2]} == {"a5", "a9"}


def test_a_region_without_organisations_matches_nobody(snapshot: Snapshot) -> None:
    # a8 has no NUTS 3 code; an unknown NUTS 3 region (or country) must not match such organisations.
    assert region_stakeholders(snapshot, "DE112").organisations == 0
    rec = HeuristicRecommender().fit(snapshot)
    q = query_for_partnership(snapshot, "R1")
    assert rec.recommend(q, 5, CandidateFilters(regions=("DE112",))) == []
    assert rec.recommend(q, 5, CandidateFilters(countries=("PT",))) == []
