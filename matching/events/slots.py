"""Stage 2: put the selected meetings into time slots and at tables.

A meeting (i, j) can go into slot ``s`` when both are available then, neither has another meeting
in ``s`` and fewer than ``T`` meetings already run in ``s``. That is a list edge colouring with a
capacity per colour. We colour greedily (most constrained meetings first, each into the slot its
two attendees' other meetings need least), repair conflicts by moving one blocking meeting
(a one-step Kempe move), and only if meetings are still unplaced solve the assignment as a MILP
(``y[e, s]`` binary, HiGHS, time-limited), keeping whichever places more score. With caps below
the number of slots the greedy pass usually places everything, so the MILP is rarely needed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp


@dataclass(frozen=True)
class SlotAssignment:
    slot: npt.NDArray[np.int64]  # per meeting, -1 when it could not be placed
    table: npt.NDArray[np.int64]  # 1-based, 0 when unplaced
    method: str
    seconds: float

    @property
    def unplaced(self) -> int:
        return int((self.slot < 0).sum())


class SlotBoard:
    """Who is busy when and how full each slot is, with a journal so that a failed search for
    room can be rolled back exactly (shared by the slot stage and the floor stage)."""

    def __init__(self, n: int, n_slots: int, tables: int, k_total: int) -> None:
        self.busy = np.full((n, n_slots), -1, dtype=np.int64)  # meeting index or -1
        self.load = np.zeros(n_slots, dtype=np.int64)
        self.slot = np.full(k_total, -1, dtype=np.int64)
        self.tables = tables
        self.journal: list[tuple[bool, int, int, int, int]] = []

    def free(self, a: int, b: int, avail: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        free: npt.NDArray[np.bool_] = (
            avail & (self.busy[a] < 0) & (self.busy[b] < 0) & (self.load < self.tables)
        )
        return free

    def place(self, k: int, a: int, b: int, s: int) -> None:
        self.busy[a, s] = k
        self.busy[b, s] = k
        self.load[s] += 1
        self.slot[k] = s
        self.journal.append((True, k, a, b, s))

    def remove(self, k: int, a: int, b: int, s: int) -> None:
        self.busy[a, s] = -1
        self.busy[b, s] = -1
        self.load[s] -= 1
        self.slot[k] = -1
        self.journal.append((False, k, a, b, s))

    def rollback(self, mark: int) -> None:
        while len(self.journal) > mark:
            placed, k, a, b, s = self.journal.pop()
            if placed:
                self.busy[a, s] = self.busy[b, s] = -1
                self.load[s] -= 1
                self.slot[k] = -1
            else:
                self.busy[a, s] = self.busy[b, s] = k
                self.load[s] += 1
                self.slot[k] = s


def assign_slots(
    u: npt.NDArray[np.int64],
    v: npt.NDArray[np.int64],
    score: npt.NDArray[np.float64],
    available: npt.NDArray[np.bool_],
    tables: int,
    *,
    fixed_slot: npt.NDArray[np.int64] | None = None,
    fixed_table: npt.NDArray[np.int64] | None = None,
    time_limit: float = 10.0,
) -> SlotAssignment:
    """Slots and tables for meetings ``(u[k], v[k])``; ``fixed_slot[k] >= 0`` pins a meeting to a slot
    (kept when still valid) and ``fixed_table[k] > 0`` asks for its old table."""
    started = time.perf_counter()
    n, n_slots = available.shape
    k_total = len(u)
    fixed_slot = np.full(k_total, -1, dtype=np.int64) if fixed_slot is None else fixed_slot
    fixed_table = np.zeros(k_total, dtype=np.int64) if fixed_table is None else fixed_table
    common = available[u] & available[v]  # (k, S)
    board = SlotBoard(n, n_slots, tables, k_total)
    locked = np.zeros(k_total, dtype=bool)
    for k in np.nonzero(fixed_slot >= 0)[0]:
        s = int(fixed_slot[k])
        if board.free(int(u[k]), int(v[k]), common[k])[s]:
            board.place(int(k), int(u[k]), int(v[k]), s)
            locked[k] = True

    todo = np.nonzero(board.slot < 0)[0]
    # demand[i, s]: unplaced meetings of i that could use slot s (what placing there would cost i).
    demand = np.zeros((n, n_slots), dtype=np.int64)
    np.add.at(demand, u[todo], common[todo].astype(np.int64))
    np.add.at(demand, v[todo], common[todo].astype(np.int64))
    degree = np.bincount(np.concatenate([u[todo], v[todo]]), minlength=n)
    order = todo[np.lexsort((-score[todo], -(degree[u[todo]] + degree[v[todo]]), common[todo].sum(axis=1)))]
    for k in order.tolist():
        a, b = int(u[k]), int(v[k])
        options = board.free(a, b, common[k])
        demand[a] -= common[k]
        demand[b] -= common[k]
        if not options.any():
            continue
        cost = np.where(options, demand[a] + demand[b], np.iinfo(np.int64).max)
        best = np.flatnonzero(cost == cost.min())
        s = int(best[np.argmin(board.load[best])])
        board.place(k, a, b, s)

    method = "greedy"
    if (board.slot < 0).any():
        _repair(u, v, common, board, locked)
        method = "greedy+repair"
    slot = board.slot.copy()
    if (slot < 0).any() and time_limit > 0:
        remaining = max(time_limit - (time.perf_counter() - started), 0.5)
        exact = _solve_milp(u, v, score, common, n, tables, slot, locked, remaining)
        if exact is not None and float(score[exact >= 0].sum()) > float(score[slot >= 0].sum()) + 1e-9:
            slot = exact
            method = "milp"
    table = assign_tables(slot, fixed_table, tables, n_slots)
    return SlotAssignment(slot, table, method, time.perf_counter() - started)


def _repair(
    u: npt.NDArray[np.int64],
    v: npt.NDArray[np.int64],
    common: npt.NDArray[np.bool_],
    board: SlotBoard,
    locked: npt.NDArray[np.bool_],
    depth: int = 3,
    budget: int = 2000,
) -> None:
    """Place unplaced meetings by moving the meetings that block them (augmenting paths).

    To put meeting ``k`` into slot ``s``, the meetings its two attendees already have in ``s`` (or,
    when ``s`` is full, one other meeting of ``s``) are moved to another slot, recursively up to
    ``depth`` moves deep — the Kempe-chain move of edge colouring, bounded so that a hopeless
    meeting costs at most ``budget`` tries. Locked (pinned) meetings never move.
    """
    for k in np.nonzero(board.slot < 0)[0].tolist():
        tries = [budget]
        mark = len(board.journal)
        if not place_by_moves(k, u, v, common, board, locked, depth, tries, {k}):
            board.rollback(mark)


def place_by_moves(
    k: int,
    u: npt.NDArray[np.int64],
    v: npt.NDArray[np.int64],
    common: npt.NDArray[np.bool_],
    board: SlotBoard,
    locked: npt.NDArray[np.bool_],
    depth: int,
    tries: list[int],
    moving: set[int],
) -> bool:
    """Put meeting ``k`` into a slot, moving the meetings that block it (see :func:`_repair`).

    Returns whether it was placed; on ``False`` the board may hold moves of a failed branch, so
    callers roll back to the journal mark they took before.
    """
    a, b = int(u[k]), int(v[k])
    free = board.free(a, b, common[k])
    if free.any():
        options = np.flatnonzero(free)
        board.place(k, a, b, int(options[np.argmin(board.load[options])]))
        return True
    if depth == 0 or tries[0] <= 0:
        return False
    for s in np.flatnonzero(common[k]).tolist():
        tries[0] -= 1
        if tries[0] <= 0:
            return False
        blockers = {int(board.busy[x, s]) for x in (a, b) if board.busy[x, s] >= 0}
        if not blockers and board.load[s] >= board.tables:
            others = np.flatnonzero(board.slot == s)
            others = others[~locked[others]]
            if not len(others):
                continue
            blockers = {int(others[0])}
        if any(locked[j] or j in moving for j in blockers):
            continue
        mark = len(board.journal)
        for j in blockers:
            board.remove(j, int(u[j]), int(v[j]), s)
        if not board.free(a, b, common[k])[s]:
            board.rollback(mark)
            continue
        board.place(k, a, b, s)
        if all(
            place_by_moves(j, u, v, common, board, locked, depth - 1, tries, moving | {j}) for j in blockers
        ):
            return True
        board.rollback(mark)
    return False


def _solve_milp(
    u: npt.NDArray[np.int64],
    v: npt.NDArray[np.int64],
    score: npt.NDArray[np.float64],
    common: npt.NDArray[np.bool_],
    n: int,
    tables: int,
    greedy_slot: npt.NDArray[np.int64],
    locked: npt.NDArray[np.bool_],
    time_limit: float,
) -> npt.NDArray[np.int64] | None:
    """Maximise the placed score exactly: ``y[e, s]`` for each feasible (meeting, slot)."""
    k_idx, s_idx = np.nonzero(common)
    nv = len(k_idx)
    if nv == 0:
        return None
    k_total, n_slots = common.shape
    # Pinned meetings that the greedy pass kept in their slot stay there.
    lower = (locked[k_idx] & (s_idx == greedy_slot[k_idx])).astype(np.float64)
    ones = np.ones(nv)
    per_meeting = sparse.csr_matrix((ones, (k_idx, np.arange(nv))), shape=(k_total, nv))
    per_slot = sparse.csr_matrix((ones, (s_idx, np.arange(nv))), shape=(n_slots, nv))
    person_rows = np.concatenate([u[k_idx] * n_slots + s_idx, v[k_idx] * n_slots + s_idx])
    per_person = sparse.csr_matrix(
        (np.ones(2 * nv), (person_rows, np.concatenate([np.arange(nv), np.arange(nv)]))),
        shape=(n * n_slots, nv),
    )
    res = milp(
        -score[k_idx] - 1e-3,  # a tiny reward per placed meeting breaks ties towards placing more
        integrality=np.ones(nv),
        bounds=Bounds(lower, np.ones(nv)),
        constraints=[
            LinearConstraint(per_meeting, 0, 1),
            LinearConstraint(per_slot, 0, tables),
            LinearConstraint(per_person, 0, 1),
        ],
        options={"time_limit": time_limit, "disp": False},
    )
    if res.x is None:
        return None
    out = np.full(k_total, -1, dtype=np.int64)
    on = res.x > 0.5
    out[k_idx[on]] = s_idx[on]
    return out


def assign_tables(
    slot: npt.NDArray[np.int64], fixed_table: npt.NDArray[np.int64], tables: int, n_slots: int
) -> npt.NDArray[np.int64]:
    """Table numbers 1..T per slot: pinned meetings keep their old table when it is free."""
    table = np.zeros(len(slot), dtype=np.int64)
    used = np.zeros((n_slots, tables + 1), dtype=bool)
    for k in np.nonzero((slot >= 0) & (fixed_table > 0) & (fixed_table <= tables))[0]:
        s, t = int(slot[k]), int(fixed_table[k])
        if not used[s, t]:
            used[s, t] = True
            table[k] = t
    for k in np.nonzero((slot >= 0) & (table == 0))[0]:
        s = int(slot[k])
        t = int(np.flatnonzero(~used[s, 1:])[0]) + 1
        used[s, t] = True
        table[k] = t
    return table
