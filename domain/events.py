"""Match-making events: the frozen domain model (event, attendees, schedules).

An organiser creates an :class:`Event` (time slots, number of tables, optional attendee groups with
who-may-meet-whom rules), registers :class:`Attendee` s (an organisation from the store, what they
offer and look for, availability, caps, requests and vetoes) and generates a :class:`Schedule` of
1:1 meetings. These models are what the API accepts and returns, what the CLI reads and what the
store keeps (as validated JSON artifacts, see :mod:`pactmatch.event_repository`); the optimiser in
:mod:`matching.events` reads them but never writes them.

Times are naive local times in the event's ``timezone`` (an IANA name), which is what an organiser
types and what a calendar file needs together with the zone.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from domain.meeting_requests import RequestStats, RequestWindow
from domain.models import (
    MAX_CODES,
    MAX_ENUM_LIST,
    CountryText,
    Ecosystem,
    Identifier,
    Name,
    NutsCode,
    Organisation,
    StakeholderType,
)
from domain.regions import normalise_country, nuts_country, validate_nuts_codes

#: A bound on everything a single event holds, so one request cannot make the optimiser or a
#: stored document unboundedly large.
MAX_SLOTS = 96
MAX_ATTENDEES = 5_000
MAX_MEETINGS_PER_ATTENDEE = 48
MAX_LIST = 200

OfferText = Annotated[str, StringConstraints(max_length=5_000)]
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


def _unique(values: tuple[str, ...], what: str) -> tuple[str, ...]:
    seen: set[str] = set()
    for v in values:
        if v in seen:
            raise ValueError(f"duplicate {what} {v!r}")
        seen.add(v)
    return values


def _dedupe(values: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(dict.fromkeys(values))


def slugify(text: str, max_length: int = 60) -> str:
    """A URL- and file-safe id fragment: lower-case letters, digits and dashes."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:max_length].strip("-") or "x"


def _country_as_nuts(value: str) -> str:
    """Accept ISO countries among NUTS codes (``GR`` → ``EL``, ``GB`` → ``UK``). Only spaces are
    trimmed, as NUTS codes are (:meth:`domain.regions.RegionIndex.normalise`)."""
    value = value.strip(" ")
    if len(value) == 2:
        try:
            return nuts_country(normalise_country(value))
        except ValueError:
            return value
    return value


# -- event ------------------------------------------------------------------------------------


class TimeSlot(_Frozen):
    """One round of meetings: every table hosts at most one meeting per slot."""

    slot_id: Identifier
    start: datetime = Field(description="local start time in the event's timezone (no offset)")
    duration_minutes: int = Field(default=30, ge=5, le=480)

    @field_validator("start")
    @classmethod
    def _naive(cls, value: datetime) -> datetime:
        if value.tzinfo is not None:
            raise ValueError("give a local time without offset; the event's timezone applies")
        return value

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.duration_minutes)


class AttendeeGroup(_Frozen):
    """A kind of attendee (e.g. ``seekers`` / ``offerers``) and the groups it may meet.

    Rules are symmetric: a pair of groups may meet when either lists the other (or a group lists
    itself). An event without groups lets everyone meet everyone.
    """

    group_id: Identifier
    label: str = Field(default="", max_length=200)
    meets: tuple[Identifier, ...] = Field(default=(), max_length=50)


class SlotSpec(_Frozen):
    """Input form of a slot: ``start`` may be ``HH:MM`` (on the event date) or a full local datetime."""

    slot_id: Identifier | None = None
    start: datetime | time
    duration_minutes: int = Field(default=30, ge=5, le=480)


def _check_event(
    slots: list[tuple[str, datetime, datetime]],
    groups: tuple[AttendeeGroup, ...],
    min_meetings: int,
    max_meetings: int,
) -> None:
    """Rules an event must satisfy, shared by the input form and the stored model (ValueError)."""
    _unique(tuple(s[0] for s in slots), "slot_id")
    ordered = sorted(slots, key=lambda s: s[1])
    for before, after in pairwise(ordered):
        if after[1] < before[2]:
            raise ValueError(f"slots {before[0]!r} and {after[0]!r} overlap")
    group_ids = _unique(tuple(g.group_id for g in groups), "group_id")
    for g in groups:
        for other in g.meets:
            if other not in group_ids:
                raise ValueError(f"group {g.group_id!r} meets unknown group {other!r}")
    if min_meetings > max_meetings:
        raise ValueError("min_meetings must not exceed default_max_meetings")


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA timezone {value!r} (e.g. Europe/Brussels)") from exc
    return value


class EventCreate(_Frozen):
    """What an organiser sends to create (or replace) an event."""

    event_id: Identifier | None = Field(default=None, description="derived from the name when omitted")
    name: Name
    date: date
    location: str | None = Field(default=None, max_length=500)
    timezone: str = Field(default="Europe/Brussels", max_length=64)
    slots: tuple[SlotSpec, ...] = Field(min_length=1, max_length=MAX_SLOTS)
    tables: int = Field(ge=1, le=10_000, description="meetings that can run at the same time")
    default_max_meetings: int = Field(default=6, ge=1, le=MAX_MEETINGS_PER_ATTENDEE)
    min_meetings: int = Field(default=2, ge=0, le=MAX_MEETINGS_PER_ATTENDEE, description="fairness floor")
    groups: tuple[AttendeeGroup, ...] = Field(default=(), max_length=50)
    request_window: RequestWindow = Field(default_factory=RequestWindow)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return _check_timezone(value)

    @model_validator(mode="after")
    def _consistent(self) -> EventCreate:
        slots = self._slots()
        _check_event(
            [(s.slot_id, s.start, s.end) for s in slots],
            self.groups,
            self.min_meetings,
            self.default_max_meetings,
        )
        return self

    def _slots(self) -> list[TimeSlot]:
        slots = []
        for n, spec in enumerate(self.slots, start=1):
            start = (
                spec.start if isinstance(spec.start, datetime) else datetime.combine(self.date, spec.start)
            )
            if start.tzinfo is not None:
                raise ValueError(
                    "give slot starts as local times without offset; the event's timezone applies"
                )
            slots.append(
                TimeSlot(slot_id=spec.slot_id or f"s{n}", start=start, duration_minutes=spec.duration_minutes)
            )
        return slots

    def to_event(self, event_id: str, created_at: datetime | None) -> Event:
        slots = self._slots()
        return Event(
            event_id=event_id,
            name=self.name,
            date=self.date,
            location=self.location,
            timezone=self.timezone,
            slots=tuple(slots),
            tables=self.tables,
            default_max_meetings=self.default_max_meetings,
            min_meetings=self.min_meetings,
            groups=self.groups,
            request_window=self.request_window,
            created_at=created_at,
        )


class Event(_Frozen):
    """A match-making event: when meetings can happen, how many at once, who may meet whom."""

    event_id: Identifier
    name: Name
    date: date
    location: str | None = Field(default=None, max_length=500)
    timezone: str = Field(default="Europe/Brussels", max_length=64)
    slots: tuple[TimeSlot, ...] = Field(min_length=1, max_length=MAX_SLOTS)
    tables: int = Field(ge=1, le=10_000)
    default_max_meetings: int = Field(default=6, ge=1, le=MAX_MEETINGS_PER_ATTENDEE)
    min_meetings: int = Field(default=2, ge=0, le=MAX_MEETINGS_PER_ATTENDEE)
    groups: tuple[AttendeeGroup, ...] = Field(default=(), max_length=50)
    request_window: RequestWindow = Field(default_factory=RequestWindow)
    created_at: datetime | None = None

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return _check_timezone(value)

    @model_validator(mode="after")
    def _consistent(self) -> Event:
        slots = [(s.slot_id, s.start, s.end) for s in self.slots]
        _check_event(slots, self.groups, self.min_meetings, self.default_max_meetings)
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local_now(self) -> datetime:
        """Now, as a local time of the event's timezone (how its slots and deadlines are given)."""
        return datetime.now(self.tz).replace(tzinfo=None)

    @property
    def slot_index(self) -> dict[str, int]:
        return {s.slot_id: k for k, s in enumerate(self.slots)}

    def group_ids(self) -> tuple[str, ...]:
        return tuple(g.group_id for g in self.groups)

    def groups_may_meet(self, a: str | None, b: str | None) -> bool:
        """Whether attendees of groups ``a`` and ``b`` may meet (always, in an event without groups)."""
        if not self.groups:
            return True
        rules = {g.group_id: set(g.meets) for g in self.groups}
        return b in rules.get(a or "", set()) or a in rules.get(b or "", set())


# -- attendees --------------------------------------------------------------------------------


class _AttendeeWishes(_Frozen):
    """Fields an attendee states at registration (shared by the create, patch and stored forms)."""

    person: Name = Field(description="who attends, e.g. 'Jane Doe, head of training'")
    email: Email | None = None
    group: Identifier | None = None
    offer: OfferText = Field(default="", description="what they can offer (free text)")
    want: OfferText = Field(default="", description="what they look for (free text)")
    wanted_types: tuple[StakeholderType, ...] = Field(default=(), max_length=len(StakeholderType))
    wanted_ecosystems: tuple[Ecosystem, ...] = Field(default=(), max_length=len(Ecosystem))
    wanted_regions: tuple[NutsCode, ...] = Field(
        default=(), max_length=MAX_CODES, description="NUTS codes or countries"
    )
    availability: tuple[Identifier, ...] = Field(
        default=(), max_length=MAX_SLOTS, description="slot ids; empty = all"
    )
    max_meetings: int | None = Field(default=None, ge=0, le=MAX_MEETINGS_PER_ATTENDEE)
    must_meet: tuple[Identifier, ...] = Field(
        default=(), max_length=MAX_LIST, description="attendee or org ids"
    )
    no_thanks: tuple[Identifier, ...] = Field(
        default=(), max_length=MAX_LIST, description="attendee or org ids"
    )

    @field_validator("wanted_types", "wanted_ecosystems", "availability", "must_meet", "no_thanks")
    @classmethod
    def _dedupe_fields(cls, value: tuple[Any, ...]) -> tuple[Any, ...]:
        return _dedupe(value)

    @field_validator("wanted_regions", mode="before")
    @classmethod
    def _regions(cls, value: Any) -> Any:
        """One string of codes (``"DE1, FR"``, as a form or the CLI gives it) or a list of them;
        anything else is left for the field's type to refuse (``null`` is not a list)."""
        if isinstance(value, str):
            value = [v for v in re.split(r"[,;\s]+", value) if v]
        if not isinstance(value, list | tuple):
            return value
        return [_country_as_nuts(v) if isinstance(v, str) else v for v in value]

    @field_validator("wanted_regions")
    @classmethod
    def _nuts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _dedupe(validate_nuts_codes(value))


class AttendeeCreate(_AttendeeWishes):
    """A registration: an organisation from the store (``org_id``) or a new one (``organisation``).

    ``offer`` / ``want`` default to texts derived from the organisation's profile when left empty.
    """

    attendee_id: Identifier | None = Field(
        default=None, description="derived from org and person when omitted"
    )
    org_id: Identifier | None = None
    organisation: Organisation | None = None

    @model_validator(mode="after")
    def _org(self) -> AttendeeCreate:
        if (self.org_id is None) == (self.organisation is None):
            raise ValueError(
                "give exactly one of org_id (an organisation in the store) or organisation (a new one)"
            )
        return self

    @property
    def resolved_org_id(self) -> str:
        if self.organisation is not None:
            return self.organisation.org_id
        assert self.org_id is not None
        return self.org_id


class AttendeePatch(_Frozen):
    """A partial update of an attendee's stated fields (unset fields stay as they are)."""

    person: Name | None = None
    email: Email | None = None
    group: Identifier | None = None
    offer: OfferText | None = None
    want: OfferText | None = None
    wanted_types: tuple[StakeholderType, ...] | None = Field(default=None, max_length=len(StakeholderType))
    wanted_ecosystems: tuple[Ecosystem, ...] | None = Field(default=None, max_length=len(Ecosystem))
    wanted_regions: tuple[NutsCode, ...] | None = Field(default=None, max_length=MAX_CODES)
    availability: tuple[Identifier, ...] | None = Field(default=None, max_length=MAX_SLOTS)
    max_meetings: int | None = Field(default=None, ge=0, le=MAX_MEETINGS_PER_ATTENDEE)
    must_meet: tuple[Identifier, ...] | None = Field(default=None, max_length=MAX_LIST)
    no_thanks: tuple[Identifier, ...] | None = Field(default=None, max_length=MAX_LIST)


class Attendee(_AttendeeWishes):
    """A registered attendee, with the organisation profile it was scored from (denormalised so a
    schedule can be recomputed and explained from the event's own documents)."""

    attendee_id: Identifier
    org_id: Identifier
    org_name: Name
    stakeholder_type: StakeholderType
    country: CountryText | None = None
    nuts_codes: tuple[NutsCode, ...] = Field(default=(), max_length=MAX_CODES)
    ecosystems: tuple[Ecosystem, ...] = Field(default=(), max_length=MAX_ENUM_LIST)
    registered_at: datetime | None = None
    #: Agenda links carry this number; raising it revokes every link given out before.
    agenda_link_version: int = Field(default=0, ge=0)

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        return None if value is None or not value.strip() else normalise_country(value)

    @field_validator("nuts_codes")
    @classmethod
    def _own_nuts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return validate_nuts_codes(value)

    @property
    def label(self) -> str:
        return f"{self.person} ({self.org_name})"


def check_attendee(event: Event, attendee: _AttendeeWishes, row: str = "attendee") -> list[tuple[str, str]]:
    """Problems of an attendee against its event: ``(field, message)`` pairs, empty when fine.

    Kept apart from the model because an attendee is only valid relative to an event (its slots
    and groups), which a pydantic validator of the attendee alone cannot see.
    """
    issues: list[tuple[str, str]] = []
    slots = set(event.slot_index)
    unknown = [s for s in attendee.availability if s not in slots]
    if unknown:
        issues.append(
            (
                "availability",
                f"{row}: unknown slot(s) {', '.join(map(repr, unknown))}; event has {sorted(slots)}",
            )
        )
    groups = event.group_ids()
    if groups and attendee.group is None:
        issues.append(("group", f"{row}: this event has groups {list(groups)}; say which one"))
    elif attendee.group is not None and attendee.group not in groups:
        issues.append(
            ("group", f"{row}: unknown group {attendee.group!r}; event has {list(groups) or 'no groups'}")
        )
    return issues


# -- schedules --------------------------------------------------------------------------------

Side = Literal["a", "b", "both"]


class Reason(_Frozen):
    """One signal's share of a meeting's score (the shares add up to the score).

    ``side`` says whose interest it is: ``a`` wants what ``b`` offers, ``b`` wants what ``a`` offers,
    or ``both`` (e.g. a mutual request).
    """

    signal: str
    side: Side
    value: float
    evidence: str


class Meeting(_Frozen):
    meeting_id: str
    slot_id: str
    table: int = Field(ge=1)
    attendee_a: str
    attendee_b: str
    score: float
    reasons: tuple[Reason, ...] = ()
    why: str = Field(default="", description="short 'why you should meet', from the largest reasons")
    pinned: bool = Field(default=False, description="kept from the previous schedule, or an accepted request")


class UnmatchedAttendee(_Frozen):
    """An attendee below the fairness floor (or without meetings) and why."""

    attendee_id: str
    meetings: int
    floor: int
    reason: str


class DroppedMeeting(_Frozen):
    """A meeting of the previous schedule that could not be kept, and why."""

    attendee_a: str
    attendee_b: str
    slot_id: str
    reason: str


class ScheduleStats(_Frozen):
    solver: str = Field(description="milp (HiGHS) or greedy fallback")
    status: str
    objective: float = Field(description="total score minus the fairness penalty, as scheduled")
    selection_objective: float | None = Field(
        default=None,
        description="the same for the chosen introductions before slotting (None in older schedules)",
    )
    score_total: float
    lp_bound: float | None = Field(description="LP relaxation bound on the objective (over all pairs)")
    gap_to_bound: float | None
    greedy_objective: float = Field(description="the same objective for a plain score-greedy selection")
    greedy_score_total: float
    greedy_min_meetings: int
    meetings: int
    min_meetings: int
    mean_meetings: float
    candidate_edges: int
    pricing_rounds: int
    unplaced_after_selection: int = Field(description="selected meetings no slot could take (refilled after)")
    floor_method: str = Field(
        default="", description="how attendees short of their floor were raised (moves, exact repair)"
    )
    below_target: int = Field(
        default=0, description="attendees below min(floor, cap, partners with mutual interest)"
    )
    seconds: dict[str, float] = Field(default_factory=dict)


class Schedule(_Frozen):
    event_id: str
    generated_at: datetime
    encoder: str
    attendees: int
    meetings: tuple[Meeting, ...]
    unmatched: tuple[UnmatchedAttendee, ...] = ()
    dropped: tuple[DroppedMeeting, ...] = ()
    warnings: tuple[str, ...] = ()
    stats: ScheduleStats
    #: The versions of the attendee and request lists it was planned from (0: there was none;
    #: ``None``: not recorded, in schedules stored before versions existed). It is saved only
    #: while they are still those (:meth:`pactmatch.event_repository.EventRepository.put_schedule`).
    attendees_version: int | None = None
    requests_version: int | None = None


class AgendaItem(_Frozen):
    meeting_id: str
    slot_id: str
    start: datetime
    end: datetime
    table: int
    partner_id: str
    partner_person: str
    partner_org: str
    partner_org_id: str
    score: float
    why: str


class CancelledItem(_Frozen):
    """A meeting of the attendee's previous agenda that the current one no longer holds."""

    slot_id: str
    start: datetime
    end: datetime
    partner_id: str
    partner_person: str
    partner_org: str
    reason: str


class Agenda(_Frozen):
    event_id: str
    event_name: str
    timezone: str
    location: str | None
    attendee_id: str
    person: str
    org_name: str
    items: tuple[AgendaItem, ...]
    cancelled: tuple[CancelledItem, ...] = Field(
        default=(), description="meetings of the previous schedule not kept (calendar files cancel them)"
    )
    generated_at: datetime | None = Field(default=None, description="when the schedule was made")


# -- organiser summary ------------------------------------------------------------------------


class CountBin(_Frozen):
    meetings: int
    attendees: int


class ScoreBin(_Frozen):
    low: float
    high: float
    meetings: int


class ScoreSummary(_Frozen):
    min: float
    p10: float
    median: float
    mean: float
    p90: float
    max: float
    histogram: tuple[ScoreBin, ...]


class SlotLoad(_Frozen):
    slot_id: str
    start: datetime
    meetings: int
    tables: int


class EventSummary(_Frozen):
    """What an organiser checks before sending agendas out."""

    event_id: str
    event_name: str
    generated_at: datetime
    encoder: str
    attendees: int
    meetings: int
    capacity: int = Field(description="tables × slots")
    floor: int
    below_floor: int
    min_meetings: int
    mean_meetings: float
    max_meetings: int
    meetings_per_attendee: tuple[CountBin, ...]
    scores: ScoreSummary | None
    slots: tuple[SlotLoad, ...]
    unmatched: tuple[UnmatchedAttendee, ...]
    dropped: tuple[DroppedMeeting, ...]
    warnings: tuple[str, ...]
    stats: ScheduleStats
    requests: RequestStats | None = Field(default=None, description="None when nobody sent a request")
