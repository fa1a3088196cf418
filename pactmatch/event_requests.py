"""Attendees ask each other to meet, through their agenda link; the organiser oversees it.

Through the link an attendee browses the others (each with the pair's reciprocal score and why they
should meet, as the scheduler sees them), sends requests with a short message, accepts, declines
or withdraws, and reads what changed for them. The organiser sets the request window, sees every
request and may cancel one. Requests live in their own event document
(:meth:`~pactmatch.event_repository.EventRepository.requests`), written under the events' lock;
every change is in the request's history and the audit log.

The rules: a request needs the window open, two attendees whose groups may meet and who share a
slot, and no standing (pending or accepted) or declined request between the pair; a sender has
at most the window's ``max_open_per_attendee`` standing requests; a request can be accepted only
while both sides have room (accepted requests up to their cap). The recipient accepts or
declines (also after accepting: a change of mind calls the meeting off); the sender withdraws;
the organiser cancels at any time, window or not.
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
    RequestCreate,
    RequestState,
    RequestView,
    RequestWindow,
    RequestWithNames,
)
from domain.models import StakeholderType
from graph.base import Page
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

    def send(self, token: str, body: RequestCreate) -> RequestWithNames:
        """A new request from the link's holder (see the module doc for the rules)."""
        holder = self.events.link_holder(token)
        me = holder.attendee.attendee_id
        with self.events.lock:
            event = self.repo.get_event(holder.event_id)
            self._window_open(event)
            others = {a.attendee_id: a for a in self.repo.attendees(holder.event_id)}
            if body.to == me:
                raise InvalidInputError("you cannot ask to meet yourself", [FieldIssue("to", "yourself")])
            if body.to not in others:
                raise InvalidInputError(
                    f"no attendee {body.to!r} at this event", [FieldIssue("to", "unknown")]
                )
            blocked = _blocked(event, holder.attendee, others[body.to])
            if blocked:
                raise InvalidInputError(
                    f"you cannot meet {body.to!r} here: {blocked}", [FieldIssue("to", blocked)]
                )
            requests = self.repo.requests(holder.event_id)
            for r in requests:
                if (
                    r.involves(me)
                    and r.involves(body.to)
                    and (r.state.is_open or r.state == RequestState.DECLINED)
                ):
                    raise ConflictError(_standing(r, me))
            standing = sum(1 for r in requests if r.sender == me and r.state.is_open)
            limit = event.request_window.max_open_per_attendee
            if standing >= limit:
                raise ConflictError(
                    f"you have {standing} requests pending or accepted, the most this event allows ({limit}): "
                    "withdraw one to send another"
                )
            now = datetime.now(UTC)
            request = MeetingRequest.model_validate(
                {
                    "request_id": f"r{len(requests) + 1}", "sender": me, "recipient": body.to,
                    "message": body.message, "state": RequestState.PENDING,
                    "history": [{"at": now, "state": RequestState.PENDING, "by": me}],
                }
            )  # fmt: skip
            self.repo.put_requests(holder.event_id, [*requests, request])
        self.audit.record(
            holder.actor,
            "request.send",
            f"event {holder.event_id}: request {request.request_id} {me} -> {body.to}",
            {"state": [None, request.state.value]},
        )
        return self._named(holder.event_id, [request])[0]

    def answer(self, token: str, request_id: str, answer: Answer) -> RequestWithNames:
        """Accept, decline or withdraw one of the holder's requests."""
        holder = self.events.link_holder(token)
        me = holder.attendee.attendee_id
        side, from_states, to_state = _ANSWERS[answer]
        with self.events.lock:
            event = self.repo.get_event(holder.event_id)
            requests = self.repo.requests(holder.event_id)
            k, request = _find(requests, request_id)
            if not request.involves(me):
                raise NotFoundError("request", request_id)  # someone else's: as if it did not exist
            if getattr(request, side) != me:
                raise PermissionDeniedError(f"only the request's {side} can {answer} it")
            if request.state not in from_states:
                raise ConflictError(
                    f"request {request_id} is {request.state.value}: it cannot be {to_state.value}"
                )
            self._window_open(event)
            if to_state == RequestState.ACCEPTED:
                self._room_for_one_more(event, requests, request)
            updated = request.moved_to(to_state, datetime.now(UTC), me)
            requests[k] = updated
            self.repo.put_requests(holder.event_id, requests)
        self.audit.record(
            holder.actor,
            f"request.{answer}",
            f"event {holder.event_id}: request {request_id}",
            {"state": [request.state.value, to_state.value]},
        )
        return self._named(holder.event_id, [updated])[0]

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
                        at=change.at, kind=_NOTICE[change.state], text=_notice_text(change.state, who, r, change.note),
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
        self, event_id: str, state: RequestState | None = None, attendee_id: str | None = None
    ) -> list[RequestWithNames]:
        """Every request of the event (filtered), newest first."""
        self.repo.get_event(event_id)
        picked = [
            r
            for r in self.repo.requests(event_id)
            if (state is None or r.state == state) and (attendee_id is None or r.involves(attendee_id))
        ]
        return self._named(event_id, picked[::-1])

    def cancel(self, event_id: str, request_id: str, note: str = "", *, actor: Actor) -> RequestWithNames:
        """Take a pending or accepted request off (the organiser's word wins, window or not)."""
        with self.events.lock:
            self.repo.get_event(event_id)
            requests = self.repo.requests(event_id)
            k, request = _find(requests, request_id)
            if not request.state.is_open:
                raise ConflictError(f"request {request_id} is {request.state.value} already")
            requests[k] = request.moved_to(RequestState.CANCELLED, datetime.now(UTC), ORGANISER, note)
            self.repo.put_requests(event_id, requests)
        self.audit.record(
            actor,
            "request.cancel",
            f"event {event_id}: request {request_id}",
            {"state": [request.state.value, RequestState.CANCELLED.value]},
        )
        return self._named(event_id, [requests[k]])[0]

    def set_window(self, event_id: str, window: RequestWindow, *, actor: Actor) -> Event:
        """When attendees may send and answer requests, and how many each may have standing."""
        with self.events.lock:
            event = self.repo.get_event(event_id)
            updated = event.model_copy(update={"request_window": window})
            self.repo.put_event(updated)
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

    def _room_for_one_more(
        self, event: Event, requests: Sequence[MeetingRequest], request: MeetingRequest
    ) -> None:
        """Both sides can hold one more confirmed meeting (accepted requests up to their cap)."""
        people = {a.attendee_id: a for a in self.repo.attendees(event.event_id)}
        for side in (request.recipient, request.sender):
            person = people.get(side)
            if person is None:
                raise ConflictError(f"{side} is no longer registered")
            cap = _cap(event, person)
            taken = sum(1 for r in requests if r.state == RequestState.ACCEPTED and r.involves(side))
            if taken >= cap:
                whose = "you have" if side == request.recipient else f"{person.person} has"
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


def _notice_text(state: RequestState, who: str, request: MeetingRequest, note: str) -> str:
    if state == RequestState.PENDING:
        return f"{who} asked to meet you" + (f": {request.message}" if request.message else "")
    if state == RequestState.CANCELLED:
        return f"the organiser cancelled the request between you and {who}" + (f": {note}" if note else "")
    return f"{who} {state.value} the request ({request.request_id})"
