"""Reaching out: partnerships an organisation could join and its interest in joining them (its
members), the requests to join and the shortlist of a partnership (its coordinators), and the
shortlists' outcomes (admins)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from api.auth import require
from api.deps import OutreachDep
from api.routers.common import MAX_OFFSET, StrictJSONRoute, attachment
from api.schemas.common import CountryFilter, RegionFilter
from api.schemas.memberships import MembershipPublic, MembershipPut
from api.schemas.outreach import (
    InterestCreate,
    InterestPublic,
    JoinedPublic,
    JoinListPublic,
    OutcomePublic,
    ShortlistEntryPublic,
    ShortlistPut,
    interest_public,
    join_list_public,
    outcome_public,
    shortlist_entry_public,
)
from domain.accounts import Actor
from domain.models import MAX_CODES, MAX_ENUM_LIST, Ecosystem, PartnershipKind
from domain.outreach import ShortlistUpdate
from pactmatch.filters import join_filters
from pactmatch.permissions import Action

router = APIRouter(tags=["outreach"], route_class=StrictJSONRoute)
Joiner = Annotated[Actor, require(Action.JOIN_PARTNERSHIPS, "org_id")]
Editor = Annotated[Actor, require(Action.EDIT_PARTNERSHIP, "partnership_id")]
Insights = require(Action.PARTNERSHIP_INSIGHTS, "partnership_id")


# -- an organisation's side (its members) ----------------------------------------------------------
@router.get(
    "/organisations/{org_id}/partnerships-to-join",
    response_model=JoinListPublic,
    dependencies=[require(Action.JOIN_PARTNERSHIPS, "org_id")],
)
def partnerships_to_join(
    org_id: str,
    outreach: OutreachDep,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="ranked partnerships to skip")] = 0,
    limit: Annotated[int, Query(ge=1, le=200, description="page size (at most 200)")] = 10,
    kind: Annotated[list[PartnershipKind] | None, Query(max_length=MAX_ENUM_LIST)] = None,
    ecosystem: Annotated[list[Ecosystem] | None, Query(max_length=MAX_ENUM_LIST)] = None,
    region: Annotated[
        list[RegionFilter] | None,
        Query(max_length=MAX_CODES, description="NUTS code, any level: the partnership's area touches it"),
    ] = None,
    country: Annotated[
        list[CountryFilter] | None,
        Query(max_length=MAX_CODES, description="ISO country: the partnership's area touches it"),
    ] = None,
) -> JoinListPublic:
    """Partnerships the organisation is not a member of, best first, each with its reasons and the
    per-signal contributions that add up to its score (the candidate ranker's signals, seen from the
    organisation). A partnership's area is its scope, or without one its members' regions."""
    filters = join_filters(kind, ecosystem, region, country)
    return join_list_public(outreach.partnerships_to_join(org_id, filters, limit, offset), limit)


@router.get(
    "/organisations/{org_id}/interests",
    response_model=list[InterestPublic],
    dependencies=[require(Action.JOIN_PARTNERSHIPS, "org_id")],
)
def interests_of(org_id: str, outreach: OutreachDep) -> list[InterestPublic]:
    """The partnerships the organisation asked to join, newest first."""
    return [interest_public(i) for i in outreach.interests_of(org_id)]


@router.put("/organisations/{org_id}/interests/{partnership_id}", response_model=InterestPublic)
def express_interest(
    org_id: str,
    partnership_id: str,
    body: InterestCreate,
    outreach: OutreachDep,
    response: Response,
    actor: Joiner,
) -> InterestPublic:
    """Express interest in joining (201), or reword the message (200); the partnership's coordinators
    see it beside their candidates. 409 when the organisation is a member already."""
    interest, created = outreach.express_interest(org_id, partnership_id, body.message, actor=actor)
    if created:
        response.status_code = status.HTTP_201_CREATED
    return interest_public(interest)


@router.delete("/organisations/{org_id}/interests/{partnership_id}", status_code=status.HTTP_204_NO_CONTENT)
def withdraw_interest(org_id: str, partnership_id: str, outreach: OutreachDep, actor: Joiner) -> Response:
    outreach.withdraw_interest(org_id, partnership_id, actor=actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- a partnership's side (its coordinators) -------------------------------------------------------
@router.get(
    "/partnerships/{partnership_id}/interests", response_model=list[InterestPublic], dependencies=[Insights]
)
def inbound_interests(partnership_id: str, outreach: OutreachDep) -> list[InterestPublic]:
    """Organisations that asked to join, newest first, with their messages."""
    return [interest_public(i) for i in outreach.inbound_interests(partnership_id)]


@router.get(
    "/partnerships/{partnership_id}/shortlist",
    response_model=list[ShortlistEntryPublic],
    responses={200: {"content": {"text/csv": {}}}},
    dependencies=[Insights],
)
def shortlist(
    partnership_id: str,
    outreach: OutreachDep,
    fmt: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> Response | list[ShortlistEntryPublic]:
    """The shortlist, most recently changed first, each entry with its history; or a CSV download."""
    if fmt == "csv":
        return _csv_download(outreach.shortlist_csv(partnership_id), f"shortlist-{partnership_id}.csv")
    return [shortlist_entry_public(i) for i in outreach.shortlist(partnership_id)]


@router.put("/partnerships/{partnership_id}/shortlist/{org_id}", response_model=ShortlistEntryPublic)
def put_shortlist_entry(
    partnership_id: str,
    org_id: str,
    body: ShortlistPut,
    outreach: OutreachDep,
    response: Response,
    actor: Editor,
) -> ShortlistEntryPublic:
    """Shortlist an organisation (201), or record its new status, note and date (200; the earlier
    ones stay in its history)."""
    update = ShortlistUpdate.model_validate(body.model_dump())
    entry, created = outreach.put_shortlist_entry(partnership_id, org_id, update, actor=actor)
    if created:
        response.status_code = status.HTTP_201_CREATED
    return shortlist_entry_public(entry)


@router.delete("/partnerships/{partnership_id}/shortlist/{org_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_from_shortlist(partnership_id: str, org_id: str, outreach: OutreachDep, actor: Editor) -> Response:
    outreach.remove_from_shortlist(partnership_id, org_id, actor=actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/partnerships/{partnership_id}/shortlist/{org_id}/membership",
    status_code=status.HTTP_201_CREATED,
    response_model=JoinedPublic,
)
def add_as_member(
    partnership_id: str, org_id: str, body: MembershipPut, outreach: OutreachDep, actor: Editor
) -> JoinedPublic:
    """The shortlisted organisation joins: it becomes a member (role and date as for
    ``PUT /partnerships/{id}/members/{org_id}``) and its status ``joined``. 404 when not shortlisted."""
    membership, entry = outreach.add_shortlisted_as_member(
        partnership_id, org_id, body.role, body.since, actor=actor
    )
    return JoinedPublic(
        membership=MembershipPublic.model_validate(membership.model_dump()),
        entry=shortlist_entry_public(entry),
    )


# -- feedback (admins) -----------------------------------------------------------------------------
@router.get(
    "/shortlist-outcomes",
    response_model=list[OutcomePublic],
    responses={200: {"content": {"text/csv": {}}}},
    dependencies=[require(Action.ADMIN)],
)
def shortlist_outcomes(
    outreach: OutreachDep, fmt: Annotated[Literal["json", "csv"], Query(alias="format")] = "json"
) -> Response | list[OutcomePublic]:
    """Every status change of every shortlist, as (partnership, organisation, outcome, date): the
    feedback ``pactmatch evaluate --feedback`` reads (as CSV)."""
    if fmt == "csv":
        return _csv_download(outreach.outcomes_csv(), "shortlist-outcomes.csv")
    return [outcome_public(o) for o in outreach.outcomes()]


def _csv_download(text: str, filename: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers=attachment(filename),
    )
