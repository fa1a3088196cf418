"""Errors → HTTP, in one place and in one shape; no stack trace ever reaches a client.

Every error answer is ``{"detail": [{"loc": [...], "msg": "...", "type": "..."}, ...]}``, whoever
raised it: a domain error of the services, a request FastAPI's validation refused, or an HTTP
error of the framework itself (unknown path, wrong method, body too large). ``loc`` names the
parameter at fault (``["query", "region"]``, ``["body", "organisation", "country"]``) and is empty
when the request as a whole is (an unknown id, a conflict). The input is never echoed back: it may
be large, or not valid Unicode.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import Match

from domain.errors import (
    ConflictError,
    EncoderError,
    InvalidInputError,
    NotFoundError,
    PactmatchError,
    StoreUnavailableError,
    StoreWriteError,
)

log = logging.getLogger("pactmatch.api")

_STATUS: list[tuple[type[PactmatchError], int]] = [
    (NotFoundError, 404),
    (InvalidInputError, 422),
    (ConflictError, 409),
    (StoreUnavailableError, 503),
    (StoreWriteError, 503),
    (EncoderError, 503),
]

#: The ``type`` of an issue that is not about one field, by status.
_TYPES = {
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "content_too_large",
    422: "value_error",
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
    assert isinstance(exc, PactmatchError)
    status = status_for(exc)
    kind = _TYPES.get(status, "error")
    if isinstance(exc, InvalidInputError) and exc.issues:
        issues = [_issue(["body", i.field], i.message, kind) for i in exc.issues]
    else:
        issues = [_issue([], str(exc), kind)]
    if status >= 500:
        log.warning("%s %s failed: %s", request.method, request.url.path, exc)
    return _response(status, issues)


def _message(error: dict[str, Any]) -> str:
    """pydantic's message says why; a JSON decode error keeps its reason in ``ctx``."""
    reason = error.get("ctx", {}).get("error") if error["type"] == "json_invalid" else None
    return f"{error['msg']}: {reason}" if reason else str(error["msg"])


async def _validation_error(request: Request, exc: Exception) -> Response:
    """FastAPI's own 422, without the ``input`` and ``ctx`` it would echo."""
    assert isinstance(exc, RequestValidationError)
    return _response(422, [_issue(e["loc"], _message(e), e["type"]) for e in exc.errors()])


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers at this path (Starlette's 405 names only the first route's)."""
    return [
        method
        for method in _METHODS
        if any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in request.app.routes)
    ]


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    kind = _TYPES.get(exc.status_code, "http_error")
    return _response(exc.status_code, [_issue([], str(exc.detail), kind)], headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(PactmatchError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
