"""Meeting requests: attendees ask each other through their agenda link; organisers oversee them.

Attendee routes live under the link (``/agenda/{token}/...``): the signed token is the credential,
so their permission is :attr:`Action.AGENDA_LINK` and the service checks the token (401 when it is
forged, expired or revoked) and that the request is the holder's to answer (403 otherwise).
Organiser routes live under the event (``/events/{event_id}/requests``, the request window): they
list, enter (or pin), answer for an attendee and cancel.
Thin handlers over :class:`pactmatch.event_requests.RequestService`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, status
from fastapi.responses import Response

from api.auth import require
from api.deps import EventsDep
from api.routers.common import Limit, Offset, StrictJSONRoute
from api.schemas.common import PagePublic
from api.schemas.events import (
    AttendeeCardPublic,
    MeetingRequestPublic,
    NotificationPublic,
    OrganiserRequestCreate,
    RequestCreate,
    RequestNote,
    RequestWindow,
    request_public,
)
from domain.accounts import Actor
from domain.meeting_requests import RequestState
from domain.models import StakeholderType
from pactmatch.event_exports import requests_csv
from pactmatch.event_requests import AttendeeQuery, RequestService
from pactmatch.permissions import Action


def get_requests(events: EventsDep) -> RequestService:
    return RequestService(events)


RequestsDep = Annotated[RequestService, Depends(get_requests)]
Token = Annotated[str, Path(max_length=1000, description="the attendee's agenda link token")]
RequestId = Annotated[str, Path(max_length=200)]
Organiser = Annotated[Actor, require(Action.MANAGE_EVENT, "event_id")]
Manage = require(Action.MANAGE_EVENT, "event_id")
LinkHolder = require(Action.AGENDA_LINK)

# -- the attendee's side, under their agenda link ----------------------------------------------

attendee_router = APIRouter(
    prefix="/agenda/{token}",
    tags=["meeting requests"],
    dependencies=[LinkHolder],
    route_class=StrictJSONRoute,
)


@attendee_router.get("/attendees", response_model=PagePublic[AttendeeCardPublic])
def list_others(
    token: Token,
    requests: RequestsDep,
    q: Annotated[
        str | None, Query(max_length=200, description="in person, organisation, offer or want")
    ] = None,
    group: Annotated[str | None, Query(max_length=200)] = None,
    stakeholder_type: Annotated[StakeholderType | None, Query(alias="type")] = None,
    country: Annotated[str | None, Query(max_length=2, min_length=2, description="ISO country")] = None,
    min_score: Annotated[float, Query(ge=0, le=10)] = 0.0,
    meetable: Annotated[bool, Query(description="only attendees a request can go to")] = False,
    request: Annotated[Literal["any", "none", "sent", "received"], Query()] = "any",
    sort: Annotated[Literal["score", "name"], Query()] = "score",
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> PagePublic[AttendeeCardPublic]:
    """The other attendees with the pair's reciprocal score and why to meet (as the scheduler
    sees them), and any request between you; best match first unless ``sort=name``."""
    query = AttendeeQuery(
        text=q, group=group, stakeholder_type=stakeholder_type, country=country, min_score=min_score,
        meetable_only=meetable, request=request, sort=sort, offset=offset, limit=limit,
    )  # fmt: skip
    page = requests.others(token, query)
    return PagePublic[AttendeeCardPublic](
        items=[AttendeeCardPublic.model_validate(c.model_dump()) for c in page.items],
        total=page.total,
        offset=page.offset,
        limit=page.limit,
    )


@attendee_router.get("/requests", response_model=list[MeetingRequestPublic])
def my_requests(
    token: Token,
    requests: RequestsDep,
    state: RequestState | None = None,
    direction: Literal["sent", "received"] | None = None,
) -> list[MeetingRequestPublic]:
    """Your requests, sent and received, newest first."""
    return [request_public(r) for r in requests.mine(token, state, direction)]


@attendee_router.post("/requests", status_code=status.HTTP_201_CREATED, response_model=MeetingRequestPublic)
def send_request(token: Token, body: RequestCreate, requests: RequestsDep) -> MeetingRequestPublic:
    """Ask another attendee to meet, with a short message (while the request window is open; 409
    past your limit of standing requests or when a request between you stands or was declined)."""
    return request_public(requests.send(token, body))


@attendee_router.post("/requests/{request_id}/accept", response_model=MeetingRequestPublic)
def accept_request(token: Token, request_id: RequestId, requests: RequestsDep) -> MeetingRequestPublic:
    """Accept a request sent to you: the schedule will hold the meeting (409 when either of you
    has as many accepted meetings as they can have)."""
    return request_public(requests.answer(token, request_id, "accept"))


@attendee_router.post("/requests/{request_id}/decline", response_model=MeetingRequestPublic)
def decline_request(token: Token, request_id: RequestId, requests: RequestsDep) -> MeetingRequestPublic:
    """Decline a request sent to you (also one you accepted): the schedule will not pair you."""
    return request_public(requests.answer(token, request_id, "decline"))


@attendee_router.post("/requests/{request_id}/withdraw", response_model=MeetingRequestPublic)
def withdraw_request(token: Token, request_id: RequestId, requests: RequestsDep) -> MeetingRequestPublic:
    """Withdraw a request you sent (pending or accepted)."""
    return request_public(requests.answer(token, request_id, "withdraw"))


@attendee_router.get("/notifications", response_model=list[NotificationPublic])
def notifications(
    token: Token,
    requests: RequestsDep,
    since: Annotated[
        datetime | None, Query(description="only what changed after this (UTC without offset)")
    ] = None,
) -> list[NotificationPublic]:
    """What changed for you, newest first: requests received and answered, your agenda updated."""
    return [NotificationPublic.model_validate(n.model_dump()) for n in requests.notifications(token, since)]


# -- the organiser's side ---------------------------------------------------------------------

organiser_router = APIRouter(
    prefix="/events/{event_id}", tags=["meeting requests"], route_class=StrictJSONRoute
)


@organiser_router.get(
    "/requests",
    response_model=PagePublic[MeetingRequestPublic],
    responses={200: {"content": {"text/csv": {}}}},
    dependencies=[Manage],
)
def list_requests(
    event_id: str,
    requests: RequestsDep,
    state: RequestState | None = None,
    attendee_id: Annotated[str | None, Query(max_length=200, description="sent or received by")] = None,
    fmt: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
    offset: Offset = 0,
    limit: Limit = 100,
) -> Response | PagePublic[MeetingRequestPublic]:
    """Every request of the event, newest first, with whether its pair meets in the schedule:
    JSON pages, or one CSV with all of them (what ``pactmatch event requests --format csv`` writes)."""
    items = requests.requests(event_id, state, attendee_id)
    if fmt == "csv":
        return Response(requests_csv(items), media_type="text/csv; charset=utf-8")
    return PagePublic[MeetingRequestPublic](
        items=[request_public(r) for r in items[offset : offset + limit]],
        total=len(items),
        offset=offset,
        limit=limit,
    )


@organiser_router.post("/requests", status_code=status.HTTP_201_CREATED, response_model=MeetingRequestPublic)
def enter_request(
    event_id: str, body: OrganiserRequestCreate, requests: RequestsDep, actor: Organiser
) -> MeetingRequestPublic:
    """Enter a request for an attendee (``sender``), or with ``confirmed`` pin a meeting: accepted
    at once (409 when either side has no room left). The window and the limit of standing
    requests do not bind the organiser; the other rules do."""
    item = requests.send_for(
        event_id,
        body.sender,
        RequestCreate(to=body.to, message=body.message),
        confirmed=body.confirmed,
        note=body.note,
        actor=actor,
    )
    return request_public(item)


@organiser_router.post("/requests/{request_id}/cancel", response_model=MeetingRequestPublic)
def cancel_request(
    event_id: str,
    request_id: RequestId,
    requests: RequestsDep,
    actor: Organiser,
    body: RequestNote | None = None,
) -> MeetingRequestPublic:
    """Take a pending or accepted request off (any time); both attendees are notified."""
    return request_public(requests.cancel(event_id, request_id, (body or RequestNote()).note, actor=actor))


@organiser_router.post("/requests/{request_id}/{answer}", response_model=MeetingRequestPublic)
def answer_for(
    event_id: str,
    request_id: RequestId,
    answer: Annotated[
        Literal["accept", "decline", "withdraw"],
        Path(description="accept or decline for the recipient, withdraw for the sender"),
    ],
    requests: RequestsDep,
    actor: Organiser,
    body: RequestNote | None = None,
) -> MeetingRequestPublic:
    """Answer a request for one of its attendees (window or not): accept a pending one, decline
    or withdraw a pending or accepted one; both attendees are notified, with the note."""
    note = (body or RequestNote()).note
    return request_public(requests.answer_for(event_id, request_id, answer, note, actor=actor))


@organiser_router.put("/request-window", response_model=RequestWindow)
def set_request_window(
    event_id: str, body: RequestWindow, requests: RequestsDep, actor: Organiser
) -> RequestWindow:
    """When attendees may send and answer requests (local times of the event), and how many
    each may have standing; requests are meant to close before the schedule is made."""
    return requests.set_window(event_id, body, actor=actor).request_window
