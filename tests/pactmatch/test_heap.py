"""Freezing a server's long-lived objects out of the cyclic collector's walks (pactmatch.heap)."""

from __future__ import annotations

import gc
import weakref

import pytest

from pactmatch.heap import freeze_heap, long_lived

pytestmark = pytest.mark.usefixtures("thawed_heap")


class Node:
    """A container that can be part of a cycle (and be weakly referenced)."""

    def __init__(self) -> None:
        self.other: Node | None = None


def test_freezing_takes_what_lives_now_out_of_the_walks_but_not_what_comes_later() -> None:
    before = [object()]
    freeze_heap()
    assert gc.get_freeze_count() > 0
    after = [object()]
    walked = {id(o) for o in gc.get_objects()}
    assert id(before) not in walked and id(after) in walked


def test_a_cycle_frozen_with_the_heap_is_collected_at_the_next_rebuild() -> None:
    """Frozen garbage in a cycle is not collected (reference counting cannot free it) until
    ``long_lived`` thaws the heap for a rebuild: nothing leaks across data versions."""
    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    freeze_heap()
    del a, b
    gc.collect()
    assert gone() is not None  # frozen: the collector does not see the cycle
    with long_lived():
        rebuilt = [Node()]
    assert gone() is None
    assert id(rebuilt) not in {id(o) for o in gc.get_objects()}  # what the block built is frozen
