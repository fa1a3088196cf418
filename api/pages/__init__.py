"""Server-rendered pages under ``/app``: the same services and permissions as the JSON routes.

Pages are routes too: each declares its permission with :func:`api.auth.require`, so the route
walk covers them. What differs is the answer to a refusal: a page sends an anonymous visitor to
the sign-in page and shows other errors as a page (:func:`page_error`), never as JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from domain.accounts import Actor
from domain.errors import AuthenticationError

PREFIX = "/app"
templates = Jinja2Templates(directory=str(Path(__file__).resolve().parents[1] / "templates"))

_TITLES = {
    403: ("Not yours to see", "Your account may not open this page. Ask an admin for the role you need."),
    404: ("Not found", "There is no such page, or what it showed was deleted."),
    409: ("Conflict", "That would contradict what is stored."),
    422: ("Check what you entered", "Some of what was sent was not valid."),
    429: ("Too many requests", "Wait a moment and try again."),
    503: ("Unavailable", "The store cannot be reached right now; try again shortly."),
}


def is_page(request: Request) -> bool:
    return request.url.path == PREFIX or request.url.path.startswith(PREFIX + "/")


def render(
    request: Request, template: str, actor: Actor | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """A page, with the caller and the CSRF token every form needs."""
    csrftoken = request.scope["csrftoken"]() if "csrftoken" in request.scope else ""
    return templates.TemplateResponse(
        request, template, {"actor": actor, "csrftoken": csrftoken, **context}, status_code=status_code
    )


def page_error(request: Request, status_code: int, exc: Exception | None = None) -> Response:
    """How a page answers an error: sign in first when it is about credentials; otherwise an
    error page that says what happened in words (never a stack trace)."""
    if isinstance(exc, AuthenticationError) or status_code == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{PREFIX}/login?next={quote(target, safe='')}", status_code=303)
    title, message = _TITLES.get(status_code, ("Something went wrong", "The request could not be completed."))
    if status_code == 422 and exc is not None:
        message = str(exc)
    return render(
        request, "error.html.j2", None, status_code, status=status_code, title=title, message=message
    )
