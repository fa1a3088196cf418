"""Durable background jobs for long batch work (gap reports and synergies over every partnership).

Why jobs rather than a streamed response: a batch over 30k partnerships takes minutes. A job
survives the client disconnecting, can be polled for progress (phase, done / total, elapsed), can be
cancelled, and its result can be downloaded again, in the format that was asked for. A streamed
NDJSON response would tie the work to one connection (proxy timeouts, no resume, no progress
beyond the bytes received).

Why the store keeps them rather than a task-queue library (huey, RQ, Celery): what the API
promises about a job is its record (state, progress, owner, result, expiry), and the store is
already what every API process, and with the Neo4j store every machine, shares and keeps durable;
accounts, sessions and the audit log live there for the same reason. Jobs there survive a restart
and serve several processes or machines with nothing new to deploy, back up or secure, and both
stores pass one contract for them (``tests/graph/test_contract.py``). A queue library would keep
the queue but not that record: huey (SQLite or Redis) takes a task off its queue when a consumer
starts it, so a consumer killed mid-run loses the task without a trace; it knows no owner,
progress or cancellation, so we would keep our own records beside it all the same; it pickles
tasks; and it wants a consumer process beside the server, and Redis once there are several
machines.

How it works:

* A job's record holds its kind and parameters, so any worker runs it from the record alone. Every
  change is a compare-and-set on the record's revision (``GraphStore.update_job``): the worker,
  an admin cancelling and a worker sweeping up after a dead one never undo each other's change.
* Admission is one atomic store step that checks the bounds: at most ``limits.per_owner`` queued
  or running jobs per owner (one user cannot make everybody wait), at most ``limits.queued``
  queued jobs in all (the queue is bounded); beyond either, :class:`TooManyRequestsError` (HTTP
  429 with ``Retry-After``).
* Each process runs one worker thread: jobs are CPU-bound, and two at once on a small machine only
  make both slower. It claims the oldest queued job, runs it and sends heartbeats while it runs.
* The result goes to the store in 1 MiB chunks as it is written: memory stays flat, and there is
  no temporary file, so nothing is left behind by a server however it stops.
* A clean shutdown (SIGTERM) stops the running job at its next progress report and puts it back in
  the queue: the next server runs it again from the start. A server killed outright sends no more
  heartbeats; once ``stale_after`` has passed, any worker (the restarted server, or another
  process) fails the job with the reason, rather than running it again: a job that brought its
  server down would do so again. Queued jobs wait for the next worker, wherever it runs.
  (A heartbeat is a time on its worker's clock, read against the sweeper's: machines that share
  a store need clocks synchronised well within ``stale_after``, as NTP keeps them.)
* Finished jobs are forgotten with their results ``results_ttl`` after they finished.
"""

from __future__ import annotations

import io
import logging
import os
import socket
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from domain.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PactmatchError,
    TooManyRequestsError,
)
from domain.jobs import FINISHED, Job, JobLimits, JobStatus
from graph.base import GraphStore

__all__ = ["FINISHED", "Job", "JobCancelled", "JobKind", "JobLimits", "JobService", "JobStatus"]

log = logging.getLogger(__name__)

#: ``progress(phase, done, total)``.
Progress = Callable[[str, int, int], None]
#: What a kind of job runs: ``run(params, out, progress) -> items written``; the result is the text
#: written to ``out``. Raising :class:`~domain.errors.PactmatchError` fails the job with its message.
JobKind = Callable[[dict[str, Any], TextIO, Progress], int]

#: Result bytes per stored chunk.
CHUNK_BYTES = 1024 * 1024
#: What a refused submission is told to wait: a batch report takes tens of seconds to minutes.
RETRY_AFTER_SECONDS = 30
#: Progress is saved at most this often (the phase changing and the last step are always saved).
PROGRESS_SECONDS = 0.5
#: How often expired jobs are looked for.
EXPIRY_SECONDS = 60.0


class JobCancelled(Exception):
    """Raised inside a job's progress callback once the job was cancelled."""


class _Interrupted(Exception):
    """Raised inside a job's progress callback when this server shuts down."""


class _Lost(Exception):
    """The job's record moved on without its worker (failed as abandoned, or deleted)."""


def _now() -> datetime:
    return datetime.now(UTC)


class JobService:
    """Submit, poll, cancel and collect durable jobs; this process's worker runs them.

    Parameters
    ----------
    store : GraphStore
        Where the records and the results live (shared by every process of the service).
    kinds : mapping of str to JobKind
        What each kind of job runs.
    limits : JobLimits
        Queued or running jobs per owner, and queued jobs in all.
    results_ttl : timedelta
        How long a finished job and its result are kept.
    stale_after : timedelta
        How long a running job may go without a heartbeat before it counts as abandoned; heartbeats
        come four times as often, and so do the worker's looks at the queue.
    """

    def __init__(
        self,
        store: GraphStore,
        kinds: Mapping[str, JobKind],
        *,
        limits: JobLimits,
        results_ttl: timedelta = timedelta(days=7),
        stale_after: timedelta = timedelta(seconds=60),
    ) -> None:
        self.store = store
        self.kinds = dict(kinds)
        self.limits = limits
        self.results_ttl = results_ttl
        self.stale_after = stale_after
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._poll_seconds = min(5.0, stale_after.total_seconds() / 4)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._current: _Run | None = None
        self._next_expiry = 0.0
        self._failures = 0

    # -- the API of the service -------------------------------------------------------------
    def start(self) -> None:
        """Start this process's worker, if it is not running (idempotent). It first fails
        abandoned jobs and forgets expired ones, then runs queued jobs, the oldest first."""
        with self._start_lock:
            if self._stop.is_set() or (self._thread is not None and self._thread.is_alive()):
                return
            # The thread holds the service weakly: a service nobody uses any more (tests make
            # many) ends its worker instead of being kept alive by it.
            self._thread = threading.Thread(
                target=_work, args=(weakref.ref(self),), name="pactmatch-jobs", daemon=True
            )
            self._thread.start()

    def submit(self, kind: str, params: dict[str, Any], *, owner: str, media_type: str, filename: str) -> Job:
        """Queue a job; :class:`TooManyRequestsError` when ``owner`` has as many jobs queued or
        running as the limit allows, or when the queue is full."""
        if kind not in self.kinds:
            raise InvalidInputError(f"unknown job kind {kind!r}")
        job = Job(
            job_id=uuid.uuid4().hex,
            kind=kind,
            owner=owner,
            params=params,
            media_type=media_type,
            filename=filename,
            created_at=_now(),
        )
        counts = self.store.add_job(job, self.limits)
        if counts.owner_active >= self.limits.per_owner:
            raise TooManyRequestsError(
                f"{owner} already has {counts.owner_active} job(s) queued or running "
                f"(at most {self.limits.per_owner}); wait for one to finish or cancel it",
                RETRY_AFTER_SECONDS,
            )
        if counts.queued >= self.limits.queued:
            raise TooManyRequestsError(
                f"the job queue is full ({counts.queued} job(s) waiting, at most {self.limits.queued}); "
                "try again later",
                RETRY_AFTER_SECONDS,
            )
        self.start()
        self._wake.set()
        return job

    def get(self, job_id: str) -> Job:
        job = self.store.get_job(job_id)
        if job is None:
            raise NotFoundError("job", job_id)
        return job

    def list(self) -> list[Job]:
        """Every job kept, newest first."""
        return self.store.list_jobs()

    def result(self, job_id: str) -> tuple[Job, Iterator[bytes]]:
        """The finished job and its result, chunk by chunk (read as they are sent);
        ``ConflictError`` while there is none (queued, running, failed, cancelled)."""
        job = self.get(job_id)
        if job.status != JobStatus.SUCCEEDED:
            raise ConflictError(
                f"job {job_id} has no result: it is {job.status.value}"
                + (f" ({job.error})" if job.error else "")
            )

        def chunks() -> Iterator[bytes]:
            for seq in range(job.result_chunks):
                data = self.store.job_result_chunk(job.job_id, job.attempt, seq)
                if data is None:  # deleted or expired since the download began
                    raise NotFoundError("result of job", job_id)
                yield data

        return job, chunks()

    def cancel(self, job_id: str) -> Job:
        """A queued job is cancelled at once; a running one is asked to stop, and stops at its
        next progress report (in whichever process runs it)."""
        while True:
            job = self.get(job_id)
            if job.status in FINISHED:
                return job
            if job.status == JobStatus.QUEUED:
                now = _now()
                change: dict[str, Any] = {
                    "status": JobStatus.CANCELLED,
                    "finished_at": now,
                    "expires_at": now + self.results_ttl,
                }
            else:
                change = {"cancel_requested": True}
            saved = self.store.update_job(job.model_copy(update=change))
            if saved is not None:
                run = self._current
                if run is not None and run.job.job_id == job_id:
                    run.cancelled.set()
                return saved

    def delete(self, job_id: str) -> None:
        """Cancel the job if it is still going, and forget it and its result."""
        self.cancel(job_id)
        self.store.delete_job(job_id)

    def wait(self, job_id: str, timeout: float = 60.0) -> Job:
        """Block until the job is finished or ``timeout`` seconds have passed (tests, scripts)."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            if job.status in FINISHED or time.monotonic() > deadline:
                return job
            time.sleep(0.02)

    def sweep(self) -> None:
        """Fail the running jobs whose worker stopped sending heartbeats, and forget the finished
        jobs whose time is up (the worker does both as it goes)."""
        self._fail_abandoned()
        self._forget_expired()

    def shutdown(self, grace: float = 10.0) -> None:
        """Stop this process's worker (the server's shutdown). A running job stops at its next
        progress report and goes back to the queue, for the next server to run again; queued
        jobs stay queued. Waits up to ``grace`` seconds for the worker to let go of its job."""
        self._stop.set()
        run = self._current
        if run is not None:
            run.interrupted.set()
        self._wake.set()
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return
        thread.join(grace)
        if thread.is_alive() and run is not None:
            log.warning(
                "job %s did not reach a progress report within %.0f s of the shutdown: it will be "
                "failed as interrupted %s after its last heartbeat",
                run.job.job_id,
                grace,
                self.stale_after,
            )

    # -- the worker -------------------------------------------------------------------------
    def _step(self) -> float:
        """One round of the worker; returns the seconds to wait before the next."""
        try:
            self._fail_abandoned()
            if time.monotonic() >= self._next_expiry:
                self._forget_expired()
                self._next_expiry = time.monotonic() + EXPIRY_SECONDS
            job = self._claim()
            if job is not None:
                self._run(job)
            self._failures = 0
            return 0.0 if job is not None else self._poll_seconds
        except Exception as exc:  # the worker must outlive a store that is down for a while
            self._failures += 1
            if isinstance(exc, PactmatchError):
                log.warning("job worker %s: %s", self.worker_id, exc)
            else:
                log.exception("job worker %s failed", self.worker_id)
            return min(60.0, self._poll_seconds * 2.0**self._failures)

    def _claim(self) -> Job | None:
        if self._stop.is_set():
            return None
        for job in reversed(self.store.list_jobs(JobStatus.QUEUED)):  # oldest first
            now = _now()
            claimed = self.store.update_job(
                job.model_copy(
                    update={
                        "status": JobStatus.RUNNING,
                        "worker": self.worker_id,
                        "attempt": job.attempt + 1,
                        "started_at": now,
                        "heartbeat_at": now,
                        "phase": "",
                        "done": 0,
                        "total": 0,
                    }
                )
            )
            if claimed is not None:
                return claimed
        return None

    def _run(self, job: Job) -> None:
        run = _Run(self.store, job, self.worker_id, self.stale_after.total_seconds() / 4)
        self._current = run
        if self._stop.is_set():
            run.interrupted.set()
        try:
            items, size, chunks = self._execute(run)
        except _Interrupted:
            if run.job.cancel_requested:
                self._settle(run, status=JobStatus.CANCELLED)
            else:
                self._settle(run, status=JobStatus.QUEUED, worker=None, started_at=None, heartbeat_at=None)
        except JobCancelled:
            self._settle(run, status=JobStatus.CANCELLED)
        except _Lost:
            self.store.delete_job_results(job.job_id)
        except PactmatchError as exc:
            self._settle(run, status=JobStatus.FAILED, error=str(exc))
        except Exception as exc:  # a job must never take the worker down with it
            log.exception("job %s (%s) failed", job.job_id, job.kind)
            self._settle(run, status=JobStatus.FAILED, error=f"internal error: {type(exc).__name__}: {exc}")
        else:
            self._settle(
                run, status=JobStatus.SUCCEEDED, items=items, result_bytes=size, result_chunks=chunks
            )
        finally:
            self._current = None

    def _execute(self, run: _Run) -> tuple[int, int, int]:
        """Run the job's kind, its result written to the store; (items, bytes, chunks)."""
        kind = self.kinds.get(run.job.kind)
        if kind is None:
            raise InvalidInputError(f"unknown job kind {run.job.kind!r} (submitted by another version?)")
        self.store.delete_job_results(run.job.job_id)  # what an earlier attempt left
        raw = _ResultWriter(self.store, run.job.job_id, run.job.attempt)
        with run.heartbeats(), io.TextIOWrapper(io.BufferedWriter(raw), encoding="utf-8", newline="") as out:
            items = kind(run.job.params, out, run.progress)
        return items, raw.size, raw.chunks

    def _settle(self, run: _Run, *, status: JobStatus, **changes: Any) -> None:
        """Save how the run ended; the results of a run that produced none are dropped."""
        if status != JobStatus.QUEUED:
            now = _now()
            changes.update(finished_at=now, expires_at=now + self.results_ttl)
        try:
            run.save(status=status, **changes)
        except _Lost:  # deleted meanwhile, or failed as abandoned: its record says so already
            status = JobStatus.FAILED
        finally:
            if status != JobStatus.SUCCEEDED:
                self.store.delete_job_results(run.job.job_id)

    def _fail_abandoned(self) -> None:
        now = _now()
        for job in self.store.list_jobs(JobStatus.RUNNING):
            beat = job.heartbeat_at or job.started_at or job.created_at
            if now - beat < self.stale_after:
                continue
            reason = (
                f"interrupted: the server running it ({job.worker}) stopped at about "
                f"{beat:%Y-%m-%d %H:%M:%S} UTC (killed, or it lost the store)"
                + (f", {job.phase} {job.done} of {job.total}" if job.phase else "")
                + "; submit it again"
            )
            failed = self.store.update_job(
                job.model_copy(
                    update={
                        "status": JobStatus.FAILED,
                        "error": reason,
                        "finished_at": now,
                        "expires_at": now + self.results_ttl,
                    }
                )
            )
            if failed is not None:
                log.warning("job %s: %s", job.job_id, reason)
                self.store.delete_job_results(job.job_id)

    def _forget_expired(self) -> None:
        now = _now()
        for job in self.store.list_jobs():
            if job.status in FINISHED and job.expires_at is not None and job.expires_at <= now:
                with suppress(NotFoundError):  # another process forgot it first
                    self.store.delete_job(job.job_id)


def _work(service_ref: weakref.ref[JobService]) -> None:
    """The worker thread: rounds of :meth:`JobService._step` until the service stops or is gone."""
    while True:
        service = service_ref()
        if service is None or service._stop.is_set():
            return
        wake = service._wake
        wake.clear()
        pause = service._step()
        del service
        wake.wait(pause)


class _Run:
    """The worker's hold on the job it runs: saves its changes (compare-and-set, taking in what
    others changed meanwhile), sends heartbeats, and notices cancellation and shutdown."""

    def __init__(self, store: GraphStore, job: Job, worker: str, heartbeat_seconds: float) -> None:
        self.store = store
        self.job = job
        self.worker = worker
        self.heartbeat_seconds = heartbeat_seconds
        self.cancelled = threading.Event()
        self.interrupted = threading.Event()
        self.lost = threading.Event()
        self._lock = threading.Lock()
        #: When progress was last saved (heartbeats do not count: they would starve it).
        self._progress_saved_at = 0.0

    def save(self, **changes: Any) -> None:
        """Apply ``changes`` to the record; :class:`_Lost` when it is no longer this run's."""
        with self._lock:
            while True:
                saved = self.store.update_job(self.job.model_copy(update=changes))
                if saved is not None:
                    self.job = saved
                    return
                current = self.store.get_job(self.job.job_id)
                if current is None or (current.status, current.worker, current.attempt) != (
                    JobStatus.RUNNING,
                    self.worker,
                    self.job.attempt,
                ):
                    self.lost.set()
                    raise _Lost
                self.job = current

    def progress(self, phase: str, done: int, total: int) -> None:
        """The job's progress callback: saved now and then; where the job is told to stop."""
        self._check()
        job = self.job
        last = total > 0 and done >= total
        if phase != job.phase or last or time.monotonic() - self._progress_saved_at >= PROGRESS_SECONDS:
            self.save(phase=phase, done=done, total=total, heartbeat_at=_now())
            self._progress_saved_at = time.monotonic()
            self._check()

    def _check(self) -> None:
        if self.lost.is_set():
            raise _Lost
        if self.interrupted.is_set():
            raise _Interrupted
        if self.cancelled.is_set() or self.job.cancel_requested:
            raise JobCancelled

    @contextmanager
    def heartbeats(self) -> Iterator[None]:
        """Heartbeats from a thread of their own, so a long step without progress reports (fitting
        on 30k texts) does not look like a dead server."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.heartbeat_seconds):
                try:
                    self.save(heartbeat_at=_now())
                except _Lost:
                    return
                except PactmatchError as exc:  # the store is away: the next beat tries again
                    log.warning("job %s: heartbeat not saved: %s", self.job.job_id, exc)

        thread = threading.Thread(target=beat, name="pactmatch-job-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()


class _ResultWriter(io.RawIOBase):
    """A binary stream that stores what is written in chunks of :data:`CHUNK_BYTES`."""

    def __init__(self, store: GraphStore, job_id: str, attempt: int) -> None:
        super().__init__()
        self.store = store
        self.job_id = job_id
        self.attempt = attempt
        self.size = 0
        self.chunks = 0
        self._pending = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self._pending += view
        self.size += len(view)
        while len(self._pending) >= CHUNK_BYTES:
            self._put(bytes(self._pending[:CHUNK_BYTES]))
            del self._pending[:CHUNK_BYTES]
        return len(view)

    def close(self) -> None:
        if not self.closed and self._pending:
            self._put(bytes(self._pending))
            self._pending.clear()
        super().close()

    def _put(self, data: bytes) -> None:
        self.store.put_job_result_chunk(self.job_id, self.attempt, self.chunks, data)
        self.chunks += 1
