"""The fairness floor is met whenever some schedule meets it (issue 20), and the reasons given for
those below it are true.

Each attendee's target is ``min(floor, cap, partners with mutual interest)``. An independent MILP
over *all* pairs and slots (written here, sharing no code with the scheduler) decides whether a
schedule giving everyone their target exists; when it does, the scheduler must find one. Every
reason listed for an attendee below the floor is then checked against the schedule itself.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from domain.events import Attendee, AttendeeGroup, Event
from matching.events import PairRules, Participants, Plan, ScheduleOptions, plan_meetings
from matching.events.scoring import PairScorer
from tests.matching.events.helpers import attendee, build, event

EXACT = ScheduleOptions(floor=2, time_limit=5, slot_time_limit=1, floor_time_limit=2)


@dataclass(frozen=True)
class Case:
    event: Event
    people: list[Attendee]
    offers: npt.NDArray[np.float32]
    wants: npt.NDArray[np.float32]
    met_before: list[tuple[int, int]]


def allowed_pairs(p: Participants, rules: PairRules) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Every pair that may meet with mutual interest (score > 0), each once."""
    _, scores, allowed = next(PairScorer(p, rules, block_size=p.n).blocks())
    u, v = np.nonzero(np.triu(allowed & (scores > 0), 1))
    return u.astype(np.int64), v.astype(np.int64)


def targets_of(p: Participants, rules: PairRules, floor: int) -> npt.NDArray[np.int64]:
    u, v = allowed_pairs(p, rules)
    partners = np.bincount(np.concatenate([u, v]), minlength=p.n)
    return np.minimum(np.minimum(floor, p.caps), partners).astype(np.int64)


def target_schedule_exists(
    p: Participants, rules: PairRules, tables: int, targets: npt.NDArray[np.int64]
) -> bool:
    """Whether some schedule gives attendee ``i`` at least ``targets[i]`` meetings: a MILP over a
    variable per (pair, common slot) with every rule a schedule obeys."""
    u, v = allowed_pairs(p, rules)
    e, s = np.nonzero(p.available[u] & p.available[v])
    k = len(e)
    if k == 0:
        return bool((targets == 0).all())
    col = np.arange(k)

    def rows(
        index: npt.NDArray[np.int64], size: int, twice: npt.NDArray[np.int64] | None = None
    ) -> sparse.csr_matrix:
        r = index if twice is None else np.concatenate([index, twice])
        c = col if twice is None else np.concatenate([col, col])
        return sparse.csr_matrix((np.ones(len(r)), (r, c)), shape=(size, k))

    n, n_slots = p.n, p.n_slots
    result = milp(
        np.zeros(k),
        integrality=np.ones(k),
        bounds=Bounds(0, 1),
        constraints=[
            LinearConstraint(rows(e, len(u)), 0, 1),  # a pair meets once
            LinearConstraint(rows(s, n_slots), 0, tables),  # tables per slot
            LinearConstraint(rows(u[e] * n_slots + s, n * n_slots, v[e] * n_slots + s), 0, 1),  # one per slot
            LinearConstraint(rows(u[e], n, v[e]), targets, p.caps),  # targets and caps
        ],
        options={"time_limit": 60, "disp": False},
    )
    assert result.status in (0, 2), result.message
    return bool(result.status == 0)


def check_reasons(
    case: Case, p: Participants, rules: PairRules, plan: Plan, floor: int, exists: bool
) -> None:
    """Each reason listed for an attendee below the floor holds in the schedule."""
    u, v = allowed_pairs(p, rules)
    partners = [set() for _ in range(p.n)]  # type: list[set[int]]
    for a, b in zip(u.tolist(), v.tolist(), strict=True):
        partners[a].add(b)
        partners[b].add(a)
    degree = Counter(x for m in plan.meetings for x in (m.a, m.b))
    busy = {(x, m.slot) for m in plan.meetings for x in (m.a, m.b)}
    load = Counter(m.slot for m in plan.meetings)
    met = {frozenset((m.a, m.b)) for m in plan.meetings}
    targets = targets_of(p, rules, floor)
    listed = {x.index for x in plan.unmatched}
    assert listed == {i for i in range(p.n) if degree[i] < floor or degree[i] == 0}
    for x in plan.unmatched:
        i, person, reason = x.index, case.people[x.index], x.reason
        assert x.meetings == degree[i]
        slots = int(p.available[i].sum())
        if reason == "not available in any slot":
            assert slots == 0
        elif reason == "asked for no meetings (max_meetings 0)":
            assert person.max_meetings == 0
        elif m := re.fullmatch(r"available in only (\d+) slot\(s\)", reason):
            assert int(m[1]) == slots == degree[i]
        elif m := re.fullmatch(r"asked for at most (\d+) meeting\(s\)", reason):
            assert int(m[1]) == person.max_meetings == degree[i]
        elif reason.startswith("no compatible partner"):
            assert not PairScorer(p, rules).rows(np.array([i]))[1].any()
        elif m := re.match(r"only (\d+) compatible partner\(s\) with mutual interest", reason):
            assert int(m[1]) == len(partners[i]) == degree[i]
        else:
            m = re.match(
                r"below its reachable floor of (\d+): of its (\d+) partner\(s\) with mutual interest, (\d+) meet "
                r"it, (\d+) are at their cap and (\d+) have no common free slot with a table left(; no schedule .*)?$",
                reason,
            )
            assert m, reason
            target, total, meeting, full, blocked = (int(g) for g in m.groups()[:5])
            assert (target, total) == (targets[i], len(partners[i])) and degree[i] < target
            others = [j for j in partners[i] if frozenset((i, j)) not in met]
            assert meeting == len(partners[i]) - len(others)
            at_cap = [j for j in others if degree[j] >= p.caps[j]]
            assert full == len(at_cap) and blocked == len(others) - len(at_cap)
            for j in set(others) - set(at_cap):  # no slot where both are free and a table is
                for s in range(p.n_slots):
                    assert not (
                        p.available[i, s] and p.available[j, s] and (i, s) not in busy and (j, s) not in busy
                        and load[s] < case.event.tables
                    ), (i, j, s)  # fmt: skip
            if m[6]:  # "no schedule gives every attendee their reachable floor"
                assert not exists


def plan_and_check(case: Case, options: ScheduleOptions, guaranteed: bool = True) -> tuple[Plan, bool]:
    """Plan ``case``; the reasons are true, and (where ``guaranteed``) the floor holds whenever
    some schedule reaches it."""
    p, rules, _ = build(case.event, case.people, case.offers, case.wants, met_before=case.met_before)
    plan = plan_meetings(p, rules, case.event.tables, options)
    targets = targets_of(p, rules, options.floor)
    exists = target_schedule_exists(p, rules, case.event.tables, targets)
    if exists and guaranteed:
        short = [case.people[i].attendee_id for i in np.flatnonzero(plan.degrees < targets)]
        assert not short, f"below their reachable floor although a schedule reaches it: {short}"
    check_reasons(case, p, rules, plan, options.floor, exists)
    return plan, exists


# -- the issue's case -------------------------------------------------------------------------


def two_groups(seed: int, n: int = 40, limited: int = 4) -> Case:
    """~40 attendees in two groups meeting only across, 4 slots, 14 tables, caps 4, floor 2,
    identical wishes inside each group (every cross pair scores the same), a few attendees
    available in only 1–2 slots: the room is exactly full (14 × 4 = 56 meetings)."""
    rng = np.random.default_rng(seed)
    groups = (AttendeeGroup(group_id="a", meets=("b",)), AttendeeGroup(group_id="b"))
    ev = event(slots=4, tables=14, cap=4, floor=2, groups=groups)
    slot_ids = [s.slot_id for s in ev.slots]
    few = set(rng.choice(n, limited, replace=False).tolist())
    people = [
        attendee(
            f"p{i}",
            group="a" if i < n // 2 else "b",
            availability=tuple(sorted(rng.choice(slot_ids, int(rng.integers(1, 3)), replace=False)))
            if i in few
            else (),
        )
        for i in range(n)
    ]
    x, y = [1.0, 0.0], [0.0, 1.0]
    offers = np.array([x if i < n // 2 else y for i in range(n)], dtype=np.float32)
    wants = np.array([y if i < n // 2 else x for i in range(n)], dtype=np.float32)
    return Case(ev, people, offers, wants, [])


def test_the_issue_case_reaches_the_floor_with_moves_and_with_the_exact_repair() -> None:
    """Seeds 13 and 35 left one and two attendees at one meeting (reason: "partners' agendas were
    full"), although a schedule giving everyone two exists, before the floor stage."""
    for seed in (13, 35, 5, 33):
        case = two_groups(seed, limited=8 if seed == 33 else 4)
        for options in (EXACT, ScheduleOptions(floor=2, solver="greedy")):
            plan, exists = plan_and_check(case, options)
            assert exists and plan.stats.below_target == 0
            assert not [u for u in plan.unmatched if u.reason.startswith("below")]
            assert plan.stats.meetings == 56  # the room stays full


# -- random small instances, solved exactly ---------------------------------------------------


def random_case(seed: int) -> tuple[Case, int]:
    """A small event with ties (1–3 distinct profiles), groups, tight availability, caps, vetoes,
    requests and pairs that met before."""
    rng = np.random.default_rng(seed)
    n, n_slots = int(rng.integers(4, 17)), int(rng.integers(1, 6))
    floor = int(rng.integers(1, 4))
    grouped = rng.random() < 0.4
    groups = (AttendeeGroup(group_id="g1", meets=("g2",)), AttendeeGroup(group_id="g2")) if grouped else ()
    ev = event(
        slots=n_slots,
        tables=int(rng.integers(1, 8)),
        cap=int(rng.integers(max(floor, 1), 5)),
        floor=floor,
        groups=groups,
    )
    slot_ids = [s.slot_id for s in ev.slots]
    people = []
    for i in range(n):
        others = [f"a{j}" for j in range(n) if j != i]
        restricted = rng.random() < 0.4
        people.append(
            attendee(
                f"a{i}",
                availability=tuple(sorted(rng.choice(slot_ids, int(rng.integers(1, n_slots + 1)), replace=False)))
                if restricted else (),
                max_meetings=int(rng.integers(0, 5)) if rng.random() < 0.3 else None,
                no_thanks=tuple(rng.choice(others, int(rng.integers(0, 2)), replace=False)),
                must_meet=tuple(rng.choice(others, int(rng.random() < 0.2), replace=False)),
                group=("g1", "g2")[int(rng.integers(0, 2))] if grouped else None,
            )
        )  # fmt: skip
    profiles = int(rng.integers(1, 4))
    offer_profiles = np.abs(rng.normal(size=(profiles, 3)))
    want_profiles = np.abs(rng.normal(size=(profiles, 3)))
    which = rng.integers(0, profiles, size=n)
    offers = offer_profiles[which] / np.linalg.norm(offer_profiles[which], axis=1, keepdims=True)
    wants = want_profiles[which] / np.linalg.norm(want_profiles[which], axis=1, keepdims=True)
    met = [(i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < 0.1]
    return Case(ev, people, offers.astype(np.float32), wants.astype(np.float32), met), floor


def test_the_floor_is_reached_whenever_some_schedule_reaches_it() -> None:
    """150 random events of 4–16 attendees, 1–5 slots, 1–7 tables: wherever the exact MILP finds a
    schedule giving everyone their target, the scheduler's has it too; every reason is true."""
    seen: Counter[str] = Counter()
    for seed in range(150):
        case, floor = random_case(seed)
        plan, exists = plan_and_check(
            case, ScheduleOptions(floor=floor, time_limit=5, slot_time_limit=1, floor_time_limit=2)
        )
        seen["reachable" if exists else "unreachable"] += 1
        seen[plan.stats.floor_method] += 1
        seen["proven"] += any("no schedule" in u.reason for u in plan.unmatched)
    # the cases cover the exact repair's paths: floors reached by it, and proven out of reach
    # (the issue's case above covers floors reached by moves alone)
    assert seen["reachable"] >= 40 and seen["unreachable"] >= 40
    assert seen["moves, exact (all pairs), moves"] and seen["proven"], seen


def test_the_neighbourhood_repair_of_large_events_is_valid_and_its_reasons_true() -> None:
    """Above ``floor_max_variables`` the exact repair covers only the short attendees' pairs and
    their partners' meetings: no guarantee (and no claim of proof in the reasons), but valid
    schedules with true reasons, and it does raise attendees the moves could not."""
    options = {"time_limit": 5, "slot_time_limit": 1, "floor_time_limit": 2, "floor_max_variables": 1}
    methods: Counter[str] = Counter()
    for seed in [*range(40), 138, 143]:  # 138 and 143 need the repair
        case, floor = random_case(seed)
        plan, _ = plan_and_check(case, ScheduleOptions(floor=floor, **options), guaranteed=False)  # type: ignore[arg-type]
        methods[plan.stats.floor_method] += 1
        assert not any("no schedule" in u.reason for u in plan.unmatched)
    assert methods["moves, exact (neighbourhood), moves"], methods
