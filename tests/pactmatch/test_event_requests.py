"""Requests below the HTTP edge: what the scheduler takes from them, and how a schedule honours
them (accepted: a meeting; declined: never; pending: a boost; the organiser's veto wins;
re-scheduling keeps confirmed meetings and drops the ones called off)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from functools import partial

import numpy as np
import pytest

from domain.errors import PactmatchError
from domain.events import AttendeeCreate, AttendeePatch, EventCreate, SlotSpec
from domain.meeting_requests import (
    MeetingRequest,
    RequestCreate,
    RequestState,
    RequestWindow,
    RequestWithNames,
    pair_requests,
)
from pactmatch.event_requests import Answer, AttendeeQuery, RequestService
from pactmatch.event_service import EventService
from pactmatch.service import PactmatchService
from tests.conftest import EVENT_ORGS, TEST_ACTOR, org
from tests.matching.events.helpers import attendee, build, event

T0 = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)


def request(rid: str, sender: str, recipient: str, *states: RequestState) -> MeetingRequest:
    history = [{"at": T0, "state": "pending", "by": sender}]
    for k, state in enumerate(states, start=1):
        by = sender if state == RequestState.WITHDRAWN else recipient
        history.append({"at": T0 + timedelta(minutes=k), "state": state, "by": by})
    return MeetingRequest.model_validate(
        {
            "request_id": rid,
            "sender": sender,
            "recipient": recipient,
            "state": history[-1]["state"],
            "history": history,
        }
    )


def test_what_the_scheduler_takes_from_requests() -> None:
    answered = pair_requests(
        [
            request("r1", "a", "b"),
            request("r2", "c", "d", RequestState.ACCEPTED),
            request("r3", "e", "f", RequestState.DECLINED),
            request("r4", "g", "h", RequestState.ACCEPTED, RequestState.WITHDRAWN),
            request("r5", "a", "c", RequestState.WITHDRAWN),
            request("r6", "i", "j", RequestState.ACCEPTED, RequestState.WITHDRAWN),
            request("r7", "j", "i", RequestState.ACCEPTED),  # asked again and accepted: on again
        ]
    )
    assert answered.asked == [("a", "b"), ("c", "d"), ("d", "c"), ("j", "i"), ("i", "j")]
    assert answered.accepted == [("c", "d"), ("j", "i")]
    assert answered.declined == [("f", "e")]
    assert set(answered.called_off) == {frozenset(("g", "h"))}  # r5 was never accepted


def test_requests_become_boosts_and_vetoes_in_the_pair_rules() -> None:
    x, y = [1.0, 0.0], [0.0, 1.0]
    people = [attendee("a"), attendee("b"), attendee("c")]
    offers, wants = [x, y, y], [y, x, x]
    plain = build(event(), people, offers, wants)[1]
    _, rules, _ = build_with(people, offers, wants, asked=[("a", "b"), ("ghost", "a")], declined=[("c", "a")])
    assert rules.requests[0, 1] == 1 and plain.requests[0, 1] == 0  # a pending request: one side asked
    assert rules.vetoes[0, 2] == 1 and plain.vetoes[0, 2] == 0  # a declined one: "no thanks"
    assert rules.requested_by[(0, 1)] == (0,)


def build_with(people: list, offers: list, wants: list, **requests: list) -> tuple:  # type: ignore[type-arg]
    from matching.events import build_participants

    return build_participants(
        event(),
        people,
        np.asarray(offers, dtype=np.float32),
        np.asarray(wants, dtype=np.float32),
        **requests,
    )


# -- the service ------------------------------------------------------------------------------


@pytest.fixture
def events(hashing_service: PactmatchService) -> EventService:
    hashing_service.store.import_batch(
        [org(o["org_id"], **{k: v for k, v in o.items() if k != "org_id"}) for o in EVENT_ORGS]
        + [org("z1", name="Zither makers", stakeholder_type="other", description="Musical instruments")],
        [],
        [],
    )
    svc = EventService(hashing_service, "test-secret")
    body = EventCreate(
        event_id="b1", name="Brokerage", date=date(2030, 6, 3), tables=10, default_max_meetings=2, min_meetings=1,
        slots=tuple(SlotSpec(start=time(9 + k)) for k in range(3)),
    )  # fmt: skip
    svc.create_event(body, actor=TEST_ACTOR)
    wants = {"u1": "recycling", "s1": "battery recycling training", "v1": "welding companies", "s2": "welding apprentices", "z1": "violins"}  # fmt: skip
    for org_id, want in wants.items():
        svc.register(
            "b1",
            AttendeeCreate(org_id=org_id, person=org_id.upper(), attendee_id=org_id, want=want),
            actor=TEST_ACTOR,
        )
    return svc


def links(events: EventService) -> dict[str, str]:
    return {a.attendee_id: token for a, token, _ in events.agenda_links("b1", actor=TEST_ACTOR)}


def pairs(events: EventService) -> dict[frozenset[str], bool]:
    return {frozenset((m.attendee_a, m.attendee_b)): m.pinned for m in events.get_schedule("b1").meetings}


def test_accepted_requests_are_meetings_declined_ones_never(events: EventService) -> None:
    requests, token = RequestService(events), links(events)
    base = pairs(events) if events.repo.schedule("b1") else None
    assert base is None
    events.schedule("b1", actor=TEST_ACTOR)
    suggested = pairs(events)
    # the zither maker matches nobody: only a request brings them a meeting
    assert not any("z1" in p for p in suggested)
    asked = requests.send(token["z1"], RequestCreate(to="u1", message="Do you teach luthiers?"))
    requests.answer(token["u1"], asked.request.request_id, "accept")
    # the best suggested pair declines each other
    top = max(events.get_schedule("b1").meetings, key=lambda m: m.score)
    declined = requests.send(token[top.attendee_a], RequestCreate(to=top.attendee_b))
    requests.answer(token[top.attendee_b], declined.request.request_id, "decline")

    schedule = events.schedule("b1", keep_previous=False, actor=TEST_ACTOR)
    now = pairs(events)
    assert now[frozenset(("z1", "u1"))] is True  # pinned: confirmed by the request
    assert frozenset((top.attendee_a, top.attendee_b)) not in now
    meeting = next(m for m in schedule.meetings if {m.attendee_a, m.attendee_b} == {"z1", "u1"})
    assert any(r.signal == "requested" and r.side == "both" for r in meeting.reasons)

    # the organiser's veto wins over an accepted request: reported, not scheduled
    events.update_attendee("b1", "u1", AttendeePatch(no_thanks=("z1",)), actor=TEST_ACTOR)
    vetoed = events.schedule("b1", actor=TEST_ACTOR)
    assert frozenset(("z1", "u1")) not in pairs(events)
    assert any(
        {d.attendee_a, d.attendee_b} == {"z1", "u1"} and d.reason == "no thanks" for d in vetoed.dropped
    )


def test_rescheduling_keeps_confirmed_meetings_and_drops_the_called_off(events: EventService) -> None:
    requests, token = RequestService(events), links(events)
    r = requests.send(token["z1"], RequestCreate(to="v1")).request.request_id
    requests.answer(token["v1"], r, "accept")
    first = events.schedule("b1", actor=TEST_ACTOR)
    where = {frozenset((m.attendee_a, m.attendee_b)): (m.slot_id, m.table) for m in first.meetings}
    # a late registration: everything confirmed stays where it was
    events.register(
        "b1",
        AttendeeCreate(org_id="u1", person="Late", attendee_id="late", want="recycling"),
        actor=TEST_ACTOR,
    )
    second = events.schedule("b1", actor=TEST_ACTOR)
    after = {frozenset((m.attendee_a, m.attendee_b)): (m.slot_id, m.table) for m in second.meetings}
    assert all(after[pair] == slot for pair, slot in where.items())
    # v1 changes their mind: the meeting is called off, and their calendars cancel it
    requests.answer(token["v1"], r, "decline")
    third = events.schedule("b1", actor=TEST_ACTOR)
    assert frozenset(("z1", "v1")) not in pairs(events)
    assert any("request r1 was declined by v1" in d.reason for d in third.dropped)
    assert [c.partner_id for c in events.agenda("b1", "z1").cancelled] == ["v1"]


def test_the_attendee_list_filters_and_explains(events: EventService) -> None:
    requests, token = RequestService(events), links(events)
    page = requests.others(token["s2"], AttendeeQuery())
    assert page.total == 4 and page.items[0].score >= page.items[-1].score
    assert page.items[0].attendee_id == "v1" and "weld" in page.items[0].why  # the welding college
    zither = next(c for c in page.items if c.attendee_id == "z1")
    assert zither.score == 0 and zither.may_meet and zither.why.startswith("no match")
    scored = [c.attendee_id for c in page.items if c.score >= 0.01]
    assert [
        c.attendee_id for c in requests.others(token["s2"], AttendeeQuery(min_score=0.01)).items
    ] == scored
    requests.send(token["s2"], RequestCreate(to="z1"))
    assert [c.attendee_id for c in requests.others(token["s2"], AttendeeQuery(request="sent")).items] == [
        "z1"
    ]
    received = requests.others(token["z1"], AttendeeQuery(request="received")).items[0].request
    assert received is not None and received.direction == "received"


def test_a_revoked_link_acts_no_more(events: EventService) -> None:
    from domain.errors import AuthenticationError

    requests, token = RequestService(events), links(events)
    events.revoke_agenda_links("b1", "s2", actor=TEST_ACTOR)
    with pytest.raises(AuthenticationError):
        requests.send(token["s2"], RequestCreate(to="z1"))
    with pytest.raises(AuthenticationError):
        requests.notifications(token["s2"])


def test_a_window_not_open_yet_refuses_and_says_when(events: EventService) -> None:
    from domain.errors import ConflictError

    requests, token = RequestService(events), links(events)
    requests.set_window("b1", RequestWindow(opens_at=datetime(2099, 1, 1, 9, 0)), actor=TEST_ACTOR)
    with pytest.raises(ConflictError, match="requests open at 2099-01-01 09:00"):
        requests.send(token["s2"], RequestCreate(to="z1"))


def test_a_cancelled_registration_cancels_its_requests_and_a_replaced_event_keeps_its_window(
    events: EventService,
) -> None:
    requests, token = RequestService(events), links(events)
    r = requests.send(token["z1"], RequestCreate(to="v1")).request.request_id
    requests.answer(token["v1"], r, "accept")
    events.remove_attendee("b1", "z1", actor=TEST_ACTOR)
    (item,) = requests.requests("b1")
    assert item.request.state == RequestState.CANCELLED and item.recipient_org == "VET college"
    assert "z1 cancelled their registration" in requests.notifications(token["v1"])[0].text

    window = RequestWindow(closes_at=datetime(2030, 6, 1, 18, 0), max_open_per_attendee=3)
    requests.set_window("b1", window, actor=TEST_ACTOR)
    event = events.get_event("b1")
    body = EventCreate.model_validate({**event.model_dump(exclude={"event_id", "created_at", "request_window"}),
                                       "slots": [s.model_dump() for s in event.slots]})  # fmt: skip
    assert events.replace_event("b1", body, actor=TEST_ACTOR)[0].request_window == window


# -- every state change, and who may make it --------------------------------------------------

#: (from state, action) -> the new state; anything else from a side allowed to act is a conflict.
MOVES: dict[tuple[str, str], str] = {
    ("pending", "accept"): "accepted",
    ("pending", "decline"): "declined",
    ("accepted", "decline"): "declined",
    ("pending", "withdraw"): "withdrawn",
    ("accepted", "withdraw"): "withdrawn",
    ("pending", "cancel"): "cancelled",
    ("accepted", "cancel"): "cancelled",
}
#: The attendee side each answer belongs to (the organiser may give any of them, and cancel).
SIDE: dict[Answer, str] = {"accept": "recipient", "decline": "recipient", "withdraw": "sender"}
START = ("pending", "accepted", "declined", "withdrawn", "cancelled")


def start_in(requests: RequestService, token: dict[str, str], state: str) -> str:
    """A fresh request from s2 to v1 (the event's only request), brought into ``state``."""
    requests.repo.put_requests("b1", [])
    rid = requests.send(token["s2"], RequestCreate(to="v1", message="Apprentices?")).request.request_id
    steps: dict[str, list[tuple[str, Answer]]] = {
        "accepted": [("v1", "accept")], "declined": [("v1", "decline")], "withdrawn": [("s2", "withdraw")]
    }  # fmt: skip
    for who, answer in steps.get(state, []):
        requests.answer(token[who], rid, answer)
    if state == "cancelled":
        requests.cancel("b1", rid, actor=TEST_ACTOR)
    assert requests.repo.requests("b1")[0].state == state
    return rid


def outcome(call: Callable[[], RequestWithNames]) -> str:
    """The request's new state, or the name of the error refusing the change."""
    try:
        return call().request.state.value
    except PactmatchError as exc:
        return type(exc).__name__


@pytest.mark.parametrize("state", START)
def test_every_state_change_and_who_may_make_it(events: EventService, state: str) -> None:
    requests, token = RequestService(events), links(events)
    people = {"sender": "s2", "recipient": "v1", "someone else": "u1"}
    for action, side in SIDE.items():
        for who, attendee_id in people.items():
            rid = start_in(requests, token, state)
            if who == "someone else":
                expected = "NotFoundError"  # not theirs: as if it did not exist
            elif who != side:
                expected = "PermissionDeniedError"
            else:
                expected = MOVES.get((state, action), "ConflictError")
            got = outcome(partial(requests.answer, token[attendee_id], rid, action))
            assert got == expected, (state, action, who)
            if expected in RequestState.__members__.values():
                assert requests.repo.requests("b1")[0].history[-1].by == attendee_id
        # the organiser gives the same answer for whichever side it belongs to, with a note
        rid = start_in(requests, token, state)
        got = outcome(partial(requests.answer_for, "b1", rid, action, "at the desk", actor=TEST_ACTOR))
        assert got == MOVES.get((state, action), "ConflictError"), (state, action, "organiser")
        if (state, action) in MOVES:
            last = requests.repo.requests("b1")[0].history[-1]
            assert (last.by, last.note) == ("organiser", "at the desk")
    rid = start_in(requests, token, state)
    got = outcome(partial(requests.cancel, "b1", rid, "double booked", actor=TEST_ACTOR))
    assert got == MOVES.get((state, "cancel"), "ConflictError")
    # a second request between the pair, either way: refused while one stands or after a "no"
    start_in(requests, token, state)
    again = outcome(partial(requests.send, token["v1"], RequestCreate(to="s2")))
    assert again == ("ConflictError" if state in ("pending", "accepted", "declined") else "pending")


def test_the_organiser_enters_pins_and_answers_outside_the_window(events: EventService) -> None:
    from domain.errors import ConflictError, InvalidInputError

    requests, token = RequestService(events), links(events)
    closed = RequestWindow(closes_at=datetime(2020, 1, 1, 18, 0), max_open_per_attendee=0)
    requests.set_window("b1", closed, actor=TEST_ACTOR)
    with pytest.raises(ConflictError, match="requests closed at 2020-01-01 18:00"):
        requests.send(token["s2"], RequestCreate(to="v1"))

    # entered for s2 (window closed, limit 0: neither binds the organiser); both sides hear of it
    entered = requests.send_for("b1", "s2", RequestCreate(to="v1", message="Apprentices?"), actor=TEST_ACTOR)
    assert entered.request.state == "pending" and entered.request.history[0].by == "organiser"
    assert requests.notifications(token["v1"])[0].text.startswith(
        "S2 (Welding SME) asked to meet you (entered"
    )
    assert "the organiser sent" in requests.notifications(token["s2"])[0].text
    with pytest.raises(ConflictError, match="requests closed"):  # the attendee still cannot answer
        requests.answer(token["v1"], entered.request.request_id, "accept")
    requests.answer_for("b1", entered.request.request_id, "accept", actor=TEST_ACTOR)

    # a pin: accepted at once, needs room under both caps (v1 has 2 meetings at most)
    pinned = requests.send_for(
        "b1", "u1", RequestCreate(to="v1"), confirmed=True, note="VIP", actor=TEST_ACTOR
    )
    assert pinned.request.state == "accepted" and len(pinned.request.history) == 1
    assert "the organiser confirmed the meeting request" in requests.notifications(token["u1"])[0].text
    with pytest.raises(ConflictError, match=r"VET college|V1 has already accepted 2 meeting\(s\)"):
        requests.send_for("b1", "s1", RequestCreate(to="v1"), confirmed=True, actor=TEST_ACTOR)
    assert [r.request_id for r in requests.repo.requests("b1")] == ["r1", "r2"]  # nothing half-written
    with pytest.raises(InvalidInputError, match="no attendee 'ghost'"):
        requests.send_for("b1", "s1", RequestCreate(to="ghost"), actor=TEST_ACTOR)
    audit = [e.action for e in events.audit.entries(0, 50).items]
    assert {"request.send", "request.accept", "request.pin"} <= set(audit)

    schedule = events.schedule("b1", actor=TEST_ACTOR)
    held = {frozenset((m.attendee_a, m.attendee_b)): m.pinned for m in schedule.meetings}
    assert held[frozenset(("s2", "v1"))] and held[frozenset(("u1", "v1"))]


def test_a_no_thanks_keeps_requests_apart(events: EventService) -> None:
    from domain.errors import ConflictError, InvalidInputError

    requests, token = RequestService(events), links(events)
    events.update_attendee("b1", "v1", AttendeePatch(no_thanks=("s2",)), actor=TEST_ACTOR)
    with pytest.raises(InvalidInputError, match="'no thanks'"):  # either way round
        requests.send(token["s2"], RequestCreate(to="v1"))
    with pytest.raises(InvalidInputError, match="'no thanks'"):
        requests.send(token["v1"], RequestCreate(to="s2"))
    rid = requests.send(token["u1"], RequestCreate(to="z1")).request.request_id
    events.update_attendee("b1", "z1", AttendeePatch(no_thanks=("u1",)), actor=TEST_ACTOR)
    with pytest.raises(ConflictError, match="'no thanks'"):  # the rule came after the request
        requests.answer(token["z1"], rid, "accept")
    assert requests.answer(token["z1"], rid, "decline").request.state == "declined"


def test_what_an_attendee_may_do_now_and_the_organisers_search(events: EventService) -> None:
    """The allowance the agenda page shows (window state, standing requests against the limit),
    and the organiser's list searched by either side's name or organisation."""
    requests, token = RequestService(events), links(events)
    requests.set_window("b1", RequestWindow(max_open_per_attendee=1), actor=TEST_ACTOR)
    before = requests.allowance(token["u1"])
    assert (before.state, before.standing, before.limit, before.may_send) == ("open", 0, 1, True)
    requests.send(token["u1"], RequestCreate(to="s1", message="recycling?"))
    after = requests.allowance(token["u1"])
    assert (after.standing, after.may_send) == (1, False)  # at the limit
    assert requests.allowance(token["s1"]).standing == 0  # received requests do not count
    requests.set_window("b1", RequestWindow(closes_at=datetime(2000, 1, 1, 9, 0)), actor=TEST_ACTOR)
    closed = requests.allowance(token["s1"])
    assert (closed.state, closed.may_send, closed.timezone) == ("closed", False, "Europe/Brussels")
    assert [i.request.request_id for i in requests.requests("b1", text="S1")] == ["r1"]
    assert requests.requests("b1", text="zither") == []
