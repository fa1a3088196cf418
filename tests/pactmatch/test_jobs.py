"""Durable jobs: progress, results, failures, cancellation, bounds, restarts, abandoned jobs, expiry.

Every service here runs on an embedded store; a second service on the same store is what another
API process (or the server after a restart) would be. The crash tests with a real server process
are in ``tests/api/test_job_crashes.py``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

import pytest

from domain.errors import ConflictError, InvalidInputError, NotFoundError, TooManyRequestsError
from domain.jobs import Job
from graph.embedded import EmbeddedStore
from pactmatch.jobs import CHUNK_BYTES, JobKind, JobLimits, JobService, JobStatus

Progress = Callable[[str, int, int], None]
LIMITS = JobLimits(per_owner=5, queued=10)


def count(params: dict[str, Any], out: TextIO, progress: Progress) -> int:
    n = int(params.get("n", 3))
    for i in range(1, n + 1):
        progress("counting", i, n)
        out.write(f"{i},{params.get('text', '')}\n")
    return n


def bad(params: dict[str, Any], out: TextIO, progress: Progress) -> int:
    raise InvalidInputError("level: NUTS level must be 0 to 3, got 7")


def boom(params: dict[str, Any], out: TextIO, progress: Progress) -> int:
    out.write("half a result")
    raise ZeroDivisionError("division by zero")


class Gate:
    """A job kind that reports progress until the test opens the gate."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, params: dict[str, Any], out: TextIO, progress: Progress) -> int:
        out.write("partial result\n" * 1000)
        self.started.set()
        while not self.release.wait(0.01):
            progress("waiting", 0, 1)
        progress("waiting", 1, 1)
        out.write("done\n")
        return 1


@pytest.fixture
def gate() -> Gate:
    return Gate()


@pytest.fixture
def kinds(gate: Gate) -> dict[str, JobKind]:
    return {"count": count, "bad": bad, "boom": boom, "gate": gate}


@pytest.fixture
def make(embedded_store: EmbeddedStore, kinds: dict[str, JobKind]) -> Iterator[Callable[..., JobService]]:
    """Job services on the test's store (each one as another process would hold), shut down after."""
    made: list[JobService] = []

    def service(**kw: Any) -> JobService:
        kw.setdefault("limits", LIMITS)
        made.append(JobService(embedded_store, kinds, **kw))
        return made[-1]

    yield service
    for s in made:
        s.shutdown(grace=5)


@pytest.fixture
def jobs(make: Callable[..., JobService]) -> JobService:
    return make()


def submit(jobs: JobService, kind: str, owner: str = "ann", **params: Any) -> Job:
    return jobs.submit(kind, params, owner=owner, media_type="text/csv", filename="x.csv")


def result_bytes(jobs: JobService, job_id: str) -> bytes:
    return b"".join(jobs.result(job_id)[1])


def test_success_with_progress_and_a_result(jobs: JobService) -> None:
    job = submit(jobs, "count", n=3, text="a")
    assert job.status == JobStatus.QUEUED and job.owner == "ann"
    done = jobs.wait(job.job_id)
    assert done.status == JobStatus.SUCCEEDED
    assert (done.phase, done.done, done.total, done.items, done.attempt) == ("counting", 3, 3, 3, 1)
    assert result_bytes(jobs, job.job_id) == b"1,a\n2,a\n3,a\n"
    assert done.result_bytes == 12 and done.expires_at is not None and done.elapsed >= 0.0


def test_progress_shows_while_the_job_runs(
    make: Callable[..., JobService], kinds: dict[str, JobKind]
) -> None:
    """Progress is saved about every half second, heartbeats (here every 0.1 s) or not."""

    def slow(params: dict[str, Any], out: TextIO, progress: Progress) -> int:
        for i in range(1, 61):
            time.sleep(0.05)
            progress("slow", i, 60)
        return 60

    kinds["slow"] = slow
    jobs = make(stale_after=timedelta(seconds=0.4))
    job = submit(jobs, "slow")
    seen = set()
    while (current := jobs.get(job.job_id)).status != JobStatus.SUCCEEDED:
        seen.add(current.done)
        time.sleep(0.02)
    assert any(1 < done < 60 for done in seen), seen  # not only the first and the last step


def test_a_large_result_is_stored_in_chunks_and_read_back_whole(jobs: JobService) -> None:
    text = "é" * 300_000  # 600 kB per line in UTF-8, so lines straddle the 1 MiB chunks
    done = jobs.wait(submit(jobs, "count", n=4, text=text).job_id)
    assert done.status == JobStatus.SUCCEEDED and done.result_chunks == 3
    expected = "".join(f"{i},{text}\n" for i in range(1, 5)).encode("utf-8")
    assert done.result_bytes == len(expected) > 2 * CHUNK_BYTES
    assert result_bytes(jobs, done.job_id) == expected


def test_product_errors_fail_the_job_with_their_message(jobs: JobService) -> None:
    job = jobs.wait(submit(jobs, "bad").job_id)
    assert job.status == JobStatus.FAILED and job.error == "level: NUTS level must be 0 to 3, got 7"
    with pytest.raises(ConflictError, match="failed"):
        jobs.result(job.job_id)


def test_unexpected_errors_do_not_stop_the_worker_and_leave_no_result(
    jobs: JobService, embedded_store: EmbeddedStore
) -> None:
    failed = jobs.wait(submit(jobs, "boom").job_id)
    assert failed.status == JobStatus.FAILED and failed.error and "ZeroDivisionError" in failed.error
    assert embedded_store.job_result_chunk(failed.job_id, failed.attempt, 0) is None
    assert jobs.wait(submit(jobs, "count").job_id).status == JobStatus.SUCCEEDED


def test_unknown_kinds_are_refused(jobs: JobService) -> None:
    with pytest.raises(InvalidInputError, match="unknown job kind"):
        submit(jobs, "nope")


def test_cancel_a_queued_and_a_running_job(
    jobs: JobService, gate: Gate, embedded_store: EmbeddedStore
) -> None:
    running = submit(jobs, "gate")
    queued = submit(jobs, "count")
    assert jobs.cancel(queued.job_id).status == JobStatus.CANCELLED  # never starts
    assert gate.started.wait(10)
    assert jobs.cancel(running.job_id).cancel_requested
    cancelled = jobs.wait(running.job_id)
    assert cancelled.status == JobStatus.CANCELLED and cancelled.finished_at is not None
    assert embedded_store.job_result_chunk(running.job_id, cancelled.attempt, 0) is None
    assert jobs.get(queued.job_id).status == JobStatus.CANCELLED
    assert jobs.cancel(queued.job_id).status == JobStatus.CANCELLED  # finished jobs stay as they are


def test_a_job_running_in_another_process_is_cancelled_through_the_store(
    make: Callable[..., JobService], gate: Gate
) -> None:
    worker, api = make(), make()
    job = submit(worker, "gate")
    assert gate.started.wait(10)
    api.cancel(job.job_id)  # not the process running it: it learns from the record
    assert worker.wait(job.job_id).status == JobStatus.CANCELLED


def test_delete_forgets_the_job_and_its_result(jobs: JobService, embedded_store: EmbeddedStore) -> None:
    job = jobs.wait(submit(jobs, "count").job_id)
    jobs.delete(job.job_id)
    with pytest.raises(NotFoundError):
        jobs.get(job.job_id)
    assert embedded_store.job_result_chunk(job.job_id, job.attempt, 0) is None
    with pytest.raises(NotFoundError):
        jobs.delete(job.job_id)


def test_an_owner_may_have_only_so_many_jobs_going(make: Callable[..., JobService], gate: Gate) -> None:
    jobs = make(limits=JobLimits(per_owner=2, queued=10))
    first = submit(jobs, "gate")
    submit(jobs, "count")
    with pytest.raises(TooManyRequestsError, match="ann already has 2 job") as refused:
        submit(jobs, "count")
    assert refused.value.retry_after >= 1
    submit(jobs, "count", owner="bob")  # everyone has their own allowance
    gate.release.set()
    jobs.wait(first.job_id)
    assert submit(jobs, "count").status == JobStatus.QUEUED


def test_a_full_queue_refuses_more_jobs(make: Callable[..., JobService], gate: Gate) -> None:
    jobs = make(limits=JobLimits(per_owner=100, queued=3))
    running = submit(jobs, "gate")
    assert gate.started.wait(10)  # running: not in the queue any more
    accepted = [submit(jobs, "count", owner=f"user-{i}") for i in range(3)]
    with pytest.raises(TooManyRequestsError, match="queue is full") as refused:
        submit(jobs, "count", owner="someone-else")
    assert refused.value.retry_after >= 1
    assert {j.status for j in jobs.list() if j.job_id != running.job_id} == {JobStatus.QUEUED}
    gate.release.set()
    for job in (running, *accepted):
        assert jobs.wait(job.job_id).status == JobStatus.SUCCEEDED


def test_jobs_outlive_the_service_a_clean_shutdown_requeues_the_running_one(
    make: Callable[..., JobService], gate: Gate
) -> None:
    """A server shut down cleanly (SIGTERM) puts its running job back in the queue and leaves the
    queued ones there; the next server (another service on the same store) runs both, and
    finished jobs keep their results."""
    before = make()
    finished = before.wait(submit(before, "count", n=2).job_id)
    running = submit(before, "gate")
    queued = submit(before, "count", n=1)
    assert gate.started.wait(10)
    before.shutdown(grace=10)
    requeued = before.get(running.job_id)
    assert (requeued.status, requeued.attempt, requeued.worker) == (JobStatus.QUEUED, 1, None)
    assert before.get(queued.job_id).status == JobStatus.QUEUED

    gate.release.set()
    after = make()
    after.start()
    again = after.wait(running.job_id)
    assert (again.status, again.attempt) == (JobStatus.SUCCEEDED, 2)
    assert result_bytes(after, running.job_id) == b"partial result\n" * 1000 + b"done\n"  # one attempt's
    assert after.wait(queued.job_id).status == JobStatus.SUCCEEDED
    assert result_bytes(after, finished.job_id) == b"1,\n2,\n"


def test_a_job_whose_server_died_fails_with_the_reason(
    make: Callable[..., JobService], embedded_store: EmbeddedStore
) -> None:
    """A running job whose worker stopped sending heartbeats (its server was killed) is failed by
    the next worker that looks, with the reason; what the dead run had written is dropped."""
    long_ago = datetime.now(UTC) - timedelta(minutes=5)
    dead = Job(
        job_id="dead-job",
        kind="count",
        owner="ann",
        params={},
        media_type="text/csv",
        filename="x.csv",
        created_at=long_ago,
    )
    embedded_store.add_job(dead, LIMITS)
    running = embedded_store.update_job(
        dead.model_copy(
            update={
                "status": JobStatus.RUNNING,
                "worker": "gone-host:4242:cafe",
                "attempt": 1,
                "started_at": long_ago,
                "heartbeat_at": long_ago,
                "phase": "gap reports",
                "done": 7,
                "total": 20,
            }
        )
    )
    assert running is not None
    embedded_store.put_job_result_chunk("dead-job", 1, 0, b"half")
    jobs = make(stale_after=timedelta(seconds=2))
    jobs.start()
    failed = jobs.wait("dead-job", timeout=30)
    assert failed.status == JobStatus.FAILED and failed.error is not None
    assert "interrupted" in failed.error and "gone-host:4242:cafe" in failed.error
    assert "gap reports 7 of 20" in failed.error
    assert embedded_store.job_result_chunk("dead-job", 1, 0) is None


def test_a_live_job_is_not_taken_for_abandoned(make: Callable[..., JobService], gate: Gate) -> None:
    """Heartbeats come from their own thread: a job that reports no progress for longer than
    ``stale_after`` is still alive."""
    jobs = make(stale_after=timedelta(seconds=0.8))
    job = submit(jobs, "gate")
    assert gate.started.wait(10)
    time.sleep(2.0)
    jobs.sweep()
    assert jobs.get(job.job_id).status == JobStatus.RUNNING
    gate.release.set()
    assert jobs.wait(job.job_id).status == JobStatus.SUCCEEDED


def test_finished_jobs_expire_with_their_results(
    make: Callable[..., JobService], embedded_store: EmbeddedStore
) -> None:
    jobs = make(results_ttl=timedelta(seconds=0.5))
    job = jobs.wait(submit(jobs, "count").job_id)
    assert job.expires_at is not None and job.finished_at is not None
    assert job.expires_at - job.finished_at == timedelta(seconds=0.5)
    jobs.sweep()
    assert jobs.get(job.job_id).status == JobStatus.SUCCEEDED  # not yet
    time.sleep(0.6)
    jobs.sweep()
    with pytest.raises(NotFoundError):
        jobs.get(job.job_id)
    assert embedded_store.job_result_chunk(job.job_id, job.attempt, 0) is None
