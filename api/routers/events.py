"""Match-making events: events, attendees, schedules, agendas (JSON/CSV/ICS), summaries (JSON/CSV/HTML).

Thin handlers over :class:`pactmatch.event_service.EventService`; errors of the product map to
HTTP in the shared handler (404 unknown event/attendee, 409 duplicate id or stale ``If-Match``, 422
bad input naming the field). An event, its attendee list and its schedule are each one versioned
document: a GET answers its version as the ``ETag``, and PUT/PATCH/DELETE take it back as
``If-Match``. Scheduling is CPU work, so the routes are plain ``def`` (FastAPI runs them in its
thread pool and the event loop stays free).
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Body, Path, Query, Response, status

from api.auth import require
from api.deps import EventsDep
from api.rate_limits import Operation, limited
from api.routers.common import IfMatch, Limit, Offset, StrictJSONRoute, attachment, etag
from api.schemas.common import PagePublic
from api.schemas.events import (
    AgendaLinkPublic,
    AgendaPublic,
    AttendeeBatch,
    AttendeeCreate,
    AttendeePatch,
    AttendeePublic,
    EventCreate,
    EventPublic,
    EventSummaryPublic,
    RegisterFromStore,
    RegistrationPublic,
    SchedulePagePublic,
    ScheduleRequest,
    ScheduleRunPublic,
    registration_public,
    schedule_run_public,
)
from domain.accounts import Actor
from pactmatch.event_exports import agenda_ics, agendas_csv, summarise, summary_csv, summary_html
from pactmatch.event_service import StoreSelection
from pactmatch.filters import check_place
from pactmatch.permissions import Action, visible_events

router = APIRouter(prefix="/events", tags=["events"], route_class=StrictJSONRoute)
#: Everything on an event is its organisers' (and admins'); the permission returns who acts.
Organiser = Annotated[Actor, require(Action.MANAGE_EVENT, "event_id")]
Manage = require(Action.MANAGE_EVENT, "event_id")

_T = TypeVar("_T")


def _page(items: list[_T], offset: int, limit: int) -> tuple[list[_T], int]:
    return items[offset : offset + limit], len(items)


# -- events -----------------------------------------------------------------------------------


@router.post("", status_code=status.HTTP_201_CREATED, response_model=EventPublic)
def create_event(
    body: EventCreate, events: EventsDep, actor: Annotated[Actor, require(Action.CREATE_EVENT)]
) -> EventPublic:
    """Create an event; 409 when the id exists (PUT replaces). An organiser creating it organises it."""
    return EventPublic.model_validate(events.create_event(body, actor=actor).model_dump())


@router.get("", response_model=PagePublic[EventPublic])
def list_events(
    events: EventsDep,
    actor: Annotated[Actor, require(Action.LIST_EVENTS)],
    offset: Offset = 0,
    limit: Limit = 50,
) -> PagePublic[EventPublic]:
    """The events the caller organises (admins: all of them)."""
    visible = visible_events(actor)
    mine = [e for e in events.list_events() if visible is None or e.event_id in visible]
    items, total = _page(mine, offset, limit)
    return PagePublic[EventPublic](
        items=[EventPublic.model_validate(e.model_dump()) for e in items],
        total=total,
        offset=offset,
        limit=limit,
    )


@router.get("/{event_id}", response_model=EventPublic, dependencies=[Manage])
def get_event(event_id: str, events: EventsDep, response: Response) -> EventPublic:
    """The event; its ``ETag`` is what PUT and DELETE take as ``If-Match``."""
    event, version = events.get_event_versioned(event_id)
    response.headers.update(etag(version))
    return EventPublic.model_validate(event.model_dump())


@router.put("/{event_id}", response_model=EventPublic)
def put_event(
    event_id: str,
    body: EventCreate,
    events: EventsDep,
    response: Response,
    actor: Organiser,
    if_match: IfMatch,
) -> EventPublic:
    """Create or replace (201 when created); registered attendees must still fit its slots and groups.
    ``If-Match: "0"`` only creates."""
    event, created = events.replace_event(event_id, body, actor=actor, if_match=if_match)
    if created:
        response.status_code = status.HTTP_201_CREATED
    return EventPublic.model_validate(event.model_dump())


@router.delete("/{event_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_event(event_id: str, events: EventsDep, actor: Organiser, if_match: IfMatch) -> Response:
    events.delete_event(event_id, actor=actor, if_match=if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- attendees --------------------------------------------------------------------------------


@router.post("/{event_id}/attendees", status_code=status.HTTP_201_CREATED, response_model=AttendeePublic)
def register_attendee(
    event_id: str, body: AttendeeCreate, events: EventsDep, actor: Organiser
) -> AttendeePublic:
    """Register one attendee (an ``org_id`` of the store, or a new ``organisation`` that is upserted)."""
    return AttendeePublic.model_validate(events.register(event_id, body, actor=actor).model_dump())


@router.post("/{event_id}/attendees/batch", response_model=RegistrationPublic)
def register_batch(
    event_id: str, body: AttendeeBatch, events: EventsDep, actor: Organiser
) -> RegistrationPublic:
    """Register up to 1,000 attendees; bad rows are reported (field and row), the rest registered."""
    return registration_public(events.register_many(event_id, body.attendees, actor=actor))


@router.post("/{event_id}/attendees/from-store", response_model=RegistrationPublic)
def register_from_store(
    event_id: str, body: RegisterFromStore, events: EventsDep, actor: Organiser
) -> RegistrationPublic:
    """Register organisations of the store (filters as in organisation listing), most active first."""
    country, region = check_place(body.country, body.region, country_field="country")
    selection = StoreSelection(
        partnership_id=body.partnership_id, country=country, region=region, stakeholder_type=body.stakeholder_type,
        limit=body.limit, group=body.group, person=body.person, order=body.order,
    )  # fmt: skip
    return registration_public(events.register_from_store(event_id, selection, actor=actor))


@router.get("/{event_id}/attendees", response_model=PagePublic[AttendeePublic], dependencies=[Manage])
def list_attendees(
    event_id: str,
    events: EventsDep,
    response: Response,
    offset: Offset = 0,
    limit: Limit = 50,
    group: Annotated[str | None, Query(max_length=200)] = None,
    q: Annotated[str | None, Query(max_length=200, description="person or organisation contains")] = None,
) -> PagePublic[AttendeePublic]:
    """The attendees (a page); the ``ETag`` is the attendee list's version, what changing or
    cancelling one takes as ``If-Match``."""
    found, version = events.find_attendees_versioned(event_id, group, q)
    response.headers.update(etag(version))
    page, total = _page(found, offset, limit)
    return PagePublic[AttendeePublic](
        items=[AttendeePublic.model_validate(a.model_dump()) for a in page],
        total=total,
        offset=offset,
        limit=limit,
    )


@router.get("/{event_id}/attendees/{attendee_id}", response_model=AttendeePublic, dependencies=[Manage])
def get_attendee(event_id: str, attendee_id: str, events: EventsDep, response: Response) -> AttendeePublic:
    """One attendee; the ``ETag`` is the version of the attendee list it is in."""
    attendee, version = events.get_attendee_versioned(event_id, attendee_id)
    response.headers.update(etag(version))
    return AttendeePublic.model_validate(attendee.model_dump())


@router.patch("/{event_id}/attendees/{attendee_id}", response_model=AttendeePublic)
def update_attendee(
    event_id: str,
    attendee_id: str,
    body: AttendeePatch,
    events: EventsDep,
    actor: Organiser,
    if_match: IfMatch,
) -> AttendeePublic:
    """Change what an attendee stated (availability, wishes, caps, requests, vetoes)."""
    updated = events.update_attendee(event_id, attendee_id, body, actor=actor, if_match=if_match)
    return AttendeePublic.model_validate(updated.model_dump())


@router.delete("/{event_id}/attendees/{attendee_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_attendee(
    event_id: str, attendee_id: str, events: EventsDep, actor: Organiser, if_match: IfMatch
) -> Response:
    """Cancel a registration; re-scheduling keeps everyone else's confirmed meetings."""
    events.remove_attendee(event_id, attendee_id, actor=actor, if_match=if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- schedules and agendas --------------------------------------------------------------------


@router.post("/{event_id}/schedule", response_model=ScheduleRunPublic)
def schedule_event(
    event_id: str,
    events: EventsDep,
    actor: Organiser,
    _limit: Annotated[None, limited(Operation.SCHEDULE)],
    body: Annotated[ScheduleRequest | None, Body()] = None,
) -> ScheduleRunPublic:
    """Choose introductions and build every agenda (pins the previous schedule's meetings by default)."""
    req = body or ScheduleRequest()
    schedule = events.schedule_with(
        event_id,
        keep_previous=req.keep_previous,
        floor=req.floor,
        time_limit=req.time_limit,
        mip_rel_gap=req.mip_gap,
        solver=req.solver,
        actor=actor,
    )
    return schedule_run_public(schedule)


@router.get("/{event_id}/schedule", response_model=SchedulePagePublic, dependencies=[Manage])
def get_schedule(
    event_id: str, events: EventsDep, response: Response, offset: Offset = 0, limit: Limit = 100
) -> SchedulePagePublic:
    """The stored schedule's meetings (by slot and table), paginated; the ``ETag`` is its version."""
    schedule, version = events.get_schedule_versioned(event_id)
    response.headers.update(etag(version))
    page, total = _page(list(schedule.meetings), offset, limit)
    return SchedulePagePublic(
        event_id=event_id, generated_at=schedule.generated_at, stats=schedule.stats, total=total, offset=offset,
        limit=limit, meetings=page,
    )  # fmt: skip


Format3 = Annotated[Literal["json", "csv", "ics"], Query(alias="format")]
SummaryFormat = Annotated[Literal["json", "csv", "html"], Query(alias="format")]


@router.get(
    "/{event_id}/agendas/{attendee_id}",
    response_model=AgendaPublic,
    responses={200: {"content": {"text/csv": {}, "text/calendar": {}}}},
    dependencies=[Manage],
)
def get_agenda(
    event_id: str, attendee_id: str, events: EventsDep, fmt: Format3 = "json"
) -> Response | AgendaPublic:
    """One attendee's agenda as JSON, CSV or an iCalendar file, each meeting with why to meet."""
    agenda = events.agenda(event_id, attendee_id)
    if fmt == "csv":
        return Response(agendas_csv([agenda]), media_type="text/csv; charset=utf-8")
    if fmt == "ics":
        return Response(
            agenda_ics(agenda, events.get_event(event_id)),
            media_type="text/calendar; charset=utf-8",
            headers=attachment(f"{event_id}-{attendee_id}.ics"),
        )
    return AgendaPublic.model_validate(agenda.model_dump())


@router.get(
    "/{event_id}/agendas",
    response_model=PagePublic[AgendaPublic],
    responses={200: {"content": {"text/csv": {}}}},
    dependencies=[Manage],
)
def list_agendas(
    event_id: str,
    events: EventsDep,
    fmt: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
    offset: Offset = 0,
    limit: Limit = 50,
) -> Response | PagePublic[AgendaPublic]:
    """Every attendee's agenda: JSON pages, or one CSV with all of them."""
    agendas = events.agendas(event_id)
    if fmt == "csv":
        return Response(agendas_csv(agendas), media_type="text/csv; charset=utf-8")
    page, total = _page(agendas, offset, limit)
    return PagePublic[AgendaPublic](
        items=[AgendaPublic.model_validate(a.model_dump()) for a in page],
        total=total,
        offset=offset,
        limit=limit,
    )


@router.get(
    "/{event_id}/summary",
    response_model=EventSummaryPublic,
    responses={200: {"content": {"text/csv": {}, "text/html": {}}}},
    dependencies=[Manage],
)
def get_summary(
    event_id: str, events: EventsDep, fmt: SummaryFormat = "json"
) -> Response | EventSummaryPublic:
    """The organiser summary: distribution of meetings, unmatched attendees with reasons, scores."""
    event, attendees, schedule, requests = events.outcome(event_id)
    if fmt == "csv":
        return Response(summary_csv(event, attendees, schedule), media_type="text/csv; charset=utf-8")
    summary = summarise(event, attendees, schedule, requests)
    if fmt == "html":
        return Response(summary_html(event, summary), media_type="text/html; charset=utf-8")
    return EventSummaryPublic.model_validate(summary.model_dump())


# -- attendees' own agendas (a signed link, no account) ----------------------------------------


@router.post("/{event_id}/attendees/{attendee_id}/agenda-link", response_model=AgendaLinkPublic)
def create_agenda_link(
    event_id: str, attendee_id: str, events: EventsDep, actor: Organiser
) -> AgendaLinkPublic:
    """A private link to one attendee's agenda, to send them: it opens without an account, until it
    expires or the organiser revokes it."""
    token, expires_at = events.agenda_link(event_id, attendee_id, actor=actor)
    return AgendaLinkPublic(path=f"/agenda/{token}", expires_at=expires_at)


@router.delete("/{event_id}/attendees/{attendee_id}/agenda-link", status_code=status.HTTP_204_NO_CONTENT)
def revoke_agenda_links(
    event_id: str, attendee_id: str, events: EventsDep, actor: Organiser, if_match: IfMatch
) -> Response:
    """Make every link given out for this attendee stop working (a new one can be made after)."""
    events.revoke_agenda_links(event_id, attendee_id, actor=actor, if_match=if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


attendee_router = APIRouter(prefix="/agenda", tags=["events"], route_class=StrictJSONRoute)


@attendee_router.get(
    "/{token}",
    response_model=AgendaPublic,
    responses={200: {"content": {"text/calendar": {}}}},
    dependencies=[require(Action.AGENDA_LINK)],
)
def attendee_agenda(
    token: Annotated[str, Path(max_length=1000)],
    events: EventsDep,
    fmt: Annotated[Literal["json", "ics"], Query(alias="format")] = "json",
) -> Response | AgendaPublic:
    """An attendee's own agenda, opened by the link the organiser sent (401 when it is forged,
    expired or revoked); ``?format=ics`` for the calendar file."""
    agenda = events.agenda_for_link(token)
    if fmt == "ics":
        return Response(
            agenda_ics(agenda, events.get_event(agenda.event_id)),
            media_type="text/calendar; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="agenda.ics"'},
        )
    return AgendaPublic.model_validate(agenda.model_dump())
