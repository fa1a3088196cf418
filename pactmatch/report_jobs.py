"""The batch reports as jobs: what ``gap-reports`` and ``synergy-reports`` run, from their parameters.

A job keeps the request's parameters with its record (:mod:`pactmatch.jobs`), so whichever worker
claims it (this process, another one, the server after a restart) runs it from the record alone;
the request models live here, with what runs them, and the API takes them as its request bodies.
"""

from __future__ import annotations

from typing import Any, Literal, TextIO

from pydantic import BaseModel, ConfigDict, Field

from domain.errors import FieldIssue, InvalidInputError
from domain.jobs import Job
from domain.models import MAX_ENUM_LIST, Identifier
from matching.synergies import PAIR_KINDS
from matching.target_mix import TargetMix, parse_target_mix
from pactmatch.jobs import JobKind, JobService, Progress
from pactmatch.mapping import MappingService
from pactmatch.reports import (
    MEDIA_TYPES,
    ReportMeta,
    gap_report_public,
    synergy_pair_public,
    write_gaps,
    write_synergies,
)

GAP_REPORTS = "gap-reports"
SYNERGY_REPORTS = "synergy-reports"
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


def target_mix(raw: dict[str, Any] | None) -> TargetMix | None:
    """A request's target mix, its errors named under ``target_mix``."""
    if raw is None:
        return None
    try:
        return parse_target_mix(raw, "target_mix")
    except InvalidInputError as exc:
        issues = [FieldIssue(f"target_mix.{i.field}", i.message) for i in exc.issues]
        raise InvalidInputError(str(exc), issues or [FieldIssue("target_mix", str(exc))]) from exc


def report_job_kinds(mapping: MappingService) -> dict[str, JobKind]:
    """The batch report kinds, over ``mapping``'s store."""

    def gap_reports(params: dict[str, Any], out: TextIO, progress: Progress) -> int:
        request = GapBatchRequest.model_validate(params)
        reports = mapping.gap_reports(
            request.partnership_ids,
            level=request.level,
            candidates_per_gap=request.candidates_per_gap,
            target_mix=target_mix(request.target_mix),
            progress=progress,
        )
        meta = ReportMeta("Membership gaps — all partnerships", store=mapping.store_description)
        return write_gaps((gap_report_public(r) for r in reports), request.format, out, meta)

    def synergy_reports(params: dict[str, Any], out: TextIO, progress: Progress) -> int:
        request = SynergyBatchRequest.model_validate(params)
        pairs = mapping.all_synergies(
            top_k=request.top_k,
            recruits_per_pair=request.recruits,
            pair_kinds=request.pair_kinds,
            progress=progress,
        )
        meta = ReportMeta("Synergies — all partnerships", store=mapping.store_description)
        return write_synergies((synergy_pair_public(p) for p in pairs), request.format, out, meta)

    return {GAP_REPORTS: gap_reports, SYNERGY_REPORTS: synergy_reports}


def submit_report(
    jobs: JobService, kind: str, request: GapBatchRequest | SynergyBatchRequest, *, owner: str
) -> Job:
    """Queue a batch report of ``kind`` (:data:`GAP_REPORTS` or :data:`SYNERGY_REPORTS`) as
    ``request`` asks, its result named and typed by the request's format: what the API and the
    reports page both submit."""
    return jobs.submit(
        kind,
        request.model_dump(mode="json"),
        owner=owner,
        media_type=MEDIA_TYPES[request.format],
        filename=f"{kind}.{request.format}",
    )
