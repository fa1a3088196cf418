"""Server-rendered pages under ``/app``: the same services and permissions as the JSON routes.

Pages are routes too: each declares its permission with :func:`api.auth.require`, so the route
walk covers them. What differs is the answer to a refusal: a page sends an anonymous visitor to
the sign-in page and shows other errors as a page (:func:`page_error`), never as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BeforeValidator

from domain.accounts import Actor, Role
from domain.errors import AuthenticationError
from domain.regions import RegionIndex

PREFIX = "/app"
templates = Jinja2Templates(directory=str(Path(__file__).resolve().parents[1] / "templates"))
templates.env.filters["timestamp"] = lambda t: t.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")

_TITLES = {
    403: ("Not yours to see", "Your account may not open this page. Ask an admin for the role you need."),
    404: ("Not found", "There is no such page, or what it showed was deleted."),
    409: ("Conflict", "That would contradict what is stored."),
    422: ("Check what you entered", "Some of what was sent was not valid."),
    429: ("Too many requests", "Wait a moment and try again."),
    503: ("Unavailable", "The store cannot be reached right now; try again shortly."),
}


#: A query parameter a form sent empty ("any") means no filter: ``Annotated[E | None, Query(), EMPTY_IS_NONE]``.
EMPTY_IS_NONE = BeforeValidator(lambda value: value or None)


@cache
def region_choices() -> list[tuple[str, str]]:
    """Every NUTS region and country as ``(value, label)`` for a ``<datalist>``: typing part of a
    code or of a name at any level finds it, with no script (the value leads with the code)."""
    return [
        (f"{r.code} {r.label}", f"NUTS {r.level}" if r.level else "country")
        for r in RegionIndex.default().all()
    ]


def is_page(request: Request) -> bool:
    return request.url.path == PREFIX or request.url.path.startswith(PREFIX + "/")


@dataclass(frozen=True)
class NavLink:
    label: str
    href: str
    current: bool


def navigation(actor: Actor | None, path: str) -> list[NavLink]:
    """The places the caller's roles open, the one they are in marked (``aria-current``)."""
    if actor is None or actor.user is None:
        return []
    links = [("Home", PREFIX)]
    if actor.is_admin or actor.has(Role.COORDINATOR):
        links.append(("Partnerships", f"{PREFIX}/partnerships"))
    for org_id in actor.scopes(Role.MEMBER)[:3]:
        links.append(
            (
                "My organisation" if len(actor.scopes(Role.MEMBER)) == 1 else org_id,
                f"{PREFIX}/organisations/{org_id}",
            )
        )
    if actor.is_admin or actor.has(Role.ORGANISER):
        links.append(("Events", f"{PREFIX}/events"))
    if actor.is_admin:
        links += [
            ("Dashboard", f"{PREFIX}/dashboard"),
            ("Regions", f"{PREFIX}/regions"),
            ("Reports", f"{PREFIX}/reports"),
        ]
    best = max(
        (href for _, href in links if path == href or path.startswith(href + "/")), key=len, default=None
    )
    return [NavLink(label, href, href == best) for label, href in links]


def render(
    request: Request, template: str, actor: Actor | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """A page, with the caller, their navigation and the CSRF token every form needs."""
    csrftoken = request.scope["csrftoken"]() if "csrftoken" in request.scope else ""
    return templates.TemplateResponse(
        request,
        template,
        {"actor": actor, "csrftoken": csrftoken, "nav": navigation(actor, request.url.path), **context},
        status_code=status_code,
    )


def page_error(request: Request, status_code: int, exc: Exception | None = None) -> Response:
    """How a page answers an error: sign in first when it is about credentials; otherwise an
    error page that says what happened in words (never a stack trace)."""
    if request.url.path.startswith(f"{PREFIX}/agenda/") and isinstance(exc, AuthenticationError):
        # the link is the attendee's credential and they have no account: no sign-in page to send them to
        return render(
            request, "error.html.j2", None, 403, status=403, title="This link does not open an agenda",
            message=str(exc),
        )  # fmt: skip
    if isinstance(exc, AuthenticationError) or status_code == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{PREFIX}/login?next={quote(target, safe='')}", status_code=303)
    title, message = _TITLES.get(status_code, ("Something went wrong", "The request could not be completed."))
    if status_code in (409, 422) and exc is not None:  # the services' conflicts are written for people
        message = str(exc)
    return render(
        request, "error.html.j2", None, status_code, status=status_code, title=title, message=message
    )
