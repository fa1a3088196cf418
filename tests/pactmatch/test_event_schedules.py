"""The plan ↔ stored schedule translation, on a hand-made plan: no store, no encoder, no solver."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np

from domain.events import DroppedMeeting, Meeting, Reason, Schedule, ScheduleStats, UnmatchedAttendee
from matching.events import (
    DroppedPin,
    PairContribution,
    PairScorer,
    Pin,
    Plan,
    PlannedMeeting,
    PlanStats,
    Unmatched,
)
from pactmatch.event_schedules import (
    dropped_from_plan,
    meetings_from_plan,
    pins_from_schedule,
    stats_from_plan,
    unmatched_from_plan,
    why_text,
)
from tests.matching.events.helpers import attendee, build, event

EVENT = event(slots=3, tables=2)
IDS = ["a0", "a1", "a2", "a3"]


def plan_stats(**kw: object) -> PlanStats:
    data: dict[str, object] = {
        "solver": "milp", "status": "optimal", "objective": 1.5, "score_total": 2.0, "selection_objective": 1.75,
        "lp_bound": 2.0, "bound_is_global": True, "greedy_objective": 1.0, "greedy_score_total": 1.25,
        "greedy_min_meetings": 0, "meetings": 3, "min_meetings": 1, "mean_meetings": 1.5, "candidate_edges": 6,
        "pricing_rounds": 2, "unplaced_after_selection": 1, "slot_method": "greedy, 1 round(s)",
        "floor_method": "moves", "below_target": 0, "seconds": {"score": 0.12345, "select": 1.0, "total": 1.12345},
    }  # fmt: skip
    data.update(kw)
    return PlanStats(**data)  # type: ignore[arg-type]


def hand_made_plan(
    meetings: Sequence[PlannedMeeting],
    unmatched: Sequence[Unmatched] = (),
    dropped: Sequence[DroppedPin] = (),
) -> Plan:
    """A plan as the optimiser would return it, its scorer a real one over four attendees."""
    offers = np.eye(4)
    wants = np.eye(4)[[1, 0, 3, 2]]  # a0 and a1 want what the other offers, so do a2 and a3
    participants, rules, _ = build(EVENT, [attendee(a) for a in IDS], offers, wants)
    degrees = np.zeros(4, dtype=np.int64)
    return Plan(
        list(meetings), list(unmatched), list(dropped), plan_stats(), PairScorer(participants, rules), degrees
    )


def test_previous_meetings_become_pins_unless_an_attendee_cancelled() -> None:
    def meeting(a: str, b: str, slot_id: str, table: int) -> Meeting:
        return Meeting(
            meeting_id=f"{slot_id}-t{table}",
            slot_id=slot_id,
            table=table,
            attendee_a=a,
            attendee_b=b,
            score=0.5,
        )

    previous = Schedule(
        event_id="ev",
        generated_at=datetime(2025, 1, 1, tzinfo=UTC),
        encoder="hashing-512",
        attendees=6,
        meetings=(
            meeting("a0", "a1", "s2", 1),
            meeting("a2", "x", "s1", 1),
            meeting("x", "y", "s1", 2),
            meeting("a3", "a0", "s9", 2),  # a slot the event no longer has: only the pair is kept
        ),
        stats=stats_from_plan(plan_stats(), {}, {}),
    )
    pins, cancelled = pins_from_schedule(previous, EVENT, IDS)
    assert pins == [Pin(0, 1, 1, 1), Pin(3, 0, -1, 2)]
    assert cancelled == [
        DroppedMeeting(attendee_a="a2", attendee_b="x", slot_id="s1", reason="x cancelled"),
        DroppedMeeting(attendee_a="x", attendee_b="y", slot_id="s1", reason="x and y cancelled"),
    ]
    assert pins_from_schedule(None, EVENT, IDS) == ([], [])


def test_meetings_come_in_slot_and_table_order_explained_and_marked_when_pinned() -> None:
    plan = hand_made_plan(
        [
            PlannedMeeting(2, 3, slot=1, table=1, score=0.123456789, pinned=False),
            PlannedMeeting(0, 1, slot=0, table=2, score=0.5, pinned=False),
            PlannedMeeting(1, 2, slot=0, table=1, score=0.25, pinned=True),
        ]
    )
    meetings = meetings_from_plan(plan, EVENT, IDS, [Pin(1, 0, 0, 2)])
    assert [(m.meeting_id, m.slot_id, m.table, m.attendee_a, m.attendee_b) for m in meetings] == [
        ("s1-t1", "s1", 1, "a1", "a2"),
        ("s1-t2", "s1", 2, "a0", "a1"),
        ("s2-t1", "s2", 1, "a2", "a3"),
    ]
    assert [m.score for m in meetings] == [0.25, 0.5, 0.123457]
    # the pins, not the optimiser's own flag, say what carried over; a pin's pair is unordered
    assert [m.pinned for m in meetings] == [False, True, False]
    for m, (a, b) in zip(meetings, [(1, 2), (0, 1), (2, 3)], strict=True):
        contributions = plan.scorer.explain(a, b)
        assert [r.signal for r in m.reasons] == [c.signal for c in contributions]
        assert m.why == why_text(contributions)
    assert (
        meetings[0].why == "open to meeting" and meetings[1].reasons
    )  # a1 and a2 want nothing of each other


def test_dropped_pins_and_unmatched_attendees_are_named_by_id() -> None:
    plan = hand_made_plan(
        [],
        unmatched=[Unmatched(3, meetings=0, floor=1, reason="no compatible partner")],
        dropped=[DroppedPin(0, 1, 2, "a0 now has room for 0 meeting(s)"), DroppedPin(2, 3, -1, "veto")],
    )
    assert dropped_from_plan(plan, EVENT, IDS) == (
        DroppedMeeting(
            attendee_a="a0", attendee_b="a1", slot_id="s3", reason="a0 now has room for 0 meeting(s)"
        ),
        DroppedMeeting(attendee_a="a2", attendee_b="a3", slot_id="", reason="veto"),
    )
    assert unmatched_from_plan(plan, IDS) == (
        UnmatchedAttendee(attendee_id="a3", meetings=0, floor=1, reason="no compatible partner"),
    )


def test_stats_keep_what_a_reader_needs_and_the_seconds_of_the_whole_run_in_order() -> None:
    stats = stats_from_plan(
        plan_stats(), before={"embed": 0.5, "memberships": 0.0004}, after={"explain": 0.01, "total": 2.0}
    )
    assert stats == ScheduleStats(
        solver="milp", status="optimal", objective=1.5, selection_objective=1.75, score_total=2.0, lp_bound=2.0,
        gap_to_bound=0.25, greedy_objective=1.0, greedy_score_total=1.25, greedy_min_meetings=0, meetings=3,
        min_meetings=1, mean_meetings=1.5, candidate_edges=6, pricing_rounds=2, unplaced_after_selection=1,
        floor_method="moves", below_target=0,
        seconds={"embed": 0.5, "memberships": 0.0, "score": 0.123, "select": 1.0, "explain": 0.01, "total": 2.0},
    )  # fmt: skip
    assert list(stats.seconds) == ["embed", "memberships", "score", "select", "explain", "total"]
    assert stats_from_plan(plan_stats(lp_bound=None), {}, {}).gap_to_bound is None


def test_why_text_joins_the_largest_positive_evidence() -> None:
    contributions = [
        PairContribution("offer_want", "a", 0.4, "batteries"),
        PairContribution("region", "both", 0.1, "same region"),
        PairContribution("type", "b", 0.05, "wants an SME"),
    ]
    assert why_text(contributions) == "batteries; same region"
    assert why_text(contributions, limit=1) == "batteries"
    assert why_text([PairContribution("offer_want", "a", 0.0, "nothing shared")]) == "open to meeting"


def test_reasons_carry_side_and_rounded_value() -> None:
    plan = hand_made_plan([PlannedMeeting(0, 1, slot=0, table=1, score=0.5, pinned=False)])
    (meeting,) = meetings_from_plan(plan, EVENT, IDS, [])
    assert meeting.reasons
    for reason, c in zip(meeting.reasons, plan.scorer.explain(0, 1), strict=True):
        assert reason == Reason(signal=c.signal, side=c.side, value=round(c.value, 6), evidence=c.evidence)
