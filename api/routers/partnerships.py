"""Partnerships: CRUD, members, and candidate recommendations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api.auth import require
from api.deps import OutreachDep, ServiceDep, SettingsDep
from api.routers.common import Limit, Offset, StrictJSONRoute, check_body_id
from api.schemas.candidates import CandidateListPublic, candidate_list_public
from api.schemas.common import CountryFilter, PagePublic, RegionFilter
from api.schemas.memberships import MembershipPublic, MembershipPut
from api.schemas.partnerships import PartnershipCreate, PartnershipPublic
from domain.accounts import Actor
from domain.models import MAX_CODES, MAX_ENUM_LIST, Ecosystem, Partnership, PartnershipKind, StakeholderType
from graph.base import PartnershipFilter
from matching.diversity import DiversityOptions
from pactmatch.filters import build_filters
from pactmatch.permissions import Action

router = APIRouter(prefix="/partnerships", tags=["partnerships"], route_class=StrictJSONRoute)
Reader = require(Action.READ)
Editor = Annotated[Actor, require(Action.EDIT_PARTNERSHIP, "partnership_id")]


def _public(p: Partnership) -> PartnershipPublic:
    return PartnershipPublic.model_validate(p.model_dump())


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PartnershipPublic)
def create_partnership(
    body: PartnershipCreate, service: ServiceDep, actor: Annotated[Actor, require(Action.ADMIN)]
) -> PartnershipPublic:
    """Create a partnership; 409 if the id exists (use PUT to replace). Admins only."""
    p = Partnership.model_validate(body.model_dump())
    service.create_partnership(p, actor=actor)
    return _public(p)


@router.put("/{partnership_id}", response_model=PartnershipPublic)
def put_partnership(
    partnership_id: str, body: PartnershipCreate, service: ServiceDep, response: Response, actor: Editor
) -> PartnershipPublic:
    """Create or replace a partnership (201 when created): its coordinators and admins."""
    check_body_id("partnership_id", partnership_id, body.partnership_id)
    p = Partnership.model_validate(body.model_dump())
    if service.put_partnership(p, actor=actor):
        response.status_code = status.HTTP_201_CREATED
    return _public(p)


@router.get("/{partnership_id}", response_model=PartnershipPublic, dependencies=[Reader])
def get_partnership(partnership_id: str, service: ServiceDep) -> PartnershipPublic:
    return _public(service.get_partnership(partnership_id))


@router.get("", response_model=PagePublic[PartnershipPublic], dependencies=[Reader])
def list_partnerships(
    service: ServiceDep,
    offset: Offset = 0,
    limit: Limit = 50,
    kind: PartnershipKind | None = None,
    region: Annotated[RegionFilter | None, Query(description="scope touches this NUTS region")] = None,
    ecosystem: Ecosystem | None = None,
    q: Annotated[str | None, Query(max_length=200, description="name contains")] = None,
    parent_id: Annotated[str | None, Query(max_length=200)] = None,
) -> PagePublic[PartnershipPublic]:
    flt = PartnershipFilter(
        kind=kind, region=region, ecosystem=ecosystem, name_contains=q, parent_id=parent_id
    )
    page = service.list_partnerships(flt, offset, limit)
    return PagePublic[PartnershipPublic](
        items=[_public(p) for p in page.items], total=page.total, offset=page.offset, limit=page.limit
    )


@router.delete("/{partnership_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_partnership(
    partnership_id: str, service: ServiceDep, actor: Annotated[Actor, require(Action.ADMIN)]
) -> Response:
    """Delete a partnership and its memberships. Admins only."""
    service.delete_partnership(partnership_id, actor=actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{partnership_id}/members", response_model=list[MembershipPublic], dependencies=[Reader])
def list_members(partnership_id: str, service: ServiceDep) -> list[MembershipPublic]:
    return [MembershipPublic.model_validate(m.model_dump()) for m in service.members(partnership_id)]


@router.put("/{partnership_id}/members/{org_id}", response_model=MembershipPublic)
def put_member(
    partnership_id: str,
    org_id: str,
    body: MembershipPut,
    service: ServiceDep,
    response: Response,
    actor: Editor,
) -> MembershipPublic:
    """Add an organisation to a partnership (or change its role); 201 when added."""
    membership, added = service.put_member(partnership_id, org_id, body.role, body.since, actor=actor)
    if added:
        response.status_code = status.HTTP_201_CREATED
    return MembershipPublic.model_validate(membership.model_dump())


@router.delete("/{partnership_id}/members/{org_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_member(partnership_id: str, org_id: str, service: ServiceDep, actor: Editor) -> Response:
    service.delete_membership(org_id, partnership_id, actor=actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{partnership_id}/candidates",
    response_model=CandidateListPublic,
    dependencies=[require(Action.PARTNERSHIP_INSIGHTS, "partnership_id")],
)
def candidates(
    partnership_id: str,
    outreach: OutreachDep,
    settings: SettingsDep,
    top_k: Annotated[int, Query(ge=1, le=200, description="how many candidates (at most 200)")] = 10,
    country: Annotated[
        list[CountryFilter] | None, Query(max_length=MAX_CODES, description="ISO country; repeat for several")
    ] = None,
    region: Annotated[
        list[RegionFilter] | None,
        Query(max_length=MAX_CODES, description="NUTS code, any level; repeat for several"),
    ] = None,
    stakeholder_type: Annotated[
        list[StakeholderType] | None, Query(alias="type", max_length=MAX_ENUM_LIST)
    ] = None,
    sme: Annotated[bool, Query(description="SMEs only")] = False,
    ecosystem: Annotated[list[Ecosystem] | None, Query(max_length=MAX_ENUM_LIST)] = None,
    diversity: Annotated[float, Query(ge=0, le=1, description="MMR strength; 0 keeps the order")] = 0.0,
    min_sme_share: Annotated[float, Query(ge=0, le=1, description="at least this share of SMEs")] = 0.0,
    min_newcomer_share: Annotated[
        float, Query(ge=0, le=1, description="at least this share of organisations with no partnership yet")
    ] = 0.0,
    max_per_country: Annotated[
        int | None, Query(ge=1, le=200, description="at most this many per country")
    ] = None,
) -> CandidateListPublic:
    """Organisations that are not yet members, best first, each with per-signal contributions that add up
    to its score, the same grouped into plain reasons, and whether it asked to join or is shortlisted.
    Diversity options re-order (never re-score) the list; ``model`` then names them."""
    filters = build_filters(country, region, stakeholder_type, sme, ecosystem)
    options = DiversityOptions(diversity, min_sme_share, min_newcomer_share, max_per_country)
    page = outreach.candidates(partnership_id, min(top_k, settings.max_top_k), filters, options)
    return candidate_list_public(page.candidates, page.interested, page.shortlisted)
