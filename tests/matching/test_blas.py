"""The one-thread BLAS context that a query's matrix products run in."""

from __future__ import annotations

from matching.blas import single_threaded_blas
from tests.conftest import blas_threads


def test_blas_runs_on_one_thread_inside_the_context_and_as_before_after_it(
    two_blas_threads: list[int],
) -> None:
    with single_threaded_blas():
        assert blas_threads() == [1] * len(two_blas_threads)
    assert blas_threads() == two_blas_threads
