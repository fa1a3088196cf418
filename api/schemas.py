"""Models at the HTTP edge: what clients send (*Create / *Put) and what they get back (*Public)."""

from __future__ import annotations

from datetime import date
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from domain.models import Membership, Organisation, Partnership, Role

T = TypeVar("T")


class OrganisationCreate(Organisation):
    """An organisation profile to create (``org_id`` chosen by the client, stable across imports)."""


class OrganisationPublic(Organisation):
    pass


class PartnershipCreate(Partnership):
    pass


class PartnershipPublic(Partnership):
    pass


class MembershipPut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role = Role.MEMBER
    since: date | None = None


class MembershipPublic(Membership):
    pass


class PagePublic(BaseModel, Generic[T]):
    items: list[T]
    total: int
    offset: int
    limit: int


class ContributionPublic(BaseModel):
    signal: str
    value: float
    evidence: str


class CandidatePublic(BaseModel):
    org_id: str
    name: str
    score: float
    contributions: list[ContributionPublic]


class CandidateListPublic(BaseModel):
    partnership_id: str
    model: str = Field(description="the ranker that produced the list")
    items: list[CandidatePublic]


class RowErrorPublic(BaseModel):
    file: str
    line: int | None
    item: int | None
    field: str
    reason: str


class UpsertCountsPublic(BaseModel):
    created: int
    updated: int
    unchanged: int


class ImportReportPublic(BaseModel):
    source: str
    organisations: UpsertCountsPublic
    partnerships: UpsertCountsPublic
    memberships: UpsertCountsPublic
    rejected_rows: int
    errors: list[RowErrorPublic]
    warnings: list[RowErrorPublic] = Field(description="rows kept with an amended value (first 1,000)")
    embedded: int
    seconds: float


class HealthPublic(BaseModel):
    status: str
    store: str
    organisations: int
    partnerships: int
    memberships: int
    encoder: str
