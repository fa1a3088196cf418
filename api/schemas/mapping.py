"""Stakeholder mapping: gap report options, synergy lists, region views, the target mix, batch jobs.

The reports themselves (:class:`GapReportPublic`, :class:`SynergyPairPublic`,
:class:`RegionViewPublic`) are the report model of :mod:`pactmatch.reports`, re-exported here: the
CLI writes the same models to JSON, CSV and HTML.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.models import MAX_ENUM_LIST, Identifier
from matching.synergies import PAIR_KINDS
from pactmatch.jobs import Job, JobStatus
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

MAX_BATCH_IDS = 100_000


class GapRequest(BaseModel):
    """Gap report options with an optional target mix for this request only."""

    model_config = ConfigDict(extra="forbid")
    level: int | None = Field(default=None, ge=0, le=3)
    candidates_per_gap: int = Field(default=5, ge=0, le=50)
    target_mix: dict[str, Any] | None = Field(
        default=None, description="same shape as matching/data/target_mix.json; overrides what it names"
    )


class GapBatchRequest(GapRequest):
    format: Literal["json", "csv", "html"] = "json"
    partnership_ids: list[Identifier] | None = Field(
        default=None, max_length=MAX_BATCH_IDS, description="default: every partnership"
    )


class SynergyBatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    top_k: int = Field(default=5, ge=1, le=50, description="partners kept per partnership")
    recruits: int = Field(default=0, ge=0, le=5, description="members of each side proposed to the other")
    pair_kinds: list[Literal[PAIR_KINDS]] | None = Field(default=None, max_length=MAX_ENUM_LIST)  # type: ignore[valid-type]
    format: Literal["json", "csv", "html"] = "json"


class SynergyListPublic(BaseModel):
    partnership_id: str
    items: list[SynergyPairPublic]


class TargetMixPublic(BaseModel):
    stored_override: bool = Field(description="whether an override is saved with the store")
    effective: dict[str, Any] = Field(description="the defaults with the stored override applied")


class JobPublic(BaseModel):
    job_id: str
    kind: str
    status: JobStatus
    phase: str
    done: int
    total: int
    percent: float | None = Field(description="of the current phase")
    elapsed_seconds: float
    items: int = Field(description="items written, once succeeded")
    error: str | None
    status_url: str
    result_url: str | None = Field(description="set once the job succeeded")


def job_public(job: Job) -> JobPublic:
    """The job's state, with the URLs to poll it and to download its result."""
    return JobPublic(
        job_id=job.job_id,
        kind=job.kind,
        status=job.status,
        phase=job.phase,
        done=job.done,
        total=job.total,
        percent=round(100.0 * job.done / job.total, 1) if job.total else None,
        elapsed_seconds=round(job.elapsed, 2),
        items=job.items,
        error=job.error,
        status_url=f"/jobs/{job.job_id}",
        result_url=f"/jobs/{job.job_id}/result" if job.status == JobStatus.SUCCEEDED else None,
    )
