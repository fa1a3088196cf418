"""Support staff's journey: the dashboard over every partnership, regions, synergies, batch reports.

Work over every partnership (gap reports, strongest synergies) takes minutes on a CORDIS-sized
store, so it runs as a batch job (:mod:`pactmatch.jobs`): the reports page starts one and shows
its progress, refreshing itself (no script needed), and the dashboard reads the newest finished
gap report of the JSON kind. The dashboard's table is filtered and sorted in memory: the parsed
report is kept per job, so a page costs a filter over ~30,000 rows, not a parse.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.auth import require
from api.deps import JobsDep, MappingDep
from api.pages import EMPTY_IS_NONE, PREFIX, region_choices, render
from api.rate_limits import Operation, limited
from domain.accounts import Actor
from domain.jobs import Job, JobStatus
from domain.models import Ecosystem, PartnershipKind
from domain.regions import RegionIndex
from pactmatch.jobs import JobService
from pactmatch.permissions import Action
from pactmatch.report_jobs import (
    GAP_REPORTS,
    SYNERGY_REPORTS,
    GapBatchRequest,
    SynergyBatchRequest,
    submit_report,
)
from pactmatch.reports import region_view_public, synergy_pair_public
from pactmatch.reports.models import SynergyPairPublic

router = APIRouter(prefix=PREFIX, include_in_schema=False)
Admin = Annotated[Actor, require(Action.ADMIN)]
Reader = Annotated[Actor, require(Action.READ)]
PAGE = 50


# -- regions ---------------------------------------------------------------------------------------
@router.get("/regions", response_class=HTMLResponse, name="regions_page")
def regions_page(
    request: Request, actor: Reader, code: Annotated[str, Query(max_length=120)] = ""
) -> Response:
    """Pick a region by code or name (any NUTS level), then see its stakeholders."""
    if code.strip():
        picked = code.strip().split(" ", 1)[0].upper()
        if picked in RegionIndex.default():
            return RedirectResponse(f"{PREFIX}/regions/{picked}", status_code=status.HTTP_303_SEE_OTHER)
        error = f"{code.strip()!r} is not a NUTS region or country: pick one from the list"
    else:
        error = ""
    return render(request, "regions.html.j2", actor, code=code, error=error, regions=region_choices())


@router.get("/regions/{code}", response_class=HTMLResponse, name="region_page")
def region_page(request: Request, code: str, actor: Reader, mapping: MappingDep) -> Response:
    view = region_view_public(mapping.region(code, examples_per_type=10, max_partnerships=50))
    return render(request, "region.html.j2", actor, view=view)


# -- synergies ---------------------------------------------------------------------------------------
@router.get("/partnerships/{partnership_id}/synergies", response_class=HTMLResponse, name="synergies_page")
def synergies_page(
    request: Request,
    partnership_id: str,
    actor: Annotated[Actor, require(Action.PARTNERSHIP_INSIGHTS, "partnership_id")],
    mapping: MappingDep,
) -> Response:
    """The partnerships this one should work with, each pair explained, with its bridging members."""
    # The page shows each pair's bridging members, not recruits: asking for none saves a candidate search.
    pairs = [synergy_pair_public(p) for p in mapping.synergies(partnership_id, top_k=10, recruits_per_pair=0)]
    return render(
        request, "synergies.html.j2", actor, partnership_id=partnership_id, pairs=pairs, overall=False
    )


# -- batch reports -------------------------------------------------------------------------------------
@router.get("/reports", response_class=HTMLResponse, name="reports_page")
def reports_page(request: Request, actor: Admin, jobs: JobsDep) -> Response:
    """Start a batch report; every job with its progress (the page refreshes while one runs)."""
    listed = jobs.list()
    running = any(j.status in (JobStatus.QUEUED, JobStatus.RUNNING) for j in listed)
    return render(request, "reports.html.j2", actor, jobs=listed, running=running)


@router.post("/reports", response_class=HTMLResponse, name="start_report")
def start_report(
    request: Request,
    actor: Admin,
    _limit: Annotated[None, limited(Operation.BATCH_REPORT)],
    jobs: JobsDep,
    kind: Annotated[str, Form(pattern="^(gaps|synergies)$")],
    fmt: Annotated[str, Form(alias="format", pattern="^(json|csv|html)$")] = "json",
) -> Response:
    """Queue a gap or synergy report over every partnership (the same job as ``POST /gap-reports``
    or ``POST /synergy-reports`` with the page's options)."""
    if kind == "gaps":
        submit_report(jobs, GAP_REPORTS, GapBatchRequest(candidates_per_gap=3, format=fmt), owner=actor.name)
    else:
        submit_report(
            jobs, SYNERGY_REPORTS, SynergyBatchRequest(top_k=5, recruits=2, format=fmt), owner=actor.name
        )
    return RedirectResponse(f"{PREFIX}/reports", status_code=status.HTTP_303_SEE_OTHER)


# -- the dashboard ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OverviewRow:
    partnership_id: str
    name: str
    kind: str
    ecosystems: tuple[str, ...]
    countries: tuple[str, ...]
    members: int
    unmet: tuple[str, ...]


def _document(jobs: JobService, job_id: str) -> Any:
    """A finished JSON report, read from the store."""
    _, chunks = jobs.result(job_id)
    return json.loads(b"".join(chunks))


@lru_cache(maxsize=2)
def _overview(jobs: JobService, job_id: str, attempt: int) -> tuple[list[OverviewRow], int]:
    """The rows of a finished JSON gap report (read and parsed once per job and attempt, the
    result's key) and how many it covers."""
    document = _document(jobs, job_id)
    reports = document["reports"] if isinstance(document, dict) else document
    rows = []
    for r in reports:
        unmet = tuple(q["label"] for q in r["composition"]["requirements"] if not q["satisfied"])
        countries = tuple(sorted({u["code"][:2] for u in r["geography"]["units"] if u["members"]}))
        rows.append(OverviewRow(
            r["partnership_id"], r["name"], r["kind"], tuple(e["ecosystem"] for e in r["sectors"]["ecosystems"]),
            countries, r["n_members"], unmet,
        ))  # fmt: skip
    return rows, len(reports)


def _newest_json_report(jobs: JobService, kind: str) -> Job | None:
    """The newest finished report of ``kind`` in JSON: what the dashboard (gap reports) and the
    strongest pairs overall (synergy reports) show."""
    return next(
        (
            j
            for j in jobs.list()
            if j.kind == kind and j.status == JobStatus.SUCCEEDED and j.filename.endswith(".json")
        ),
        None,
    )


SORTS = {
    "unmet": lambda r: (-len(r.unmet), r.name.lower()),
    "name": lambda r: r.name.lower(),
    "members": lambda r: -r.members,
}


@router.get("/dashboard", response_class=HTMLResponse, name="dashboard_page")
def dashboard_page(
    request: Request,
    actor: Admin,
    jobs: JobsDep,
    kind: Annotated[PartnershipKind | None, Query(), EMPTY_IS_NONE] = None,
    ecosystem: Annotated[Ecosystem | None, Query(), EMPTY_IS_NONE] = None,
    country: Annotated[str, Query(max_length=2)] = "",
    requirement: Annotated[str, Query(max_length=200)] = "",
    sort: Annotated[str, Query(max_length=20)] = "unmet",
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    """Unmet requirements per partnership (filter by kind, ecosystem, country; sort), with the
    totals per requirement, from the newest gap report over every partnership."""
    job = _newest_json_report(jobs, GAP_REPORTS)
    if job is None:
        return render(request, "dashboard.html.j2", actor, job=None)
    rows, covered = _overview(jobs, job.job_id, job.attempt)
    picked = [
        r for r in rows
        if (kind is None or r.kind == kind.value) and (ecosystem is None or ecosystem.value in r.ecosystems)
        and (not country or country.upper() in r.countries) and (not requirement or requirement in r.unmet)
    ]  # fmt: skip
    picked.sort(key=SORTS.get(sort.removeprefix("-"), SORTS["unmet"]), reverse=sort.startswith("-"))
    totals = Counter(u for r in picked for u in r.unmet)
    params = {"kind": kind.value if kind else "", "ecosystem": ecosystem.value if ecosystem else "",
              "country": country, "requirement": requirement}  # fmt: skip

    def url(**change: Any) -> str:
        return f"{PREFIX}/dashboard?{urlencode({**params, 'sort': sort, 'offset': 0, **change})}"

    return render(
        request, "dashboard.html.j2", actor, job=job, covered=covered, rows=picked[offset : offset + PAGE],
        page={"total": len(picked), "offset": offset, "limit": PAGE}, totals=totals.most_common(),
        params=params, sort=sort, page_url=lambda at: url(offset=at), sort_url=lambda by: url(sort=by),
        requirement_url=lambda label: url(requirement=label), kinds=list(PartnershipKind), ecosystems=list(Ecosystem),
    )  # fmt: skip


@router.get("/synergies", response_class=HTMLResponse, name="all_synergies_page")
def all_synergies_page(request: Request, actor: Admin, jobs: JobsDep) -> Response:
    """The strongest pairs over every partnership, from the newest synergy report in JSON."""
    job = _newest_json_report(jobs, SYNERGY_REPORTS)
    pairs: list[Any] = []
    if job is not None:
        document = _document(jobs, job.job_id)
        pairs = [SynergyPairPublic.model_validate(p) for p in document["pairs"][:50]]
    return render(
        request, "synergies.html.j2", actor, partnership_id=None, pairs=pairs, overall=True, job=job
    )
