"""Stakeholder mapping over HTTP: gap reports, synergies, region views, the target mix, batch jobs.

Thin handlers over :class:`pactmatch.mapping.MappingService`. Reports come as JSON (typed
``*Public`` models) or, with ``?format=csv|html``, as a file. Runs over every partnership are
background jobs (``POST /gap-reports``, ``POST /synergy-reports`` → 202 and a job to poll at
``/jobs/{id}``, result at ``/jobs/{id}/result``); see :mod:`pactmatch.jobs` for why jobs rather
than a streamed response, and why the store keeps them. Routes are plain ``def``: the work is
CPU-bound and FastAPI runs it in its thread pool, so the event loop stays free.
"""

from __future__ import annotations

import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status
from fastapi import Path as PathParam
from fastapi.responses import StreamingResponse

from api.auth import require
from api.deps import JobsDep, MappingDep, SettingsDep
from api.rate_limits import Operation, limited
from api.routers.common import StrictJSONRoute, attachment
from api.schemas.common import RegionFilter
from api.schemas.mapping import (
    GapBatchRequest,
    GapReportPublic,
    GapRequest,
    JobPublic,
    RegionViewPublic,
    SynergyBatchRequest,
    SynergyListPublic,
    TargetMixPublic,
    job_public,
)
from domain.accounts import Actor
from domain.models import MAX_ENUM_LIST
from matching.synergies import PAIR_KINDS
from pactmatch.mapping import MappingService
from pactmatch.permissions import Action
from pactmatch.report_jobs import GAP_REPORTS, SYNERGY_REPORTS, submit_report, target_mix
from pactmatch.reports import (
    MEDIA_TYPES,
    ReportFormat,
    ReportMeta,
    gap_report_public,
    region_view_public,
    synergy_pair_public,
    write_gaps,
    write_region,
    write_synergies,
)

FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {}, "text/html": {}},
        "description": "JSON, or a CSV / HTML file with ?format=",
    }
}

FormatQuery = Annotated[
    Literal["json", "csv", "html"], Query(alias="format", description="json (default), csv or html")
]
Level = Annotated[
    int | None,
    Query(ge=0, le=3, description="NUTS level of the coverage check (default: the scope as declared)"),
]
CandidatesPerGap = Annotated[int, Query(ge=0, le=50, description="candidates proposed per gap")]


# -- helpers -------------------------------------------------------------------------------------
def _file(text: str, fmt: str, filename: str) -> Response:
    return Response(content=text, media_type=MEDIA_TYPES[_fmt(fmt)], headers=attachment(f"{filename}.{fmt}"))


def _gap_report(
    mapping: MappingService, partnership_id: str, body: GapRequest, fmt: str
) -> GapReportPublic | Response:
    report = gap_report_public(
        mapping.gaps(
            partnership_id,
            level=body.level,
            candidates_per_gap=body.candidates_per_gap,
            target_mix=target_mix(body.target_mix),
        )
    )
    if fmt == "json":
        return report
    out = io.StringIO()
    write_gaps(
        [report],
        _fmt(fmt),
        out,
        ReportMeta(f"Membership gaps — {report.name}", store=mapping.store_description),
    )
    return _file(out.getvalue(), fmt, f"gaps-{partnership_id}")


def _fmt(fmt: str) -> ReportFormat:
    assert fmt in MEDIA_TYPES
    return fmt


# -- gaps ----------------------------------------------------------------------------------------
gaps_router = APIRouter(prefix="/partnerships", tags=["gaps"], route_class=StrictJSONRoute)
Insights = require(Action.PARTNERSHIP_INSIGHTS, "partnership_id")
Admin = Annotated[Actor, require(Action.ADMIN)]
Batch = Annotated[None, limited(Operation.BATCH_REPORT)]


@gaps_router.get(
    "/{partnership_id}/gaps",
    response_model=GapReportPublic,
    responses=FILE_RESPONSES,
    dependencies=[Insights],
)
def partnership_gaps(
    partnership_id: str,
    mapping: MappingDep,
    level: Level = None,
    candidates_per_gap: CandidatesPerGap = 5,
    fmt: FormatQuery = "json",
) -> GapReportPublic | Response:
    """What the partnership lacks against its target mix, its scope's regions and its ecosystems, with
    candidates for each gap (explained; searched inside the partnership's area first)."""
    return _gap_report(
        mapping, partnership_id, GapRequest(level=level, candidates_per_gap=candidates_per_gap), fmt
    )


@gaps_router.post(
    "/{partnership_id}/gaps",
    response_model=GapReportPublic,
    responses=FILE_RESPONSES,
    dependencies=[Insights],
)
def partnership_gaps_with_options(
    partnership_id: str, body: GapRequest, mapping: MappingDep, fmt: FormatQuery = "json"
) -> GapReportPublic | Response:
    """The gap report with a target mix given in the body (for this request only)."""
    return _gap_report(mapping, partnership_id, body, fmt)


# -- synergies -----------------------------------------------------------------------------------
synergies_router = APIRouter(prefix="/partnerships", tags=["synergies"], route_class=StrictJSONRoute)


@synergies_router.get(
    "/{partnership_id}/synergies",
    response_model=SynergyListPublic,
    responses=FILE_RESPONSES,
    dependencies=[Insights],
)
def partnership_synergies(
    partnership_id: str,
    mapping: MappingDep,
    settings: SettingsDep,
    top_k: Annotated[int, Query(ge=1, le=200, description="partners to return")] = 10,
    recruits: Annotated[
        int, Query(ge=0, le=20, description="members of each side proposed to the other")
    ] = 3,
    pair_kind: Annotated[
        list[Literal[PAIR_KINDS]] | None,  # type: ignore[valid-type]
        Query(max_length=MAX_ENUM_LIST, description=f"keep only: {', '.join(PAIR_KINDS)}"),
    ] = None,
    fmt: FormatQuery = "json",
) -> SynergyListPublic | Response:
    """Partnerships to work with, best first: shared themes, bridging organisations, overlapping regions,
    what each side brings, members of the other side that would fit; already-linked pairs flagged."""
    pairs = mapping.synergies(
        partnership_id, top_k=min(top_k, settings.max_top_k), recruits_per_pair=recruits, pair_kinds=pair_kind
    )
    items = [synergy_pair_public(p) for p in pairs]
    if fmt == "json":
        return SynergyListPublic(partnership_id=partnership_id, items=items)
    out = io.StringIO()
    write_synergies(
        items,
        _fmt(fmt),
        out,
        ReportMeta(f"Synergies — {partnership_id}", store=mapping.store_description),
    )
    return _file(out.getvalue(), fmt, f"synergies-{partnership_id}")


# -- regions -------------------------------------------------------------------------------------
regions_router = APIRouter(prefix="/regions", tags=["regions"], route_class=StrictJSONRoute)


@regions_router.get(
    "/{code}/stakeholders",
    response_model=RegionViewPublic,
    responses=FILE_RESPONSES,
    dependencies=[require(Action.READ)],
)
def region_stakeholders(
    code: Annotated[RegionFilter, PathParam(description="NUTS code, any level")],
    mapping: MappingDep,
    examples: Annotated[
        int, Query(ge=0, le=500, description="unaffiliated organisations listed per type")
    ] = 20,
    max_partnerships: Annotated[int, Query(ge=0, le=500)] = 50,
    fmt: FormatQuery = "json",
) -> RegionViewPublic | Response:
    """Stakeholder mapping of a NUTS region: organisations by type, those in no partnership, and the
    partnerships that cover it (declared scope or members there)."""
    view = region_view_public(
        mapping.region(code, examples_per_type=examples, max_partnerships=max_partnerships)
    )
    if fmt == "json":
        return view
    out = io.StringIO()
    write_region(
        view,
        _fmt(fmt),
        out,
        ReportMeta(f"Region {view.code} {view.label}", store=mapping.store_description),
    )
    return _file(out.getvalue(), fmt, f"region-{view.code}")


# -- target mix ----------------------------------------------------------------------------------
target_mix_router = APIRouter(prefix="/target-mix", tags=["gaps"], route_class=StrictJSONRoute)


def _mix_public(mapping: MappingService) -> TargetMixPublic:
    return TargetMixPublic(
        stored_override=mapping.stored_target_mix() is not None,
        effective=mapping.target_mix().model_dump(mode="json"),
    )


@target_mix_router.get("", response_model=TargetMixPublic, dependencies=[require(Action.READ)])
def get_target_mix(mapping: MappingDep) -> TargetMixPublic:
    """The target mix gap reports use: the handbook defaults with the stored override applied."""
    return _mix_public(mapping)


@target_mix_router.put("", response_model=TargetMixPublic)
def put_target_mix(body: dict[str, Any], mapping: MappingDep, actor: Admin) -> TargetMixPublic:
    """Save an override with the store (per kind and/or per partnership); it replaces the previous one."""
    mix = target_mix(body)
    assert mix is not None
    mapping.put_target_mix(mix, actor=actor)
    return _mix_public(mapping)


@target_mix_router.delete("", status_code=status.HTTP_204_NO_CONTENT)
def delete_target_mix(mapping: MappingDep, actor: Admin) -> Response:
    """Remove the stored override (404 if there is none)."""
    mapping.delete_target_mix(actor=actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- batch jobs ----------------------------------------------------------------------------------
jobs_router = APIRouter(tags=["jobs"], route_class=StrictJSONRoute)
AdminOnly = require(Action.ADMIN)


@jobs_router.post("/gap-reports", status_code=status.HTTP_202_ACCEPTED, response_model=JobPublic)
def submit_gap_reports(
    body: GapBatchRequest, mapping: MappingDep, jobs: JobsDep, response: Response, actor: Admin, _limit: Batch
) -> JobPublic:
    """Gap reports for every partnership (or the listed ones) as a background job; poll ``status_url``,
    download ``result_url`` when it has succeeded. 429 when you have too many jobs going or the queue
    is full."""
    target_mix(body.target_mix)  # 422 now, not a failed job later
    mapping.check_partnership_ids(body.partnership_ids)
    job = submit_report(jobs, GAP_REPORTS, body, owner=actor.name)
    response.headers["Location"] = f"/jobs/{job.job_id}"
    return job_public(job)


@jobs_router.post("/synergy-reports", status_code=status.HTTP_202_ACCEPTED, response_model=JobPublic)
def submit_synergy_reports(
    body: SynergyBatchRequest, jobs: JobsDep, response: Response, actor: Admin, _limit: Batch
) -> JobPublic:
    """Every partnership's best partners (each pair once, best first) as a background job."""
    job = submit_report(jobs, SYNERGY_REPORTS, body, owner=actor.name)
    response.headers["Location"] = f"/jobs/{job.job_id}"
    return job_public(job)


@jobs_router.get("/jobs", response_model=list[JobPublic], dependencies=[AdminOnly])
def list_jobs(jobs: JobsDep) -> list[JobPublic]:
    """Jobs, newest first: queued, running, and finished ones until they expire (``expires_at``)."""
    return [job_public(j) for j in jobs.list()]


@jobs_router.get("/jobs/{job_id}", response_model=JobPublic, dependencies=[AdminOnly])
def get_job(job_id: str, jobs: JobsDep) -> JobPublic:
    return job_public(jobs.get(job_id))


@jobs_router.get(
    "/jobs/{job_id}/result",
    response_class=StreamingResponse,
    responses=FILE_RESPONSES,
    dependencies=[AdminOnly],
)
def get_job_result(job_id: str, jobs: JobsDep) -> StreamingResponse:
    """The result file (409 while the job is queued or running, or when it failed), streamed from
    the store chunk by chunk."""
    job, chunks = jobs.result(job_id)
    return StreamingResponse(
        chunks,
        media_type=job.media_type,
        headers={**attachment(job.filename), "Content-Length": str(job.result_bytes)},
    )


@jobs_router.delete("/jobs/{job_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[AdminOnly])
def delete_job(job_id: str, jobs: JobsDep) -> Response:
    """Cancel the job if it is still going, and forget it and its result."""
    jobs.delete(job_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


router = APIRouter()
for _sub in (gaps_router, synergies_router, regions_router, target_mix_router, jobs_router):
    router.include_router(_sub)
