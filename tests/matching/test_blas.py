"""The one-thread BLAS context that a query's matrix products run in."""

from __future__ import annotations

import pytest
from threadpoolctl import ThreadpoolController

from matching.blas import single_threaded_blas
from tests.conftest import blas_threads


def test_blas_runs_on_one_thread_inside_the_context_and_as_before_after_it() -> None:
    with ThreadpoolController().limit(limits=2, user_api="blas"):
        before = blas_threads()
        if not before or max(before) < 2:
            pytest.skip("no BLAS here that runs more than one thread")
        with single_threaded_blas():
            assert blas_threads() == [1] * len(before)
        assert blas_threads() == before
