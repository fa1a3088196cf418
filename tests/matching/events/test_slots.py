"""Slot and table assignment: hand-built cases for capacity, availability and repair moves."""

from __future__ import annotations

import numpy as np

from matching.events.slots import SlotBoard, assign_slots, place_by_moves


def arr(values: list[int]) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def test_triangle_needs_three_slots_and_one_table_each() -> None:
    avail = np.ones((3, 3), dtype=bool)
    result = assign_slots(arr([0, 0, 1]), arr([1, 2, 2]), np.ones(3), avail, tables=1)
    assert sorted(result.slot.tolist()) == [0, 1, 2]
    assert result.table.tolist() == [1, 1, 1]


def test_availability_leaves_a_meeting_unplaced() -> None:
    # attendee 0 can only come to slot 0, so only one of its two meetings fits
    avail = np.array([[True, False], [True, True], [True, True]])
    result = assign_slots(arr([0, 0]), arr([1, 2]), np.array([1.0, 0.5]), avail, tables=5, time_limit=1)
    assert result.unplaced == 1
    placed = int(np.flatnonzero(result.slot >= 0)[0])
    assert result.slot[placed] == 0


def test_tables_cap_each_slot() -> None:
    avail = np.ones((6, 2), dtype=bool)
    result = assign_slots(arr([0, 2, 4]), arr([1, 3, 5]), np.ones(3), avail, tables=1, time_limit=1)
    assert result.unplaced == 1
    for s in (0, 1):
        assert (result.slot == s).sum() <= 1


def test_pinned_slot_and_table_are_kept() -> None:
    avail = np.ones((4, 3), dtype=bool)
    result = assign_slots(
        arr([0, 2]),
        arr([1, 3]),
        np.ones(2),
        avail,
        tables=3,
        fixed_slot=arr([2, -1]),
        fixed_table=arr([3, 0]),
    )
    assert result.slot[0] == 2 and result.table[0] == 3


def test_repair_moves_a_blocking_meeting() -> None:
    # meeting 0 = (a=0, b=1) sits in slot 0; meeting 1 = (0, 2) can only use slot 0, and meeting 0
    # could also use slot 1: the augmenting move puts meeting 0 into slot 1 and meeting 1 into slot 0.
    u, v = arr([0, 0]), arr([1, 2])
    common = np.array([[True, True], [True, False]])
    board = SlotBoard(3, 2, tables=5, k_total=2)
    board.place(0, 0, 1, 0)
    ok = place_by_moves(1, u, v, common, board, np.zeros(2, dtype=bool), 2, [100], {1})
    assert ok
    assert board.slot.tolist() == [1, 0]
    # a locked (pinned) blocker never moves
    board = SlotBoard(3, 2, tables=5, k_total=2)
    board.place(0, 0, 1, 0)
    mark = len(board.journal)
    assert not place_by_moves(1, u, v, common, board, np.array([True, False]), 2, [100], {1})
    board.rollback(mark)
    assert board.slot.tolist() == [0, -1]
