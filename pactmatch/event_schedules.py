"""Between the optimiser and the stored schedule: pins from the previous schedule, and the plan
turned back into the pieces of a :class:`~domain.events.Schedule`.

:func:`matching.events.plan_meetings` speaks in attendee *positions* and slot *positions*; a stored
schedule speaks in attendee and slot *ids*, every meeting explained. The translation both ways
lives here, as pure functions, so that the service only loads, plans, maps and saves, and so that
the mapping is tested on a hand-made plan without a store or an encoder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict

from domain.events import DroppedMeeting, Event, Meeting, Reason, Schedule, ScheduleStats, UnmatchedAttendee
from domain.meeting_requests import MeetingRequest
from matching.events import PairContribution, Pin, Plan, PlanStats

#: Diagnostics of one optimiser run that a stored schedule has never kept.
PLAN_ONLY_STATS = frozenset({"bound_is_global", "slot_method"})


def pins_from_schedule(
    previous: Schedule | None,
    event: Event,
    ids: Sequence[str],
    called_off: Mapping[frozenset[str], MeetingRequest] | None = None,
) -> tuple[list[Pin], list[DroppedMeeting]]:
    """The previous schedule's meetings as pins for the next plan, and those no pin can keep.

    A meeting stays pinned to its slot and table while both attendees are registered (in a slot the
    event no longer has, only the pair is pinned); a meeting whose attendee cancelled, or whose
    accepted request was since withdrawn, declined or cancelled (``called_off``, by pair), is
    dropped here, naming who. ``ids`` are the attendee ids in the order the plan numbers them.
    """
    if previous is None:
        return [], []
    index = {attendee_id: i for i, attendee_id in enumerate(ids)}
    slots = event.slot_index
    pins: list[Pin] = []
    cancelled: list[DroppedMeeting] = []
    for m in previous.meetings:
        gone = [x for x in (m.attendee_a, m.attendee_b) if x not in index]
        request = (called_off or {}).get(frozenset((m.attendee_a, m.attendee_b)))
        reason = None
        if gone:
            reason = f"{' and '.join(gone)} cancelled"
        elif request is not None:
            reason = f"the accepted request {request.request_id} was {request.state.value} by {request.history[-1].by}"
        if reason is not None:
            cancelled.append(
                DroppedMeeting(
                    attendee_a=m.attendee_a, attendee_b=m.attendee_b, slot_id=m.slot_id, reason=reason
                )
            )
        else:
            pins.append(Pin(index[m.attendee_a], index[m.attendee_b], slots.get(m.slot_id, -1), m.table))
    return pins, cancelled


def accepted_pins(accepted: Sequence[tuple[str, str]], ids: Sequence[str]) -> list[Pin]:
    """Accepted requests as pins of their pair (any slot): meetings the plan must hold. Pairs with
    an attendee no longer registered are left out; a pair the previous schedule already pins
    keeps that pin (the plan keeps the first pin of a pair)."""
    index = {attendee_id: i for i, attendee_id in enumerate(ids)}
    return [Pin(index[a], index[b]) for a, b in accepted if a in index and b in index]


def meetings_from_plan(
    plan: Plan, event: Event, ids: Sequence[str], pins: Sequence[Pin]
) -> tuple[Meeting, ...]:
    """The plan's meetings in slot and table order, each with its reasons and "why you should meet".

    A meeting is ``pinned`` when its pair was among ``pins`` (the previous schedule's meetings and
    the accepted requests), even where the optimiser gave it a new slot: the organiser sees which
    introductions were confirmed before this run. Explaining is the costly part of the
    mapping (one scorer call a meeting), which is why the service times this step on its own.
    """
    pinned_pairs = {(min(p.a, p.b), max(p.a, p.b)) for p in pins}
    meetings = []
    for pm in sorted(plan.meetings, key=lambda x: (x.slot, x.table)):
        slot_id = event.slots[pm.slot].slot_id
        contributions = plan.scorer.explain(pm.a, pm.b)
        meetings.append(
            Meeting(
                meeting_id=f"{slot_id}-t{pm.table}",
                slot_id=slot_id,
                table=pm.table,
                attendee_a=ids[pm.a],
                attendee_b=ids[pm.b],
                score=round(pm.score, 6),
                reasons=tuple(_reason(c) for c in contributions),
                why=why_text(contributions),
                pinned=(min(pm.a, pm.b), max(pm.a, pm.b)) in pinned_pairs,
            )
        )
    return tuple(meetings)


def dropped_from_plan(plan: Plan, event: Event, ids: Sequence[str]) -> tuple[DroppedMeeting, ...]:
    """Pinned meetings the optimiser could not keep, and why (no slot id where only the pair was pinned)."""
    return tuple(
        DroppedMeeting(
            attendee_a=ids[d.a],
            attendee_b=ids[d.b],
            slot_id=event.slots[d.slot].slot_id if d.slot >= 0 else "",
            reason=d.reason,
        )
        for d in plan.dropped
    )


def unmatched_from_plan(plan: Plan, ids: Sequence[str]) -> tuple[UnmatchedAttendee, ...]:
    """Attendees below the fairness floor, and why."""
    return tuple(
        UnmatchedAttendee(attendee_id=ids[u.index], meetings=u.meetings, floor=u.floor, reason=u.reason)
        for u in plan.unmatched
    )


def stats_from_plan(
    stats: PlanStats, before: Mapping[str, float], after: Mapping[str, float]
) -> ScheduleStats:
    """The plan's statistics as stored, with the seconds of the whole run in the order they were spent.

    ``before`` and ``after`` are the service's own steps around the optimiser's phases; the plan's
    ``total`` covers only the optimiser, so the stored one comes from ``after``. Times are rounded
    to milliseconds. The plan's fields pass by name: :class:`ScheduleStats` forbids unknown fields,
    so a statistic added to the plan fails here until it is stored or named in
    :data:`PLAN_ONLY_STATS`.
    """
    phases = {k: v for k, v in stats.seconds.items() if k != "total"}
    seconds = {k: round(v, 3) for k, v in {**before, **phases, **after}.items()}
    fields = {k: v for k, v in asdict(stats).items() if k not in PLAN_ONLY_STATS}
    return ScheduleStats.model_validate({**fields, "gap_to_bound": stats.gap_to_bound, "seconds": seconds})


def why_text(contributions: Sequence[PairContribution], limit: int = 2) -> str:
    """The "why you should meet" line: the largest contributions' evidence, joined."""
    parts = [c.evidence for c in contributions[:limit] if c.value > 0]
    return "; ".join(parts) if parts else "open to meeting"


def _reason(c: PairContribution) -> Reason:
    side = c.side if c.side in ("a", "b", "both") else "both"
    return Reason(signal=c.signal, side=side, value=round(c.value, 6), evidence=c.evidence)
