"""One-query matrix products run on one BLAS thread.

A query's products are small or memory-bound (one organisation matrix times one vector), so
BLAS threads add little even on an idle machine, and on a busy one they cost far more than they
save: each call waits until its worker threads get a core, and OpenBLAS workers keep spinning
(yielding) for a while after a call, taking a core from whatever runs next: the next request's
Python, or a database server on the same machine. On 2 cores with ArcadeDB beside the process
(``bench/bench_bolt.py``, two runs back to back on the same host) that interference doubled the
query times of both stores (docs/neo4j.md); the learned ranker measured 6 ms → 0.1 ms for one
1,100 × 512 product on 2 busy cores. Batch work (one product over many queries) keeps
its threads.

The limit is process-wide (BLAS has one thread count): under concurrent requests one query's exit
can restore the count while another is inside, which costs that query speed, never correctness.
"""

from __future__ import annotations

from typing import Any

from threadpoolctl import ThreadpoolController

_CONTROLLER: ThreadpoolController | None = None


def single_threaded_blas() -> Any:
    """A context in which BLAS runs on one thread.

    The controller is created once: ``threadpool_limits()`` rescans the loaded libraries on every
    call (~4 ms), more than the products it is meant to speed up.
    """
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")
