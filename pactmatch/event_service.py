"""Match-making events as a service: registration, scheduling, agendas; the API and the CLI call it.

Events are kept by :class:`~pactmatch.event_repository.EventRepository` as documents in the store's
artifact area, each with a version. Every read-modify-write of a document here is a
compare-and-set retried until it lands (:func:`~pactmatch.documents.attempts`), so writers in
any number of processes (API workers, the CLI) never lose each other's changes; a caller that read
a version itself (an HTTP ``If-Match``) passes it as ``if_match`` and gets a
:class:`~domain.errors.VersionConflictError` when the document has moved on. Scheduling composes the store (memberships), the encoder (offers
and wants) and the pure optimiser (:mod:`matching.events`); :mod:`pactmatch.event_schedules`
translates between the optimiser's plan and the stored schedule.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt
from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import ValidationError
from scipy import sparse

from domain.accounts import Actor, Grant, Role
from domain.errors import (
    AuthenticationError,
    ConflictError,
    FieldIssue,
    InvalidInputError,
    NotFoundError,
    VersionConflictError,
)
from domain.events import (
    MAX_ATTENDEES,
    Agenda,
    AgendaItem,
    Attendee,
    AttendeeCreate,
    AttendeePatch,
    CancelledItem,
    Event,
    EventCreate,
    Schedule,
    check_attendee,
    slugify,
)
from domain.meeting_requests import ORGANISER, MeetingRequest, RequestState, pair_requests
from domain.models import Organisation, Partnership, StakeholderType
from embeddings import embed_texts
from graph.base import OrganisationFilter
from matching.events import PairScorer, ScheduleOptions, build_participants, met_before_pairs, plan_meetings
from matching.snapshot import Snapshot
from pactmatch.accounts import AccountService, changed_fields, signing_key
from pactmatch.documents import StaleWriteError, attempts
from pactmatch.event_profiles import ProfileWishes, partner_type_counts, profile_wishes
from pactmatch.event_repository import EventRepository
from pactmatch.event_schedules import (
    accepted_pins,
    dropped_from_plan,
    meetings_from_plan,
    pins_from_schedule,
    stats_from_plan,
    unmatched_from_plan,
)
from pactmatch.service import PactmatchService, Progress

#: How long an agenda link works (an event is over long before; revoking ends it at once).
AGENDA_LINK_LIFETIME = timedelta(days=90)
#: Attendee lists whose embedded offers and wants :meth:`EventService.pair_scorer` keeps.
_KEPT_INPUTS = 4


@dataclass(frozen=True)
class LinkHolder:
    """Whoever presents a valid agenda link: that attendee of that event, acting as ``actor``."""

    event_id: str
    attendee: Attendee
    actor: Actor


class Outcome(NamedTuple):
    event: Event
    attendees: list[Attendee]
    schedule: Schedule
    requests: list[MeetingRequest]


@dataclass
class RegistrationReport:
    registered: list[Attendee] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # e.g. already registered
    errors: list[FieldIssue] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(frozen=True)
class StoreSelection:
    """Which organisations of the store to register (all filters must hold)."""

    partnership_id: str | None = None
    country: str | None = None
    region: str | None = None
    stakeholder_type: StakeholderType | None = None
    limit: int = 300
    group: str | None = None
    person: str = "Delegate"
    order: str = "active"  # "active": most partnerships first (richest profiles); "name"


class EventService:
    """Everything an organiser does with an event; the API and the CLI call only this."""

    def __init__(
        self, service: PactmatchService, signing_secret: str | Callable[[], str] | None = None
    ) -> None:
        self.service = service
        self.repo = EventRepository(service.store)
        self.accounts = AccountService(service.store)
        self.audit = service.audit
        self._signing_secret = signing_secret
        self._inputs: dict[
            tuple[str, str], tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], set[tuple[int, int]]]
        ] = {}
        self._inputs_lock = threading.Lock()

    @cached_property
    def _links(self) -> URLSafeTimedSerializer:
        """Attendees open their agenda through a link signed with this (made on first use: the
        key may live in the store)."""
        secret = self._signing_secret
        key = secret() if callable(secret) else signing_key(self.service.store, secret)
        return URLSafeTimedSerializer(key, salt="agenda-link")

    # -- events -------------------------------------------------------------------------------
    def create_event(self, body: EventCreate, *, actor: Actor) -> Event:
        """Create an event; ``ConflictError`` when the id exists (use :meth:`replace_event`).
        An organiser who is not an admin becomes the new event's organiser."""
        event_id = body.event_id or slugify(f"{body.name}-{body.date.isoformat()}")
        event = body.to_event(event_id, datetime.now(UTC))
        try:
            self.repo.put_event(event, expected=0)
        except StaleWriteError:
            raise ConflictError(f"event {event_id!r} already exists") from None
        self.audit.record(actor, "event.create", f"event {event_id}")
        if actor.user is not None and not actor.is_admin:
            self.accounts.grant(actor.user.name, Grant(role=Role.ORGANISER, scope=event_id), actor)
        return event

    def replace_event(
        self, event_id: str, body: EventCreate, *, actor: Actor, if_match: int | None = None
    ) -> tuple[Event, bool]:
        """Create or replace; registered attendees must still fit (their slots and groups).
        ``if_match``: only over that version of the event (0: only create)."""
        if body.event_id is not None and body.event_id != event_id:
            message = "event_id in the body differs from the URL"
            raise InvalidInputError(message, [FieldIssue("event_id", message)])
        for attempt in attempts(f"event {event_id!r}"):
            with attempt:
                old, version = self._event_or_none(event_id)
                _check(if_match, version, f"event {event_id!r}")
                event, created = self._replaced(event_id, body, old)
                self.repo.put_event(event, expected=version)
        self.audit.record(actor, "event.create" if created else "event.update", f"event {event_id}")
        return event, created

    def _event_or_none(self, event_id: str) -> tuple[Event | None, int]:
        try:
            return self.repo.event_versioned(event_id)
        except NotFoundError:
            return None, 0

    def _replaced(self, event_id: str, body: EventCreate, old: Event | None) -> tuple[Event, bool]:
        """The event ``body`` makes of ``old`` (``None``: a new one), checked against its attendees."""
        created = old is None
        event = body.to_event(event_id, old.created_at if old and old.created_at else datetime.now(UTC))
        if old is not None and "request_window" not in body.model_fields_set:
            # a replacement that does not mention requests keeps the window the organiser set
            event = event.model_copy(update={"request_window": old.request_window})
        issues = [
            FieldIssue(f, m)
            for a in self.repo.attendees(event_id)
            for f, m in check_attendee(event, a, f"attendee {a.attendee_id}")
        ]
        if issues:
            raise _invalid("registered attendees do not fit the new event", issues[:50])
        return event, created

    def get_event(self, event_id: str) -> Event:
        return self.repo.get_event(event_id)

    def list_events(self) -> list[Event]:
        return self.repo.list_events()

    def get_event_versioned(self, event_id: str) -> tuple[Event, int]:
        """The event and the version of its document (an HTTP ETag)."""
        return self.repo.event_versioned(event_id)

    def delete_event(self, event_id: str, *, actor: Actor, if_match: int | None = None) -> None:
        for attempt in attempts(f"event {event_id!r}"):
            with attempt:
                _, version = self.repo.event_versioned(event_id)
                _check(if_match, version, f"event {event_id!r}")
                self.repo.delete_event(event_id, expected=version)
        self.audit.record(actor, "event.delete", f"event {event_id}")

    # -- attendees ----------------------------------------------------------------------------
    def attendees(self, event_id: str) -> list[Attendee]:
        return self.attendees_versioned(event_id)[0]

    def attendees_versioned(self, event_id: str) -> tuple[list[Attendee], int]:
        """The attendees and the version of their list (an HTTP ETag; 0 before the first)."""
        self.repo.get_event(event_id)
        return self.repo.attendees_versioned(event_id)

    def get_attendee(self, event_id: str, attendee_id: str) -> Attendee:
        return self.get_attendee_versioned(event_id, attendee_id)[0]

    def get_attendee_versioned(self, event_id: str, attendee_id: str) -> tuple[Attendee, int]:
        """The attendee and the version of the attendee list it is in (what a change checks)."""
        attendees, version = self.attendees_versioned(event_id)
        return _find_attendee(attendees, attendee_id)[1], version

    def register(self, event_id: str, body: AttendeeCreate, *, actor: Actor) -> Attendee:
        """Register one attendee (``InvalidInputError`` naming the field when it does not fit)."""
        report = self.register_many(event_id, [body], strict=True, actor=actor)
        return report.registered[0]

    def register_many(
        self,
        event_id: str,
        bodies: Sequence[AttendeeCreate],
        *,
        strict: bool = False,
        progress: Progress | None = None,
        actor: Actor,
    ) -> RegistrationReport:
        """Register attendees in one write. With ``strict`` any problem rejects the whole batch;
        otherwise bad rows are reported (field and row) and the rest registered."""
        started = time.perf_counter()
        event = self.repo.get_event(event_id)
        report = RegistrationReport()
        snapshot = self.service.snapshot() if any(not (b.offer and b.want) for b in bodies) else None
        titles: dict[str, Partnership] = {}
        prepared: list[tuple[int, AttendeeCreate, Organisation, ProfileWishes | None]] = []
        for row, body in enumerate(bodies, start=1):
            label = f"row {row}" if len(bodies) > 1 else "attendee"
            issues = [FieldIssue(f, m) for f, m in check_attendee(event, body, label)]
            org = body.organisation
            if org is None:
                try:
                    org = self.service.store.get_organisation(body.resolved_org_id)
                except NotFoundError:
                    issues.append(
                        FieldIssue("org_id", f"{label}: unknown organisation {body.resolved_org_id!r}")
                    )
            if issues:
                report.errors.extend(issues)
                continue
            assert org is not None
            wishes = None
            if snapshot is not None and not (body.offer and body.want):
                wishes = self._wishes(org, snapshot, titles)
            prepared.append((row, body, org, wishes))
            if progress:
                progress("profiles", row, len(bodies))
        if strict and report.errors:
            raise _invalid("registration rejected", report.errors)
        for _, body, org, _ in prepared:
            if body.organisation is not None:  # a new organisation joins the store (matchable elsewhere too)
                self.service.put_organisation(org, actor=actor)
        for attempt in attempts(f"the attendees of event {event_id!r}"):
            with attempt:
                current, version = self.repo.attendees_versioned(event_id)
                added, refused = self._added(current, prepared, strict=strict, batch=len(bodies) > 1)
                self.repo.put_attendees(event_id, [*current, *added], expected=version)
        report.registered.extend(added)
        report.errors.extend(refused)
        if report.registered:
            self.audit.record(
                actor,
                "event.register",
                f"event {event_id}: attendees {', '.join(a.attendee_id for a in report.registered[:20])}"
                + (f" and {len(report.registered) - 20} more" if len(report.registered) > 20 else ""),
            )
        report.seconds = time.perf_counter() - started
        return report

    @staticmethod
    def _added(
        current: list[Attendee],
        prepared: list[tuple[int, AttendeeCreate, Organisation, ProfileWishes | None]],
        *,
        strict: bool,
        batch: bool,
    ) -> tuple[list[Attendee], list[FieldIssue]]:
        """The attendees ``prepared`` adds to ``current``, and the rows refused (ids taken)."""
        taken = {a.attendee_id for a in current}
        added: list[Attendee] = []
        refused: list[FieldIssue] = []
        now = datetime.now(UTC)
        for row, body, org, wishes in prepared:
            label = f"row {row}" if batch else "attendee"
            attendee_id = body.attendee_id or _unique_id(slugify(f"{org.org_id}-{body.person}", 120), taken)
            if attendee_id in taken:
                issue = FieldIssue("attendee_id", f"{label}: attendee {attendee_id!r} is already registered")
                if strict:
                    raise ConflictError(issue.message)
                refused.append(issue)
                continue
            if len(current) + len(added) >= MAX_ATTENDEES:
                raise InvalidInputError(f"an event holds at most {MAX_ATTENDEES} attendees")
            added.append(_attendee(body, attendee_id, org, wishes, now))
            taken.add(attendee_id)
        return added, refused

    def _wishes(self, org: Organisation, snapshot: Snapshot, cache: dict[str, Partnership]) -> ProfileWishes:
        projects = []
        for m in self.service.store.memberships(org_id=org.org_id):
            if m.partnership_id not in cache:
                cache[m.partnership_id] = self.service.store.get_partnership(m.partnership_id)
            projects.append(cache[m.partnership_id])
        return profile_wishes(org, projects, partner_type_counts(snapshot, org.org_id))

    def register_from_store(
        self, event_id: str, selection: StoreSelection, progress: Progress | None = None, *, actor: Actor
    ) -> RegistrationReport:
        """Register organisations of the store, offers and wants taken from their profiles."""
        if not 1 <= selection.limit <= MAX_ATTENDEES:
            raise InvalidInputError(
                f"limit must be between 1 and {MAX_ATTENDEES}", [FieldIssue("limit", "out of range")]
            )
        event = self.repo.get_event(event_id)
        if selection.partnership_id:
            self.service.store.get_partnership(selection.partnership_id)
        flt = OrganisationFilter(
            country=selection.country,
            region=selection.region,
            stakeholder_type=selection.stakeholder_type,
            partnership_id=selection.partnership_id,
        )
        page = self.service.store.list_organisations(flt, 0, 1)
        orgs = self.service.store.list_organisations(flt, 0, max(page.total, 1)).items
        registered = {a.org_id for a in self.repo.attendees(event_id)}
        skipped = [o.org_id for o in orgs if o.org_id in registered]
        orgs = [o for o in orgs if o.org_id not in registered]
        if selection.order == "active":
            snapshot = self.service.snapshot()
            popularity = snapshot.org_popularity
            orgs.sort(
                key=lambda o: (
                    -popularity[snapshot.org_index[o.org_id]] if o.org_id in snapshot.org_index else 0,
                    o.org_id,
                )
            )
        group = selection.group
        if group is None and len(event.groups) == 1:
            group = event.groups[0].group_id
        bodies = [
            AttendeeCreate(org_id=o.org_id, person=selection.person, group=group)
            for o in orgs[: selection.limit]
        ]
        report = (
            self.register_many(event_id, bodies, progress=progress, actor=actor)
            if bodies
            else RegistrationReport()
        )
        report.skipped = skipped
        return report

    def update_attendee(
        self,
        event_id: str,
        attendee_id: str,
        patch: AttendeePatch,
        *,
        actor: Actor,
        if_match: int | None = None,
    ) -> Attendee:
        """Change what an attendee stated; ``if_match``: only over that version of the list."""
        event = self.repo.get_event(event_id)
        for attempt in attempts(f"the attendees of event {event_id!r}"):
            with attempt:
                current, version = self.repo.attendees_versioned(event_id)
                _check(if_match, version, f"the attendees of event {event_id!r}")
                k, old = _find_attendee(current, attendee_id)
                try:
                    updated = Attendee.model_validate(
                        {**old.model_dump(), **patch.model_dump(exclude_unset=True)}
                    )
                except ValidationError as exc:
                    raise _invalid(
                        "invalid attendee update",
                        [FieldIssue(".".join(map(str, e["loc"])), e["msg"]) for e in exc.errors()],
                    ) from exc
                issues = [FieldIssue(f, m) for f, m in check_attendee(event, updated)]
                if issues:
                    raise _invalid("attendee does not fit the event", issues)
                current[k] = updated
                self.repo.put_attendees(event_id, current, expected=version)
        self.audit.record(
            actor,
            "attendee.update",
            f"event {event_id}: attendee {attendee_id}",
            changed_fields(old, updated),
        )
        return updated

    def remove_attendee(
        self, event_id: str, attendee_id: str, *, actor: Actor, if_match: int | None = None
    ) -> None:
        """Cancel a registration; the next schedule keeps the partner's other meetings. Their
        pending and accepted requests are cancelled (the partners see why, and get their room
        back). ``if_match``: only from that version of the attendee list."""
        self.repo.get_event(event_id)
        for attempt in attempts(f"the attendees of event {event_id!r}"):
            with attempt:
                current, version = self.repo.attendees_versioned(event_id)
                _check(if_match, version, f"the attendees of event {event_id!r}")
                _find_attendee(current, attendee_id)
                kept = [a for a in current if a.attendee_id != attendee_id]
                self.repo.put_attendees(event_id, kept, expected=version)
        for attempt in attempts(f"the requests of event {event_id!r}"):
            with attempt:
                requests, version = self.repo.requests_versioned(event_id)
                now = datetime.now(UTC)
                closed = [
                    r.moved_to(
                        RequestState.CANCELLED, now, ORGANISER, f"{attendee_id} cancelled their registration"
                    )
                    if r.involves(attendee_id) and r.state.is_open
                    else r
                    for r in requests
                ]
                if closed != requests:
                    self.repo.put_requests(event_id, closed, expected=version)
        ended = [r.request_id for r, c in zip(requests, closed, strict=True) if r is not c]
        self.audit.record(
            actor,
            "attendee.delete",
            f"event {event_id}: attendee {attendee_id}",
            {"requests cancelled": [None, ended]} if ended else None,
        )

    # -- scheduling ---------------------------------------------------------------------------
    def schedule(
        self,
        event_id: str,
        *,
        keep_previous: bool = True,
        options: ScheduleOptions | None = None,
        progress: Progress | None = None,
        actor: Actor,
    ) -> Schedule:
        """Generate (or regenerate) the event's agendas and store them.

        With ``keep_previous`` the meetings of the stored schedule are pinned: kept in their slot
        and at their table when both attendees are still registered and may still meet then,
        otherwise reported as dropped with the reason.

        The schedule records the versions of the attendee and request lists it was planned from,
        and is saved only while they (and the stored schedule) are unchanged: when someone changed
        them meanwhile it is planned once more from the new lists, and when they change again
        during that, ``ConflictError`` (schedule again later).
        """
        for replan in (False, True):
            schedule, version = self._plan(event_id, keep_previous, options, progress)
            try:
                self.repo.put_schedule(schedule, expected=version)
                break
            except StaleWriteError:
                if replan:
                    _, attendees_now = self.repo.attendees_versioned(event_id)
                    _, requests_now = self.repo.requests_versioned(event_id)
                    raise ConflictError(
                        f"the attendees or requests of event {event_id!r} changed while it was being "
                        f"scheduled, twice (attendee list now version {attendees_now}, requests version "
                        f"{requests_now}): schedule again"
                    ) from None
        self.audit.record(actor, "event.schedule", f"event {event_id}: {len(schedule.meetings)} meetings", {})
        return schedule

    def _plan(
        self, event_id: str, keep_previous: bool, options: ScheduleOptions | None, progress: Progress | None
    ) -> tuple[Schedule, int]:
        """A schedule planned from the lists as they are now, and the version of the stored
        schedule it replaces (0: none)."""
        event = self.repo.get_event(event_id)
        attendees, attendees_version = self.repo.attendees_versioned(event_id)
        if len(attendees) < 2:
            raise InvalidInputError(
                f"event {event_id!r} has {len(attendees)} attendee(s); at least 2 are needed"
            )
        opts = options or ScheduleOptions(floor=event.min_meetings)
        started = time.perf_counter()
        offers, wants = self._wish_vectors(attendees, progress)
        embedded = time.perf_counter()
        met_before = met_before_pairs(self._membership_rows([a.org_id for a in attendees]))
        steps = {"embed": embedded - started, "memberships": time.perf_counter() - embedded}
        requests, requests_version = self.repo.requests_versioned(event_id)
        answered = pair_requests(requests)
        participants, rules, warnings = build_participants(
            event, attendees, offers, wants, met_before, asked=answered.asked, declined=answered.declined
        )
        warnings += _window_warnings(event, requests)
        ids = participants.ids
        stored, stored_version = self.repo.schedule_versioned(event_id)
        previous = stored if keep_previous else None
        pins, cancelled = pins_from_schedule(previous, event, ids, answered.called_off)
        pins += accepted_pins(answered.accepted, ids)

        plan = plan_meetings(participants, rules, event.tables, opts, pins, progress)

        explaining = time.perf_counter()
        meetings = meetings_from_plan(plan, event, ids, pins)
        explained = time.perf_counter()
        schedule = Schedule(
            event_id=event_id,
            generated_at=datetime.now(UTC),
            encoder=self.service.model_name,
            attendees=len(attendees),
            meetings=meetings,
            unmatched=unmatched_from_plan(plan, ids),
            dropped=(*cancelled, *dropped_from_plan(plan, event, ids)),
            warnings=tuple(warnings),
            stats=stats_from_plan(
                plan.stats,
                before=steps,
                after={"explain": explained - explaining, "total": explained - started},
            ),
            attendees_version=attendees_version,
            requests_version=requests_version,
        )
        return schedule, stored_version

    def pair_scorer(self, event_id: str) -> tuple[Event, list[Attendee], PairScorer]:
        """The event, its attendees and their pair scores as the scheduler sees them now (requests
        included; row ``i`` is ``attendees[i]``), for the attendees' view of each other.

        Embedded offers and wants and "met before" pairs are kept for the last few attendee lists
        (keyed by a digest of the document), so browsing does not re-read the cache and the
        memberships on every page; the rules, cheap, follow the requests as they change.
        """
        event = self.repo.get_event(event_id)
        attendees, digest = self.repo.attendees_and_digest(event_id)
        key = (event_id, digest)
        with self._inputs_lock:
            inputs = self._inputs.get(key)
        if inputs is None:
            offers, wants = self._wish_vectors(attendees, None)
            inputs = (offers, wants, met_before_pairs(self._membership_rows([a.org_id for a in attendees])))
            with self._inputs_lock:
                while len(self._inputs) >= _KEPT_INPUTS:
                    self._inputs.pop(next(iter(self._inputs)))
                self._inputs[key] = inputs
        answered = pair_requests(self.repo.requests(event_id))
        participants, rules, _ = build_participants(
            event, attendees, *inputs, asked=answered.asked, declined=answered.declined
        )
        return event, attendees, PairScorer(participants, rules)

    def _wish_vectors(
        self, attendees: Sequence[Attendee], progress: Progress | None
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """Offer and want vectors, a row per attendee, embedded in one pass through the cache."""
        texts = [a.offer for a in attendees] + [a.want for a in attendees]
        done = [0]

        def embedded(k: int) -> None:
            done[0] += k
            if progress:
                progress("embed offers and wants", done[0], len(texts))

        vectors, _ = embed_texts(self.service.encoder, texts, self.service.cache, on_progress=embedded)
        for k, t in enumerate(texts):  # an empty text has no meaning, whatever the encoder says
            if not t.strip():
                vectors[k] = 0.0
        return vectors[: len(attendees)], vectors[len(attendees) :]

    def _membership_rows(self, org_ids: Sequence[str]) -> sparse.csr_matrix:
        """(attendees × partnerships) membership rows: the attendees' slice of the snapshot's
        membership matrix, read straight from the store.

        Reading ~n membership lists costs milliseconds, while the full snapshot costs seconds at
        CORDIS scale and is rebuilt whenever the store's version moves — which every event write
        (an artifact) does. The rows are the same either way.
        """
        columns: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        lists: dict[str, list[str]] = {}
        for k, org_id in enumerate(org_ids):
            if org_id not in lists:
                lists[org_id] = [m.partnership_id for m in self.service.store.memberships(org_id=org_id)]
            for pid in lists[org_id]:
                rows.append(k)
                cols.append(columns.setdefault(pid, len(columns)))
        return sparse.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(org_ids), max(len(columns), 1))
        )

    def get_schedule(self, event_id: str) -> Schedule:
        return self.get_schedule_versioned(event_id)[0]

    def get_schedule_versioned(self, event_id: str) -> tuple[Schedule, int]:
        """The stored schedule and the version of its document."""
        self.repo.get_event(event_id)
        schedule, version = self.repo.schedule_versioned(event_id)
        if schedule is None:
            raise NotFoundError("schedule of event", event_id)
        return schedule, version

    # -- agendas ------------------------------------------------------------------------------
    def agendas(self, event_id: str, attendee_ids: Sequence[str] | None = None) -> list[Agenda]:
        """Per-attendee agendas from the stored schedule (attendees in registration order)."""
        event = self.repo.get_event(event_id)
        schedule = self.get_schedule(event_id)
        attendees = {a.attendee_id: a for a in self.repo.attendees(event_id)}
        wanted = list(attendee_ids) if attendee_ids is not None else list(attendees)
        for aid in wanted:
            if aid not in attendees:
                raise NotFoundError("attendee", aid)
        slots = {s.slot_id: s for s in event.slots}
        items: dict[str, list[AgendaItem]] = {aid: [] for aid in wanted}
        for m in schedule.meetings:
            for me, other in ((m.attendee_a, m.attendee_b), (m.attendee_b, m.attendee_a)):
                if me in items and other in attendees and m.slot_id in slots:
                    partner, slot = attendees[other], slots[m.slot_id]
                    items[me].append(
                        AgendaItem(
                            meeting_id=m.meeting_id,
                            slot_id=m.slot_id,
                            start=slot.start,
                            end=slot.end,
                            table=m.table,
                            partner_id=other,
                            partner_person=partner.person,
                            partner_org=partner.org_name,
                            partner_org_id=partner.org_id,
                            score=m.score,
                            why=m.why,
                        )
                    )
        cancelled: dict[str, list[CancelledItem]] = {aid: [] for aid in wanted}
        for d in schedule.dropped:
            for me, other in ((d.attendee_a, d.attendee_b), (d.attendee_b, d.attendee_a)):
                if me in cancelled and d.slot_id in slots:
                    was = attendees.get(other)  # None when the partner cancelled
                    cancelled[me].append(
                        CancelledItem(
                            slot_id=d.slot_id, start=slots[d.slot_id].start, end=slots[d.slot_id].end,
                            partner_id=other, partner_person=was.person if was else other,
                            partner_org=was.org_name if was else "", reason=d.reason,
                        )
                    )  # fmt: skip
        return [
            Agenda(
                event_id=event.event_id,
                event_name=event.name,
                timezone=event.timezone,
                location=event.location,
                attendee_id=aid,
                person=attendees[aid].person,
                org_name=attendees[aid].org_name,
                items=tuple(sorted(items[aid], key=lambda i: i.start)),
                cancelled=tuple(cancelled[aid]),
                generated_at=schedule.generated_at,
            )
            for aid in wanted
        ]

    # -- attendees' own agenda links ------------------------------------------------------------
    def agenda_link(self, event_id: str, attendee_id: str, *, actor: Actor) -> tuple[str, datetime]:
        """A token that opens this attendee's agenda (``/agenda/{token}``), and when it expires.

        Signed, not stored: it carries the event, the attendee and their link version, so it
        works on every API process and stops working when the version moves on
        (:meth:`revoke_agenda_links`) or after :data:`AGENDA_LINK_LIFETIME`.
        """
        attendee = self.get_attendee(event_id, attendee_id)
        token = self._links.dumps([event_id, attendee_id, attendee.agenda_link_version])
        self.audit.record(actor, "agenda-link.create", f"event {event_id}: attendee {attendee_id}")
        return token, datetime.now(UTC) + AGENDA_LINK_LIFETIME

    def agenda_links(self, event_id: str, *, actor: Actor) -> list[tuple[Attendee, str, datetime]]:
        """Every attendee's link (as :meth:`agenda_link` makes them) with its expiry, made with one
        read of the attendees and one audit entry for the lot (what publishing an event does)."""
        self.repo.get_event(event_id)
        expires = datetime.now(UTC) + AGENDA_LINK_LIFETIME
        attendees = self.repo.attendees(event_id)
        links = [
            (a, self._links.dumps([event_id, a.attendee_id, a.agenda_link_version]), expires)
            for a in attendees
        ]
        self.audit.record(actor, "agenda-link.create", f"event {event_id}: {len(links)} attendees")
        return links

    def revoke_agenda_links(
        self, event_id: str, attendee_id: str, *, actor: Actor, if_match: int | None = None
    ) -> None:
        """Make every link given out for this attendee so far stop working."""
        self.repo.get_event(event_id)
        for attempt in attempts(f"the attendees of event {event_id!r}"):
            with attempt:
                current, version = self.repo.attendees_versioned(event_id)
                _check(if_match, version, f"the attendees of event {event_id!r}")
                k, a = _find_attendee(current, attendee_id)
                current[k] = a.model_copy(update={"agenda_link_version": a.agenda_link_version + 1})
                self.repo.put_attendees(event_id, current, expected=version)
        self.audit.record(actor, "agenda-link.revoke", f"event {event_id}: attendee {attendee_id}")

    def link_holder(self, token: str) -> LinkHolder:
        """Who holds this agenda link: the check every attendee route makes first.
        ``AuthenticationError`` (one message for every reason, so a guessed token learns nothing)
        when it is forged, expired or revoked."""
        refused = AuthenticationError(
            "this agenda link is not valid (any more): ask the organiser for a new one"
        )
        try:
            event_id, attendee_id, version = self._links.loads(
                token, max_age=int(AGENDA_LINK_LIFETIME.total_seconds())
            )
            attendee = self.get_attendee(str(event_id), str(attendee_id))
        except (BadSignature, NotFoundError, ValueError, TypeError) as exc:
            raise refused from exc
        if attendee.agenda_link_version != version:
            raise refused
        return LinkHolder(str(event_id), attendee, Actor.attendee(str(event_id), attendee.attendee_id))

    def agenda_for_link(self, token: str) -> Agenda:
        """The agenda an attendee's link opens (see :meth:`link_holder`)."""
        holder = self.link_holder(token)
        return self.agenda(holder.event_id, holder.attendee.attendee_id)

    def agenda(self, event_id: str, attendee_id: str) -> Agenda:
        return self.agendas(event_id, [attendee_id])[0]

    # -- entry points of the API and the CLI (what both did by hand around the methods above) ---
    def find_attendees(
        self, event_id: str, group: str | None = None, text: str | None = None
    ) -> list[Attendee]:
        """Attendees of ``group`` whose person or organisation name contains ``text`` (either case)."""
        return self.find_attendees_versioned(event_id, group, text)[0]

    def find_attendees_versioned(
        self, event_id: str, group: str | None = None, text: str | None = None
    ) -> tuple[list[Attendee], int]:
        """:meth:`find_attendees`, and the version of the attendee list they were found in."""
        items, version = self.attendees_versioned(event_id)
        if group is not None:
            items = [a for a in items if a.group == group]
        if text:
            needle = text.lower()
            items = [a for a in items if needle in a.person.lower() or needle in a.org_name.lower()]
        return items, version

    def schedule_with(
        self,
        event_id: str,
        *,
        keep_previous: bool,
        floor: int | None,
        time_limit: float,
        mip_rel_gap: float,
        solver: Literal["milp", "greedy"],
        progress: Progress | None = None,
        actor: Actor,
    ) -> Schedule:
        """:meth:`schedule` with the solver settings a user gives; no ``floor`` means the event's
        ``min_meetings``."""
        event = self.get_event(event_id)
        options = ScheduleOptions(
            floor=event.min_meetings if floor is None else floor,
            time_limit=time_limit,
            mip_rel_gap=mip_rel_gap,
            solver=solver,
        )
        return self.schedule(
            event_id, keep_previous=keep_previous, options=options, progress=progress, actor=actor
        )

    def outcome(self, event_id: str) -> Outcome:
        """The event, its attendees, its stored schedule and the requests: what summaries and
        exports are made of (``NotFoundError`` for an unknown event, then for an event not
        scheduled yet)."""
        event = self.get_event(event_id)
        schedule = self.get_schedule(event_id)
        return Outcome(event, self.attendees(event_id), schedule, self.repo.requests(event_id))

    def overview(self) -> list[tuple[Event, int, Schedule | None]]:
        """Every event with its number of attendees and its stored schedule, if any."""
        return [
            (e, len(self.repo.attendees(e.event_id)), self.repo.schedule(e.event_id))
            for e in self.list_events()
        ]


def _window_warnings(event: Event, requests: Sequence[MeetingRequest]) -> list[str]:
    """A schedule made while attendees may still send and answer requests misses what they do
    next: say so (requests are meant to close first)."""
    window = event.request_window
    if not requests and window.closes_at is None:
        return []
    if window.state_at(event.local_now()) != "open":
        return []
    pending = sum(1 for r in requests if r.state == RequestState.PENDING)
    until = f"until {window.closes_at:%Y-%m-%d %H:%M}" if window.closes_at else "with no deadline"
    return [
        f"the request window is still open ({until}; {pending} request(s) pending): "
        "schedule again after it closes to include later requests and answers"
    ]


def _check(if_match: int | None, version: int, what: str) -> None:
    """The caller's precondition: ``version`` is the one they read (``None``: no condition)."""
    if if_match is not None and if_match != version:
        now = f"is at version {version}" if version else "does not exist"
        raise VersionConflictError(f"{what} {now}, not version {if_match}: read it again", version)


def _find_attendee(attendees: Sequence[Attendee], attendee_id: str) -> tuple[int, Attendee]:
    for k, a in enumerate(attendees):
        if a.attendee_id == attendee_id:
            return k, a
    raise NotFoundError("attendee", attendee_id)


def _invalid(message: str, issues: list[FieldIssue]) -> InvalidInputError:
    """An InvalidInputError whose message also lists the issues (the CLI prints only the message)."""
    detail = "; ".join(f"{i.field}: {i.message}" for i in issues[:10])
    more = f" (and {len(issues) - 10} more)" if len(issues) > 10 else ""
    return InvalidInputError(f"{message}: {detail}{more}" if detail else message, issues)


def _unique_id(base: str, taken: set[str]) -> str:
    candidate, k = base, 2
    while candidate in taken:
        candidate = f"{base}-{k}"
        k += 1
    return candidate


def _attendee(
    body: AttendeeCreate, attendee_id: str, org: Organisation, wishes: ProfileWishes | None, now: datetime
) -> Attendee:
    data = body.model_dump(exclude={"attendee_id", "org_id", "organisation"})
    if wishes is not None:
        data["offer"] = body.offer or wishes.offer
        data["want"] = body.want or wishes.want
        if not body.wanted_types and not body.want:
            data["wanted_types"] = wishes.wanted_types
    return Attendee(
        **data,
        attendee_id=attendee_id,
        org_id=org.org_id,
        org_name=org.name,
        stakeholder_type=org.stakeholder_type,
        country=org.country,
        nuts_codes=org.nuts_codes,
        ecosystems=org.ecosystems,
        registered_at=now,
    )
