"""Background jobs as the store keeps them: state, progress, owner, parameters and result.

A job is a record that any process of the service can read and advance, so it outlives the process
that accepted it (see :mod:`pactmatch.jobs` for the queue that runs them). Every change of a record
is a compare-and-set on its ``revision``: the worker that runs a job, an admin cancelling it and a
worker that finds it abandoned never overwrite each other's change unseen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: Jobs that count against the queue's bounds.
ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)
FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class Job(BaseModel):
    """One job. ``params`` is everything its kind needs to run (JSON), so whichever worker claims
    it runs it from the record alone. The result is kept in chunks under ``(job_id, attempt)``:
    chunks a lost earlier attempt may still write can never mix into the result of a later one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    job_id: str
    kind: str
    owner: str
    params: dict[str, Any]
    media_type: str
    filename: str
    created_at: datetime
    status: JobStatus = JobStatus.QUEUED
    #: Compare-and-set token: the store bumps it on every saved change.
    revision: int = 0
    #: Runs started so far (a clean shutdown puts a running job back in the queue).
    attempt: int = 0
    #: ``host:pid:nonce`` of the process running it.
    worker: str | None = None
    #: When its worker last said it is alive; a running job without one for too long was abandoned.
    heartbeat_at: datetime | None = None
    cancel_requested: bool = False
    phase: str = ""
    done: int = 0
    total: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    #: When a finished job (and its result) is forgotten.
    expires_at: datetime | None = None
    items: int = 0
    result_bytes: int = 0
    result_chunks: int = 0
    error: str | None = None

    @property
    def elapsed(self) -> float:
        """Seconds it has run (so far, or in all)."""
        if self.started_at is None:
            return 0.0
        return ((self.finished_at or datetime.now(UTC)) - self.started_at).total_seconds()


@dataclass(frozen=True)
class JobLimits:
    """The queue's bounds: active (queued or running) jobs per owner, and queued jobs in all."""

    per_owner: int
    queued: int


@dataclass(frozen=True)
class JobCounts:
    """What the queue held when a job was offered: the owner's active jobs, everybody's queued ones."""

    owner_active: int
    queued: int

    def admits(self, limits: JobLimits) -> bool:
        return self.owner_active < limits.per_owner and self.queued < limits.queued
