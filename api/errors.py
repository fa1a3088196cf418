"""Errors → HTTP, in one place and in one shape; no stack trace ever reaches a client.

Every error answer is ``{"detail": [{"loc": [...], "msg": "...", "type": "..."}, ...]}``, whoever
raised it: a domain error of the services (a 401 with ``WWW-Authenticate``, a 429 with
``Retry-After``, a 409 for a stale ``If-Match`` with the current version as its ``ETag``), a request FastAPI's validation refused, or an HTTP error of the framework itself
(unknown path, wrong method, body too large). ``loc`` names the parameter at fault
(``["query", "region"]``, ``["body", "organisation", "country"]``) and is empty when the request
as a whole is (an unknown id, a conflict). The input is never echoed back: it may be large, or not
valid Unicode. Pages (paths under ``/app``) answer the same errors with an HTML page instead
(:func:`api.pages.page_error`): a person reads those, not a client.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from api.pages import is_page, page_error
from domain.errors import (
    AuthenticationError,
    ConflictError,
    EncoderError,
    InvalidInputError,
    NotFoundError,
    PactmatchError,
    PermissionDeniedError,
    StoreUnavailableError,
    StoreWriteError,
    TooManyRequestsError,
    VersionConflictError,
)

log = logging.getLogger("pactmatch.api")

_STATUS: list[tuple[type[PactmatchError], int]] = [
    (AuthenticationError, 401),
    (PermissionDeniedError, 403),
    (TooManyRequestsError, 429),
    (NotFoundError, 404),
    (InvalidInputError, 422),
    (ConflictError, 409),
    (StoreUnavailableError, 503),
    (StoreWriteError, 503),
    (EncoderError, 503),
]

#: The ``type`` of an issue that is not about one field, by status.
_TYPES = {
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "content_too_large",
    422: "value_error",
    429: "too_many_requests",
    503: "unavailable",
}

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def status_for(exc: PactmatchError) -> int:
    return next((code for kind, code in _STATUS if isinstance(exc, kind)), 500)


def _issue(loc: Sequence[str | int], msg: str, kind: str) -> dict[str, object]:
    """One entry of ``detail``."""
    return {"loc": list(loc), "msg": msg, "type": kind}


def _response(
    status: int, issues: list[dict[str, object]], headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": issues}, headers=headers)


async def _domain_error(request: Request, exc: Exception) -> Response:
    """A service's error: a page under ``/app``, the one JSON shape elsewhere."""
    assert isinstance(exc, PactmatchError)
    status = status_for(exc)
    if status >= 500:
        log.warning("%s %s failed: %s", request.method, request.url.path, exc)
    if is_page(request):
        return page_error(request, status, exc)
    kind = _TYPES.get(status, "error")
    if isinstance(exc, InvalidInputError) and exc.issues:
        issues = [_issue(["body", i.field], i.message, kind) for i in exc.issues]
    else:
        issues = [_issue([], str(exc), kind)]
    headers = {}
    if isinstance(exc, AuthenticationError):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, TooManyRequestsError):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, VersionConflictError):  # the version to read again (the message names it too)
        headers["ETag"] = f'"{exc.current}"'
    return _response(status, issues, headers)


def _message(error: dict[str, Any]) -> str:
    """pydantic's message says why; a JSON decode error keeps its reason in ``ctx``."""
    reason = error.get("ctx", {}).get("error") if error["type"] == "json_invalid" else None
    return f"{error['msg']}: {reason}" if reason else str(error["msg"])


async def _validation_error(request: Request, exc: Exception) -> Response:
    """FastAPI's own 422, without the ``input`` and ``ctx`` it would echo; a page under ``/app``
    (naming the fields)."""
    assert isinstance(exc, RequestValidationError)
    if is_page(request):
        fields = ", ".join(str(e["loc"][-1]) for e in exc.errors())
        return page_error(request, 422, InvalidInputError(f"Check these fields: {fields}."))
    return _response(422, [_issue(e["loc"], _message(e), e["type"]) for e in exc.errors()])


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers at this path (Starlette's 405 names only the first route's)."""
    return [
        method
        for method in _METHODS
        if any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in request.app.routes)
    ]


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (unknown path, wrong method, body too large): a page under ``/app``,
    the one JSON shape elsewhere; a 405 names every allowed method either way."""
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    if is_page(request):
        page = page_error(request, exc.status_code, exc)
        page.headers.update(headers)
        return page
    kind = _TYPES.get(exc.status_code, "http_error")
    return _response(exc.status_code, [_issue([], str(exc.detail), kind)], headers)


class DeclaredBodyLimit:
    """413 in the one shape for a request whose ``Content-Length`` is over ``max_bytes``, before
    anything reads it.

    FastAPI's ``max_body_size`` counts a streamed body as it arrives, and its 413 passes through
    the handlers here; but a request that *declares* too large a length gets Starlette's own
    plain-text 413, which replaces whatever the app answers. So such a request is refused out here,
    around FastAPI's whole stack (:func:`api.app.create_app` puts it there).
    """

    def __init__(self, app: ASGIApp, max_bytes: int | None) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.max_bytes is not None:
            declared = Headers(scope=scope).get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                issue = _issue([], f"request body larger than {self.max_bytes} bytes", _TYPES[413])
                await _response(413, [issue])(scope, receive, send)
                return
        await self.app(scope, receive, send)


def install(app: FastAPI) -> None:
    app.add_exception_handler(PactmatchError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
