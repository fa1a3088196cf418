"""Match-making events: events, attendees, schedules, agendas (JSON/CSV/ICS), summaries (JSON/CSV/HTML).

Thin handlers over :class:`pactmatch.event_service.EventService`; errors of the product map to
HTTP in the shared handler (404 unknown event/attendee, 409 duplicate id, 422 bad input naming
the field). Scheduling is CPU work, so the routes are plain ``def`` (FastAPI runs them in its
thread pool and the event loop stays free).
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Body, Query, Response, status

from api.deps import EventsDep
from api.routers.common import Limit, Offset, StrictJSONRoute, attachment
from api.schemas.common import PagePublic
from api.schemas.events import (
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
from pactmatch.event_exports import agenda_ics, agendas_csv, summarise, summary_csv, summary_html
from pactmatch.event_service import StoreSelection
from pactmatch.filters import check_place

router = APIRouter(prefix="/events", tags=["events"], route_class=StrictJSONRoute)

_T = TypeVar("_T")


def _page(items: list[_T], offset: int, limit: int) -> tuple[list[_T], int]:
    return items[offset : offset + limit], len(items)


# -- events -----------------------------------------------------------------------------------


@router.post("", status_code=status.HTTP_201_CREATED, response_model=EventPublic)
def create_event(body: EventCreate, events: EventsDep) -> EventPublic:
    """Create an event; 409 when the id exists (PUT replaces)."""
    return EventPublic.model_validate(events.create_event(body).model_dump())


@router.get("", response_model=PagePublic[EventPublic])
def list_events(events: EventsDep, offset: Offset = 0, limit: Limit = 50) -> PagePublic[EventPublic]:
    items, total = _page(events.list_events(), offset, limit)
    return PagePublic[EventPublic](
        items=[EventPublic.model_validate(e.model_dump()) for e in items],
        total=total,
        offset=offset,
        limit=limit,
    )


@router.get("/{event_id}", response_model=EventPublic)
def get_event(event_id: str, events: EventsDep) -> EventPublic:
    return EventPublic.model_validate(events.get_event(event_id).model_dump())


@router.put("/{event_id}", response_model=EventPublic)
def put_event(event_id: str, body: EventCreate, events: EventsDep, response: Response) -> EventPublic:
    """Create or replace (201 when created); registered attendees must still fit its slots and groups."""
    event, created = events.replace_event(event_id, body)
    if created:
        response.status_code = status.HTTP_201_CREATED
    return EventPublic.model_validate(event.model_dump())


@router.delete("/{event_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_event(event_id: str, events: EventsDep) -> Response:
    events.delete_event(event_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- attendees --------------------------------------------------------------------------------


@router.post("/{event_id}/attendees", status_code=status.HTTP_201_CREATED, response_model=AttendeePublic)
def register_attendee(event_id: str, body: AttendeeCreate, events: EventsDep) -> AttendeePublic:
    """Register one attendee (an ``org_id`` of the store, or a new ``organisation`` that is upserted)."""
    return AttendeePublic.model_validate(events.register(event_id, body).model_dump())


@router.post("/{event_id}/attendees/batch", response_model=RegistrationPublic)
def register_batch(event_id: str, body: AttendeeBatch, events: EventsDep) -> RegistrationPublic:
    """Register up to 1,000 attendees; bad rows are reported (field and row), the rest registered."""
    return registration_public(events.register_many(event_id, body.attendees))


@router.post("/{event_id}/attendees/from-store", response_model=RegistrationPublic)
def register_from_store(event_id: str, body: RegisterFromStore, events: EventsDep) -> RegistrationPublic:
    """Register organisations of the store (filters as in organisation listing), most active first."""
    country, region = check_place(body.country, body.region, country_field="country")
    selection = StoreSelection(
        partnership_id=body.partnership_id, country=country, region=region, stakeholder_type=body.stakeholder_type,
        limit=body.limit, group=body.group, person=body.person, order=body.order,
    )  # fmt: skip
    return registration_public(events.register_from_store(event_id, selection))


@router.get("/{event_id}/attendees", response_model=PagePublic[AttendeePublic])
def list_attendees(
    event_id: str,
    events: EventsDep,
    offset: Offset = 0,
    limit: Limit = 50,
    group: Annotated[str | None, Query(max_length=200)] = None,
    q: Annotated[str | None, Query(max_length=200, description="person or organisation contains")] = None,
) -> PagePublic[AttendeePublic]:
    page, total = _page(events.find_attendees(event_id, group, q), offset, limit)
    return PagePublic[AttendeePublic](
        items=[AttendeePublic.model_validate(a.model_dump()) for a in page],
        total=total,
        offset=offset,
        limit=limit,
    )


@router.get("/{event_id}/attendees/{attendee_id}", response_model=AttendeePublic)
def get_attendee(event_id: str, attendee_id: str, events: EventsDep) -> AttendeePublic:
    return AttendeePublic.model_validate(events.get_attendee(event_id, attendee_id).model_dump())


@router.patch("/{event_id}/attendees/{attendee_id}", response_model=AttendeePublic)
def update_attendee(
    event_id: str, attendee_id: str, body: AttendeePatch, events: EventsDep
) -> AttendeePublic:
    """Change what an attendee stated (availability, wishes, caps, requests, vetoes)."""
    return AttendeePublic.model_validate(events.update_attendee(event_id, attendee_id, body).model_dump())


@router.delete("/{event_id}/attendees/{attendee_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_attendee(event_id: str, attendee_id: str, events: EventsDep) -> Response:
    """Cancel a registration; re-scheduling keeps everyone else's confirmed meetings."""
    events.remove_attendee(event_id, attendee_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- schedules and agendas --------------------------------------------------------------------


@router.post("/{event_id}/schedule", response_model=ScheduleRunPublic)
def schedule_event(
    event_id: str, events: EventsDep, body: Annotated[ScheduleRequest | None, Body()] = None
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
    )
    return schedule_run_public(schedule)


@router.get("/{event_id}/schedule", response_model=SchedulePagePublic)
def get_schedule(
    event_id: str, events: EventsDep, offset: Offset = 0, limit: Limit = 100
) -> SchedulePagePublic:
    """The stored schedule's meetings (by slot and table), paginated."""
    schedule = events.get_schedule(event_id)
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
)
def get_summary(
    event_id: str, events: EventsDep, fmt: SummaryFormat = "json"
) -> Response | EventSummaryPublic:
    """The organiser summary: distribution of meetings, unmatched attendees with reasons, scores."""
    event, attendees, schedule = events.outcome(event_id)
    if fmt == "csv":
        return Response(summary_csv(event, attendees, schedule), media_type="text/csv; charset=utf-8")
    summary = summarise(event, attendees, schedule)
    if fmt == "html":
        return Response(summary_html(event, summary), media_type="text/html; charset=utf-8")
    return EventSummaryPublic.model_validate(summary.model_dump())
