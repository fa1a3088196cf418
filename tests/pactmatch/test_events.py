"""Events end to end below the HTTP/CLI edge: domain validation, persistence, registration,
scheduling with pinning, and the exports (ICS files parsed back with icalendar)."""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
from collections import Counter
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PactmatchError,
    VersionConflictError,
)
from domain.events import (
    AttendeeCreate,
    AttendeeGroup,
    AttendeePatch,
    EventCreate,
    SlotSpec,
    check_attendee,
)
from graph.embedded import EmbeddedStore
from pactmatch import event_service
from pactmatch.event_exports import (
    agenda_ics,
    agendas_csv,
    summarise,
    summary_csv,
    summary_html,
    write_exports,
)
from pactmatch.event_service import EventService, StoreSelection
from pactmatch.service import PactmatchService
from tests.conftest import TEST_ACTOR, cordis_slice, member, org, partnership, requires_shared_data

DAY = date(2025, 6, 3)


def event_body(**kw: object) -> EventCreate:
    data: dict[str, object] = {
        "event_id": "brokerage",
        "name": "Skills brokerage",
        "date": DAY,
        "location": "Brussels",
        "slots": [SlotSpec(start=time(9, 0) if k == 0 else time(9 + k // 2, 30 * (k % 2))) for k in range(4)],
        "tables": 10,
        "default_max_meetings": 3,
        "min_meetings": 1,
    }
    data.update(kw)
    return EventCreate.model_validate(data)


# -- domain validation ------------------------------------------------------------------------


@given(st.lists(st.tuples(st.integers(0, 600), st.integers(5, 120)), min_size=1, max_size=8))
def test_slots_are_accepted_exactly_when_they_do_not_overlap(raw: list[tuple[int, int]]) -> None:
    intervals = sorted(raw)
    overlap = any(b[0] < a[0] + a[1] for a, b in pairwise(intervals))
    slots = [
        SlotSpec(start=datetime.combine(DAY, time(0, 0)) + timedelta(minutes=start), duration_minutes=length)
        for start, length in raw
    ]
    if overlap:
        with pytest.raises(ValidationError, match="overlap"):
            event_body(slots=slots).to_event("x", datetime.now())
    else:
        event = event_body(slots=slots).to_event("x", datetime.now())
        assert len(event.slots) == len(raw)


@given(st.text(max_size=6))
def test_wanted_regions_accept_codes_and_countries_or_fail_clearly(code: str) -> None:
    try:
        body = AttendeeCreate(org_id="o", person="p", wanted_regions=(code,))
    except ValidationError as exc:
        assert "wanted_regions" in str(exc)
    else:
        assert all(len(c) >= 2 for c in body.wanted_regions)


def test_countries_become_nuts_prefixes() -> None:
    body = AttendeeCreate.model_validate({"org_id": "o", "person": "p", "wanted_regions": "GR; de11, BE"})
    assert body.wanted_regions == ("EL", "DE11", "BE")


def test_event_rules_and_attendee_fit() -> None:
    with pytest.raises(ValidationError, match="unknown group"):
        event_body(groups=[AttendeeGroup(group_id="a", meets=("b",))])
    with pytest.raises(ValidationError, match="min_meetings"):
        event_body(min_meetings=4, default_max_meetings=3)
    with pytest.raises(ValidationError, match="timezone"):
        event_body(timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="exactly one of org_id"):
        AttendeeCreate(person="p")
    event = event_body(
        groups=[AttendeeGroup(group_id="seekers", meets=("offerers",)), AttendeeGroup(group_id="offerers")]
    )
    ev = event.to_event("e", datetime.now())
    issues = dict(check_attendee(ev, AttendeeCreate(org_id="o", person="p", availability=("s9",))))
    assert "s9" in issues["availability"] and "say which one" in issues["group"]
    assert ev.groups_may_meet("offerers", "seekers") and not ev.groups_may_meet("offerers", "offerers")


# -- service ----------------------------------------------------------------------------------


@pytest.fixture
def seeded(hashing_service: PactmatchService) -> EventService:
    """Six organisations; u1 and s1 already work together in project P1 (met before)."""
    svc = hashing_service
    orgs = [
        org("u1", name="University of Ghent", stakeholder_type="higher_education", country="BE", nuts_codes=("BE234",),
            description="Research and training in battery recycling and circular materials"),
        org("s1", name="Recycling SME", stakeholder_type="sme", country="BE", nuts_codes=("BE100",),
            description="Battery recycling plant looking for trained technicians"),
        org("v1", name="VET college", stakeholder_type="vet_provider", country="NL",
            description="Vocational training for technicians in recycling and welding"),
        org("s2", name="Welding SME", stakeholder_type="sme", country="DE", description="Welding of steel structures"),
        org("t1", name="Union", stakeholder_type="trade_union", country="BE", description="Workers' training rights"),
        org("c1", name="Chamber", stakeholder_type="chamber_business_association", country="BE",
            description="Business support for SMEs in recycling and manufacturing"),
    ]  # fmt: skip
    svc.store.import_batch(
        organisations=orgs,
        partnerships=[partnership("P1", description="Battery recycling pilot", start_date=date(2019, 1, 1))],
        memberships=[member("u1", "P1"), member("s1", "P1")],
    )
    svc.refresh_embeddings()
    return EventService(svc)


def register_all(events: EventService) -> None:
    events.create_event(event_body(), actor=TEST_ACTOR)
    wants = {
        "u1": "companies recycling batteries",
        "s1": "technicians trained in battery recycling",
        "v1": "recycling and welding companies that hire technicians",
        "s2": "welding apprentices",
        "t1": "employers training workers",
        "c1": "recycling SMEs and training providers",
    }
    for org_id, want in wants.items():
        events.register(
            "brokerage",
            AttendeeCreate(org_id=org_id, person=f"Delegate {org_id}", want=want),
            actor=TEST_ACTOR,
        )


def test_event_crud_and_persistence(seeded: EventService) -> None:
    events = seeded
    created = events.create_event(event_body(), actor=TEST_ACTOR)
    assert events.get_event("brokerage") == created
    with pytest.raises(ConflictError):
        events.create_event(event_body(), actor=TEST_ACTOR)
    assert [e.event_id for e in events.list_events()] == ["brokerage"]
    assert events.repo.store.list_artifacts("event/") == ["event/brokerage.json"]
    events.register(
        "brokerage", AttendeeCreate(org_id="u1", person="Ann", availability=("s4",)), actor=TEST_ACTOR
    )
    # replacing the event with fewer slots would strand Ann's availability
    with pytest.raises(InvalidInputError) as exc:
        events.replace_event("brokerage", event_body(slots=[SlotSpec(start=time(9, 0))]), actor=TEST_ACTOR)
    assert "s4" in exc.value.issues[0].message
    events.delete_event("brokerage", actor=TEST_ACTOR)
    assert events.repo.store.list_artifacts("event/") == []
    with pytest.raises(NotFoundError):
        events.get_event("brokerage")


def test_corrupted_document_is_a_clear_error(seeded: EventService) -> None:
    seeded.repo.store.put_artifact("event/broken.json", b'{"event_id": "broken"}')
    with pytest.raises(PactmatchError, match="not a valid Event"):
        seeded.get_event("broken")


def test_registration_paths(seeded: EventService) -> None:
    events = seeded
    events.create_event(event_body(), actor=TEST_ACTOR)
    a = events.register("brokerage", AttendeeCreate(org_id="u1", person="Ann Peeters"), actor=TEST_ACTOR)
    assert a.attendee_id == "u1-ann-peeters"
    assert "Battery recycling pilot" not in a.offer  # it has a description: that is what it offers
    assert a.offer.startswith("Research and training")
    assert [t.value for t in a.wanted_types] == ["sme"]  # its one past partner is an SME
    with pytest.raises(ConflictError):
        events.register(
            "brokerage",
            AttendeeCreate(org_id="u1", person="X", attendee_id="u1-ann-peeters"),
            actor=TEST_ACTOR,
        )
    with pytest.raises(InvalidInputError) as exc:
        events.register("brokerage", AttendeeCreate(org_id="nope", person="X"), actor=TEST_ACTOR)
    assert exc.value.issues[0].field == "org_id"
    new = events.register(
        "brokerage",
        AttendeeCreate(
            organisation=org("n1", name="New startup", description="Sensors"), person="Eve", offer="sensors"
        ),
        actor=TEST_ACTOR,
    )
    assert events.service.store.get_organisation("n1").name == "New startup"  # upserted through the service
    assert new.org_name == "New startup"
    patched = events.update_attendee(
        "brokerage", new.attendee_id, AttendeePatch(max_meetings=1, availability=("s1",)), actor=TEST_ACTOR
    )
    assert patched.max_meetings == 1 and patched.offer == "sensors"
    with pytest.raises(InvalidInputError):
        events.update_attendee(
            "brokerage", new.attendee_id, AttendeePatch(availability=("s99",)), actor=TEST_ACTOR
        )
    events.remove_attendee("brokerage", new.attendee_id, actor=TEST_ACTOR)
    with pytest.raises(NotFoundError):
        events.get_attendee("brokerage", new.attendee_id)


def test_register_from_store_filters_and_skips_registered(seeded: EventService) -> None:
    events = seeded
    events.create_event(event_body(), actor=TEST_ACTOR)
    report = events.register_from_store("brokerage", StoreSelection(partnership_id="P1"), actor=TEST_ACTOR)
    assert sorted(a.org_id for a in report.registered) == ["s1", "u1"]
    report = events.register_from_store("brokerage", StoreSelection(country="BE", limit=2), actor=TEST_ACTOR)
    assert sorted(report.skipped) == ["s1", "u1"]
    assert [a.org_id for a in report.registered] == ["c1", "t1"]  # equally active: by id
    with pytest.raises(NotFoundError):
        events.register_from_store("brokerage", StoreSelection(partnership_id="nope"), actor=TEST_ACTOR)


def test_schedule_agendas_and_rescheduling(seeded: EventService) -> None:
    events = seeded
    register_all(events)
    schedule = events.schedule("brokerage", actor=TEST_ACTOR)
    ids = {a.org_id: a.attendee_id for a in events.attendees("brokerage")}
    pairs = {frozenset((m.attendee_a, m.attendee_b)) for m in schedule.meetings}
    assert frozenset((ids["u1"], ids["s1"])) not in pairs  # co-members of P1: met before
    per_slot = Counter((m.slot_id, x) for m in schedule.meetings for x in (m.attendee_a, m.attendee_b))
    assert max(per_slot.values()) == 1
    for m in schedule.meetings:
        assert m.why and abs(sum(r.value for r in m.reasons) - m.score) < 1e-4
    assert schedule.stats.lp_bound is not None and schedule.stats.objective <= schedule.stats.lp_bound + 1e-6
    assert events.repo.schedule("brokerage") == schedule

    agenda = events.agenda("brokerage", ids["v1"])
    assert [i.start for i in agenda.items] == sorted(i.start for i in agenda.items)
    assert all(i.partner_id != ids["v1"] for i in agenda.items)

    # a cancellation: everyone else keeps their confirmed meetings, in the same slot and table
    events.remove_attendee("brokerage", ids["t1"], actor=TEST_ACTOR)
    again = events.schedule("brokerage", actor=TEST_ACTOR)
    before = {
        (m.attendee_a, m.attendee_b, m.slot_id, m.table)
        for m in schedule.meetings
        if ids["t1"] not in (m.attendee_a, m.attendee_b)
    }
    after = {(m.attendee_a, m.attendee_b, m.slot_id, m.table) for m in again.meetings}
    assert before <= after
    assert all(m.pinned for m in again.meetings if (m.attendee_a, m.attendee_b, m.slot_id, m.table) in before)
    assert {d.reason for d in again.dropped} <= {f"{ids['t1']} cancelled"}
    assert len(again.dropped) == sum(
        1 for m in schedule.meetings if ids["t1"] in (m.attendee_a, m.attendee_b)
    )
    # a "must meet" overrides met-before
    events.update_attendee("brokerage", ids["u1"], AttendeePatch(must_meet=("s1",)), actor=TEST_ACTOR)
    forced = events.schedule("brokerage", keep_previous=False, actor=TEST_ACTOR)
    assert frozenset((ids["u1"], ids["s1"])) in {
        frozenset((m.attendee_a, m.attendee_b)) for m in forced.meetings
    }


# -- concurrent writers: no lost update ----------------------------------------------------------


def _register_in_another_process(store_path: str, worker: int, n: int, start: object) -> list[str]:
    """One process of the service (an API worker, the CLI) registering ``n`` attendees one by one
    on its own connection to the store; returns the ids whose registration returned."""
    store = EmbeddedStore(store_path)
    events = EventService(PactmatchService(store, encoder="hashing"))
    start.wait()  # type: ignore[attr-defined]  # a multiprocessing Barrier: all begin together
    done = [
        events.register(
            "brokerage",
            AttendeeCreate(org_id="u1", person=f"P{worker}-{k}", offer="training", want="jobs"),
            actor=TEST_ACTOR,
        ).attendee_id
        for k in range(n)
    ]
    store.close()
    return done


def test_registrations_from_several_processes_all_land(seeded: EventService) -> None:
    """The issue's probe: the API and the CLI registering at once lost confirmed registrations
    (a lock covered one process). Now every registration that returned is in the list."""
    events = seeded
    events.create_event(event_body(), actor=TEST_ACTOR)
    store = events.service.store
    assert isinstance(store, EmbeddedStore)
    workers, each = 3, 15
    context = multiprocessing.get_context("spawn")
    start = context.Manager().Barrier(workers)
    with context.Pool(workers) as pool:
        results = pool.starmap(
            _register_in_another_process, [(str(store.path), w, each, start) for w in range(workers)]
        )
    returned = [aid for ids in results for aid in ids]
    stored = [a.attendee_id for a in events.attendees("brokerage")]
    assert len(returned) == len(set(returned)) == workers * each
    assert sorted(stored) == sorted(returned)


def test_a_change_made_against_an_old_version_is_refused(seeded: EventService) -> None:
    events = seeded
    events.create_event(event_body(), actor=TEST_ACTOR)
    _, event_version = events.get_event_versioned("brokerage")
    ann = events.register("brokerage", AttendeeCreate(org_id="u1", person="Ann", want="x"), actor=TEST_ACTOR)
    read, version = events.get_attendee_versioned("brokerage", ann.attendee_id)
    assert read == ann and events.attendees_versioned("brokerage") == ([ann], version) and version > 0
    events.register("brokerage", AttendeeCreate(org_id="s1", person="Bob", want="y"), actor=TEST_ACTOR)
    with pytest.raises(VersionConflictError) as exc:
        events.update_attendee(
            "brokerage", ann.attendee_id, AttendeePatch(max_meetings=1), actor=TEST_ACTOR, if_match=version
        )
    _, current = events.attendees_versioned("brokerage")
    assert exc.value.current == current != version and str(current) in str(exc.value)
    with pytest.raises(VersionConflictError):
        events.remove_attendee("brokerage", ann.attendee_id, actor=TEST_ACTOR, if_match=version)
    events.remove_attendee("brokerage", ann.attendee_id, actor=TEST_ACTOR, if_match=current)
    assert [a.person for a in events.attendees("brokerage")] == ["Bob"]
    with pytest.raises(VersionConflictError):
        events.replace_event("brokerage", event_body(tables=4), actor=TEST_ACTOR, if_match=0)
    replaced, created = events.replace_event(
        "brokerage", event_body(tables=4), actor=TEST_ACTOR, if_match=event_version
    )
    assert replaced.tables == 4 and not created
    with pytest.raises(VersionConflictError):
        events.delete_event("brokerage", actor=TEST_ACTOR, if_match=event_version)
    events.delete_event("brokerage", actor=TEST_ACTOR, if_match=events.get_event_versioned("brokerage")[1])
    with pytest.raises(NotFoundError):
        events.get_event("brokerage")


def test_a_schedule_planned_from_an_old_attendee_list_is_planned_again(
    seeded: EventService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's second probe: a schedule computed from an old attendee list overwrote newer
    changes (a cancelled attendee kept meetings, a new one got none). Now the change made while
    planning makes it plan once more, from the new list; a second change in that time is a 409."""
    events = seeded
    register_all(events)
    ids = {a.org_id: a.attendee_id for a in events.attendees("brokerage")}
    real_plan = event_service.plan_meetings
    plans: list[int] = []

    def plan_while_the_list_changes(*args: object, **kw: object) -> object:
        plans.append(len(args[0].ids))  # type: ignore[attr-defined]  # participants
        if len(plans) == 1:
            events.remove_attendee("brokerage", ids["t1"], actor=TEST_ACTOR)
        return real_plan(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(event_service, "plan_meetings", plan_while_the_list_changes)
    schedule = events.schedule("brokerage", actor=TEST_ACTOR)
    assert plans == [6, 5]
    _, attendees_version = events.attendees_versioned("brokerage")
    assert (schedule.attendees, schedule.attendees_version) == (5, attendees_version)
    assert all(ids["t1"] not in (m.attendee_a, m.attendee_b) for m in schedule.meetings)
    assert events.get_schedule("brokerage") == schedule

    def plan_while_people_keep_registering(*args: object, **kw: object) -> object:
        plans.append(len(args[0].ids))  # type: ignore[attr-defined]
        events.register(
            "brokerage", AttendeeCreate(org_id="c1", person=f"Late {len(plans)}", want="x"), actor=TEST_ACTOR
        )
        return real_plan(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(event_service, "plan_meetings", plan_while_people_keep_registering)
    with pytest.raises(ConflictError, match="changed while it was being scheduled") as exc:
        events.schedule("brokerage", actor=TEST_ACTOR)
    assert f"attendee list now version {events.attendees_versioned('brokerage')[1]}" in str(exc.value)
    assert plans[2:] == [5, 6]
    assert events.get_schedule("brokerage") == schedule  # nothing saved over it


def test_schedule_needs_two_attendees(seeded: EventService) -> None:
    seeded.create_event(event_body(), actor=TEST_ACTOR)
    with pytest.raises(InvalidInputError, match="at least 2"):
        seeded.schedule("brokerage", actor=TEST_ACTOR)
    with pytest.raises(NotFoundError):
        seeded.get_schedule("brokerage")


def test_exports_parse_back(seeded: EventService, tmp_path: Path) -> None:
    from icalendar import Calendar

    events = seeded
    register_all(events)
    schedule = events.schedule("brokerage", actor=TEST_ACTOR)
    event = events.get_event("brokerage")
    attendees = events.attendees("brokerage")
    agendas = events.agendas("brokerage")
    tz = ZoneInfo("Europe/Brussels")
    for agenda in agendas:
        cal = Calendar.from_ical(agenda_ics(agenda, event))
        vevents = [c for c in cal.walk("VEVENT")]
        assert len(vevents) == len(agenda.items)
        assert len({str(v["UID"]) for v in vevents}) == len(vevents)
        for v, item in zip(sorted(vevents, key=lambda v: v.decoded("DTSTART")), agenda.items, strict=True):
            start = v.decoded("DTSTART")
            assert start == item.start.replace(tzinfo=tz) and start.utcoffset() == timedelta(hours=2)
            assert item.partner_org in str(v["SUMMARY"])
            assert "Why you should meet" in str(v["DESCRIPTION"])
        if agenda.items:
            assert cal.walk("VTIMEZONE")  # calendar clients need the zone definition
    rows = list(csv.DictReader(io.StringIO(agendas_csv(agendas))))
    assert len(rows) == 2 * len(schedule.meetings)
    summary = summarise(event, attendees, schedule)
    assert sum(b.attendees for b in summary.meetings_per_attendee) == len(attendees)
    assert sum(b.meetings * b.attendees for b in summary.meetings_per_attendee) == 2 * summary.meetings
    assert (
        summary.scores is not None and sum(b.meetings for b in summary.scores.histogram) == summary.meetings
    )
    srows = list(csv.DictReader(io.StringIO(summary_csv(event, attendees, schedule))))
    assert [r["attendee_id"] for r in srows] == [a.attendee_id for a in attendees]
    html = summary_html(event, summary)
    assert "<svg" in html and "Skills brokerage" in html and "<script" not in html
    written = write_exports(tmp_path / "out", event, attendees, schedule, agendas)
    assert len(list((tmp_path / "out" / "ics").glob("*.ics"))) == len(attendees)
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["meetings"] == len(schedule.meetings)
    assert len(written) == len(attendees) + 5


# -- real data --------------------------------------------------------------------------------


@pytest.mark.shared_data
@requires_shared_data
def test_cordis_slice_brokerage(hashing_service: PactmatchService, tmp_path: Path) -> None:
    """A slice of the real CORDIS data: 2019 projects, their Belgian participants at an event."""
    from pactmatch.importers import read_cordis

    projects, participants = cordis_slice(
        tmp_path, lambda row: row["start_date"].startswith("2019-0") and bool(row["title"])
    )
    hashing_service.import_batch(read_cordis(projects, participants), "slice", actor=TEST_ACTOR)
    events = EventService(hashing_service)
    # 4 slots, at most 3 meetings each: a free slot per attendee keeps every agenda colourable
    events.create_event(event_body(tables=40, default_max_meetings=3, min_meetings=2), actor=TEST_ACTOR)
    report = events.register_from_store("brokerage", StoreSelection(country="BE", limit=60), actor=TEST_ACTOR)
    assert len(report.registered) == 60 and not report.errors
    assert all(a.offer and a.want for a in report.registered)
    schedule = events.schedule("brokerage", actor=TEST_ACTOR)
    stats = schedule.stats
    assert stats.meetings > 60 and stats.gap_to_bound is not None and stats.gap_to_bound < 0.02
    assert stats.objective > stats.greedy_objective
    store = hashing_service.store
    attendees = {a.attendee_id: a for a in events.attendees("brokerage")}
    projects_of = {
        a.org_id: {m.partnership_id for m in store.memberships(org_id=a.org_id)} for a in attendees.values()
    }
    per_slot: Counter[tuple[str, str]] = Counter()
    for m in schedule.meetings:
        a, b = attendees[m.attendee_a], attendees[m.attendee_b]
        assert not (projects_of[a.org_id] & projects_of[b.org_id])  # never two co-members (nobody asked)
        per_slot[(m.slot_id, a.attendee_id)] += 1
        per_slot[(m.slot_id, b.attendee_id)] += 1
    assert max(per_slot.values()) == 1
    for u in schedule.unmatched:
        assert u.reason


def test_publishing_makes_every_attendees_link_at_once(seeded: EventService) -> None:
    events = seeded
    register_all(events)
    events.schedule("brokerage", actor=TEST_ACTOR)
    links = events.agenda_links("brokerage", actor=TEST_ACTOR)
    assert sorted(a.attendee_id for a, _, _ in links) == sorted(
        a.attendee_id for a in events.attendees("brokerage")
    )
    for attendee, token, _ in links:
        assert events.agenda_for_link(token).attendee_id == attendee.attendee_id  # each opens its own
    published = [e for e in events.audit.entries(0, 50).items if e.action == "agenda-link.create"]
    assert [e.target for e in published] == [f"event brokerage: {len(links)} attendees"]  # one entry
