"""The coordinator's journey: my partnerships → a partnership → find partners.

A partnership page shows its members (sortable, paginated), its composition against the target
mix and what it lacks; each gap links to the candidate search with that gap's filters filled in.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.auth import require
from api.deps import MappingDep, OutreachDep, ServiceDep
from api.pages import PREFIX, region_choices, render
from api.routers.common import Offset
from domain.accounts import Actor, Role
from domain.errors import InvalidInputError, NotFoundError
from domain.models import Ecosystem, StakeholderType
from graph.base import OrganisationFilter, PartnershipFilter
from matching.diversity import DiversityOptions
from pactmatch.filters import build_filters
from pactmatch.permissions import Action
from pactmatch.reports import gap_report_public

router = APIRouter(prefix=PREFIX, include_in_schema=False)
Coordinator = Annotated[Actor, require(Action.PARTNERSHIP_INSIGHTS, "partnership_id")]
PAGE = 25
MEMBER_SORTS = {
    "name": lambda m: m["name"].lower(),
    "type": lambda m: m["type"],
    "country": lambda m: m["country"],
}


@router.get("/partnerships", response_class=HTMLResponse, name="partnerships_page")
def partnerships_page(
    request: Request,
    actor: Annotated[Actor, require(Action.READ)],
    service: ServiceDep,
    q: Annotated[str, Query(max_length=200)] = "",
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    """A coordinator's partnerships first; everyone may search all of them by name."""
    mine = []
    for pid in actor.scopes(Role.COORDINATOR):
        try:
            mine.append(service.get_partnership(pid))
        except NotFoundError:
            continue  # granted before the partnership was imported, or after it was deleted
    page = service.list_partnerships(PartnershipFilter(name_contains=q or None), offset, PAGE)

    def url(at: int) -> str:
        return f"{PREFIX}/partnerships?{urlencode({'q': q, 'offset': at})}"

    return render(request, "partnerships.html.j2", actor, mine=mine, page=page, q=q, url=url)


@router.get("/partnerships/{partnership_id}", response_class=HTMLResponse, name="partnership_page")
def partnership_page(
    request: Request,
    partnership_id: str,
    actor: Coordinator,
    service: ServiceDep,
    mapping: MappingDep,
    outreach: OutreachDep,
    sort: Annotated[str, Query(max_length=20)] = "name",
    offset: Offset = 0,
) -> Response:
    partnership = service.get_partnership(partnership_id)
    roles = {m.org_id: m.role.value for m in service.members(partnership_id)}
    orgs = service.list_organisations(
        OrganisationFilter(partnership_id=partnership_id), 0, max(len(roles), 1)
    ).items
    members = [
        {"org_id": o.org_id, "name": o.name, "type": o.stakeholder_type.label, "country": o.country or "",
         "role": roles.get(o.org_id, "member")}
        for o in orgs
    ]  # fmt: skip
    key = sort.removeprefix("-")
    members.sort(key=MEMBER_SORTS.get(key, MEMBER_SORTS["name"]), reverse=sort.startswith("-"))
    report = gap_report_public(mapping.gaps(partnership_id, candidates_per_gap=0))
    gaps = [{"gap": g, "search": _gap_search(partnership_id, g.filters)} for g in report.gaps]
    shown = members[offset : offset + PAGE]

    def page_url(at: int) -> str:
        return f"{PREFIX}/partnerships/{partnership_id}?{urlencode({'sort': sort, 'offset': at})}"

    def sort_url(by: str) -> str:
        return f"{PREFIX}/partnerships/{partnership_id}?{urlencode({'sort': by})}"

    return render(
        request, "partnership.html.j2", actor, partnership=partnership, members=shown,
        page={"total": len(members), "offset": offset, "limit": PAGE}, page_url=page_url, sort=sort,
        sort_url=sort_url, report=report, gaps=gaps, requests=len(outreach.inbound_interests(partnership_id, pending=True)),
    )  # fmt: skip


def _gap_search(partnership_id: str, filters: Any) -> str:
    """The candidate search a gap calls for, as a link (its types, regions, ecosystems)."""
    params: list[tuple[str, str]] = [("type", t) for t in filters.stakeholder_types]
    params += [("region", r) for r in filters.regions] + [("country", c) for c in filters.countries]
    params += [("ecosystem", e) for e in filters.ecosystems]
    return f"{PREFIX}/partnerships/{partnership_id}/candidates?{urlencode(params)}"


@router.get("/partnerships/{partnership_id}/candidates", response_class=HTMLResponse, name="candidates_page")
def candidates_page(
    request: Request,
    partnership_id: str,
    actor: Coordinator,
    service: ServiceDep,
    outreach: OutreachDep,
    region: Annotated[list[str] | None, Query(max_length=20)] = None,
    country: Annotated[list[str] | None, Query(max_length=20)] = None,
    stakeholder_type: Annotated[list[str] | None, Query(alias="type", max_length=14)] = None,
    ecosystem: Annotated[list[str] | None, Query(max_length=14)] = None,
    sme: bool = False,
    diversity: Annotated[float, Query(ge=0, le=1)] = 0.0,
    top_k: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    """Ranked candidates with their reasons in plain words (the raw contributions one click away),
    those that asked to join and those on the shortlist marked; the requests to join listed apart.
    The filters stay as typed, errors next to their field."""
    partnership = service.get_partnership(partnership_id)
    types = _choices(StakeholderType, stakeholder_type)
    ecosystems = _choices(Ecosystem, ecosystem)
    regions = [r.split(" ", 1)[0].strip() for r in region or [] if r.strip()]
    countries = [c.strip() for c in country or [] if c.strip()]
    form = {"region": " ".join(region or []), "country": " ".join(countries), "types": types,
            "ecosystems": ecosystems, "sme": sme, "diversity": diversity, "top_k": top_k}  # fmt: skip
    errors: dict[str, str] = {}
    page = None
    try:
        filters = build_filters(countries, regions, types, sme, ecosystems)
    except InvalidInputError as exc:
        field = exc.issues[0].field if exc.issues else ("region" if "region" in str(exc) else "country")
        errors["region" if "region" in field or "NUTS" in str(exc) else "country"] = str(exc)
    else:
        options = DiversityOptions(diversity=diversity)
        page = outreach.candidates(partnership_id, top_k, filters, options)
    items = page.candidates.items if page else []
    scale = max((abs(r.value) for i in items for r in i.reasons.reasons), default=1.0) or 1.0
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return render(
        request, "candidates.html.j2", actor, partnership=partnership, result=page.candidates if page else None,
        items=items, interested=page.interested if page else frozenset(), shortlisted=page.shortlisted if page else {},
        requests=outreach.inbound_interests(partnership_id, pending=True), form=form, errors=errors, scale=scale, back=here,
        regions=region_choices(), types=list(StakeholderType), ecosystems=list(Ecosystem),
    )  # fmt: skip


E = TypeVar("E", StakeholderType, Ecosystem)


def _choices(vocabulary: type[E], picked: list[str] | None) -> list[E]:
    """The values picked in a select (its empty "any" option and unknown values are ignored)."""
    known = {v.value: v for v in vocabulary}
    return [known[p] for p in picked or [] if p in known]
