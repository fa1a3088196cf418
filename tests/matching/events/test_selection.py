"""The b-matching selection: hand-computed optima, fairness floors, LP bounds and duals."""

from __future__ import annotations

import numpy as np
import pytest

from matching.events.scoring import EdgeSet
from matching.events.selection import SelectionProblem, fair_greedy, greedy, lp_rounding, solve_lp, solve_milp


def problem(n: int, edges: list[tuple[int, int, float]], caps: list[int], floors: list[int] | None = None,
            total: int = 10**6, fixed: list[bool] | None = None) -> SelectionProblem:  # fmt: skip
    u = np.array([e[0] for e in edges], dtype=np.int64)
    v = np.array([e[1] for e in edges], dtype=np.int64)
    s = np.array([e[2] for e in edges], dtype=np.float64)
    return SelectionProblem(
        n, EdgeSet(u, v, s), np.array(caps, dtype=np.int64), np.array(floors or [0] * n, dtype=np.int64), total,
        np.array(fixed or [False] * len(edges), dtype=bool),
    )  # fmt: skip


def chosen_pairs(p: SelectionProblem, chosen: np.ndarray) -> set[tuple[int, int]]:
    return {(int(p.edges.u[e]), int(p.edges.v[e])) for e in np.nonzero(chosen)[0]}


def test_milp_beats_greedy_where_the_best_edge_blocks_two_good_ones() -> None:
    # caps 1 (a matching): greedy takes (0,1)=1.0 and is stuck; the optimum is (0,2)+(1,3) = 1.8
    p = problem(4, [(0, 1, 1.0), (0, 2, 0.9), (1, 3, 0.9)], caps=[1, 1, 1, 1])
    g = greedy(p)
    m = solve_milp(p)
    assert m is not None
    assert chosen_pairs(p, g.chosen) == {(0, 1)}
    assert chosen_pairs(p, m.chosen) == {(0, 2), (1, 3)}
    assert p.evaluate(m.chosen)[1] == pytest.approx(1.8)
    assert solve_lp(p).bound == pytest.approx(1.8)


def test_floor_trades_score_for_fairness() -> None:
    # Without a floor: (0,1)+(0,2) = 2.0 and 3 gets nothing. With floor 1 for everyone, a missing
    # meeting costs λ = 2·1.0 + 1 = 3, so (0,1)+(2,3) = 1.1 (no deficit) beats 2.0 − 3 = −1.0.
    edges = [(0, 1, 1.0), (0, 2, 1.0), (2, 3, 0.1)]
    free = problem(4, edges, caps=[2, 1, 1, 1])
    fair = problem(4, edges, caps=[2, 1, 1, 1], floors=[1, 1, 1, 1])
    m_free, m_fair = solve_milp(free), solve_milp(fair)
    assert m_free is not None and m_fair is not None
    assert chosen_pairs(free, m_free.chosen) == {(0, 1), (0, 2)}
    assert chosen_pairs(fair, m_fair.chosen) == {(0, 1), (2, 3)}
    assert fair.penalty == pytest.approx(3.0)
    assert fair.evaluate(m_fair.chosen) == pytest.approx((1.1, 1.1, 0))
    fg = fair_greedy(fair)
    assert fair.evaluate(fg.chosen)[2] == 0  # the fallback fills floors first as well


def test_room_capacity_and_pinned_edges() -> None:
    edges = [(0, 1, 1.0), (2, 3, 0.9), (4, 5, 0.2)]
    p = problem(6, edges, caps=[1] * 6, total=2, fixed=[False, False, True])
    m = solve_milp(p)
    assert m is not None
    assert chosen_pairs(p, m.chosen) == {(0, 1), (4, 5)}  # the pin stays, the room holds two
    assert p.is_feasible(m.chosen)
    assert chosen_pairs(p, greedy(p).chosen) == {(0, 1), (4, 5)}


def test_lp_duals_price_a_missing_edge() -> None:
    # Restricted to (0,1) only, the LP gives duals whose reduced cost for (2,3) is its score
    # (nobody's cap binds at 2 or 3), which is exactly what pricing adds.
    p = problem(4, [(0, 1, 0.5)], caps=[1, 1, 1, 1])
    lp = solve_lp(p)
    rc = 0.8 - lp.cap_duals[2] - lp.cap_duals[3] + lp.floor_duals[2] + lp.floor_duals[3] - lp.total_dual
    assert lp.bound == pytest.approx(0.5)
    assert rc == pytest.approx(0.8)


def test_greedy_respects_caps_on_random_instances() -> None:
    rng = np.random.default_rng(3)
    n = 30
    pairs = [(i, j, float(rng.random())) for i in range(n) for j in range(i + 1, n) if rng.random() < 0.3]
    caps = rng.integers(0, 4, n).tolist()
    p = problem(n, pairs, caps=caps, floors=[min(1, c) for c in caps])
    for sel in (greedy(p), fair_greedy(p)):
        assert p.is_feasible(sel.chosen)
    m = solve_milp(p)
    assert m is not None and p.is_feasible(m.chosen)
    lp = solve_lp(p)
    assert lp.bound >= p.evaluate(m.chosen)[0] - 1e-6
    assert p.evaluate(m.chosen)[0] >= p.evaluate(greedy(p).chosen)[0] - 1e-6


def test_lp_rounding_keeps_what_the_relaxation_chose() -> None:
    # the blocking case above: greedy takes (0,1); the LP (integral here) takes (0,2)+(1,3), and so
    # does its rounding; a pinned edge comes first whatever its LP value
    p = problem(4, [(0, 1, 1.0), (0, 2, 0.9), (1, 3, 0.9)], caps=[1, 1, 1, 1])
    rounded = lp_rounding(p, solve_lp(p).x)
    assert chosen_pairs(p, rounded.chosen) == {(0, 2), (1, 3)} and rounded.method == "lp-rounding"
    pinned = problem(
        4, [(0, 1, 1.0), (0, 2, 0.9), (1, 3, 0.9)], caps=[1, 1, 1, 1], fixed=[True, False, False]
    )
    assert chosen_pairs(pinned, lp_rounding(pinned, np.array([0.0, 1.0, 1.0])).chosen) == {(0, 1)}
