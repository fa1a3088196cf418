"""Reaching out, as pages: a partnership's shortlist (its coordinators), and the partnerships an
organisation could join with its requests to join them (its members).

Both call :class:`pactmatch.outreach.OutreachService`, as the JSON routes of
:mod:`api.routers.outreach` do. Every form posts back here and is answered with a redirect (so a
reload never posts twice) or, when a field does not validate, with the page again: the message next
to the field, what was typed kept.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Form, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from api.auth import require
from api.deps import OutreachDep
from api.pages import PREFIX, region_choices, render
from api.routers.common import Offset
from domain.accounts import Actor
from domain.errors import InvalidInputError, NotFoundError
from domain.models import Ecosystem, PartnershipKind, Role
from domain.outreach import MAX_MESSAGE, ShortlistStatus, ShortlistUpdate
from pactmatch.filters import check_country_filter, join_filters
from pactmatch.outreach import OutreachService, PartnershipToJoin, ShortlistItem
from pactmatch.permissions import Action

router = APIRouter(prefix=PREFIX, include_in_schema=False)
Insights = Annotated[Actor, require(Action.PARTNERSHIP_INSIGHTS, "partnership_id")]
Editor = Annotated[Actor, require(Action.EDIT_PARTNERSHIP, "partnership_id")]
Joiner = Annotated[Actor, require(Action.JOIN_PARTNERSHIPS, "org_id")]
SHORTLIST_PAGE = 25
JOIN_PAGE = 10
#: Room for a message or note a little over the limit, so that it is refused at its field (with
#: what was typed kept) rather than by the form parser.
_TYPED = 2 * MAX_MESSAGE


def _name_of(outreach: OutreachService, org_id: str) -> str:
    try:
        return outreach.service.get_organisation(org_id).name
    except NotFoundError:
        return org_id


def _partnership_name(outreach: OutreachService, partnership_id: str) -> str:
    try:
        return outreach.service.get_partnership(partnership_id).name
    except NotFoundError:
        return partnership_id


def _messages(exc: ValidationError) -> dict[str, str]:
    """A validation error's message per field (the first one of each), in words."""
    out: dict[str, str] = {}
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "form"
        out.setdefault(name, str(error["msg"]).removeprefix("Value error, "))
    return out


# -- a partnership's shortlist -------------------------------------------------------------------------
@dataclass(frozen=True)
class ShortlistRow:
    """One entry as its card shows it: ``key`` names its fields (``status-r3``), ``form`` holds the
    values shown (what was typed, after an error) and ``errors`` the messages by field id."""

    item: ShortlistItem
    key: str
    form: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)


def _shortlist_page(
    request: Request,
    actor: Actor,
    outreach: OutreachService,
    partnership_id: str,
    offset: int = 0,
    *,
    message: str | None = None,
    failed: tuple[str, dict[str, str], dict[str, str]] | None = None,
) -> Response:
    """The shortlist, most recently changed first; ``failed`` is ``(org_id, typed, errors)`` of a
    change that did not validate, shown on its card (the page holding it)."""
    partnership = outreach.service.get_partnership(partnership_id)
    items = outreach.shortlist(partnership_id)
    where = next((n for n, i in enumerate(items) if failed and i.entry.org_id == failed[0]), None)
    if where is not None:
        offset = where // SHORTLIST_PAGE * SHORTLIST_PAGE
    rows = []
    for n, item in enumerate(items[offset : offset + SHORTLIST_PAGE], offset + 1):
        current = item.entry.current
        row = ShortlistRow(
            item,
            f"r{n}",
            {"status": current.status.value, "note": current.note, "on": current.on.isoformat()},
        )
        if failed and item.entry.org_id == failed[0]:
            row = ShortlistRow(item, row.key, failed[1], {f"{k}-{row.key}": m for k, m in failed[2].items()})
        rows.append(row)
    unplaced = failed[2] if failed and where is None else {}  # a new entry that did not validate

    def page_url(at: int) -> str:
        return f"{PREFIX}/partnerships/{partnership_id}/shortlist?{urlencode({'offset': at})}"

    counts = Counter(i.entry.status for i in items)
    return render(
        request, "shortlist.html.j2", actor, 422 if failed else 200, partnership=partnership, rows=rows,
        page={"total": len(items), "offset": offset, "limit": SHORTLIST_PAGE}, page_url=page_url,
        statuses=list(ShortlistStatus), counts=[(s, counts[s]) for s in ShortlistStatus if counts[s]],
        message=message, unplaced=unplaced, csv_url=f"/partnerships/{partnership_id}/shortlist?format=csv",
        today=date.today().isoformat(),
    )  # fmt: skip


@router.get("/partnerships/{partnership_id}/shortlist", response_class=HTMLResponse, name="shortlist_page")
def shortlist_page(
    request: Request,
    partnership_id: str,
    actor: Insights,
    outreach: OutreachDep,
    offset: Offset = 0,
    saved: Annotated[str, Query(max_length=200)] = "",
    joined: Annotated[str, Query(max_length=200)] = "",
    removed: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """Who the coordinators approach: status, note and date of each, every change kept; "add as
    member" once one joined; the whole list as CSV."""
    message = None
    if saved:
        message = f"Saved: {_name_of(outreach, saved)}."
    elif joined:
        message = f"{_name_of(outreach, joined)} is now a member."
    elif removed:
        message = f"{_name_of(outreach, removed)} is off the shortlist."
    return _shortlist_page(request, actor, outreach, partnership_id, offset, message=message)


def _candidates_back(partnership_id: str, back: str) -> str | None:
    """The candidate search to return to after shortlisting from it (only that page of this
    partnership, so no form can send a browser elsewhere)."""
    target = f"{PREFIX}/partnerships/{partnership_id}/candidates"
    if back == target or back.startswith(target + "?"):
        return back
    return None


@router.post("/partnerships/{partnership_id}/shortlist/{org_id}", name="shortlist_save")
def shortlist_save(
    request: Request,
    partnership_id: str,
    org_id: str,
    actor: Editor,
    outreach: OutreachDep,
    status_: Annotated[str, Form(alias="status", max_length=40)] = ShortlistStatus.SHORTLISTED.value,
    note: Annotated[str, Form(max_length=_TYPED)] = "",
    on: Annotated[str, Form(max_length=40)] = "",
    back: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Shortlist an organisation, or record its new status, note and date."""
    typed = {"status": status_, "note": note, "on": on}
    try:
        update = ShortlistUpdate.model_validate({"status": status_, "note": note, "on": on.strip() or None})
    except ValidationError as exc:
        return _shortlist_page(
            request, actor, outreach, partnership_id, failed=(org_id, typed, _messages(exc))
        )
    outreach.put_shortlist_entry(partnership_id, org_id, update, actor=actor)
    target = _candidates_back(partnership_id, back) or (
        f"{PREFIX}/partnerships/{partnership_id}/shortlist?{urlencode({'saved': org_id})}"
    )
    return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)


@router.post("/partnerships/{partnership_id}/shortlist/{org_id}/member", name="shortlist_member")
def shortlist_member(partnership_id: str, org_id: str, actor: Editor, outreach: OutreachDep) -> Response:
    """Add a shortlisted organisation as a member, from the date its status says it joined."""
    entry = outreach.shortlist_entry(partnership_id, org_id)
    since = entry.current.on if entry.status == ShortlistStatus.JOINED else None
    outreach.add_shortlisted_as_member(partnership_id, org_id, Role.MEMBER, since, actor=actor)
    return RedirectResponse(
        f"{PREFIX}/partnerships/{partnership_id}/shortlist?{urlencode({'joined': org_id})}",
        status_code=status.HTTP_303_SEE_OTHER,
    )


@router.post("/partnerships/{partnership_id}/shortlist/{org_id}/remove", name="shortlist_remove")
def shortlist_remove(partnership_id: str, org_id: str, actor: Editor, outreach: OutreachDep) -> Response:
    outreach.remove_from_shortlist(partnership_id, org_id, actor=actor)
    return RedirectResponse(
        f"{PREFIX}/partnerships/{partnership_id}/shortlist?{urlencode({'removed': org_id})}",
        status_code=status.HTTP_303_SEE_OTHER,
    )


# -- partnerships an organisation could join ------------------------------------------------------------
@dataclass(frozen=True)
class JoinQuery:
    """The join page's filters as typed (the region as picked: ``"DE1 Baden-Württemberg"``)."""

    kinds: tuple[str, ...] = ()
    ecosystems: tuple[str, ...] = ()
    region: str = ""
    country: str = ""
    offset: int = 0

    def params(self, **changes: Any) -> str:
        values = {"kind": self.kinds, "ecosystem": self.ecosystems, "region": self.region,
                  "country": self.country, "offset": self.offset, **changes}  # fmt: skip
        return urlencode({k: v for k, v in values.items() if v not in ("", (), 0)}, doseq=True)

    @classmethod
    def parse(cls, query: str) -> JoinQuery:
        """The filters of a query string a form carried back (anything else in it is dropped)."""
        values = parse_qs(query[:4000])
        first = {k: v[0][:200] for k, v in values.items() if v}
        offset = first.get("offset", "0")
        return cls(
            tuple(v[:40] for v in values.get("kind", [])[:10]),
            tuple(v[:40] for v in values.get("ecosystem", [])[:20]),
            first.get("region", ""),
            first.get("country", ""),
            int(offset) if offset.isdigit() and len(offset) < 8 else 0,
        )


@dataclass(frozen=True)
class JoinRow:
    item: PartnershipToJoin
    key: str
    message: str = ""
    error: str | None = None


def _join_page(
    request: Request,
    actor: Actor,
    outreach: OutreachService,
    org_id: str,
    query: JoinQuery,
    *,
    message: str | None = None,
    failed: tuple[str, str, str] | None = None,
) -> Response:
    """The ranked partnerships with their reasons, the organisation's requests to join, and the
    filters as typed (a bad region or country named at its field); ``failed`` is
    ``(partnership_id, typed message, error)`` of a request to join that did not validate."""
    organisation = outreach.service.get_organisation(org_id)
    errors: dict[str, str] = {}
    code = query.region.split(" ", 1)[0].strip()
    try:
        join_filters(None, None, [code] if code else None, None)
    except InvalidInputError as exc:
        errors["region"] = str(exc)
    try:
        if query.country.strip():
            check_country_filter(query.country.strip())
    except InvalidInputError as exc:
        errors["country"] = str(exc).removeprefix("country: ")
    kinds = [k for k in PartnershipKind if k.value in query.kinds]
    ecosystems = [e for e in Ecosystem if e.value in query.ecosystems]
    result, rows = None, []
    if not errors:
        filters = join_filters(
            kinds,
            ecosystems,
            [code] if code else None,
            [query.country.strip()] if query.country.strip() else None,
        )
        result = outreach.partnerships_to_join(org_id, filters, JOIN_PAGE, query.offset)
        for n, item in enumerate(result.items, query.offset + 1):
            row = JoinRow(item, f"p{n}")
            if failed and failed[0] == item.partnership_id:
                row = JoinRow(item, row.key, failed[1], failed[2])
            rows.append(row)
    scale = max((abs(r.value) for row in rows for r in row.item.reasons.reasons), default=1.0) or 1.0

    def page_url(at: int) -> str:
        return f"{PREFIX}/organisations/{org_id}/partnerships?{query.params(offset=at)}"

    return render(
        request, "join.html.j2", actor, 422 if failed else 200,
        organisation=organisation, query=query, back=query.params(), errors=errors, result=result, rows=rows,
        scale=scale, requests=outreach.interests_of(org_id), message=message,
        unplaced=failed[2] if failed and not any(r.error for r in rows) else None,
        page={"total": result.total if result else 0, "offset": query.offset, "limit": JOIN_PAGE},
        page_url=page_url, kinds=list(PartnershipKind), ecosystems=list(Ecosystem), regions=region_choices(),
    )  # fmt: skip


@router.get("/organisations/{org_id}/partnerships", response_class=HTMLResponse, name="join_page")
def join_page(
    request: Request,
    org_id: str,
    actor: Joiner,
    outreach: OutreachDep,
    kind: Annotated[list[str] | None, Query(max_length=10)] = None,
    ecosystem: Annotated[list[str] | None, Query(max_length=20)] = None,
    region: Annotated[str, Query(max_length=200)] = "",
    country: Annotated[str, Query(max_length=60)] = "",
    offset: Offset = 0,
    sent: Annotated[str, Query(max_length=200)] = "",
    withdrawn: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """Partnerships the organisation could join, ranked and explained, each with "express interest"."""
    query = JoinQuery(
        tuple(k for k in kind or [] if k), tuple(e for e in ecosystem or [] if e), region, country, offset
    )
    message = None
    if sent:
        message = f"Your interest in {_partnership_name(outreach, sent)} was sent to its coordinators."
    elif withdrawn:
        message = f"Your interest in {_partnership_name(outreach, withdrawn)} was withdrawn."
    return _join_page(request, actor, outreach, org_id, query, message=message)


@router.post("/organisations/{org_id}/interests/{partnership_id}", name="interest_save")
def interest_save(
    request: Request,
    org_id: str,
    partnership_id: str,
    actor: Joiner,
    outreach: OutreachDep,
    message: Annotated[str, Form(max_length=_TYPED)] = "",
    back: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Express interest in joining (or reword the message): the partnership's coordinators see it
    beside their candidates."""
    query = JoinQuery.parse(back)
    if len(message.strip()) > MAX_MESSAGE:
        problem = f"at most {MAX_MESSAGE} characters (this one has {len(message.strip())})"
        return _join_page(request, actor, outreach, org_id, query, failed=(partnership_id, message, problem))
    outreach.express_interest(org_id, partnership_id, message, actor=actor)
    return RedirectResponse(
        f"{PREFIX}/organisations/{org_id}/partnerships?{query.params(sent=partnership_id)}#requests",
        status_code=status.HTTP_303_SEE_OTHER,
    )


@router.post("/organisations/{org_id}/interests/{partnership_id}/withdraw", name="interest_withdraw")
def interest_withdraw(
    org_id: str,
    partnership_id: str,
    actor: Joiner,
    outreach: OutreachDep,
    back: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    outreach.withdraw_interest(org_id, partnership_id, actor=actor)
    return RedirectResponse(
        f"{PREFIX}/organisations/{org_id}/partnerships?{JoinQuery.parse(back).params(withdrawn=partnership_id)}",
        status_code=status.HTTP_303_SEE_OTHER,
    )
