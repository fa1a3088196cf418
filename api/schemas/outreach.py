"""Reaching out at the HTTP edge: partnerships to join, interests, shortlists, their outcomes, and
the home (what the caller's grants give) and region search that the pages build on."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.candidates import ReasonPublic, reasons_public
from api.schemas.memberships import MembershipPublic
from domain.models import PartnershipKind
from domain.outreach import MAX_MESSAGE, Outcome, ShortlistStatus
from pactmatch.home import Home
from pactmatch.mapping import RegionMatch
from pactmatch.outreach import InterestItem, JoinList, ShortlistItem
from pactmatch.reports.models import ContributionPublic, contributions_public


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PartnershipToJoinPublic(BaseModel):
    partnership_id: str
    name: str
    kind: PartnershipKind
    score: float
    reasons: list[ReasonPublic]
    contributions: list[ContributionPublic] = Field(description="per signal; they add up to the score")
    interest_expressed: bool = Field(description="the organisation already expressed interest in it")


class JoinListPublic(BaseModel):
    org_id: str
    model: str = Field(description="the ranker that produced the list")
    items: list[PartnershipToJoinPublic]
    total: int = Field(description="partnerships the filters leave (every page of the ranking)")
    offset: int
    limit: int


def join_list_public(result: JoinList, limit: int) -> JoinListPublic:
    return JoinListPublic(
        org_id=result.org_id,
        model=result.model,
        items=[
            PartnershipToJoinPublic(
                partnership_id=i.partnership_id,
                name=i.name,
                kind=i.kind,
                score=i.score,
                reasons=reasons_public(i.reasons),
                contributions=contributions_public(i.recommendation.contributions),
                interest_expressed=i.interest_expressed,
            )
            for i in result.items
        ],
        total=result.total,
        offset=result.offset,
        limit=limit,
    )


class InterestCreate(_In):
    message: str = Field(default="", max_length=MAX_MESSAGE, description="to the partnership's coordinators")


class InterestPublic(BaseModel):
    org_id: str
    partnership_id: str
    name: str | None = Field(description="the other side's name: the partnership, or the organisation")
    message: str
    created_at: datetime
    updated_at: datetime
    by: str


def interest_public(item: InterestItem) -> InterestPublic:
    return InterestPublic(name=item.name, **item.interest.model_dump())


class ShortlistPut(_In):
    status: ShortlistStatus = ShortlistStatus.SHORTLISTED
    note: str = Field(default="", max_length=MAX_MESSAGE)
    on: date | None = Field(default=None, description="the date the status refers to (today when left out)")


class ShortlistChangePublic(BaseModel):
    status: ShortlistStatus
    note: str
    on: date
    at: datetime
    by: str


class ShortlistEntryPublic(BaseModel):
    partnership_id: str
    org_id: str
    name: str | None = Field(description="the organisation's name (null when it is no longer in the store)")
    status: ShortlistStatus
    note: str
    on: date
    member: bool = Field(description="a member of the partnership now")
    interest: bool = Field(description="it expressed interest in joining")
    history: list[ShortlistChangePublic] = Field(description="every status, oldest first")


def shortlist_entry_public(item: ShortlistItem) -> ShortlistEntryPublic:
    e = item.entry
    return ShortlistEntryPublic(
        partnership_id=e.partnership_id, org_id=e.org_id, name=item.name, status=e.status, note=e.current.note,
        on=e.current.on, member=item.member, interest=item.interest,
        history=[ShortlistChangePublic.model_validate(c.model_dump()) for c in e.history],
    )  # fmt: skip


class JoinedPublic(BaseModel):
    membership: MembershipPublic
    entry: ShortlistEntryPublic


class OutcomePublic(BaseModel):
    partnership_id: str
    org_id: str
    outcome: ShortlistStatus
    date: date


def outcome_public(o: Outcome) -> OutcomePublic:
    return OutcomePublic(partnership_id=o.partnership_id, org_id=o.org_id, outcome=o.status, date=o.on)


class RegionPublic(BaseModel):
    code: str
    label: str
    level: int = Field(description="0 country, 1-3 NUTS level")
    country: str = Field(description="ISO 3166-1 alpha-2")
    within: list[str] = Field(description="the names of the regions it lies in, nearest first")


def region_public(match: RegionMatch) -> RegionPublic:
    r = match.region
    return RegionPublic(
        code=r.code, label=r.label, level=r.level, country=r.country, within=list(match.within)
    )


class ScopedPublic(BaseModel):
    id: str
    name: str | None = Field(description="null when it is no longer in the store")


class HomePublic(BaseModel):
    name: str
    admin: bool = Field(description="may do everything")
    partnerships: list[ScopedPublic] = Field(description="the partnerships the caller coordinates")
    events: list[ScopedPublic] = Field(description="the events the caller organises")
    organisations: list[ScopedPublic] = Field(description="the organisations the caller is a member of")


def home_public(home: Home) -> HomePublic:
    return HomePublic.model_validate(asdict(home))
