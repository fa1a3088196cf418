r"""Stage 1: which introductions to make — a b-matching with a fairness floor.

Given candidate meetings ``e = (i, j)`` with scores ``s_e``, choose ``x_e ∈ {0, 1}`` to

.. math::

    \max \sum_e s_e x_e - \lambda \sum_i d_i
    \quad\text{s.t.}\quad
    \sum_{e \ni i} x_e \le c_i, \qquad
    \sum_{e \ni i} x_e + d_i \ge m_i, \qquad
    \sum_e x_e \le T \cdot S, \qquad 0 \le d_i \le m_i

with ``c_i`` the attendee's cap, ``m_i`` the fairness floor, ``T·S`` the room's capacity (tables
× slots) and pinned meetings fixed at 1. The floor is soft (deficits ``d_i`` are penalised rather
than forbidden) so that the model is always feasible and an attendee nobody can meet is reported
instead of making the whole schedule fail. ``λ = 2·max(s) + 1``: one missing meeting below the floor
costs more than the two best meetings it could displace (adding an edge at a full partner drops
at most one of its edges), so the solver trades score for fairness, not the other way round.

Why a separate stage: the joint model (edge × slot variables) has ~8× the variables and a highly
symmetric slot structure; the b-matching alone is small (``n · top_n`` edges), its LP relaxation
is nearly integral (fractional only on odd cycles) so HiGHS closes it in well under a second at
1,000 attendees, and with caps below the number of slots the second stage (slot assignment,
:mod:`matching.events.slots`) almost always places every selected meeting (Vizing: a graph of
maximum degree Δ is edge-colourable with Δ + 1 colours).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from matching.events.scoring import EdgeSet


@dataclass(frozen=True, eq=False)
class SelectionProblem:
    n: int
    edges: EdgeSet
    caps: npt.NDArray[np.int64]
    floors: npt.NDArray[np.int64]
    total_capacity: int
    fixed: npt.NDArray[np.bool_]  # per edge: pinned, must be selected
    banned: npt.NDArray[np.bool_] | None = None  # per edge: may not be selected (e.g. no slot fits it)

    def __post_init__(self) -> None:
        if len(self.fixed) != len(self.edges):
            raise ValueError("one fixed flag per edge")
        if self.banned is not None and (
            len(self.banned) != len(self.edges) or np.any(self.banned & self.fixed)
        ):
            raise ValueError("one banned flag per edge, never on a fixed edge")

    @property
    def allowed(self) -> npt.NDArray[np.bool_]:
        return np.ones(len(self.edges), dtype=bool) if self.banned is None else ~self.banned
        if np.any(self.floors > self.caps):
            raise ValueError("a floor above its cap")

    @cached_property
    def incidence(self) -> sparse.csr_matrix:
        """(n × m): 1 where attendee i is an end of edge e."""
        m = len(self.edges)
        rows = np.concatenate([self.edges.u, self.edges.v])
        cols = np.concatenate([np.arange(m), np.arange(m)])
        return sparse.csr_matrix((np.ones(2 * m), (rows, cols)), shape=(self.n, m))

    @property
    def penalty(self) -> float:
        return 2.0 * float(self.edges.score.max(initial=0.0)) + 1.0

    def degrees(self, chosen: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
        return np.bincount(
            np.concatenate([self.edges.u[chosen], self.edges.v[chosen]]), minlength=self.n
        ).astype(np.int64)

    def evaluate(self, chosen: npt.NDArray[np.bool_]) -> tuple[float, float, int]:
        """``(objective, score total, total deficit below the floors)`` of a selection."""
        score = float(self.edges.score[chosen].sum())
        deficit = int(np.maximum(self.floors - self.degrees(chosen), 0).sum())
        return score - self.penalty * deficit, score, deficit

    def is_feasible(self, chosen: npt.NDArray[np.bool_]) -> bool:
        return bool(
            np.all(self.degrees(chosen) <= self.caps)
            and chosen.sum() <= self.total_capacity
            and np.all(chosen[self.fixed])
            and not np.any(chosen & ~self.allowed)
        )

    def _matrices(self) -> tuple[npt.NDArray[np.float64], sparse.csr_matrix, npt.NDArray[np.float64]]:
        """``c`` (to minimise), ``A_ub`` and ``b_ub`` over variables ``[x (m), d (n)]``."""
        m, n = len(self.edges), self.n
        a = self.incidence
        zeros = sparse.csr_matrix((n, n))
        ones = sparse.csr_matrix(np.ones((1, m)))
        a_ub = sparse.vstack(
            [
                sparse.hstack([a, zeros]),
                sparse.hstack([-a, -sparse.identity(n)]),
                sparse.hstack([ones, sparse.csr_matrix((1, n))]),
            ]
        ).tocsr()
        b_ub = np.concatenate([self.caps, -self.floors, [self.total_capacity]]).astype(np.float64)
        c = np.concatenate([-self.edges.score, np.full(n, self.penalty)])
        return c, a_ub, b_ub

    def _bounds(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        lower = np.concatenate([self.fixed.astype(np.float64), np.zeros(self.n)])
        upper = np.concatenate([self.allowed.astype(np.float64), self.floors.astype(np.float64)])
        return lower, upper


@dataclass(frozen=True)
class LPSolution:
    """The LP relaxation: its value bounds every integral selection over the same edges."""

    bound: float
    x: npt.NDArray[np.float64]
    cap_duals: npt.NDArray[np.float64]  # y_i ≥ 0
    floor_duals: npt.NDArray[np.float64]  # f_i ≥ 0
    total_dual: float  # t ≥ 0
    seconds: float


@dataclass(frozen=True)
class Selection:
    chosen: npt.NDArray[np.bool_]
    method: str  # "milp" | "greedy" | "fair-greedy"
    status: str
    seconds: float


def solve_lp(problem: SelectionProblem) -> LPSolution:
    """Solve the LP relaxation with HiGHS (``scipy.optimize.linprog``) and return its duals."""
    started = time.perf_counter()
    n = problem.n
    if len(problem.edges) == 0:
        return LPSolution(
            -problem.penalty * float(problem.floors.sum()), np.zeros(0), np.zeros(n), np.zeros(n), 0.0, 0.0
        )
    c, a_ub, b_ub = problem._matrices()
    lower, upper = problem._bounds()
    # Interior point (with crossover): its duals are "central", which prices out far fewer spurious
    # pairs than the vertex duals of the simplex on this degenerate LP (4 rounds instead of 10 at
    # 1,000 CORDIS attendees), at the same time per solve.
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=np.stack([lower, upper], axis=1), method="highs-ipm")
    if res.status != 0:
        raise RuntimeError(f"selection LP failed: {res.message}")
    marginals = -np.asarray(res.ineqlin.marginals, dtype=np.float64)  # ≥ 0 for a maximisation
    return LPSolution(
        bound=float(-res.fun),
        x=np.asarray(res.x[: len(problem.edges)], dtype=np.float64),
        cap_duals=marginals[:n],
        floor_duals=marginals[n : 2 * n],
        total_dual=float(marginals[2 * n]),
        seconds=time.perf_counter() - started,
    )


def solve_milp(
    problem: SelectionProblem, *, time_limit: float = 20.0, mip_rel_gap: float = 1e-3
) -> Selection | None:
    """Solve the selection exactly (to ``mip_rel_gap``) with HiGHS via ``scipy.optimize.milp``.

    Returns ``None`` when HiGHS finds no feasible selection within ``time_limit`` (the caller then
    falls back to :func:`fair_greedy`); a time-limited but feasible answer is returned with its
    status.
    """
    started = time.perf_counter()
    m, n = len(problem.edges), problem.n
    if m == 0:
        return Selection(np.zeros(0, dtype=bool), "milp", "optimal (no candidate meetings)", 0.0)
    c, a_ub, b_ub = problem._matrices()
    lower, upper = problem._bounds()
    integrality = np.concatenate([np.ones(m), np.zeros(n)])
    res = milp(
        c,
        integrality=integrality,
        bounds=Bounds(lower, upper),
        constraints=LinearConstraint(a_ub, -np.inf, b_ub),
        options={"time_limit": max(time_limit, 0.1), "mip_rel_gap": mip_rel_gap, "disp": False},
    )
    seconds = time.perf_counter() - started
    if res.x is None:
        return None
    chosen = np.asarray(res.x[:m] > 0.5)
    if not problem.is_feasible(chosen):  # rounding noise on a time-limited answer
        return None
    status = "optimal" if res.status == 0 else f"time limit ({res.message})"
    return Selection(chosen, "milp", status, seconds)


def greedy(problem: SelectionProblem) -> Selection:
    """The naive baseline: best-scoring meetings first while both sides have room (no fairness)."""
    started = time.perf_counter()
    order = np.lexsort((-problem.edges.score, ~problem.fixed))  # pinned first, then by score
    order = order[problem.allowed[order]]
    chosen = _fill(problem, order, np.zeros(len(problem.edges), dtype=bool))
    return Selection(chosen, "greedy", "heuristic", time.perf_counter() - started)


def lp_rounding(problem: SelectionProblem, x: npt.NDArray[np.float64]) -> Selection:
    """A selection from the LP relaxation's values ``x`` (one per edge): pinned meetings, then by
    LP value, then by score, while both ends have room.

    What :func:`plan_meetings` uses when the MILP runs out of time: the relaxation is integral
    except on odd cycles, so its ones are kept and only the fractional rest is decided greedily.
    """
    started = time.perf_counter()
    order = np.lexsort((-problem.edges.score, -np.round(x, 6), ~problem.fixed))
    order = order[problem.allowed[order]]
    chosen = _fill(problem, order, np.zeros(len(problem.edges), dtype=bool))
    return Selection(
        chosen, "lp-rounding", "heuristic (the MILP ran out of time)", time.perf_counter() - started
    )


def fair_greedy(problem: SelectionProblem) -> Selection:
    """The fallback when no MILP answer comes back: pinned meetings, then floors, then score.

    Floors are filled round by round (everyone below the floor gets their best available
    partner, least-served attendees first) before the remaining room goes to the best scores.
    """
    started = time.perf_counter()
    m = len(problem.edges)
    chosen = problem.fixed.copy()
    deg = problem.degrees(chosen)
    total = int(chosen.sum())
    u, v, s = problem.edges.u, problem.edges.v, problem.edges.score
    inc = problem.incidence.tocsr()
    for _ in range(int(problem.floors.max(initial=0))):
        needy = np.nonzero(deg < problem.floors)[0]
        progress = False
        for i in needy[np.argsort(deg[needy], kind="stable")]:
            if deg[i] >= problem.floors[i] or total >= problem.total_capacity:
                continue
            edges = inc.indices[inc.indptr[i] : inc.indptr[i + 1]]
            edges = edges[~chosen[edges] & problem.allowed[edges]]
            if not len(edges):
                continue
            other = np.where(u[edges] == i, v[edges], u[edges])
            room = deg[other] < problem.caps[other]
            if not room.any():
                continue
            # Prefer partners that are themselves below their floor, then the best score.
            below = deg[other] < problem.floors[other]
            pick = edges[room][np.lexsort((-s[edges[room]], ~below[room]))[0]]
            chosen[pick] = True
            deg[u[pick]] += 1
            deg[v[pick]] += 1
            total += 1
            progress = True
        if not progress:
            break
    order = np.argsort(-s, kind="stable")
    order = order[problem.allowed[order]]
    chosen = _fill(problem, order, chosen, deg=deg, total=total)
    assert len(chosen) == m
    return Selection(chosen, "fair-greedy", "heuristic", time.perf_counter() - started)


def _fill(
    problem: SelectionProblem,
    order: npt.NDArray[np.int64],
    chosen: npt.NDArray[np.bool_],
    *,
    deg: npt.NDArray[np.int64] | None = None,
    total: int | None = None,
) -> npt.NDArray[np.bool_]:
    """Add edges in ``order`` while both ends are under their caps and the room has space.

    A plain Python loop: each decision depends on the previous ones, and at ~20k edges it costs a
    few milliseconds.
    """
    chosen = chosen.copy()
    deg = problem.degrees(chosen) if deg is None else deg.copy()
    total = int(chosen.sum()) if total is None else total
    caps, u, v = problem.caps, problem.edges.u.tolist(), problem.edges.v.tolist()
    deg_list = deg.tolist()
    cap_list = caps.tolist()
    for e in order.tolist():
        if chosen[e]:
            continue
        if total >= problem.total_capacity:
            break
        a, b = u[e], v[e]
        if deg_list[a] < cap_list[a] and deg_list[b] < cap_list[b]:
            chosen[e] = True
            deg_list[a] += 1
            deg_list[b] += 1
            total += 1
    return chosen
