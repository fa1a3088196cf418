"""Match-making events: events, attendees, registrations, schedules, agendas, summaries.

What clients send for an event or an attendee (:class:`EventCreate`, :class:`AttendeeCreate`,
:class:`AttendeePatch`) is the domain's own input model, re-exported here: the CLI validates its
options and files with the same models.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import CountryFilter, IssuePublic, RegionFilter
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
from domain.meeting_requests import (
    MAX_MESSAGE,
    AttendeeCard,
    Notification,
    RequestChange,
    RequestCreate,
    RequestState,
    RequestWindow,
    RequestWithNames,
)
from domain.models import Identifier, StakeholderType
from pactmatch.event_service import RegistrationReport

__all__ = [
    "MAX_BATCH",
    "AgendaPublic",
    "AttendeeBatch",
    "AttendeeCardPublic",
    "AttendeeCreate",
    "AttendeePatch",
    "AttendeePublic",
    "EventCreate",
    "EventPublic",
    "EventSummaryPublic",
    "MeetingRequestPublic",
    "NotificationPublic",
    "OrganiserRequestCreate",
    "RegisterFromStore",
    "RegistrationPublic",
    "RequestCreate",
    "RequestNote",
    "RequestWindow",
    "SchedulePagePublic",
    "ScheduleRequest",
    "ScheduleRunPublic",
    "registration_public",
    "request_public",
    "schedule_run_public",
]

MAX_BATCH = 1000


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
    country: CountryFilter | None = None
    region: RegionFilter | None = None
    stakeholder_type: StakeholderType | None = None
    limit: int = Field(default=300, ge=1, le=MAX_ATTENDEES)
    group: Identifier | None = None
    person: str = Field(default="Delegate", min_length=1, max_length=200)
    order: Literal["active", "name"] = "active"


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


def registration_public(report: RegistrationReport) -> RegistrationPublic:
    return RegistrationPublic(
        registered=len(report.registered),
        attendee_ids=[a.attendee_id for a in report.registered],
        skipped=report.skipped,
        errors=[IssuePublic(field=e.field, message=e.message) for e in report.errors],
        seconds=report.seconds,
    )


def schedule_run_public(schedule: Schedule) -> ScheduleRunPublic:
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


class AgendaLinkPublic(BaseModel):
    path: str = Field(description="append to the service's address; opens the agenda without an account")
    expires_at: datetime


# -- meeting requests -------------------------------------------------------------------------


class AttendeeCardPublic(AttendeeCard):
    pass


class NotificationPublic(Notification):
    pass


class MeetingRequestPublic(BaseModel):
    """A request with both sides' names; both sides (and the organiser) see the same state."""

    request_id: str
    sender: str
    sender_person: str
    sender_org: str
    recipient: str
    recipient_person: str
    recipient_org: str
    message: str
    state: RequestState
    created_at: datetime
    updated_at: datetime
    history: list[RequestChange]
    in_schedule: bool = Field(description="the pair meets in the current schedule")


class RequestNote(BaseModel):
    """Why the organiser changed a request, for both attendees to read."""

    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=MAX_MESSAGE, description="why, for both attendees to read")


class OrganiserRequestCreate(RequestCreate):
    """A request the organiser enters for attendee ``sender`` (asked at the help desk, on paper),
    or with ``confirmed`` a meeting the organiser pins: accepted at once."""

    sender: Identifier = Field(description="the attendee id the request is from")
    confirmed: bool = Field(default=False, description="accepted at once: a meeting the schedule must hold")
    note: str = Field(default="", max_length=MAX_MESSAGE, description="for both attendees to read")


def request_public(item: RequestWithNames) -> MeetingRequestPublic:
    r = item.request
    return MeetingRequestPublic(
        request_id=r.request_id, sender=r.sender, sender_person=item.sender_person, sender_org=item.sender_org,
        recipient=r.recipient, recipient_person=item.recipient_person, recipient_org=item.recipient_org,
        message=r.message, state=r.state, created_at=r.created_at, updated_at=r.updated_at,
        history=list(r.history), in_schedule=item.in_schedule,
    )  # fmt: skip
