"""Organisations: create, replace, read, list (paginated, filtered), delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api.auth import require
from api.deps import ServiceDep
from api.routers.common import Limit, Offset, StrictJSONRoute, check_body_id
from api.schemas.common import CountryFilter, PagePublic, RegionFilter
from api.schemas.memberships import MembershipPublic
from api.schemas.organisations import OrganisationCreate, OrganisationPublic
from domain.accounts import Actor
from domain.models import Ecosystem, Organisation, StakeholderType
from graph.base import OrganisationFilter
from pactmatch.permissions import Action

router = APIRouter(prefix="/organisations", tags=["organisations"], route_class=StrictJSONRoute)
Reader = require(Action.READ)


def _public(org: Organisation) -> OrganisationPublic:
    return OrganisationPublic.model_validate(org.model_dump())


@router.post("", status_code=status.HTTP_201_CREATED, response_model=OrganisationPublic)
def create_organisation(
    body: OrganisationCreate, service: ServiceDep, actor: Annotated[Actor, require(Action.ADMIN)]
) -> OrganisationPublic:
    """Create an organisation; 409 if the id exists (use PUT to replace). Admins only."""
    org = Organisation.model_validate(body.model_dump())
    service.create_organisation(org, actor=actor)
    return _public(org)


@router.put("/{org_id}", response_model=OrganisationPublic)
def put_organisation(
    org_id: str,
    body: OrganisationCreate,
    service: ServiceDep,
    response: Response,
    actor: Annotated[Actor, require(Action.EDIT_ORGANISATION, "org_id")],
) -> OrganisationPublic:
    """Create or replace an organisation (201 when created): its members and admins."""
    check_body_id("org_id", org_id, body.org_id)
    org = Organisation.model_validate(body.model_dump())
    if service.put_organisation(org, actor=actor):
        response.status_code = status.HTTP_201_CREATED
    return _public(org)


@router.get("/{org_id}", response_model=OrganisationPublic, dependencies=[Reader])
def get_organisation(org_id: str, service: ServiceDep) -> OrganisationPublic:
    return _public(service.get_organisation(org_id))


@router.get("", response_model=PagePublic[OrganisationPublic], dependencies=[Reader])
def list_organisations(
    service: ServiceDep,
    offset: Offset = 0,
    limit: Limit = 50,
    country: Annotated[CountryFilter | None, Query(description="ISO 3166 alpha-2")] = None,
    region: Annotated[RegionFilter | None, Query(description="NUTS code, any level")] = None,
    stakeholder_type: Annotated[StakeholderType | None, Query(alias="type")] = None,
    sme: bool | None = None,
    ecosystem: Ecosystem | None = None,
    q: Annotated[str | None, Query(max_length=200, description="name contains")] = None,
    partnership_id: Annotated[
        str | None, Query(max_length=200, description="members of this partnership")
    ] = None,
) -> PagePublic[OrganisationPublic]:
    flt = OrganisationFilter(
        country=country,
        region=region,
        stakeholder_type=stakeholder_type,
        sme=sme,
        ecosystem=ecosystem,
        name_contains=q,
        partnership_id=partnership_id,
    )
    page = service.list_organisations(flt, offset, limit)
    return PagePublic[OrganisationPublic](
        items=[_public(o) for o in page.items], total=page.total, offset=page.offset, limit=page.limit
    )


@router.get("/{org_id}/memberships", response_model=list[MembershipPublic], dependencies=[Reader])
def organisation_memberships(org_id: str, service: ServiceDep) -> list[MembershipPublic]:
    return [MembershipPublic.model_validate(m.model_dump()) for m in service.memberships_of(org_id)]


@router.delete("/{org_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_organisation(
    org_id: str, service: ServiceDep, actor: Annotated[Actor, require(Action.ADMIN)]
) -> Response:
    """Delete an organisation and its memberships. Admins only."""
    service.delete_organisation(org_id, actor=actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
