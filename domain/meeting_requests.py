"""Meeting requests between attendees of an event: who asked whom, the answer, and its history.

Before the schedule is fixed, an attendee browses the others through their agenda link, sends a
request with a short message, and the recipient accepts or declines; the sender may withdraw,
the organiser may cancel. The scheduler reads the outcome (:func:`pair_requests`): accepted
requests are meetings it must place, declined ones pairs it must not, pending ones a boost.

Request times are UTC instants (when something happened), unlike the event's slots, which are
local times of its timezone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.models import Identifier, StakeholderType

#: A short note, not a correspondence: what a brokerage platform's request box holds.
MAX_MESSAGE = 500
#: What an organiser may allow an attendee to have open at once (pending or accepted, sent).
MAX_OPEN_REQUESTS = 200
#: Who an organiser's change is recorded as, in a request's history.
ORGANISER = "organiser"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class RequestState(StrEnum):
    PENDING = "pending"  # sent, not answered yet
    ACCEPTED = "accepted"  # the recipient said yes: a meeting the schedule must hold
    DECLINED = "declined"  # the recipient said no: the pair is not to meet
    WITHDRAWN = "withdrawn"  # the sender took it back
    CANCELLED = "cancelled"  # the organiser took it off

    @property
    def is_open(self) -> bool:
        """Still standing: it counts against the sender's limit and blocks a second request."""
        return self in (RequestState.PENDING, RequestState.ACCEPTED)


class RequestChange(_Frozen):
    """One step of a request: its new state, when, and who took it (an attendee id or
    ``organiser``)."""

    at: datetime
    state: RequestState
    by: str = Field(max_length=200)
    note: str = Field(default="", max_length=MAX_MESSAGE)


class MeetingRequest(_Frozen):
    """A request from ``sender`` to ``recipient`` (attendee ids of the same event)."""

    request_id: Identifier
    sender: Identifier
    recipient: Identifier
    message: str = Field(default="", max_length=MAX_MESSAGE)
    state: RequestState
    history: tuple[RequestChange, ...] = Field(min_length=1)

    @property
    def created_at(self) -> datetime:
        return self.history[0].at

    @property
    def updated_at(self) -> datetime:
        return self.history[-1].at

    @property
    def was_accepted(self) -> bool:
        return any(c.state == RequestState.ACCEPTED for c in self.history)

    def involves(self, attendee_id: str) -> bool:
        return attendee_id in (self.sender, self.recipient)

    def other(self, attendee_id: str) -> str:
        return self.recipient if attendee_id == self.sender else self.sender

    def moved_to(self, state: RequestState, at: datetime, by: str, note: str = "") -> MeetingRequest:
        return self.model_copy(
            update={
                "state": state,
                "history": (*self.history, RequestChange(at=at, state=state, by=by, note=note)),
            }
        )


class RequestCreate(_Frozen):
    """What an attendee sends: whom they would like to meet, and why (optional, short)."""

    to: Identifier = Field(description="the attendee id of whom to meet")
    message: str = Field(default="", max_length=MAX_MESSAGE)


class RequestWindow(_Frozen):
    """When attendees may send and answer requests, and how many each may have open.

    Times are local times of the event's timezone (what an organiser types), like its slots; no
    ``closes_at`` means no deadline. Requests are meant to close before the schedule is made: a
    schedule made while the window is open says so in its warnings.
    """

    opens_at: datetime | None = None
    closes_at: datetime | None = None
    max_open_per_attendee: int = Field(
        default=20,
        ge=0,
        le=MAX_OPEN_REQUESTS,
        description="requests an attendee may have pending or accepted",
    )

    @model_validator(mode="after")
    def _ordered(self) -> RequestWindow:
        for when in (self.opens_at, self.closes_at):
            if when is not None and when.tzinfo is not None:
                raise ValueError("give local times without offset; the event's timezone applies")
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            raise ValueError("closes_at must come after opens_at")
        return self

    def state_at(self, local_now: datetime) -> Literal["not open yet", "open", "closed"]:
        if self.opens_at is not None and local_now < self.opens_at:
            return "not open yet"
        if self.closes_at is not None and local_now >= self.closes_at:
            return "closed"
        return "open"


@dataclass(frozen=True)
class PairRequests:
    """What the scheduler takes from the requests, as ``(asked by, asked)`` attendee-id pairs."""

    asked: list[tuple[str, str]]  # a side that asked (pending: the sender; accepted: both sides)
    accepted: list[tuple[str, str]]  # meetings the schedule must hold
    declined: list[tuple[str, str]]  # pairs that must not meet
    called_off: dict[frozenset[str], MeetingRequest]  # accepted once, then withdrawn, declined or cancelled


def pair_requests(requests: Iterable[MeetingRequest]) -> PairRequests:
    """The scheduler's view of an event's requests (withdrawn and cancelled ones count for nothing,
    except that a meeting they had confirmed is called off)."""
    asked: list[tuple[str, str]] = []
    accepted: list[tuple[str, str]] = []
    declined: list[tuple[str, str]] = []
    called_off: dict[frozenset[str], MeetingRequest] = {}
    for r in requests:  # in the order they were sent: a pair's later request is its current one
        pair = frozenset((r.sender, r.recipient))
        if r.state == RequestState.PENDING:
            asked.append((r.sender, r.recipient))
        elif r.state == RequestState.ACCEPTED:
            asked += [(r.sender, r.recipient), (r.recipient, r.sender)]
            accepted.append((r.sender, r.recipient))
            called_off.pop(pair, None)
        elif r.was_accepted:
            called_off[pair] = r
        if r.state == RequestState.DECLINED:
            declined.append((r.recipient, r.sender))
    return PairRequests(asked, accepted, declined, called_off)


class RequestStats(_Frozen):
    """Requests of an event for the organiser summary."""

    sent: int
    pending: int
    accepted: int
    declined: int
    withdrawn: int
    cancelled: int
    senders: int = Field(description="attendees who sent at least one request")
    in_schedule: int = Field(description="accepted requests whose pair meets in the schedule")
    share_of_meetings: float = Field(description="meetings that come from accepted requests, of all meetings")


# -- what an attendee sees --------------------------------------------------------------------


class RequestView(_Frozen):
    """A request between the viewer and another attendee, from the viewer's side."""

    request_id: str
    direction: Literal["sent", "received"]
    state: RequestState


class AttendeeCard(_Frozen):
    """Another attendee as the viewer sees them: who they are, what they offer and look for, the
    reciprocal score of the pair and why they should meet, and any request between them."""

    attendee_id: str
    person: str
    org_id: str
    org_name: str
    stakeholder_type: StakeholderType
    country: str | None
    group: str | None
    offer: str
    want: str
    score: float = Field(
        description="the pair's reciprocal score, as the scheduler sees it (0: may not meet)"
    )
    may_meet: bool = Field(
        description="false when a rule keeps the pair apart (no thanks, groups, no common slot)"
    )
    why: str
    request: RequestView | None = None


class RequestWithNames(_Frozen):
    """A request with both sides' names, for lists (the viewer's or the organiser's)."""

    request: MeetingRequest
    sender_person: str
    sender_org: str
    recipient_person: str
    recipient_org: str
    in_schedule: bool = Field(description="the pair meets in the current schedule")


NoticeKind = Literal[
    "request.received", "request.accepted", "request.declined", "request.withdrawn", "request.cancelled",
    "agenda.updated",
]  # fmt: skip


class Notification(_Frozen):
    """Something that changed for an attendee: a request received or answered, their agenda
    updated."""

    at: datetime
    kind: NoticeKind
    text: str
    request_id: str | None = None
    other_id: str | None = None
