"""Stakeholder mapping: gap report options, synergy lists, region views, the target mix, batch jobs.

The reports themselves (:class:`GapReportPublic`, :class:`SynergyPairPublic`,
:class:`RegionViewPublic`) are the report model of :mod:`pactmatch.reports`, re-exported here: the
CLI writes the same models to JSON, CSV and HTML. The batch requests are the parameters their jobs
keep (:mod:`pactmatch.report_jobs`), re-exported too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from pactmatch.jobs import Job, JobStatus
from pactmatch.report_jobs import MAX_BATCH_IDS, GapBatchRequest, GapRequest, SynergyBatchRequest
from pactmatch.reports import GapReportPublic, RegionViewPublic, SynergyPairPublic

__all__ = [
    "MAX_BATCH_IDS",
    "GapBatchRequest",
    "GapReportPublic",
    "GapRequest",
    "JobPublic",
    "RegionViewPublic",
    "SynergyBatchRequest",
    "SynergyListPublic",
    "SynergyPairPublic",
    "TargetMixPublic",
    "job_public",
]


class SynergyListPublic(BaseModel):
    partnership_id: str
    items: list[SynergyPairPublic]


class TargetMixPublic(BaseModel):
    stored_override: bool = Field(description="whether an override is saved with the store")
    effective: dict[str, Any] = Field(description="the defaults with the stored override applied")


class JobPublic(BaseModel):
    job_id: str
    kind: str
    filename: str = Field(description="the result's file name; its extension is the format asked for")
    owner: str = Field(description="who submitted it")
    status: JobStatus
    phase: str
    done: int
    total: int
    percent: float | None = Field(description="of the current phase")
    elapsed_seconds: float
    attempt: int = Field(description="runs started (a job interrupted by a clean restart runs again)")
    created_at: datetime
    finished_at: datetime | None
    expires_at: datetime | None = Field(description="when the finished job and its result are forgotten")
    items: int = Field(description="items written, once succeeded")
    result_bytes: int = Field(description="size of the result, once succeeded")
    error: str | None = Field(description="why it failed (an interrupted job says so)")
    status_url: str
    result_url: str | None = Field(description="set once the job succeeded")


def job_public(job: Job) -> JobPublic:
    """The job's state, with the URLs to poll it and to download its result."""
    return JobPublic(
        job_id=job.job_id,
        kind=job.kind,
        filename=job.filename,
        owner=job.owner,
        status=job.status,
        phase=job.phase,
        done=job.done,
        total=job.total,
        percent=round(100.0 * job.done / job.total, 1) if job.total else None,
        elapsed_seconds=round(job.elapsed, 2),
        attempt=job.attempt,
        created_at=job.created_at,
        finished_at=job.finished_at,
        expires_at=job.expires_at,
        items=job.items,
        result_bytes=job.result_bytes,
        error=job.error,
        status_url=f"/jobs/{job.job_id}",
        result_url=f"/jobs/{job.job_id}/result" if job.status == JobStatus.SUCCEEDED else None,
    )
