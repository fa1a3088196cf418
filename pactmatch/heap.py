"""Keeping a server's long-lived objects out of the cyclic garbage collector's walks.

CPython's collector walks every tracked container of the generations it collects, and a full
(generation-2) collection walks them all. A pactmatch process keeps two kinds of objects alive
for its whole life: what start-up made (modules, the driver, numpy, scipy, the encoder's
libraries: ~130,000 containers once the service is imported) and, on the snapshot path, the
snapshot and ranker of the current data version (another ~130,000 containers, ~630,000
references on CORDIS). Measured in a process serving Bolt candidate queries, the full
collections took 90–110 ms each, a few times per hundred queries, on whichever request was
running; frozen (``gc.freeze``), 16 ms on average (docs/neo4j.md, 2026-12-03). Reference counting
still frees frozen objects; only cycles among them wait for the next :func:`long_lived`.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


def freeze_heap() -> None:
    """Collect, then move everything alive now out of the collector's walks: for a server that
    has finished starting (the API calls it when its application starts)."""
    gc.collect()
    gc.freeze()


@contextmanager
def long_lived() -> Iterator[None]:
    """Keep what the block builds (a snapshot, a ranker) out of the collector's walks too.

    Unfreezing before the rebuild and collecting after it lets the collector find any cycle the
    replaced objects leave, so nothing leaks across data versions.
    """
    gc.unfreeze()
    try:
        yield
    finally:
        freeze_heap()
