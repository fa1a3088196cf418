"""The whole plan: candidate meetings → selection (MILP) → slots and tables → floors and free room
→ report.

:func:`plan_meetings` is the one entry point. It is pure (arrays in, dataclasses out); the service
turns attendees into :class:`~matching.events.participants.Participants` and the plan back into a
stored :class:`domain.events.Schedule`.

Candidate meetings are each attendee's ``top_n`` best partners (plus requests and pinned
meetings). The LP relaxation over them is then *priced* against all pairs (column generation):
pairs whose reduced cost is positive are added and the LP re-solved, so when pricing converges
the LP value is an upper bound for the problem over **all** pairs, not only the candidates — which
is what makes the reported gap honest. At 1,000 attendees with caps of 6 there are ~10–20k
candidate edges instead of ~500k pairs, and pricing rarely adds more than a few hundred.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from matching.events.floors import FloorOptions, Placed, complete_schedule, shortfall_reasons
from matching.events.participants import PairRules, Participants
from matching.events.scoring import EXCLUSION_REASONS, EdgeSet, PairScorer
from matching.events.selection import (
    LPSolution,
    Selection,
    SelectionProblem,
    fair_greedy,
    greedy,
    lp_rounding,
    solve_lp,
    solve_milp,
)
from matching.events.slots import SlotAssignment, assign_slots
from matching.events.validate import PlacedMeeting, schedule_violations

#: ``progress(phase, done, total)``
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ScheduleOptions:
    """Parameters of :func:`plan_meetings` (defaults suit events up to a few thousand attendees)."""

    floor: int = 2
    top_n: int | None = None  # candidate partners per attendee; default max(3 × largest cap, 12)
    time_limit: float = 20.0  # seconds for the selection MILP
    slot_rounds: int = 3  # slot assignment ↔ re-selection rounds when meetings cannot be placed
    slot_time_limit: float = 2.0  # the exact slot MILP only runs when greedy + repair leave meetings unplaced
    mip_rel_gap: float = (
        1e-2  # HiGHS stops within 1 % of its bound; at 300 attendees that is 0.5 s, exact is 4 s
    )
    max_pricing_rounds: int = 8
    pricing_tolerance: float = 1e-4
    solver: Literal["milp", "greedy"] = "milp"
    compute_bound: bool = True
    floor_time_limit: float = 10.0  # the exact floor repair (only when moves leave someone short)
    floor_max_variables: int = 60_000  # (pair, slot) variables up to which that repair is exact


@dataclass(frozen=True)
class Pin:
    """A meeting of the previous schedule to keep (slot ``-1`` when only the pair is to be kept)."""

    a: int
    b: int
    slot: int = -1
    table: int = 0


@dataclass(frozen=True)
class PlannedMeeting:
    a: int
    b: int
    slot: int
    table: int
    score: float
    pinned: bool


@dataclass(frozen=True)
class Unmatched:
    index: int
    meetings: int
    floor: int
    reason: str


@dataclass(frozen=True)
class DroppedPin:
    a: int
    b: int
    slot: int
    reason: str


@dataclass
class PlanStats:
    solver: str
    status: str
    objective: float
    score_total: float
    selection_objective: float
    lp_bound: float | None
    bound_is_global: bool
    greedy_objective: float
    greedy_score_total: float
    greedy_min_meetings: int
    meetings: int
    min_meetings: int
    mean_meetings: float
    candidate_edges: int
    pricing_rounds: int
    unplaced_after_selection: int
    slot_method: str
    floor_method: str
    below_target: int
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def gap_to_bound(self) -> float | None:
        if self.lp_bound is None or abs(self.lp_bound) < 1e-12:
            return None
        return max(self.lp_bound - self.objective, 0.0) / abs(self.lp_bound)


@dataclass(frozen=True)
class Plan:
    meetings: list[PlannedMeeting]
    unmatched: list[Unmatched]
    dropped: list[DroppedPin]
    stats: PlanStats
    scorer: PairScorer
    degrees: npt.NDArray[np.int64]


def plan_meetings(
    participants: Participants,
    rules: PairRules,
    tables: int,
    options: ScheduleOptions | None = None,
    pins: Sequence[Pin] = (),
    progress: Progress | None = None,
) -> Plan:
    """Choose introductions and give each a slot and a table.

    Hard rules: no veto pair, no pair that already works together unless one of them asked, group
    rules, availability, at most one meeting per attendee per slot, at most ``tables`` meetings per
    slot, caps. Soft: every attendee gets at least ``options.floor`` meetings where feasible: when
    some schedule gives everyone ``min(floor, cap, partners with mutual interest)``, the floor stage
    (:mod:`matching.events.floors`) finds one (exactly up to ``options.floor_max_variables``);
    those still below it are reported with reasons that hold in the schedule.
    """
    opts = options or ScheduleOptions()
    p = participants
    n, n_slots = p.n, p.n_slots
    seconds: dict[str, float] = {}
    step = _Stepper(progress, seconds)

    step("score", 0)
    scorer = PairScorer(p, rules)
    top_n = opts.top_n or max(3 * int(p.caps.max(initial=0)), 12)
    edges, counts = scorer.candidate_edges(top_n)
    step("score", 1)

    kept_pins, dropped = _check_pins(scorer, pins)
    total_capacity = tables * n_slots
    for pin in kept_pins[total_capacity:]:  # kept pins are best first
        dropped.append(
            DroppedPin(pin.a, pin.b, pin.slot, f"the room now holds only {total_capacity} meetings")
        )
    kept_pins = kept_pins[:total_capacity]
    edges, fixed, pin_slot, pin_table = _with_pins(edges, kept_pins, scorer, n)
    floors = np.minimum(np.minimum(opts.floor, p.caps), counts.positive).astype(np.int64)

    # LP relaxation + pricing: a bound over all pairs, and a candidate set the LP cannot improve on.
    step("bound", 0)
    lp: LPSolution | None = None
    bound: float | None = None
    rounds = 0
    bound_is_global = False
    problem = SelectionProblem(n, edges, p.caps, floors, total_capacity, fixed)
    if opts.compute_bound:
        for rounds in range(1, opts.max_pricing_rounds + 1):  # noqa: B007 (rounds is reported)
            lp = solve_lp(problem)
            new, excess = scorer.price(lp.cap_duals, lp.floor_duals, lp.total_dual, edges)
            # Weak duality: the restricted LP plus the positive reduced costs outside it bounds
            # the LP over all pairs (see PairScorer.price); the tightest round counts.
            bound = lp.bound + excess if bound is None else min(bound, lp.bound + excess)
            bound_is_global = True
            # Stop when nothing is priced out, or when all pairs left out could lift the LP by less
            # than opts.pricing_tolerance (relative): the bound above already accounts for them.
            if len(new) == 0 or excess <= opts.pricing_tolerance * max(abs(lp.bound), 1.0):
                break
            edges = edges.concat(new)
            fixed = np.concatenate([fixed, np.zeros(len(new), dtype=bool)])
            pin_slot = np.concatenate([pin_slot, np.full(len(new), -1, dtype=np.int64)])
            pin_table = np.concatenate([pin_table, np.zeros(len(new), dtype=np.int64)])
            problem = SelectionProblem(n, edges, p.caps, floors, total_capacity, fixed)
    step("bound", 1)

    step("select", 0)
    baseline = greedy(problem)
    selection: Selection | None = None
    if opts.solver == "milp":
        selection = solve_milp(problem, time_limit=opts.time_limit, mip_rel_gap=opts.mip_rel_gap)
        if (selection is None or selection.status != "optimal") and lp is not None:
            # HiGHS ran out of time (thousands of attendees on busy cores): its incumbent can be
            # far from the bound, while the LP, nearly integral here, rounds to a good selection
            rounded = lp_rounding(problem, np.pad(lp.x, (0, len(edges) - len(lp.x))))
            if (
                selection is None
                or problem.evaluate(rounded.chosen)[0] > problem.evaluate(selection.chosen)[0]
            ):
                selection = rounded
    if selection is None:
        selection = fair_greedy(problem)
    step("select", 1)

    step("slots", 0)
    # Slot assignment, then re-selection around what could not be placed: placed meetings are
    # locked (slot, table and selection), unplaceable ones banned, and the MILP fills the freed
    # room; a few rounds at most, each placing at least as much as the one before.
    chosen = selection.chosen.copy()
    slot_of = np.full(len(edges), -1, dtype=np.int64)
    table_of = np.zeros(len(edges), dtype=np.int64)
    banned = np.zeros(len(edges), dtype=bool)
    unplaced: int | None = None
    slot_method, slot_rounds = "", 0
    for slot_rounds in range(1, opts.slot_rounds + 1):
        idx = np.nonzero(chosen)[0]
        placed_before = slot_of[idx] >= 0
        assignment = assign_slots(
            edges.u[idx],
            edges.v[idx],
            edges.score[idx],
            p.available,
            tables,
            fixed_slot=np.where(placed_before, slot_of[idx], pin_slot[idx]),
            fixed_table=np.where(placed_before, table_of[idx], pin_table[idx]),
            # the exact slot MILP only in the last round: before it, re-selection is cheaper
            time_limit=opts.slot_time_limit if slot_rounds == opts.slot_rounds else 0.0,
        )
        slot_of[idx] = assignment.slot
        table_of[idx] = assignment.table
        slot_method = assignment.method
        failed = idx[assignment.slot < 0]
        unplaced = len(failed) if unplaced is None else unplaced
        if not len(failed) or opts.solver != "milp":
            break
        banned[failed] = True
        placed = slot_of >= 0
        retry = SelectionProblem(n, edges, p.caps, floors, total_capacity, placed, banned & ~placed)
        again = solve_milp(retry, time_limit=opts.time_limit, mip_rel_gap=opts.mip_rel_gap)
        if again is None:
            break
        chosen = again.chosen
    slot_of[~chosen] = -1
    table_of[~chosen] = 0
    step("slots", 1)

    step("floors", 0)
    placed = slot_of >= 0
    for e in np.nonzero(fixed & ~placed)[0]:
        dropped.append(
            DroppedPin(int(edges.u[e]), int(edges.v[e]), int(pin_slot[e]), "no common free slot left")
        )
    held = np.flatnonzero(placed)
    done = complete_schedule(
        p,
        scorer,
        tables,
        floors,
        Placed(
            EdgeSet(edges.u[held], edges.v[held], edges.score[held]),
            slot_of[held],
            table_of[held],
            locked=fixed[held] & (slot_of[held] == pin_slot[held]),
            kept=fixed[held],
        ),
        candidates=edges,
        selected=problem.degrees(selection.chosen),
        options=FloorOptions(
            time_limit=opts.floor_time_limit,
            max_variables=opts.floor_max_variables,
            exact=opts.solver == "milp",
        ),
    )
    step("floors", 1)
    meetings = [
        PlannedMeeting(a, b, slot, table, score, pinned)
        for a, b, slot, table, score, pinned in zip(
            done.u.tolist(), done.v.tolist(), done.slot.tolist(), done.table.tolist(), done.score.tolist(),
            done.pinned.tolist(), strict=True,
        )
    ]  # fmt: skip
    violations = schedule_violations(
        p, rules, tables, [PlacedMeeting(m.a, m.b, m.slot, m.table) for m in meetings]
    )
    if violations:
        raise AssertionError("invalid schedule: " + "; ".join(violations[:5]))

    degrees = np.bincount(np.concatenate([done.u, done.v]), minlength=n).astype(np.int64)
    score_total = float(done.score.sum())
    objective = score_total - problem.penalty * float(np.maximum(floors - degrees, 0).sum())
    sel_objective, _, _ = problem.evaluate(selection.chosen)
    g_objective, g_score, _ = problem.evaluate(baseline.chosen)
    seconds["total"] = sum(seconds.values())
    stats = PlanStats(
        solver=selection.method,
        status=selection.status,
        objective=objective,
        score_total=score_total,
        selection_objective=sel_objective,
        lp_bound=bound,
        bound_is_global=bound_is_global,
        greedy_objective=g_objective,
        greedy_score_total=g_score,
        greedy_min_meetings=int(problem.degrees(baseline.chosen).min()) if n else 0,
        meetings=len(meetings),
        min_meetings=int(degrees.min()) if n else 0,
        mean_meetings=float(degrees.mean()) if n else 0.0,
        candidate_edges=len(edges),
        pricing_rounds=rounds,
        unplaced_after_selection=unplaced or 0,
        slot_method=f"{slot_method}, {slot_rounds} round(s)",
        floor_method=done.method,
        below_target=int((degrees < floors).sum()),
        seconds=seconds,
    )
    unmatched = [
        Unmatched(s.index, s.meetings, s.floor, s.reason)
        for s in shortfall_reasons(p, scorer, counts, done, opts.floor, floors)
    ]
    return Plan(meetings, unmatched, dropped, stats, scorer, degrees)


class _Stepper:
    """Times phases and forwards them to a progress callback."""

    def __init__(self, progress: Progress | None, seconds: dict[str, float]) -> None:
        self.progress = progress
        self.seconds = seconds
        self._started: dict[str, float] = {}

    def __call__(self, phase: str, done: int) -> None:
        now = time.perf_counter()
        if done == 0:
            self._started[phase] = now
        else:
            self.seconds[phase] = now - self._started.pop(phase, now)
        if self.progress:
            self.progress(phase, done, 1)


def _check_pins(scorer: PairScorer, pins: Sequence[Pin]) -> tuple[list[Pin], list[DroppedPin]]:
    """Pins whose pair may still meet, within everyone's (possibly lowered) cap."""
    p = scorer.p
    kept: list[Pin] = []
    dropped: list[DroppedPin] = []
    if not pins:
        return kept, dropped
    u = np.array([min(x.a, x.b) for x in pins], dtype=np.int64)
    v = np.array([max(x.a, x.b) for x in pins], dtype=np.int64)
    scores = scorer.pair_scores(u, v)
    seen: set[tuple[int, int]] = set()
    ranked = sorted(range(len(pins)), key=lambda k: -scores[k])
    load = np.zeros(p.n, dtype=np.int64)
    for k in ranked:
        pin, a, b = pins[k], int(u[k]), int(v[k])
        if (a, b) in seen:
            continue
        seen.add((a, b))
        reason = _exclusion(scorer, a, b)
        if reason is not None:
            dropped.append(DroppedPin(a, b, pin.slot, reason))
            continue
        full = [x for x in (a, b) if load[x] >= p.caps[x]]
        if full:
            dropped.append(
                DroppedPin(
                    a, b, pin.slot, f"{p.ids[full[0]]} now has room for {int(p.caps[full[0]])} meeting(s)"
                )
            )
            continue
        load[a] += 1
        load[b] += 1
        slot = (
            pin.slot
            if 0 <= pin.slot < p.n_slots and p.available[a, pin.slot] and p.available[b, pin.slot]
            else -1
        )
        kept.append(Pin(a, b, slot, pin.table if slot >= 0 else 0))
    return kept, dropped


def _exclusion(scorer: PairScorer, a: int, b: int) -> str | None:
    """Why pair (a, b) may no longer meet, or ``None`` when it may."""
    rows = np.array([a], dtype=np.int64)
    requests = scorer.rules.requests[rows].toarray()
    allowed, masks = scorer._allowed(rows, requests)
    if allowed[0, b]:
        return None
    for reason in EXCLUSION_REASONS:
        if reason in masks and masks[reason][0, b]:
            return reason
    return "not allowed"


def _with_pins(
    edges: EdgeSet, pins: Sequence[Pin], scorer: PairScorer, n: int
) -> tuple[EdgeSet, npt.NDArray[np.bool_], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Candidate edges including every kept pin, with per-edge fixed flags, slots and tables."""
    fixed = np.zeros(len(edges), dtype=bool)
    pin_slot = np.full(len(edges), -1, dtype=np.int64)
    pin_table = np.zeros(len(edges), dtype=np.int64)
    if not pins:
        return edges, fixed, pin_slot, pin_table
    index = {int(k): e for e, k in enumerate(edges.keys(n))}
    extra_u, extra_v, extra_slot, extra_table = [], [], [], []
    for pin in pins:
        a, b = min(pin.a, pin.b), max(pin.a, pin.b)
        e = index.get(a * n + b)
        if e is None:
            extra_u.append(a)
            extra_v.append(b)
            extra_slot.append(pin.slot)
            extra_table.append(pin.table)
        else:
            fixed[e] = True
            pin_slot[e] = pin.slot
            pin_table[e] = pin.table
    if extra_u:
        u, v = np.array(extra_u, dtype=np.int64), np.array(extra_v, dtype=np.int64)
        edges = edges.concat(EdgeSet(u, v, scorer.pair_scores(u, v)))
        fixed = np.concatenate([fixed, np.ones(len(u), dtype=bool)])
        pin_slot = np.concatenate([pin_slot, np.array(extra_slot, dtype=np.int64)])
        pin_table = np.concatenate([pin_table, np.array(extra_table, dtype=np.int64)])
    return edges, fixed, pin_slot, pin_table


__all__ = [
    "DroppedPin",
    "Pin",
    "Plan",
    "PlanStats",
    "PlannedMeeting",
    "ScheduleOptions",
    "SlotAssignment",
    "Unmatched",
    "plan_meetings",
]
