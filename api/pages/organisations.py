"""A member organisation's journey: keep its profile, find partnerships to join."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from api.auth import require
from api.deps import ServiceDep
from api.pages import PREFIX, region_choices, render
from domain.accounts import Actor
from domain.errors import InvalidInputError
from domain.models import Ecosystem, Organisation, StakeholderType
from pactmatch.permissions import Action

router = APIRouter(prefix=PREFIX, include_in_schema=False)
Member = Annotated[Actor, require(Action.EDIT_ORGANISATION, "org_id")]


def _form_of(org: Organisation) -> dict[str, Any]:
    return {
        "name": org.name, "stakeholder_type": org.stakeholder_type.value,
        "sme": "" if org.sme is None else ("true" if org.sme else "false"), "country": org.country or "",
        "nuts_codes": ", ".join(org.nuts_codes), "ecosystems": [e.value for e in org.ecosystems],
        "description": org.description, "website": org.website or "", "keywords": ", ".join(org.keywords),
        "city": org.city or "", "postcode": org.postcode or "",
    }  # fmt: skip


def _page(
    request: Request, actor: Actor, org_id: str, form: dict[str, Any], errors: dict[str, str], **extra: Any
) -> Response:
    return render(
        request, "organisation.html.j2", actor, extra.pop("status_code", 200), org_id=org_id, form=form,
        errors=errors, types=list(StakeholderType), ecosystems=list(Ecosystem), regions=region_choices(), **extra,
    )  # fmt: skip


@router.get("/organisations/{org_id}", response_class=HTMLResponse, name="organisation_page")
def organisation_page(
    request: Request, org_id: str, actor: Member, service: ServiceDep, saved: bool = False
) -> Response:
    org = service.get_organisation(org_id)
    memberships = service.memberships_of(org_id)
    names = {m.partnership_id: service.get_partnership(m.partnership_id).name for m in memberships[:50]}
    return _page(
        request, actor, org_id, _form_of(org), {}, saved=saved, memberships=memberships, names=names,
        join_url=request.url_for("join_page", org_id=org_id).path,
    )  # fmt: skip


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


@router.post("/organisations/{org_id}", response_class=HTMLResponse, name="organisation_save")
def organisation_save(
    request: Request,
    org_id: str,
    actor: Member,
    service: ServiceDep,
    name: Annotated[str, Form(max_length=300)],
    stakeholder_type: Annotated[str, Form(max_length=60)],
    sme: Annotated[str, Form(max_length=5)] = "",
    country: Annotated[str, Form(max_length=60)] = "",
    nuts_codes: Annotated[str, Form(max_length=2000)] = "",
    ecosystems: Annotated[list[str] | None, Form(max_length=20)] = None,
    description: Annotated[str, Form(max_length=20_000)] = "",
    website: Annotated[str, Form(max_length=500)] = "",
    keywords: Annotated[str, Form(max_length=5000)] = "",
    city: Annotated[str, Form(max_length=200)] = "",
    postcode: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Save the profile; a field that does not validate is shown next to its input, with what was typed."""
    form = {"name": name, "stakeholder_type": stakeholder_type, "sme": sme, "country": country,
            "nuts_codes": nuts_codes, "ecosystems": ecosystems or [], "description": description,
            "website": website, "keywords": keywords, "city": city, "postcode": postcode}  # fmt: skip
    data = {
        "org_id": org_id, "name": name, "stakeholder_type": stakeholder_type,
        "sme": None if sme == "" else sme == "true", "country": country or None,
        "nuts_codes": [c.split(" ", 1)[0] for c in _split(nuts_codes)], "ecosystems": ecosystems or [],
        "description": description, "website": website or None, "keywords": _split(keywords),
        "city": city or None, "postcode": postcode or None,
    }  # fmt: skip
    try:
        org = Organisation.model_validate(data)
        service.put_organisation(org, actor=actor)
    except ValidationError as exc:
        errors = {str(e["loc"][0]): str(e["msg"]).removeprefix("Value error, ") for e in exc.errors()}
        return _page(request, actor, org_id, form, errors, status_code=422, memberships=[], names={})
    except InvalidInputError as exc:
        errors = {i.field: i.message for i in exc.issues} or {"name": str(exc)}
        return _page(request, actor, org_id, form, errors, status_code=422, memberships=[], names={})
    return RedirectResponse(
        f"{PREFIX}/organisations/{org_id}?saved=true", status_code=status.HTTP_303_SEE_OTHER
    )
