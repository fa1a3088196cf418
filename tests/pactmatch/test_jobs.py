"""Background jobs: progress, results, failures, cancellation, forgetting old jobs."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from domain.errors import ConflictError, InvalidInputError, NotFoundError
from pactmatch.jobs import JobRegistry, JobStatus

Progress = Callable[[str, int, int], None]


@pytest.fixture
def jobs() -> Iterator[JobRegistry]:
    registry = JobRegistry(keep=3)
    yield registry
    registry.shutdown()


def test_success_with_progress_and_a_result_file(jobs: JobRegistry) -> None:
    def work(path: Path, progress: Progress) -> int:
        for i in range(1, 4):
            progress("counting", i, 3)
        path.write_text("a,b\n", encoding="utf-8")
        return 3

    job = jobs.submit("count", work, media_type="text/csv", filename="x.csv", owner="tests")
    assert job.status == JobStatus.QUEUED
    done = jobs.wait(job.job_id)
    assert done.status == JobStatus.SUCCEEDED and (done.phase, done.done, done.total, done.items) == (
        "counting",
        3,
        3,
        3,
    )
    assert jobs.result_path(job.job_id).read_text(encoding="utf-8") == "a,b\n"
    assert done.elapsed >= 0.0


def test_product_errors_fail_the_job_with_their_message(jobs: JobRegistry) -> None:
    def work(path: Path, progress: Progress) -> int:
        raise InvalidInputError("level: NUTS level must be 0 to 3, got 7")

    job = jobs.wait(jobs.submit("bad", work, media_type="text/plain", filename="x", owner="tests").job_id)
    assert job.status == JobStatus.FAILED and job.error == "level: NUTS level must be 0 to 3, got 7"
    with pytest.raises(ConflictError, match="failed"):
        jobs.result_path(job.job_id)


def test_unexpected_errors_do_not_kill_the_worker(jobs: JobRegistry) -> None:
    def boom(path: Path, progress: Progress) -> int:
        raise ZeroDivisionError("division by zero")

    failed = jobs.wait(jobs.submit("boom", boom, media_type="text/plain", filename="x", owner="tests").job_id)
    assert failed.status == JobStatus.FAILED and failed.error and "ZeroDivisionError" in failed.error
    ok = jobs.wait(
        jobs.submit(
            "ok", lambda path, progress: 0, media_type="text/plain", filename="x", owner="tests"
        ).job_id
    )
    assert ok.status == JobStatus.SUCCEEDED


def test_cancel_a_running_job(jobs: JobRegistry) -> None:
    started = threading.Event()

    def endless(path: Path, progress: Progress) -> int:
        started.set()
        while True:
            progress("spinning", 0, 0)

    job = jobs.submit("endless", endless, media_type="text/plain", filename="x", owner="tests")
    queued = jobs.submit(
        "after", lambda path, progress: 1, media_type="text/plain", filename="x", owner="tests"
    )
    assert jobs.cancel(queued.job_id).status == JobStatus.CANCELLED  # never starts
    assert started.wait(10)
    jobs.cancel(job.job_id)
    assert jobs.wait(job.job_id).status == JobStatus.CANCELLED
    assert jobs.get(queued.job_id).status == JobStatus.CANCELLED


def test_old_finished_jobs_are_forgotten(jobs: JobRegistry) -> None:
    ids = []
    for i in range(5):
        ids.append(
            jobs.submit(f"j{i}", lambda path, progress: 0, media_type="t", filename="x", owner="tests").job_id
        )
        assert jobs.wait(ids[-1]).status == JobStatus.SUCCEEDED
    jobs.submit("last", lambda path, progress: 0, media_type="t", filename="x", owner="tests")
    assert len(jobs.list()) <= 3
    with pytest.raises(NotFoundError):
        jobs.get(ids[0])


def test_delete(jobs: JobRegistry) -> None:
    def work(path: Path, progress: Progress) -> int:
        path.write_text("x")
        return 1

    job = jobs.wait(jobs.submit("x", work, media_type="t", filename="x", owner="tests").job_id)
    path = jobs.result_path(job.job_id)
    jobs.delete(job.job_id)
    assert not path.exists()
    with pytest.raises(NotFoundError):
        jobs.get(job.job_id)
