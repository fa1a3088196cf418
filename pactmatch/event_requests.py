"""Attendees ask each other to meet, through their agenda link; the organiser oversees it.

Through the link an attendee browses the others (each with the pair's reciprocal score and why they
should meet, as the scheduler sees them), sends requests with a short message, accepts, declines
or withdraws, and reads what changed for them. The organiser sets the request window, sees every
request, cancels one, enters one for an attendee or answers for them (a help desk, a paper form),
and pins a meeting (a request accepted at once). Requests live in their own event document
(:meth:`~pactmatch.event_repository.EventRepository.requests`), each change a compare-and-set on
its version retried until it lands (:func:`~pactmatch.documents.attempts`);
every change is in the request's history and the audit log.

The states: ``pending`` -> ``accepted`` | ``declined`` (the recipient) | ``withdrawn`` (the sender)
| ``cancelled`` (the organiser); ``accepted`` -> ``declined`` (a change of mind calls the meeting
off) | ``withdrawn`` | ``cancelled``; the other three are final.

The rules: a request needs the window open, two attendees whose groups may meet, who share a slot
and whom no "no thanks" keeps apart, and no standing (pending or accepted) or declined request
between the pair; a sender has at most the window's ``max_open_per_attendee`` standing requests;
a request can be accepted only while the pair may still meet and both sides have room (accepted
requests up to their cap). The organiser is bound by neither the window nor the limit of standing
requests, by every other rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import numpy as np

from domain.accounts import Actor
from domain.errors import ConflictError, FieldIssue, InvalidInputError, NotFoundError, PermissionDeniedError
from domain.events import Attendee, Event, Schedule
from domain.meeting_requests import (
    ORGANISER,
    AttendeeCard,
    MeetingRequest,
    NoticeKind,
    Notification,
    RequestChange,
    RequestCreate,
    RequestState,
    RequestView,
    RequestWindow,
    RequestWithNames,
)
from domain.models import StakeholderType
from graph.base import Page
from pactmatch.documents import attempts
from pactmatch.event_schedules import why_text
from pactmatch.event_service import EventService

Answer = Literal["accept", "decline", "withdraw"]
#: Who may give each answer, and from which states.
_ANSWERS: dict[Answer, tuple[Literal["sender", "recipient"], tuple[RequestState, ...], RequestState]] = {
    "accept": ("recipient", (RequestState.PENDING,), RequestState.ACCEPTED),
    "decline": ("recipient", (RequestState.PENDING, RequestState.ACCEPTED), RequestState.DECLINED),
    "withdraw": ("sender", (RequestState.PENDING, RequestState.ACCEPTED), RequestState.WITHDRAWN),
}
_NOTICE: dict[RequestState, NoticeKind] = {
    RequestState.PENDING: "request.received",
    RequestState.ACCEPTED: "request.accepted",
    RequestState.DECLINED: "request.declined",
    RequestState.WITHDRAWN: "request.withdrawn",
    RequestState.CANCELLED: "request.cancelled",
}


@dataclass(frozen=True)
class AttendeeQuery:
    """How an attendee filters and sorts the others."""

    text: str | None = None  # in the person, organisation, offer or want (either case)
    group: str | None = None
    stakeholder_type: StakeholderType | None = None
    country: str | None = None
    min_score: float = 0.0
    meetable_only: bool = False  # only those a request can go to
    request: Literal["any", "none", "sent", "received"] = "any"
    sort: Literal["score", "name"] = "score"
    offset: int = 0
    limit: int = 20


@dataclass(frozen=True)
class Allowance:
    """What an attendee may do with requests now: the window (local times of ``timezone``), its
    state, and their standing (pending or accepted) requests against the event's limit."""

    window: RequestWindow
    state: Literal["not open yet", "open", "closed"]
    timezone: str
    standing: int

    @property
    def limit(self) -> int:
        return self.window.max_open_per_attendee

    @property
    def may_send(self) -> bool:
        return self.state == "open" and self.standing < self.limit


class RequestService:
    """Meeting requests: the attendees' side (by agenda link) and the organiser's."""

    def __init__(self, events: EventService) -> None:
        self.events = events
        self.repo = events.repo
        self.audit = events.audit

    # -- the attendee's side ------------------------------------------------------------------
    def others(self, token: str, query: AttendeeQuery) -> Page[AttendeeCard]:
        """The other attendees as the link's holder sees them, filtered and sorted."""
        holder = self.events.link_holder(token)
        event, attendees, scorer = self.events.pair_scorer(holder.event_id)
        if holder.attendee.attendee_id not in scorer.p.ids:  # unregistered a moment ago
            raise NotFoundError("attendee", holder.attendee.attendee_id)
        me = scorer.p.ids.index(holder.attendee.attendee_id)
        scores, allowed = scorer.rows(np.array([me]))
        mine = _views(self.repo.requests(holder.event_id), holder.attendee.attendee_id)
        needle = (query.text or "").lower()
        rows = []
        for j, other in enumerate(attendees):
            if j == me:
                continue
            view = mine.get(other.attendee_id)
            blocked = _blocked(event, holder.attendee, other)
            if query.meetable_only and blocked:
                continue
            if query.request != "any" and (view.direction if view else "none") != query.request:
                continue
            if query.group and other.group != query.group:
                continue
            if query.stakeholder_type and other.stakeholder_type != query.stakeholder_type:
                continue
            if query.country and other.country != query.country.upper():
                continue
            if (
                needle
                and needle not in " ".join((other.person, other.org_name, other.offer, other.want)).lower()
            ):
                continue
            if float(scores[0, j]) < query.min_score:
                continue
            rows.append((j, other, view, blocked))
        if query.sort == "score":
            rows.sort(key=lambda r: (-float(scores[0, r[0]]), r[1].person.lower()))
        else:
            rows.sort(key=lambda r: (r[1].person.lower(), r[1].org_name.lower()))
        page = rows[query.offset : query.offset + query.limit]
        cards = []
        for j, other, view, blocked in page:
            score = float(scores[0, j])
            if blocked:
                why = blocked
            elif score > 0:
                why = why_text(scorer.explain(me, j))
            elif scorer.rules.vetoes[me, j] > 0:
                why = "not to be proposed: a 'no thanks' or a declined request"
            elif not allowed[0, j]:
                why = "you already work together: send a request if you want to meet all the same"
            else:
                why = "no match between what you look for and what they offer"
            cards.append(
                AttendeeCard(
                    attendee_id=other.attendee_id, person=other.person, org_id=other.org_id,
                    org_name=other.org_name, stakeholder_type=other.stakeholder_type, country=other.country,
                    group=other.group, offer=other.offer, want=other.want, score=round(score, 6),
                    may_meet=not blocked and scorer.rules.vetoes[me, j] == 0, why=why, request=view,
                )
            )  # fmt: skip
        return Page(cards, len(rows), query.offset, query.limit)

    def mine(
        self,
        token: str,
        state: RequestState | None = None,
        direction: Literal["sent", "received"] | None = None,
    ) -> list[RequestWithNames]:
        """The holder's requests, sent and received, newest first (both sides see the same states)."""
        holder = self.events.link_holder(token)
        me = holder.attendee.attendee_id
        picked = [
            r
            for r in self.repo.requests(holder.event_id)
            if r.involves(me)
            and (state is None or r.state == state)
            and (direction is None or (r.sender == me) == (direction == "sent"))
        ]
        return self._named(holder.event_id, picked[::-1])

    def allowance(self, token: str) -> Allowance:
        """Whether the link's holder may send and answer requests now, and how many they have standing."""
        holder = self.events.link_holder(token)
        event = self.repo.get_event(holder.event_id)
        me = holder.attendee.attendee_id
        standing = sum(1 for r in self.repo.requests(holder.event_id) if r.sender == me and r.state.is_open)
        window = event.request_window
        return Allowance(window, window.state_at(event.local_now()), event.timezone, standing)

    def send(self, token: str, body: RequestCreate) -> RequestWithNames:
        """A new request from the link's holder (see the module doc for the rules)."""
        holder = self.events.link_holder(token)
        return self._send(holder.event_id, holder.attendee.attendee_id, body, holder.actor)

    def answer(self, token: str, request_id: str, answer: Answer) -> RequestWithNames:
        """Accept, decline or withdraw one of the holder's requests."""
        holder = self.events.link_holder(token)
        return self._answer(holder.event_id, request_id, answer, holder.actor, holder.attendee.attendee_id)

    def _send(
        self,
        event_id: str,
        me: str,
        body: RequestCreate,
        actor: Actor,
        *,
        organiser: bool = False,
        confirmed: bool = False,
        note: str = "",
    ) -> RequestWithNames:
        """``me`` asks ``body.to``; ``organiser``: entered by the organiser (no window, no limit of
        standing requests), ``confirmed``: accepted at once (a pin, room under both caps needed)."""
        for attempt in attempts(f"the requests of event {event_id!r}"):
            with attempt:
                event = self.repo.get_event(event_id)
                if not organiser:
                    self._window_open(event)
                people = {a.attendee_id: a for a in self.repo.attendees(event_id)}
                if me not in people:
                    raise NotFoundError("attendee", me)
                if body.to == me:
                    raise InvalidInputError(
                        "you cannot ask to meet yourself", [FieldIssue("to", "cannot ask to meet yourself")]
                    )
                if body.to not in people:
                    unknown = f"no attendee {body.to!r} at this event"
                    raise InvalidInputError(unknown, [FieldIssue("to", unknown)])
                blocked = _blocked(event, people[me], people[body.to])
                if blocked:
                    refused = f"{me} and {body.to} cannot meet here: {blocked}"
                    raise InvalidInputError(refused, [FieldIssue("to", refused)])
                requests, version = self.repo.requests_versioned(event_id)
                for r in requests:
                    if (
                        r.involves(me)
                        and r.involves(body.to)
                        and (r.state.is_open or r.state == RequestState.DECLINED)
                    ):
                        raise ConflictError(_standing(r, me))
                limit = event.request_window.max_open_per_attendee
                standing = sum(1 for r in requests if r.sender == me and r.state.is_open)
                if not organiser and standing >= limit:
                    raise ConflictError(
                        f"you have {standing} requests pending or accepted, the most this event allows ({limit}): "
                        "withdraw one to send another"
                    )
                now = datetime.now(UTC)
                by = ORGANISER if organiser else me
                request = MeetingRequest.model_validate(
                    {
                        "request_id": f"r{len(requests) + 1}", "sender": me, "recipient": body.to,
                        "message": body.message, "state": RequestState.PENDING,
                        "history": [{"at": now, "state": RequestState.PENDING, "by": by, "note": note}],
                    }
                )  # fmt: skip
                if confirmed:
                    self._may_accept(event, people, requests, request, viewer=None)
                    request = request.model_copy(
                        update={
                            "state": RequestState.ACCEPTED,
                            "history": (
                                RequestChange(at=now, state=RequestState.ACCEPTED, by=by, note=note),
                            ),
                        }
                    )
                self.repo.put_requests(event_id, [*requests, request], expected=version)
        self.audit.record(
            actor,
            "request.pin" if confirmed else "request.send",
            f"event {event_id}: request {request.request_id} {me} -> {body.to}"
            + (" (entered by the organiser)" if organiser else ""),
            {"state": [None, request.state.value]},
        )
        return self._named(event_id, [request])[0]

    def _answer(
        self, event_id: str, request_id: str, answer: Answer, actor: Actor, me: str | None, note: str = ""
    ) -> RequestWithNames:
        """``me`` answers (their side only, inside the window); ``me=None``: the organiser answers
        for the side the answer belongs to, window or not."""
        side, from_states, to_state = _ANSWERS[answer]
        for attempt in attempts(f"the requests of event {event_id!r}"):
            with attempt:
                event = self.repo.get_event(event_id)
                requests, version = self.repo.requests_versioned(event_id)
                k, request = _find(requests, request_id)
                if me is not None and not request.involves(me):
                    raise NotFoundError("request", request_id)  # someone else's: as if it did not exist
                if me is not None and getattr(request, side) != me:
                    raise PermissionDeniedError(f"only the request's {side} can {answer} it")
                if request.state not in from_states:
                    raise ConflictError(
                        f"request {request_id} is {request.state.value}: it cannot be {to_state.value}"
                    )
                if me is not None:
                    self._window_open(event)
                if to_state == RequestState.ACCEPTED:
                    people = {a.attendee_id: a for a in self.repo.attendees(event_id)}
                    self._may_accept(event, people, requests, request, viewer=me)
                updated = request.moved_to(to_state, datetime.now(UTC), me or ORGANISER, note)
                requests[k] = updated
                self.repo.put_requests(event_id, requests, expected=version)
        self.audit.record(
            actor,
            f"request.{answer}",
            f"event {event_id}: request {request_id}"
            + (f" (for its {side}, by the organiser)" if me is None else ""),
            {"state": [request.state.value, to_state.value]},
        )
        return self._named(event_id, [updated])[0]

    def notifications(self, token: str, since: datetime | None = None) -> list[Notification]:
        """What changed for the holder after ``since`` (everything without it), newest first:
        requests received and answered by others or the organiser, and agenda updates."""
        holder = self.events.link_holder(token)
        me = holder.attendee.attendee_id
        after = None if since is None else (since if since.tzinfo else since.replace(tzinfo=UTC))
        people = {a.attendee_id: a for a in self.repo.attendees(holder.event_id)}
        out: list[Notification] = []
        for r in self.repo.requests(holder.event_id):
            if not r.involves(me):
                continue
            other = people.get(r.other(me))
            who = f"{other.person} ({other.org_name})" if other else r.other(me)
            for change in r.history:
                if change.by == me or (after is not None and change.at <= after):
                    continue
                out.append(
                    Notification(
                        at=change.at, kind=_NOTICE[change.state], text=_notice_text(change, who, r, me),
                        request_id=r.request_id, other_id=r.other(me),
                    )
                )  # fmt: skip
        schedule = self.repo.schedule(holder.event_id)
        if schedule is not None and (after is None or schedule.generated_at > after):
            agenda = self.events.agenda(holder.event_id, me)
            text = f"your agenda was updated: {len(agenda.items)} meeting(s)"
            if agenda.cancelled:
                text += f", {len(agenda.cancelled)} of the previous one not kept"
            out.append(Notification(at=schedule.generated_at, kind="agenda.updated", text=text))
        return sorted(out, key=lambda n: n.at, reverse=True)

    # -- the organiser's side -----------------------------------------------------------------
    def requests(
        self,
        event_id: str,
        state: RequestState | None = None,
        attendee_id: str | None = None,
        *,
        text: str | None = None,
    ) -> list[RequestWithNames]:
        """Every request of the event (filtered), newest first; ``text``: in either side's attendee
        id, name or organisation (either case)."""
        self.repo.get_event(event_id)
        picked = [
            r
            for r in self.repo.requests(event_id)
            if (state is None or r.state == state) and (attendee_id is None or r.involves(attendee_id))
        ]
        named = self._named(event_id, picked[::-1])
        if text:
            needle = text.lower()
            named = [
                i for i in named
                if needle in " ".join((i.request.sender, i.request.recipient, i.sender_person, i.sender_org,
                                      i.recipient_person, i.recipient_org)).lower()
            ]  # fmt: skip
        return named

    def send_for(
        self,
        event_id: str,
        sender: str,
        body: RequestCreate,
        *,
        confirmed: bool = False,
        note: str = "",
        actor: Actor,
    ) -> RequestWithNames:
        """A request the organiser enters for attendee ``sender`` (asked at the help desk, on a
        paper form), or with ``confirmed`` a meeting the organiser pins: accepted at once, which
        needs room under both caps. The organiser is bound neither by the window nor by the limit
        of standing requests; every other rule holds (a declined request stays declined)."""
        return self._send(event_id, sender, body, actor, organiser=True, confirmed=confirmed, note=note)

    def answer_for(
        self, event_id: str, request_id: str, answer: Answer, note: str = "", *, actor: Actor
    ) -> RequestWithNames:
        """The organiser gives an answer for the side it belongs to (the recipient accepts or
        declines, the sender withdraws), window or not; both attendees are notified."""
        return self._answer(event_id, request_id, answer, actor, None, note)

    def cancel(self, event_id: str, request_id: str, note: str = "", *, actor: Actor) -> RequestWithNames:
        """Take a pending or accepted request off (the organiser's word wins, window or not)."""
        for attempt in attempts(f"the requests of event {event_id!r}"):
            with attempt:
                self.repo.get_event(event_id)
                requests, version = self.repo.requests_versioned(event_id)
                k, request = _find(requests, request_id)
                if not request.state.is_open:
                    raise ConflictError(f"request {request_id} is {request.state.value} already")
                requests[k] = request.moved_to(RequestState.CANCELLED, datetime.now(UTC), ORGANISER, note)
                self.repo.put_requests(event_id, requests, expected=version)
        self.audit.record(
            actor,
            "request.cancel",
            f"event {event_id}: request {request_id}",
            {"state": [request.state.value, RequestState.CANCELLED.value]},
        )
        return self._named(event_id, [requests[k]])[0]

    def set_window(self, event_id: str, window: RequestWindow, *, actor: Actor) -> Event:
        """When attendees may send and answer requests, and how many each may have standing."""
        for attempt in attempts(f"event {event_id!r}"):
            with attempt:
                event, version = self.repo.event_versioned(event_id)
                updated = event.model_copy(update={"request_window": window})
                self.repo.put_event(updated, expected=version)
        self.audit.record(
            actor,
            "event.request-window",
            f"event {event_id}",
            {
                "request_window": [
                    event.request_window.model_dump(mode="json"),
                    window.model_dump(mode="json"),
                ]
            },
        )
        return updated

    # -- shared -------------------------------------------------------------------------------
    def _named(self, event_id: str, requests: Sequence[MeetingRequest]) -> list[RequestWithNames]:
        people = {a.attendee_id: a for a in self.repo.attendees(event_id)}
        schedule = self.repo.schedule(event_id)
        meeting = _pairs(schedule)

        def name(attendee_id: str) -> tuple[str, str]:
            a = people.get(attendee_id)
            return (a.person, a.org_name) if a else (attendee_id, "(no longer registered)")

        out = []
        for r in requests:
            (sp, so), (rp, ro) = name(r.sender), name(r.recipient)
            out.append(
                RequestWithNames(
                    request=r, sender_person=sp, sender_org=so, recipient_person=rp, recipient_org=ro,
                    in_schedule=frozenset((r.sender, r.recipient)) in meeting,
                )
            )  # fmt: skip
        return out

    def _window_open(self, event: Event) -> None:
        window = event.request_window
        state = window.state_at(event.local_now())
        if state == "not open yet":
            raise ConflictError(f"requests open at {window.opens_at:%Y-%m-%d %H:%M} ({event.timezone})")
        if state == "closed":
            raise ConflictError(
                f"requests closed at {window.closes_at:%Y-%m-%d %H:%M} ({event.timezone}): ask the organiser"
            )

    def _may_accept(
        self,
        event: Event,
        people: dict[str, Attendee],
        requests: Sequence[MeetingRequest],
        request: MeetingRequest,
        viewer: str | None,
    ) -> None:
        """The pair may still meet (a rule may have changed since the request was sent) and both
        sides can hold one more confirmed meeting (accepted requests up to their cap)."""
        for side in (request.recipient, request.sender):
            if side not in people:
                raise ConflictError(f"{side} is no longer registered")
        blocked = _blocked(event, people[request.sender], people[request.recipient])
        if blocked:
            raise ConflictError(f"{request.sender} and {request.recipient} cannot meet here: {blocked}")
        for side in (request.recipient, request.sender):
            person = people[side]
            cap = _cap(event, person)
            taken = sum(1 for r in requests if r.state == RequestState.ACCEPTED and r.involves(side))
            if taken >= cap:
                whose = "you have" if side == viewer else f"{person.person} has"
                raise ConflictError(
                    f"{whose} already accepted {taken} meeting(s), as many as they can have ({cap})"
                )


def _find(requests: Sequence[MeetingRequest], request_id: str) -> tuple[int, MeetingRequest]:
    for k, r in enumerate(requests):
        if r.request_id == request_id:
            return k, r
    raise NotFoundError("request", request_id)


def _cap(event: Event, attendee: Attendee) -> int:
    """Meetings an attendee can have: their cap, at most one per available slot."""
    cap = event.default_max_meetings if attendee.max_meetings is None else attendee.max_meetings
    return min(cap, len(attendee.availability) if attendee.availability else len(event.slots))


def _blocked(event: Event, me: Attendee, other: Attendee) -> str:
    """Why a rule of the event keeps two attendees apart ("" when none does)."""
    if not event.groups_may_meet(me.group, other.group):
        return "your groups do not meet at this event"
    mine = set(me.availability or event.slot_index)
    if not mine & set(other.availability or event.slot_index):
        return "you have no time slot in common"
    if _cap(event, me) == 0 or _cap(event, other) == 0:
        return "no meetings possible (a cap of 0)"
    if {other.attendee_id, other.org_id} & set(me.no_thanks) or {me.attendee_id, me.org_id} & set(
        other.no_thanks
    ):
        return "the organiser has it down as 'no thanks'"
    return ""


def _standing(request: MeetingRequest, me: str) -> str:
    """Why a second request between a pair is refused."""
    other = request.other(me)
    if request.state == RequestState.DECLINED:
        return f"a request between you and {other} was declined ({request.request_id})"
    if request.sender == me:
        return f"you already asked {other} ({request.request_id}, {request.state.value})"
    return f"{other} already asked you ({request.request_id}, {request.state.value}): answer it instead"


def _views(requests: Sequence[MeetingRequest], me: str) -> dict[str, RequestView]:
    """The latest request with each other attendee, from ``me``'s side."""
    out: dict[str, RequestView] = {}
    for r in requests:
        if r.involves(me):
            out[r.other(me)] = RequestView(
                request_id=r.request_id, direction="sent" if r.sender == me else "received", state=r.state
            )
    return out


def _pairs(schedule: Schedule | None) -> set[frozenset[str]]:
    return set() if schedule is None else {frozenset((m.attendee_a, m.attendee_b)) for m in schedule.meetings}


def _notice_text(change: RequestChange, who: str, request: MeetingRequest, me: str) -> str:
    """What ``me`` reads of a change made by the other side or by the organiser."""
    note = f": {change.note}" if change.note else ""
    if change.state == RequestState.PENDING:
        message = f": {request.message}" if request.message else ""
        if change.by != ORGANISER:
            return f"{who} asked to meet you{message}"
        if request.sender == me:
            return f"the organiser sent {who} a request to meet from you{message}"
        return f"{who} asked to meet you (entered by the organiser){message}"
    if change.state == RequestState.CANCELLED:
        return f"the organiser cancelled the request between you and {who}{note}"
    if change.by == ORGANISER:
        did = {RequestState.ACCEPTED: "confirmed", RequestState.WITHDRAWN: "withdrew"}
        verb = did.get(change.state, change.state.value)
        return f"the organiser {verb} the meeting request between you and {who} ({request.request_id}){note}"
    return f"{who} {change.state.value} the request ({request.request_id})"
