"""The whole plan: invariants on random events (hypothesis), pinning on re-scheduling, bounds."""

from __future__ import annotations

from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.events import Attendee, AttendeeGroup, Event
from matching.events import Pin, PlanStats, ScheduleOptions, plan_meetings, schedule_violations
from matching.events.participants import met_before_pairs
from matching.events.scoring import EdgeSet, PairScorer
from matching.events.selection import SelectionProblem, solve_lp
from matching.events.validate import PlacedMeeting
from tests.matching.events.helpers import attendee, build, event

FAST = ScheduleOptions(floor=1, time_limit=5, slot_time_limit=1)


@st.composite
def random_event(
    draw: st.DrawFn,
) -> tuple[Event, list[Attendee], np.ndarray, np.ndarray, list[tuple[int, int]]]:
    n = draw(st.integers(2, 14))
    n_slots = draw(st.integers(1, 5))
    grouped = draw(st.booleans())
    groups = (AttendeeGroup(group_id="g1", meets=("g2",)), AttendeeGroup(group_id="g2")) if grouped else ()
    ev = event(
        slots=n_slots, tables=draw(st.integers(1, 6)), cap=draw(st.integers(1, 4)), floor=1, groups=groups
    )
    slot_ids = [s.slot_id for s in ev.slots]
    people = []
    for i in range(n):
        availability = draw(st.lists(st.sampled_from(slot_ids), unique=True, max_size=n_slots))
        others = [f"a{j}" for j in range(n) if j != i]
        people.append(
            attendee(
                f"a{i}",
                org_id=f"org-{draw(st.integers(0, n))}",  # sometimes two attendees of one organisation
                availability=tuple(availability),
                max_meetings=draw(st.none() | st.integers(0, 4)),
                must_meet=tuple(draw(st.lists(st.sampled_from(others), max_size=2, unique=True)))
                if others
                else (),
                no_thanks=tuple(draw(st.lists(st.sampled_from(others), max_size=2, unique=True)))
                if others
                else (),
                group=draw(st.sampled_from(["g1", "g2"])) if grouped else None,
                wanted_types=tuple(
                    draw(st.lists(st.sampled_from(["sme", "vet_provider", "trade_union"]), max_size=2))
                ),
                stakeholder_type=draw(st.sampled_from(["sme", "vet_provider", "trade_union"])),
            )
        )
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    offers = np.abs(rng.normal(size=(n, 4))).astype(np.float32)
    wants = np.abs(rng.normal(size=(n, 4))).astype(np.float32)
    offers /= np.linalg.norm(offers, axis=1, keepdims=True)
    wants /= np.linalg.norm(wants, axis=1, keepdims=True)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < 0.15]
    return ev, people, offers, wants, pairs


def check_independently(
    ev: Event, people: list[Attendee], met: set[tuple[int, int]], plan_meetings_: list
) -> None:  # type: ignore[type-arg]
    """The invariants, checked from the attendees' own fields (not from the optimiser's arrays)."""
    slot_ids = [s.slot_id for s in ev.slots]
    ids = {p.attendee_id: k for k, p in enumerate(people)}
    per_slot: Counter[int] = Counter()
    busy: Counter[tuple[int, int]] = Counter()
    degree: Counter[int] = Counter()
    tables: set[tuple[int, int]] = set()
    for m in plan_meetings_:
        a, b = people[m.a], people[m.b]
        per_slot[m.slot] += 1
        busy[(m.a, m.slot)] += 1
        busy[(m.b, m.slot)] += 1
        degree[m.a] += 1
        degree[m.b] += 1
        assert (m.slot, m.table) not in tables and 1 <= m.table <= ev.tables
        tables.add((m.slot, m.table))
        for x in (a, b):
            assert not x.availability or slot_ids[m.slot] in x.availability
        assert m.b not in {ids.get(r) for r in a.no_thanks} and m.a not in {ids.get(r) for r in b.no_thanks}
        requested = f"a{m.b}" in a.must_meet or f"a{m.a}" in b.must_meet
        same_org = a.org_id == b.org_id
        if (min(m.a, m.b), max(m.a, m.b)) in met or same_org:
            assert requested
        if ev.groups:
            assert {a.group, b.group} == {"g1", "g2"}
    assert all(c <= ev.tables for c in per_slot.values())
    assert all(c == 1 for c in busy.values())
    for k, p in enumerate(people):
        cap = ev.default_max_meetings if p.max_meetings is None else p.max_meetings
        assert degree[k] <= cap


@settings(max_examples=60)
@given(random_event())
def test_schedules_are_valid(
    case: tuple[Event, list[Attendee], np.ndarray, np.ndarray, list[tuple[int, int]]],
) -> None:
    ev, people, offers, wants, pairs = case
    p, rules, _ = build(ev, people, offers, wants, met_before=pairs)
    plan = plan_meetings(p, rules, ev.tables, FAST)
    check_independently(ev, people, set(pairs), plan.meetings)
    placed = [PlacedMeeting(m.a, m.b, m.slot, m.table) for m in plan.meetings]
    assert schedule_violations(p, rules, ev.tables, placed) == []
    st_ = plan.stats
    if st_.lp_bound is not None:
        assert st_.lp_bound >= st_.selection_objective - 1e-6
    for u in plan.unmatched:
        assert u.reason and plan.degrees[u.index] == u.meetings


@settings(max_examples=30)
@given(random_event())
def test_rescheduling_after_a_cancellation_keeps_everyone_elses_meetings(
    case: tuple[Event, list[Attendee], np.ndarray, np.ndarray, list[tuple[int, int]]],
) -> None:
    ev, people, offers, wants, pairs = case
    p, rules, _ = build(ev, people, offers, wants, met_before=pairs)
    first = plan_meetings(p, rules, ev.tables, FAST)
    # attendee 0 cancels; everyone shifts down one index
    rest = people[1:]
    kept_pairs = [(i - 1, j - 1) for i, j in pairs if i > 0 and j > 0]
    p2, rules2, _ = build(ev, rest, offers[1:], wants[1:], met_before=kept_pairs)
    pins = [Pin(m.a - 1, m.b - 1, m.slot, m.table) for m in first.meetings if m.a > 0 and m.b > 0]
    second = plan_meetings(p2, rules2, ev.tables, FAST, pins)
    after = {(min(m.a, m.b), max(m.a, m.b)): (m.slot, m.table) for m in second.meetings}
    for pin in pins:
        assert after[(min(pin.a, pin.b), max(pin.a, pin.b))] == (pin.slot, pin.table)
    assert second.dropped == []


def test_a_late_registration_gets_meetings_without_moving_confirmed_ones() -> None:
    ev = event(slots=3, tables=10, cap=2, floor=1)
    x, y = [1.0, 0.0], [0.0, 1.0]
    people = [attendee(f"a{i}") for i in range(4)]
    offers, wants = [x, y, x, y], [y, x, y, x]
    p, rules, _ = build(ev, people, offers, wants)
    first = plan_meetings(p, rules, ev.tables, FAST)
    assert first.stats.min_meetings == 2
    late = [*people, attendee("late")]
    p2, rules2, _ = build(ev, late, [*offers, x], [*wants, y])
    pins = [Pin(m.a, m.b, m.slot, m.table) for m in first.meetings]
    second = plan_meetings(p2, rules2, ev.tables, ScheduleOptions(floor=1), pins)
    before = {(m.a, m.b, m.slot, m.table) for m in first.meetings}
    assert before <= {(m.a, m.b, m.slot, m.table) for m in second.meetings}
    # everyone else is at their cap of 2, so the newcomer cannot be served — and is told why
    assert [u.index for u in second.unmatched] == [4]
    assert "2 are at their cap" in second.unmatched[0].reason


def test_unmatched_reasons_name_the_cause() -> None:
    ev = event(slots=2, cap=2, floor=1)
    x, y = [1.0, 0.0], [0.0, 1.0]
    people = [
        attendee("a", no_thanks=("b", "c")),
        attendee("b"),
        attendee("c"),
        attendee("d", availability=()),
    ]
    p, rules, _ = build(ev, people, [x, y, y, x], [y, x, x, y])
    plan = plan_meetings(p, rules, ev.tables, FAST)
    reasons = {people[u.index].attendee_id: u.reason for u in plan.unmatched}
    assert "a" in reasons and "2 no thanks" in reasons["a"]


def test_bound_with_pricing_matches_the_lp_over_all_pairs() -> None:
    """Even when the candidate set starts tiny (top 1 per attendee), the reported bound is the LP
    over *all* pairs: pricing adds what the LP needs and the reduced costs certify the rest."""
    rng = np.random.default_rng(7)
    n = 24
    ev = event(slots=4, tables=40, cap=3, floor=1)
    people = [attendee(f"a{i}", wanted_types=("sme",) if i % 3 == 0 else ()) for i in range(n)]
    offers = np.abs(rng.normal(size=(n, 6))).astype(np.float32)
    wants = np.abs(rng.normal(size=(n, 6))).astype(np.float32)
    offers /= np.linalg.norm(offers, axis=1, keepdims=True)
    wants /= np.linalg.norm(wants, axis=1, keepdims=True)
    p, rules, _ = build(ev, people, offers, wants)
    plan = plan_meetings(p, rules, ev.tables, ScheduleOptions(floor=1, top_n=1))
    # the LP over every allowed pair, built directly
    scorer = PairScorer(p, rules)
    _, scores, allowed = next(scorer.blocks())
    iu, ju = np.nonzero(np.triu(allowed & (scores > 0), 1))
    full = EdgeSet(iu.astype(np.int64), ju.astype(np.int64), scores[iu, ju])
    _, counts = scorer.candidate_edges(1)
    floors = np.minimum(np.minimum(1, p.caps), counts.positive)
    lp = solve_lp(SelectionProblem(n, full, p.caps, floors, ev.tables * 4, np.zeros(len(full), dtype=bool)))
    stats: PlanStats = plan.stats
    assert stats.lp_bound is not None
    # a valid bound (never below the full LP) and a tight one (pricing stops within 1e-4)
    assert lp.bound - 1e-7 <= stats.lp_bound <= lp.bound * (1 + ScheduleOptions().pricing_tolerance) + 1e-7
    assert stats.pricing_rounds > 1
    assert stats.objective >= 0.98 * lp.bound


def test_met_before_pairs_from_membership_rows() -> None:
    from scipy import sparse

    rows = sparse.csr_matrix(np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 0, 0]], dtype=np.float32))
    assert met_before_pairs(rows) == {(0, 1)}


def test_attendees_of_one_organisation_count_as_met() -> None:
    ev = event()
    x, y = [1.0, 0.0], [0.0, 1.0]
    people = [
        attendee("a", org_id="same"),
        attendee("b", org_id="same"),
        attendee("c", org_id="same", must_meet=("a",)),
    ]
    p, rules, _ = build(ev, people, [x, y, y], [y, x, x])
    scorer = PairScorer(p, rules)
    assert scorer.score(0, 1) == 0.0
    assert scorer.score(0, 2) > 0  # asked for


def test_greedy_fallback_is_valid_and_reported() -> None:
    rng = np.random.default_rng(11)
    n = 20
    ev = event(slots=4, tables=6, cap=3, floor=2)
    people = [attendee(f"a{i}") for i in range(n)]
    offers = np.abs(rng.normal(size=(n, 5))).astype(np.float32)
    wants = np.abs(rng.normal(size=(n, 5))).astype(np.float32)
    offers /= np.linalg.norm(offers, axis=1, keepdims=True)
    wants /= np.linalg.norm(wants, axis=1, keepdims=True)
    p, rules, _ = build(ev, people, offers, wants)
    fallback = plan_meetings(p, rules, ev.tables, ScheduleOptions(floor=2, solver="greedy"))
    exact = plan_meetings(p, rules, ev.tables, ScheduleOptions(floor=2))
    assert fallback.stats.solver == "fair-greedy" and exact.stats.solver == "milp"
    placed = [PlacedMeeting(m.a, m.b, m.slot, m.table) for m in fallback.meetings]
    assert schedule_violations(p, rules, ev.tables, placed) == []
    assert exact.stats.selection_objective >= fallback.stats.selection_objective - 1e-9
    assert fallback.stats.min_meetings >= 2  # the fallback fills floors first
