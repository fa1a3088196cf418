"""Match-making events: events, attendees, schedules, agendas (JSON/CSV/ICS), summaries (JSON/CSV/HTML).

Thin handlers over :class:`pactmatch.event_service.EventService`; errors of the product map to
HTTP in the shared handler (404 unknown event/attendee, 409 duplicate id, 422 bad input naming
the field). Scheduling is CPU work, so the routes are plain ``def`` (FastAPI runs them in its
thread pool and the event loop stays free).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Body, Depends, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ServiceDep
from api.routers.common import Limit, Offset
from api.schemas import PagePublic
from domain.errors import FieldIssue, InvalidInputError
from domain.events import (
    MAX_ATTENDEES,
    Agenda,
    Attendee,
    AttendeeCreate,
    AttendeePatch,
    DroppedMeeting,
    Event,
    EventCreate,
    EventSummary,
    Meeting,
    Schedule,
    ScheduleStats,
    UnmatchedAttendee,
)
from domain.models import Identifier, StakeholderType
from domain.regions import check_region_filter, normalise_country
from matching.events import ScheduleOptions
from pactmatch.event_exports import agenda_ics, agendas_csv, summarise, summary_csv, summary_html
from pactmatch.event_service import EventService, RegistrationReport, StoreSelection

router = APIRouter(prefix="/events", tags=["events"])

MAX_BATCH = 1000
_T = TypeVar("_T")


def get_events(request: Request, service: ServiceDep) -> EventService:
    """One EventService per app (it holds no state beyond the service it wraps)."""
    current: EventService | None = getattr(request.app.state, "event_service", None)
    if current is None or current.service is not service:
        current = EventService(service)
        request.app.state.event_service = current
    return current


EventsDep = Annotated[EventService, Depends(get_events)]


# -- models at the edge -----------------------------------------------------------------------


class EventPublic(Event):
    pass


class AttendeePublic(Attendee):
    pass


class AgendaPublic(Agenda):
    pass


class EventSummaryPublic(EventSummary):
    pass


class AttendeeBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    attendees: list[AttendeeCreate] = Field(min_length=1, max_length=MAX_BATCH)


class RegisterFromStore(BaseModel):
    """Which organisations of the store to register; offers and wants come from their profiles."""

    model_config = ConfigDict(extra="forbid")
    partnership_id: Identifier | None = None
    country: str | None = Field(default=None, max_length=10)
    region: str | None = Field(default=None, max_length=10)
    stakeholder_type: StakeholderType | None = None
    limit: int = Field(default=300, ge=1, le=MAX_ATTENDEES)
    group: Identifier | None = None
    person: str = Field(default="Delegate", min_length=1, max_length=200)
    order: Literal["active", "name"] = "active"


class IssuePublic(BaseModel):
    field: str
    message: str


class RegistrationPublic(BaseModel):
    registered: int
    attendee_ids: list[str]
    skipped: list[str]
    errors: list[IssuePublic]
    seconds: float


class ScheduleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keep_previous: bool = Field(default=True, description="pin the meetings of the stored schedule")
    time_limit: float = Field(default=20.0, gt=0, le=120, description="seconds for the selection MILP")
    mip_gap: float = Field(default=0.01, ge=0, le=0.5)
    floor: int | None = Field(default=None, ge=0, le=48, description="default: the event's min_meetings")
    solver: Literal["milp", "greedy"] = "milp"


class ScheduleRunPublic(BaseModel):
    """The outcome of a scheduling run (the meetings themselves: GET .../schedule or the agendas)."""

    event_id: str
    generated_at: datetime
    encoder: str
    attendees: int
    meetings: int
    stats: ScheduleStats
    unmatched: list[UnmatchedAttendee]
    dropped: list[DroppedMeeting]
    warnings: list[str]


class SchedulePagePublic(BaseModel):
    event_id: str
    generated_at: datetime
    stats: ScheduleStats
    total: int
    offset: int
    limit: int
    meetings: list[Meeting]


def _registration(report: RegistrationReport) -> RegistrationPublic:
    return RegistrationPublic(
        registered=len(report.registered),
        attendee_ids=[a.attendee_id for a in report.registered],
        skipped=report.skipped,
        errors=[IssuePublic(field=e.field, message=e.message) for e in report.errors],
        seconds=report.seconds,
    )


def _run(schedule: Schedule) -> ScheduleRunPublic:
    return ScheduleRunPublic(
        event_id=schedule.event_id,
        generated_at=schedule.generated_at,
        encoder=schedule.encoder,
        attendees=schedule.attendees,
        meetings=len(schedule.meetings),
        stats=schedule.stats,
        unmatched=list(schedule.unmatched),
        dropped=list(schedule.dropped),
        warnings=list(schedule.warnings),
    )


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
    return _registration(events.register_many(event_id, body.attendees))


@router.post("/{event_id}/attendees/from-store", response_model=RegistrationPublic)
def register_from_store(event_id: str, body: RegisterFromStore, events: EventsDep) -> RegistrationPublic:
    """Register organisations of the store (filters as in organisation listing), most active first."""
    try:
        country = normalise_country(body.country) if body.country else None
    except ValueError as exc:
        raise InvalidInputError(str(exc), [FieldIssue("country", str(exc))]) from exc
    selection = StoreSelection(
        partnership_id=body.partnership_id,
        country=country,
        region=check_region_filter(body.region) if body.region else None,
        stakeholder_type=body.stakeholder_type,
        limit=body.limit,
        group=body.group,
        person=body.person,
        order=body.order,
    )
    return _registration(events.register_from_store(event_id, selection))


@router.get("/{event_id}/attendees", response_model=PagePublic[AttendeePublic])
def list_attendees(
    event_id: str,
    events: EventsDep,
    offset: Offset = 0,
    limit: Limit = 50,
    group: str | None = None,
    q: Annotated[str | None, Query(max_length=200, description="person or organisation contains")] = None,
) -> PagePublic[AttendeePublic]:
    items = events.attendees(event_id)
    if group is not None:
        items = [a for a in items if a.group == group]
    if q:
        needle = q.lower()
        items = [a for a in items if needle in a.person.lower() or needle in a.org_name.lower()]
    page, total = _page(items, offset, limit)
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
    event = events.get_event(event_id)
    options = ScheduleOptions(
        floor=event.min_meetings if req.floor is None else req.floor,
        time_limit=req.time_limit,
        mip_rel_gap=req.mip_gap,
        solver=req.solver,
    )
    return _run(events.schedule(event_id, keep_previous=req.keep_previous, options=options))


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
        filename = f"{event_id}-{attendee_id}.ics".replace('"', "")
        return Response(
            agenda_ics(agenda, events.get_event(event_id)),
            media_type="text/calendar; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
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
    event = events.get_event(event_id)
    schedule = events.get_schedule(event_id)
    attendees = events.attendees(event_id)
    if fmt == "csv":
        return Response(summary_csv(event, attendees, schedule), media_type="text/csv; charset=utf-8")
    summary = summarise(event, attendees, schedule)
    if fmt == "html":
        return Response(summary_html(event, summary), media_type="text/html; charset=utf-8")
    return EventSummaryPublic.model_validate(summary.model_dump())
