"""The public (JSON) form of gap reports, synergy pairs and region views.

One schema for every consumer: the API returns these models, the JSON export writes them, and the
CSV and HTML renderers read them. Converters turn the matching layer's dataclasses into them.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from domain.candidates import CandidateFilters
from domain.models import Ecosystem, PartnershipKind, StakeholderType
from domain.regions import RegionIndex
from matching.gaps import Gap, GapReport, RegionView
from matching.snapshot import TYPE_ORDER
from matching.synergies import Recruit, SynergyPair
from matching.types import Contribution, Recommendation


class ContributionPublic(BaseModel):
    signal: str
    value: float
    evidence: str


class FiltersPublic(BaseModel):
    """The candidate filters a gap's candidates were found with."""

    countries: list[str] = []
    regions: list[str] = []
    stakeholder_types: list[StakeholderType] = []
    ecosystems: list[Ecosystem] = []


class GapCandidatePublic(BaseModel):
    org_id: str
    name: str
    stakeholder_type: StakeholderType
    region: str | None
    score: float
    contributions: list[ContributionPublic] = Field(description="add up to the score")


class GapPublic(BaseModel):
    category: str = Field(description="composition | geography | sector")
    key: str = Field(description="requirement id, NUTS code or ecosystem")
    label: str
    detail: str
    search: str = Field(description="where candidates were searched, including any relaxation")
    filters: FiltersPublic
    candidates: list[GapCandidatePublic]


class RequirementStatusPublic(BaseModel):
    id: str
    label: str
    types: list[StakeholderType]
    min_count: int
    min_share: float
    count: int
    share: float
    satisfied: bool
    needed: int


class CompositionPublic(BaseModel):
    n_members: int
    type_counts: dict[StakeholderType, int] = Field(
        description="members per stakeholder type (types present)"
    )
    type_shares: dict[StakeholderType, float]
    requirements: list[RequirementStatusPublic]
    mix_origin: str
    mix_label: str


class RegionCoveragePublic(BaseModel):
    code: str
    label: str
    members: int
    type_counts: dict[StakeholderType, int]


class GeographyPublic(BaseModel):
    level: int | None
    basis: str
    units: list[RegionCoveragePublic]
    covered: int
    missing: list[str]
    unlocated_members: int


class EcosystemCoveragePublic(BaseModel):
    ecosystem: Ecosystem
    members: int


class SectorsPublic(BaseModel):
    ecosystems: list[EcosystemCoveragePublic]
    members_with_ecosystems: int
    missing: list[Ecosystem]


class GapReportPublic(BaseModel):
    partnership_id: str
    name: str
    kind: PartnershipKind
    n_members: int
    composition: CompositionPublic
    geography: GeographyPublic
    sectors: SectorsPublic
    gaps: list[GapPublic]
    model: str = Field(description="the ranker that proposed the candidates")


class OrgRefPublic(BaseModel):
    org_id: str
    name: str
    stakeholder_type: StakeholderType


class RecruitPublic(BaseModel):
    org_id: str
    name: str
    stakeholder_type: StakeholderType
    from_partnership: str
    to_partnership: str
    score: float
    contributions: list[ContributionPublic]


class PartnershipRefPublic(BaseModel):
    partnership_id: str
    name: str
    kind: PartnershipKind


class RegionRefPublic(BaseModel):
    code: str
    label: str


class SynergyPairPublic(BaseModel):
    a: PartnershipRefPublic
    b: PartnershipRefPublic
    kind: str = Field(description="the two kinds, sorted, e.g. large_scale-regional")
    score: float
    contributions: list[ContributionPublic] = Field(description="add up to the score")
    shared_terms: list[str]
    bridges: list[OrgRefPublic] = Field(description="shared members, most connected first (first 5)")
    n_shared_members: int
    overlapping_regions: list[RegionRefPublic]
    shared_ecosystems: list[Ecosystem]
    a_brings: list[StakeholderType] = Field(description="member types a has and b lacks")
    b_brings: list[StakeholderType]
    a_fills: list[str] = Field(description="b's unmet target-mix requirements a has members for")
    b_fills: list[str]
    linked: list[str] = Field(description="why the two are already linked; empty if they are not")
    recruits_for_a: list[RecruitPublic] = Field(description="b's members that would fit a")
    recruits_for_b: list[RecruitPublic]
    model: str


class OrgInRegionPublic(BaseModel):
    org_id: str
    name: str
    region: str | None


class TypeRowPublic(BaseModel):
    stakeholder_type: StakeholderType
    organisations: int
    unaffiliated: int
    examples: list[OrgInRegionPublic] = Field(description="unaffiliated organisations of this type, by name")


class PartnershipPresencePublic(BaseModel):
    partnership_id: str
    name: str
    kind: PartnershipKind
    in_scope: bool
    members_in_region: int


class RegionViewPublic(BaseModel):
    code: str
    label: str
    level: int
    organisations: int
    unaffiliated: int
    by_type: list[TypeRowPublic]
    partnerships: list[PartnershipPresencePublic]
    partnerships_total: int


# -- converters ----------------------------------------------------------------------------------
def contributions_public(rec: Recommendation | tuple[Contribution, ...]) -> list[ContributionPublic]:
    items = rec.contributions if isinstance(rec, Recommendation) else rec
    return [ContributionPublic(signal=c.signal, value=c.value, evidence=c.evidence) for c in items]


def _filters(f: CandidateFilters) -> FiltersPublic:
    return FiltersPublic(
        countries=list(f.countries),
        regions=list(f.regions),
        stakeholder_types=list(f.stakeholder_types),
        ecosystems=list(f.ecosystems),
    )


def _gap(g: Gap) -> GapPublic:
    return GapPublic(
        category=g.category,
        key=g.key,
        label=g.label,
        detail=g.detail,
        search=g.search,
        filters=_filters(g.filters),
        candidates=[
            GapCandidatePublic(
                org_id=c.org_id,
                name=c.name,
                stakeholder_type=c.stakeholder_type,
                region=c.region,
                score=c.score,
                contributions=contributions_public(c.recommendation),
            )
            for c in g.candidates
        ],
    )


def _type_dict(counts: tuple[int, ...]) -> dict[StakeholderType, int]:
    return {TYPE_ORDER[t]: n for t, n in enumerate(counts) if n}


def gap_report_public(report: GapReport) -> GapReportPublic:
    comp, geo, sec = report.composition, report.geography, report.sectors
    return GapReportPublic(
        partnership_id=report.partnership_id,
        name=report.name,
        kind=report.kind,
        n_members=report.n_members,
        composition=CompositionPublic(
            n_members=comp.n_members,
            type_counts=_type_dict(comp.type_counts),
            type_shares={TYPE_ORDER[t]: s for t, s in enumerate(comp.shares) if s},
            requirements=[
                RequirementStatusPublic(
                    id=s.requirement.id,
                    label=s.requirement.label,
                    types=list(s.requirement.types),
                    min_count=s.requirement.min_count,
                    min_share=s.requirement.min_share,
                    count=s.count,
                    share=s.share,
                    satisfied=s.satisfied,
                    needed=s.needed,
                )
                for s in comp.requirements
            ],
            mix_origin=comp.mix_origin,
            mix_label=comp.mix_label,
        ),
        geography=GeographyPublic(
            level=geo.level,
            basis=geo.basis,
            units=[
                RegionCoveragePublic(
                    code=u.code, label=u.label, members=u.members, type_counts=_type_dict(u.type_counts)
                )
                for u in geo.units
            ],
            covered=sum(1 for u in geo.units if u.members),
            missing=[u.code for u in geo.missing],
            unlocated_members=geo.unlocated_members,
        ),
        sectors=SectorsPublic(
            ecosystems=[EcosystemCoveragePublic(ecosystem=e, members=n) for e, n in sec.ecosystems],
            members_with_ecosystems=sec.members_with_ecosystems,
            missing=list(sec.missing),
        ),
        gaps=[_gap(g) for g in report.gaps],
        model=report.model,
    )


def _recruit(r: Recruit) -> RecruitPublic:
    return RecruitPublic(
        org_id=r.org_id,
        name=r.name,
        stakeholder_type=r.stakeholder_type,
        from_partnership=r.from_partnership,
        to_partnership=r.to_partnership,
        score=r.recommendation.score,
        contributions=contributions_public(r.recommendation),
    )


def synergy_pair_public(pair: SynergyPair, index: RegionIndex | None = None) -> SynergyPairPublic:
    index = index or RegionIndex.default()
    return SynergyPairPublic(
        a=PartnershipRefPublic(partnership_id=pair.a_id, name=pair.a_name, kind=pair.a_kind),
        b=PartnershipRefPublic(partnership_id=pair.b_id, name=pair.b_name, kind=pair.b_kind),
        kind=pair.kind,
        score=pair.score,
        contributions=contributions_public(pair.contributions),
        shared_terms=list(pair.shared_terms),
        bridges=[
            OrgRefPublic(org_id=b.org_id, name=b.name, stakeholder_type=b.stakeholder_type)
            for b in pair.bridges
        ],
        n_shared_members=pair.n_shared_members,
        overlapping_regions=[RegionRefPublic(code=c, label=index.label(c)) for c in pair.overlapping_regions],
        shared_ecosystems=list(pair.shared_ecosystems),
        a_brings=list(pair.a_brings),
        b_brings=list(pair.b_brings),
        a_fills=list(pair.a_fills),
        b_fills=list(pair.b_fills),
        linked=list(pair.linked),
        recruits_for_a=[_recruit(r) for r in pair.recruits_for_a],
        recruits_for_b=[_recruit(r) for r in pair.recruits_for_b],
        model=pair.model,
    )


def region_view_public(view: RegionView) -> RegionViewPublic:
    return RegionViewPublic(
        code=view.code,
        label=view.label,
        level=view.level,
        organisations=view.organisations,
        unaffiliated=view.unaffiliated,
        by_type=[
            TypeRowPublic(
                stakeholder_type=row.stakeholder_type,
                organisations=row.organisations,
                unaffiliated=row.unaffiliated,
                examples=[
                    OrgInRegionPublic(org_id=o.org_id, name=o.name, region=o.region) for o in row.examples
                ],
            )
            for row in view.by_type
        ],
        partnerships=[
            PartnershipPresencePublic(
                partnership_id=p.partnership_id,
                name=p.name,
                kind=p.kind,
                in_scope=p.in_scope,
                members_in_region=p.members_in_region,
            )
            for p in view.partnerships
        ],
        partnerships_total=view.partnerships_total,
    )
