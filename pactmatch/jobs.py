"""Background jobs for long batch work (gap reports and synergies over every partnership).

Why jobs rather than a streamed response: a batch over 30k partnerships takes minutes. A job
survives the client disconnecting, can be polled for progress (phase, done / total, elapsed), can be
cancelled, and its result is a file that can be downloaded again, in the format that was asked for.
A streamed NDJSON response would tie the work to one connection (proxy timeouts, no resume, no
progress beyond the bytes received).

Jobs run one at a time on a worker thread: they are CPU-bound, so running two in parallel on a
small machine would only make both slower; later submissions wait in the queue. Results are
written to files in a private temporary directory (memory stays flat whatever the batch size);
the oldest finished jobs are forgotten, files included, once more than ``keep`` are held.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from domain.errors import ConflictError, NotFoundError, PactmatchError, TooManyRequestsError


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class JobCancelled(Exception):
    """Raised inside a job's progress callback once the job was cancelled."""


#: ``work(result_path, progress) -> items written``; ``progress(phase, done, total)``.
Work = Callable[[Path, Callable[[str, int, int], None]], int]


@dataclass(frozen=True)
class Job:
    """A snapshot of one job's state (immutable; the registry replaces it as the job advances)."""

    job_id: str
    kind: str
    status: JobStatus
    created_at: float
    media_type: str
    filename: str
    owner: str = ""
    phase: str = ""
    done: int = 0
    total: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    items: int = 0
    error: str | None = None

    @property
    def elapsed(self) -> float:
        if self.started_at is None:
            return 0.0
        return (self.finished_at or time.time()) - self.started_at


class JobRegistry:
    """Submit, poll, cancel and collect background jobs."""

    def __init__(self, keep: int = 20, max_per_owner: int = 2) -> None:
        self.keep = keep
        #: Queued or running jobs one owner may have at once: the queue runs one job at a time,
        #: so one user submitting many would make everybody else wait behind them.
        self.max_per_owner = max_per_owner
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._cancel: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pactmatch-job")
        self._dir = Path(tempfile.mkdtemp(prefix="pactmatch-jobs-"))
        # Files go when the registry does (app shutdown, interpreter exit).
        self._finalizer = weakref.finalize(self, _cleanup, self._executor, self._dir)

    def submit(self, kind: str, work: Work, *, media_type: str, filename: str, owner: str) -> Job:
        """Queue ``work``; ``TooManyRequestsError`` when ``owner`` already has
        :attr:`max_per_owner` jobs queued or running."""
        job = Job(
            job_id=uuid.uuid4().hex,
            kind=kind,
            status=JobStatus.QUEUED,
            created_at=time.time(),
            media_type=media_type,
            filename=filename,
            owner=owner,
        )
        with self._lock:
            active = sum(j.owner == owner and j.status not in FINISHED for j in self._jobs.values())
            if active >= self.max_per_owner:
                raise TooManyRequestsError(
                    f"{owner} already has {active} job(s) queued or running (at most {self.max_per_owner}); "
                    "wait for one to finish or cancel it",
                    30,
                )
            self._jobs[job.job_id] = job
            self._cancel[job.job_id] = threading.Event()
            self._forget_old()
        self._executor.submit(self._run, job.job_id, work)
        return job

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError("job", job_id)
        return job

    def list(self) -> list[Job]:
        with self._lock:
            return list(reversed(self._jobs.values()))

    def result_path(self, job_id: str) -> Path:
        """The result file of a finished job; ``ConflictError`` while it is not (yet) available."""
        job = self.get(job_id)
        if job.status != JobStatus.SUCCEEDED:
            raise ConflictError(
                f"job {job_id} has no result: it is {job.status.value}"
                + (f" ({job.error})" if job.error else "")
            )
        return self._path(job_id)

    def cancel(self, job_id: str) -> Job:
        """Ask a queued or running job to stop (it stops at its next progress report)."""
        job = self.get(job_id)
        if job.status in FINISHED:
            return job
        self._cancel[job_id].set()
        if job.status == JobStatus.QUEUED:
            return self._update(job_id, status=JobStatus.CANCELLED, finished_at=time.time())
        return job

    def delete(self, job_id: str) -> None:
        """Cancel if needed and forget the job and its file."""
        self.cancel(job_id)
        with self._lock:
            self._jobs.pop(job_id, None)
        self._path(job_id).unlink(missing_ok=True)

    def wait(self, job_id: str, timeout: float = 60.0) -> Job:
        """Block until the job is finished (tests, scripts)."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            if job.status in FINISHED or time.monotonic() > deadline:
                return job
            time.sleep(0.02)

    def shutdown(self) -> None:
        for event in self._cancel.values():
            event.set()
        self._finalizer()

    # -- internals ------------------------------------------------------------------------------
    def _path(self, job_id: str) -> Path:
        return self._dir / job_id

    def _update(self, job_id: str, **changes: object) -> Job:
        with self._lock:
            job = replace(self._jobs[job_id], **changes)  # type: ignore[arg-type]
            self._jobs[job_id] = job
            return job

    def _run(self, job_id: str, work: Work) -> None:
        cancelled = self._cancel[job_id]
        if cancelled.is_set() or job_id not in self._jobs:
            return
        self._update(job_id, status=JobStatus.RUNNING, started_at=time.time())

        def progress(phase: str, done: int, total: int) -> None:
            if cancelled.is_set():
                raise JobCancelled
            if job_id in self._jobs:
                self._update(job_id, phase=phase, done=done, total=total)

        path = self._path(job_id)
        try:
            items = work(path, progress)
        except JobCancelled:
            path.unlink(missing_ok=True)
            self._finish(job_id, status=JobStatus.CANCELLED)
        except PactmatchError as exc:
            path.unlink(missing_ok=True)
            self._finish(job_id, status=JobStatus.FAILED, error=str(exc))
        except Exception as exc:  # a job must never take the worker thread down with it
            path.unlink(missing_ok=True)
            self._finish(
                job_id, status=JobStatus.FAILED, error=f"internal error: {type(exc).__name__}: {exc}"
            )
        else:
            self._finish(job_id, status=JobStatus.SUCCEEDED, items=items)

    def _finish(self, job_id: str, **changes: object) -> None:
        if job_id in self._jobs:
            self._update(job_id, finished_at=time.time(), **changes)

    def _forget_old(self) -> None:
        finished = [j.job_id for j in self._jobs.values() if j.status in FINISHED]
        while len(self._jobs) > self.keep and finished:
            old = finished.pop(0)
            self._jobs.pop(old, None)
            self._path(old).unlink(missing_ok=True)


def _cleanup(executor: ThreadPoolExecutor, directory: Path) -> None:
    executor.shutdown(wait=False, cancel_futures=True)
    shutil.rmtree(directory, ignore_errors=True)
