r"""Stage 4: everyone at their floor whenever some schedule can do it, then the free room.

The selection (:mod:`matching.events.selection`) does not see slots and the slot stage
(:mod:`matching.events.slots`) can only place what was selected: with the room nearly full or
availability tight, a selected meeting finds no slot, and its attendees can end below the floor
although another schedule would reach it. Each attendee has a *target*

.. math:: t_i = \min(\text{floor}, c_i, \text{partners with mutual interest})

(``c_i`` their cap, itself at most their available slots), and this stage raises everyone below
their target in steps of increasing cost, each run only when the one before left someone short:

1. **moves** over *all* the pairs a short attendee may meet, not only the optimiser's candidates:
   a common free slot; a slot freed by moving the meetings in the way (the slot stage's Kempe
   moves); a partner at their cap, or a full slot, made room for by giving up a meeting whose two
   attendees are both above their targets;
2. an **exact MILP** over (pair, slot) variables: a schedule giving everyone their target, with
   the best score (a meeting staying where it is worth as much as the best new one); when HiGHS
   proves there is none, the least total shortfall, then the best score with it. Over all pairs
   and slots when that is at most ``max_variables`` variables — then a shortfall it leaves is
   proven unavoidable — otherwise over the short attendees' neighbourhood (their pairs with their
   best partners, and those partners' meetings);
3. the moves again, so that no short attendee is left with a partner who has room and a common
   free slot (what :func:`shortfall_reasons` then states is true of the schedule); then the room
   still free goes to the best candidate meetings not yet held (score > 0 only) and, for
   attendees the slot stage took a selected meeting from, to any of their pairs.

Pinned meetings are never given up; those pinned to a slot never move.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, OptimizeResult, milp

from matching.events.participants import Participants
from matching.events.scoring import EXCLUSION_REASONS, EdgeSet, PairScorer, PartnerCounts
from matching.events.slots import SlotBoard, assign_tables, place_by_moves

#: Kempe-move search per tried pair: depth and number of tries (as in the slot stage's repair), and
#: how many partners (the likeliest first) a short attendee tries moves with; direct placements
#: are tried with all of them.
MOVE_DEPTH, MOVE_TRIES, MOVE_PARTNERS = 2, 200, 60


@dataclass(frozen=True)
class FloorOptions:
    time_limit: float = 10.0  # seconds for the exact repair (all of its solves together)
    max_variables: int = 60_000  # (pair, slot) variables up to which the repair covers all pairs
    max_neighbourhood_variables: int = 150_000  # beyond this, no exact repair at all
    neighbourhood: int = 24  # partners per short attendee in the neighbourhood repair
    mip_rel_gap: float = 1e-2  # for the score, once the shortfall is fixed
    exact: bool = True  # False: moves only (the greedy solver)


@dataclass(frozen=True)
class Completed:
    """The completed schedule: meeting ``k`` is ``(u[k], v[k])`` in ``slot[k]`` at ``table[k]``."""

    u: npt.NDArray[np.int64]
    v: npt.NDArray[np.int64]
    score: npt.NDArray[np.float64]
    slot: npt.NDArray[np.int64]
    table: npt.NDArray[np.int64]
    pinned: npt.NDArray[np.bool_]
    method: str  # which steps ran, e.g. "moves, exact (all pairs), moves"
    proven: bool  # an exact search over all pairs showed the remaining shortfall cannot be avoided
    seconds: float


@dataclass(frozen=True)
class Placed:
    """Meetings with their slots and tables: meeting ``k`` is ``meetings[k]`` in ``slot[k]`` at
    ``table[k]``; ``locked`` ones stay in their slot, ``kept`` ones (pinned) stay meetings."""

    meetings: EdgeSet
    slot: npt.NDArray[np.int64]
    table: npt.NDArray[np.int64]
    locked: npt.NDArray[np.bool_]
    kept: npt.NDArray[np.bool_]


class _Agenda:
    """Meetings being completed, with room in every array for the ``extra`` meetings this stage
    may add."""

    def __init__(self, p: Participants, tables: int, placed: Placed, extra: int) -> None:
        meetings, slot, table, locked, kept = (
            placed.meetings,
            placed.slot,
            placed.table,
            placed.locked,
            placed.kept,
        )
        k0, size = len(meetings), len(meetings) + extra
        self.p, self.count = p, k0
        self.u = np.zeros(size, dtype=np.int64)
        self.v = np.zeros(size, dtype=np.int64)
        self.score = np.zeros(size)
        self.common = np.zeros((size, p.n_slots), dtype=bool)
        self.locked = np.zeros(size, dtype=bool)
        self.kept = np.zeros(size, dtype=bool)
        self.dropped = np.zeros(size, dtype=bool)
        self.table = np.zeros(size, dtype=np.int64)
        self.u[:k0], self.v[:k0], self.score[:k0] = meetings.u, meetings.v, meetings.score
        self.common[:k0] = p.available[meetings.u] & p.available[meetings.v]
        self.locked[:k0], self.kept[:k0], self.table[:k0] = locked, kept | locked, table
        self.board = SlotBoard(p.n, p.n_slots, tables, size)
        for k in range(k0):
            self.board.place(k, int(self.u[k]), int(self.v[k]), int(slot[k]))
        self.board.journal.clear()
        self.deg = np.bincount(np.concatenate([meetings.u, meetings.v]), minlength=p.n).astype(np.int64)
        self.met = {(int(a), int(b)) for a, b in zip(meetings.u, meetings.v, strict=True)}

    def active(self) -> npt.NDArray[np.int64]:
        return np.flatnonzero(~self.dropped[: self.count])

    def set_pair(self, k: int, a: int, b: int, score: float) -> None:
        a, b = min(a, b), max(a, b)
        self.u[k], self.v[k], self.score[k] = a, b, score
        self.common[k] = self.p.available[a] & self.p.available[b]
        self.locked[k] = self.kept[k] = self.dropped[k] = False
        self.table[k] = 0

    def drop(self, k: int) -> None:
        """Give up meeting ``k`` (its slot is already freed on the board)."""
        self.dropped[k] = True
        self.deg[self.u[k]] -= 1
        self.deg[self.v[k]] -= 1
        self.met.discard((int(self.u[k]), int(self.v[k])))

    def commit(self, k: int, given_up: tuple[int, ...] = ()) -> None:
        self.count = max(self.count, k + 1)
        self.deg[self.u[k]] += 1
        self.deg[self.v[k]] += 1
        self.met.add((int(self.u[k]), int(self.v[k])))
        for x in given_up:
            self.drop(x)
        self.board.journal.clear()

    def result(self, method: str, proven: bool, seconds: float) -> Completed:
        k = self.active()
        slot = self.board.slot[k]
        n_slots = self.p.n_slots
        table = assign_tables(slot, self.table[k], self.board.tables, n_slots)
        return Completed(
            self.u[k], self.v[k], self.score[k], slot, table, self.kept[k], method, proven, seconds
        )


def complete_schedule(
    p: Participants,
    scorer: PairScorer,
    tables: int,
    targets: npt.NDArray[np.int64],
    placed: Placed,
    candidates: EdgeSet,
    selected: npt.NDArray[np.int64] | None = None,
    options: FloorOptions | None = None,
) -> Completed:
    """Raise everyone short of ``targets`` where a schedule allows it, then fill the free room.

    The room is filled from ``candidates`` and, for attendees with fewer meetings than the
    selection gave them (``selected``: meetings per attendee), from all their pairs: the slot stage
    could not place one of theirs, and the table it freed is theirs to use.
    """
    opts = options or FloorOptions()
    started = time.perf_counter()
    degrees = np.bincount(np.concatenate([placed.meetings.u, placed.meetings.v]), minlength=p.n)
    shortfall = np.maximum(targets - degrees, 0)
    if selected is not None and (degrees < selected).any():
        candidates = candidates.concat(_pairs_of(scorer, np.flatnonzero(degrees < selected)))
    agenda = _Agenda(p, tables, placed, int(shortfall.sum()) + len(candidates))
    steps: list[str] = []
    proven = False
    if shortfall.any():
        steps.append("moves")
        _raise_short(agenda, scorer, targets)
    if opts.exact and (agenda.deg < targets).any():
        found, proven, label = _exact_repair(agenda, scorer, targets, opts)
        steps.append(label)
        if found is not None:
            agenda = found
            steps.append("moves")
            _raise_short(agenda, scorer, targets)
    _fill_room(agenda, candidates, targets)
    return agenda.result(", ".join(steps) or "none needed", proven, time.perf_counter() - started)


def _pairs_of(scorer: PairScorer, rows: npt.NDArray[np.int64]) -> EdgeSet:
    """Every pair with mutual interest that one of ``rows`` may meet."""
    scores, allowed = scorer.rows(rows)
    r, c = np.nonzero(allowed & (scores > 0))
    return EdgeSet.from_pairs(np.stack([rows[r], c], axis=1), scores[r, c])


# -- 1. moves ---------------------------------------------------------------------------------


def _raise_short(agenda: _Agenda, scorer: PairScorer, targets: npt.NDArray[np.int64]) -> None:
    """Give attendees below their target meetings with any partner they may meet (see module doc)."""
    p = agenda.p
    short = np.flatnonzero(agenda.deg < targets)
    if not len(short):
        return
    scores, allowed = scorer.rows(short)
    wanted = allowed & (scores > 0)
    # the most constrained first: fewest available slots, then fewest partners
    for r in np.lexsort((wanted.sum(axis=1), p.available[short].sum(axis=1))).tolist():
        i = int(short[r])
        while agenda.deg[i] < targets[i] and _one_more(
            agenda, i, np.flatnonzero(wanted[r]), scores[r], targets
        ):
            pass


def _one_more(
    agenda: _Agenda,
    i: int,
    partners: npt.NDArray[np.int64],
    scores: npt.NDArray[np.float64],
    targets: npt.NDArray[np.int64],
) -> bool:
    """One more meeting for ``i``: a direct placement if any partner allows one, else by moves."""
    p, board, deg = agenda.p, agenda.board, agenda.deg
    caps = p.caps
    partners = np.array(
        [j for j in partners.tolist() if (min(i, j), max(i, j)) not in agenda.met], dtype=np.int64
    )
    if not len(partners):
        return False
    # partners below their own target first (both gain), then those with room, then by score
    partners = partners[
        np.lexsort((-scores[partners], deg[partners] >= caps[partners], deg[partners] >= targets[partners]))
    ]
    k = agenda.count
    mine = p.available[i] & (board.busy[i] < 0) & (board.load < board.tables)
    direct = (deg[partners] < caps[partners]) & (
        (p.available[partners] & (board.busy[partners] < 0) & mine[None, :]).any(axis=1)
    )
    for j in partners[direct].tolist():
        agenda.set_pair(k, i, j, float(scores[j]))
        if place_by_moves(k, agenda.u, agenda.v, agenda.common, board, agenda.locked, 0, [1], {k}):
            agenda.commit(k)
            return True
    for j in partners[:MOVE_PARTNERS].tolist():
        agenda.set_pair(k, i, j, float(scores[j]))
        given_up = _place_with_room(agenda, k, i, j, targets)
        if given_up is not None:
            agenda.commit(k, given_up)
            return True
    return False


def _place_with_room(
    agenda: _Agenda, k: int, i: int, j: int, targets: npt.NDArray[np.int64]
) -> tuple[int, ...] | None:
    """Place meeting ``k = (i, j)`` by moving others, or by giving up one meeting whose attendees
    are both above their targets; the meetings given up, or ``None`` (board rolled back)."""
    p, board, deg = agenda.p, agenda.board, agenda.deg
    mark = len(board.journal)
    if deg[j] < p.caps[j]:
        if place_by_moves(
            k, agenda.u, agenda.v, agenda.common, board, agenda.locked, MOVE_DEPTH, [MOVE_TRIES], {k}
        ):
            return ()
        board.rollback(mark)
        # a slot both are free in, but every table taken: give one of its meetings up
        full = agenda.common[k] & (board.busy[i] < 0) & (board.busy[j] < 0) & (board.load >= board.tables)
        for s in np.flatnonzero(full).tolist():
            x = _spare_meeting(agenda, np.flatnonzero(board.slot[: agenda.count] == s), targets)
            if x is not None:
                board.remove(x, int(agenda.u[x]), int(agenda.v[x]), s)
                board.place(k, i, j, s)
                return (x,)
        return None
    # j is at their cap: give up one of j's meetings whose other attendee is above their target
    theirs = board.busy[j][board.busy[j] >= 0]
    for x in theirs[np.argsort(agenda.score[theirs], kind="stable")].tolist():
        if _spare_meeting(agenda, np.array([x]), targets) is None:
            continue
        other = int(agenda.v[x] if agenda.u[x] == j else agenda.u[x])
        if deg[other] <= targets[other]:
            continue
        board.remove(x, int(agenda.u[x]), int(agenda.v[x]), int(board.slot[x]))
        if place_by_moves(
            k, agenda.u, agenda.v, agenda.common, board, agenda.locked, MOVE_DEPTH, [MOVE_TRIES], {k}
        ):
            return (x,)
        board.rollback(mark)
    return None


def _spare_meeting(
    agenda: _Agenda, among: npt.NDArray[np.int64], targets: npt.NDArray[np.int64]
) -> int | None:
    """The lowest-scoring of ``among`` that is not pinned and whose two attendees are both above
    their targets (giving it up leaves nobody short), or ``None``."""
    deg = agenda.deg
    ok = among[
        ~agenda.kept[among]
        & (deg[agenda.u[among]] > targets[agenda.u[among]])
        & (deg[agenda.v[among]] > targets[agenda.v[among]])
    ]
    return int(ok[np.argmin(agenda.score[ok])]) if len(ok) else None


# -- 2. the exact repair ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Pool:
    """The pairs the repair may schedule, and the meetings it leaves where they are."""

    pairs: EdgeSet
    kept: npt.NDArray[np.bool_]  # per pair: a pinned meeting, must stay a meeting
    current: npt.NDArray[np.int64]  # per pair: its slot now, -1 when not a meeting
    table: npt.NDArray[np.int64]  # per pair: its table now (0 when not a meeting)
    fixed: npt.NDArray[np.int64]  # meetings outside the pool (agenda indices): they stay as they are
    complete: bool  # every pair that may meet is in the pool


def _exact_repair(
    agenda: _Agenda, scorer: PairScorer, targets: npt.NDArray[np.int64], opts: FloorOptions
) -> tuple[_Agenda | None, bool, str]:
    """The least shortfall (then the best score) by a MILP over (pair, slot) variables.

    Returns the repaired agenda (``None`` when the repair found nothing better), whether the
    remaining shortfall is proven unavoidable, and a label for the statistics.
    """
    started = time.perf_counter()
    pool = _pool(agenda, scorer, targets, opts)
    if pool is None:
        return None, False, "exact repair skipped (too large)"
    label = "exact (all pairs)" if pool.complete else "exact (neighbourhood)"
    p, board = agenda.p, agenda.board
    n, n_slots, tables = p.n, p.n_slots, board.tables
    fixed_busy = np.zeros((n, n_slots), dtype=bool)
    fu, fv, fs = agenda.u[pool.fixed], agenda.v[pool.fixed], board.slot[pool.fixed]
    fixed_busy[fu, fs] = fixed_busy[fv, fs] = True
    fixed_load = np.bincount(fs, minlength=n_slots)
    fixed_deg = np.bincount(np.concatenate([fu, fv]), minlength=n)
    pu, pv = pool.pairs.u, pool.pairs.v
    options = (
        p.available[pu] & p.available[pv] & ~fixed_busy[pu] & ~fixed_busy[pv] & (fixed_load < tables)[None, :]
    )
    e_idx, s_idx = np.nonzero(options)
    nv = len(e_idx)
    need = np.maximum(targets - fixed_deg, 0)
    short_before = int(np.maximum(targets - agenda.deg, 0).sum())
    if nv == 0:
        return None, pool.complete, label
    cols = np.arange(nv)
    ones = np.ones(nv)
    both = np.concatenate([cols, cols])
    per_pair = sparse.csr_matrix((ones, (e_idx, cols)), shape=(len(pu), nv))
    per_slot = sparse.csr_matrix((ones, (s_idx, cols)), shape=(n_slots, nv))
    rows = np.concatenate([pu[e_idx] * n_slots + s_idx, pv[e_idx] * n_slots + s_idx])
    per_person_slot = sparse.csr_matrix((np.ones(2 * nv), (rows, both)), shape=(n * n_slots, nv))
    per_person = sparse.csr_matrix(
        (np.ones(2 * nv), (np.concatenate([pu[e_idx], pv[e_idx]]), both)), shape=(n, nv)
    )

    # variables [y (nv), d (n)]: y[e, s] pair e meets in slot s; d_i the shortfall of i below target
    def on_y(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
        return sparse.hstack([matrix, sparse.csr_matrix((matrix.shape[0], n))]).tocsr()

    constraints = [
        LinearConstraint(on_y(per_pair), pool.kept.astype(np.float64), 1),
        LinearConstraint(on_y(per_person_slot), 0, 1),
        LinearConstraint(on_y(per_slot), 0, tables - fixed_load),
        LinearConstraint(on_y(per_person), 0, p.caps - fixed_deg),
        LinearConstraint(sparse.hstack([per_person, sparse.identity(n)]).tocsr(), need, np.inf),
    ]
    integrality = np.concatenate([np.ones(nv), np.zeros(n)])
    keep = (pool.current[e_idx] == s_idx) * float(pool.pairs.score.max(initial=0.0))
    # the best score, a meeting staying in its slot worth as much as the best new one
    best_score = np.concatenate([-(pool.pairs.score[e_idx] + keep), np.zeros(n)])
    deadline = started + opts.time_limit

    def solve(
        cost: npt.NDArray[np.float64],
        most_short: npt.NDArray[np.int64],
        share: float,
        extra: list[LinearConstraint],
    ) -> OptimizeResult:
        left = max(min(share * opts.time_limit, deadline - time.perf_counter()), 0.2)
        return milp(
            cost, integrality=integrality, bounds=Bounds(0, np.concatenate([np.ones(nv), most_short])),
            constraints=[*constraints, *extra],
            options={"time_limit": left, "mip_rel_gap": opts.mip_rel_gap, "disp": False},
        )  # fmt: skip

    # 1: everyone at their target (HiGHS proves quickly when no schedule does that)
    hard = solve(best_score, np.zeros(n, dtype=np.int64), 0.5, [])
    if hard.x is not None:
        on = np.flatnonzero(hard.x[:nv] > 0.5)
        return _rebuilt(agenda, pool, e_idx[on], s_idx[on], len(agenda.u) - agenda.count), False, label
    proven = hard.status == 2 and pool.complete
    # 2: the least total shortfall, then 3: the best score with it (an integer objective first,
    # so that the score cannot be traded against a shortfall). Proven infeasible, step 1 says the
    # shortfall is at least 1: nothing to gain from one short meeting, and a bound that helps
    # HiGHS close the gap (the LP alone says 0) otherwise.
    if proven and short_before <= 1:
        return None, proven, label
    shortfall = np.concatenate([np.zeros(nv), np.ones(n)])[None, :]
    at_least = [LinearConstraint(shortfall, 1 if hard.status == 2 else 0, np.inf)]
    least_short = solve(shortfall[0], need, 0.3, at_least)
    if least_short.x is None:
        return None, proven, label
    least = round(float(least_short.x[nv:].sum()))
    if least >= short_before:
        return None, proven, label
    total = LinearConstraint(shortfall, 0, least + 0.5)
    scored = solve(best_score, need, 1.0, [total])
    x = scored.x if scored.x is not None else least_short.x
    on = np.flatnonzero(x[:nv] > 0.5)
    return _rebuilt(agenda, pool, e_idx[on], s_idx[on], len(agenda.u) - agenda.count), proven, label


def _pool(
    agenda: _Agenda, scorer: PairScorer, targets: npt.NDArray[np.int64], opts: FloorOptions
) -> _Pool | None:
    """All pairs when their (pair, slot) variables fit ``opts.max_variables``; otherwise the short
    attendees' pairs with their best partners and every meeting of those partners."""
    p, board = agenda.p, agenda.board
    n = p.n
    active = agenda.active()
    movable = active[~agenda.locked[active]]
    pairs: EdgeSet | None = None
    complete = False
    if _pair_slot_count(scorer, opts.max_variables) <= opts.max_variables:
        pairs, complete = _all_pairs(scorer), True
        chosen = movable
    else:
        short = np.flatnonzero(agenda.deg < targets)
        scores, allowed = scorer.rows(short)
        us, vs = [], []
        for r, i in enumerate(short.tolist()):
            wanted = np.flatnonzero(allowed[r] & (scores[r] > 0))
            room = agenda.deg[wanted] < p.caps[wanted]
            best = wanted[np.lexsort((-scores[r][wanted], ~room))][: opts.neighbourhood]
            us.append(np.full(len(best), i))
            vs.append(best)
        zone = np.zeros(n, dtype=bool)
        zone[short] = True
        zone[np.concatenate(vs)] = True
        chosen = movable[zone[agenda.u[movable]] | zone[agenda.v[movable]]]
        u, v = np.concatenate(us).astype(np.int64), np.concatenate(vs).astype(np.int64)
        pairs = EdgeSet(
            np.minimum(u, v), np.maximum(u, v), scorer.pair_scores(np.minimum(u, v), np.maximum(u, v))
        )
    meetings = EdgeSet(agenda.u[chosen], agenda.v[chosen], agenda.score[chosen])
    merged = EdgeSet.from_pairs(
        np.stack([np.concatenate([meetings.u, pairs.u]), np.concatenate([meetings.v, pairs.v])], axis=1),
        np.concatenate([meetings.score, pairs.score]),
    )
    position = {(int(a), int(b)): e for e, (a, b) in enumerate(zip(merged.u, merged.v, strict=True))}
    current = np.full(len(merged), -1, dtype=np.int64)
    table = np.zeros(len(merged), dtype=np.int64)
    kept = np.zeros(len(merged), dtype=bool)
    for k in chosen.tolist():
        e = position[(int(agenda.u[k]), int(agenda.v[k]))]
        current[e], table[e], kept[e] = board.slot[k], agenda.table[k], agenda.kept[k]
    fixed = np.setdiff1d(active, chosen)
    if not complete and len(merged) * p.n_slots > opts.max_neighbourhood_variables:
        return None
    return _Pool(merged, kept, current, table, fixed, complete)


def _pair_slot_count(scorer: PairScorer, limit: int) -> int:
    """How many (pair, slot) variables a repair over all pairs needs (stops counting past ``limit``)."""
    p = scorer.p
    if p.n * (p.n - 1) // 2 > 50 * limit:  # far too many pairs to even count
        return limit + 1
    total = 0
    slots = p.available.astype(np.int32)
    for rows, scores, allowed in scorer.blocks():
        upper = allowed & (scores > 0) & (rows[:, None] < np.arange(p.n)[None, :])
        total += int(((slots[rows] @ slots.T) * upper).sum())
        if total > limit:
            break
    return total


def _all_pairs(scorer: PairScorer) -> EdgeSet:
    n = scorer.p.n
    us, vs, ss = [], [], []
    for rows, scores, allowed in scorer.blocks():
        r, c = np.nonzero(allowed & (scores > 0) & (rows[:, None] < np.arange(n)[None, :]))
        us.append(rows[r])
        vs.append(c)
        ss.append(scores[r, c])
    return EdgeSet(
        np.concatenate(us).astype(np.int64), np.concatenate(vs).astype(np.int64), np.concatenate(ss)
    )


def _rebuilt(
    agenda: _Agenda, pool: _Pool, pairs: npt.NDArray[np.int64], slots: npt.NDArray[np.int64], extra: int
) -> _Agenda:
    """A new agenda: the fixed meetings as they were, the pool's chosen pairs in their new slots
    (keeping their table where the slot did not change)."""
    fixed = pool.fixed
    u = np.concatenate([agenda.u[fixed], pool.pairs.u[pairs]])
    v = np.concatenate([agenda.v[fixed], pool.pairs.v[pairs]])
    score = np.concatenate([agenda.score[fixed], pool.pairs.score[pairs]])
    slot = np.concatenate([agenda.board.slot[fixed], slots])
    table = np.concatenate(
        [agenda.table[fixed], np.where(pool.current[pairs] == slots, pool.table[pairs], 0)]
    )
    locked = np.concatenate([agenda.locked[fixed], np.zeros(len(pairs), dtype=bool)])
    kept = np.concatenate([agenda.kept[fixed], pool.kept[pairs]])
    return _Agenda(
        agenda.p, agenda.board.tables, Placed(EdgeSet(u, v, score), slot, table, locked, kept), extra
    )


# -- 3. the free room -------------------------------------------------------------------------


def _fill_room(agenda: _Agenda, candidates: EdgeSet, targets: npt.NDArray[np.int64]) -> None:
    """Candidate meetings not yet held, while tables are free: those helping someone below their
    target first, then by score; first into slots both attendees have free, then by moving other
    meetings out of the way. Only positive scores, so nothing is added that nobody wants."""
    p, board, deg = agenda.p, agenda.board, agenda.deg
    capacity = board.tables * p.n_slots
    u, v, s = candidates.u, candidates.v, candidates.score
    for moves in (False, True):
        if board.load.sum() >= capacity:
            return
        held = np.array([(int(a), int(b)) in agenda.met for a, b in zip(u, v, strict=True)], dtype=bool)
        todo = np.flatnonzero(~held & (s > 0) & (deg[u] < p.caps[u]) & (deg[v] < p.caps[v]))
        below = (deg[u[todo]] < targets[u[todo]]) | (deg[v[todo]] < targets[v[todo]])
        for e in todo[np.lexsort((-s[todo], ~below))].tolist():
            a, b = int(u[e]), int(v[e])
            if deg[a] >= p.caps[a] or deg[b] >= p.caps[b]:
                continue
            k = agenda.count
            agenda.set_pair(k, a, b, float(s[e]))
            mark = len(board.journal)
            depth, tries = (MOVE_DEPTH, MOVE_TRIES) if moves else (0, 1)
            if place_by_moves(
                k, agenda.u, agenda.v, agenda.common, board, agenda.locked, depth, [tries], {k}
            ):
                agenda.commit(k)
                if board.load.sum() >= capacity:
                    return
            else:
                board.rollback(mark)


# -- why someone is below the floor -----------------------------------------------------------


@dataclass(frozen=True)
class Shortfall:
    """An attendee below the floor (or without any meeting) and why, in words that are true of
    the schedule."""

    index: int
    meetings: int
    floor: int
    reason: str


def shortfall_reasons(
    p: Participants,
    scorer: PairScorer,
    counts: PartnerCounts,
    completed: Completed,
    floor: int,
    targets: npt.NDArray[np.int64],
) -> list[Shortfall]:
    """Attendees below ``floor`` (or without meetings), each with the reason that holds.

    Below their own target (``min(floor, cap, partners with mutual interest)``) the reason counts
    their partners with mutual interest by what stops each meeting in this schedule: met already,
    at their cap, or no slot where both are free and a table is free. Stage 3 of
    :func:`complete_schedule` leaves no other case.
    """
    deg = np.bincount(np.concatenate([completed.u, completed.v]), minlength=p.n)
    met = set(zip(completed.u.tolist(), completed.v.tolist(), strict=True))
    out: list[Shortfall] = []
    for i in np.flatnonzero((deg < floor) | (deg == 0)).tolist():
        have, cap, slots = int(deg[i]), int(p.caps[i]), int(p.available[i].sum())
        if cap == 0:
            reason = "not available in any slot" if slots == 0 else "asked for no meetings (max_meetings 0)"
        elif have >= cap:
            reason = (
                f"available in only {slots} slot(s)"
                if cap == slots
                else f"asked for at most {cap} meeting(s)"
            )
        elif counts.compatible[i] == 0:
            reason = "no compatible partner: " + _breakdown(counts, i)
        elif have >= targets[i]:
            reason = (
                f"only {int(counts.positive[i])} compatible partner(s) with mutual interest "
                f"(of {int(counts.compatible[i])} compatible; excluded: {_breakdown(counts, i)})"
            )
        else:
            scores, allowed = scorer.rows(np.array([i]))
            partners = np.flatnonzero(allowed[0] & (scores[0] > 0))
            others = np.array(
                [j for j in partners.tolist() if (min(i, j), max(i, j)) not in met], dtype=np.int64
            )
            full = deg[others] >= p.caps[others]
            reason = (
                f"below its reachable floor of {int(targets[i])}: of its {len(partners)} partner(s) with "
                f"mutual interest, {len(partners) - len(others)} meet it, {int(full.sum())} are at their cap "
                f"and {int((~full).sum())} have no common free slot with a table left"
            )
            if completed.proven:
                reason += (
                    "; no schedule keeping the confirmed meetings gives every attendee their reachable "
                    "floor (exact search over all pairs and slots)"
                )
        out.append(Shortfall(i, have, floor, reason))
    return out


def _breakdown(counts: PartnerCounts, i: int) -> str:
    parts = [f"{int(counts.excluded[r][i])} {r}" for r in EXCLUSION_REASONS if counts.excluded[r][i]]
    return ", ".join(parts) or "nobody else registered"
