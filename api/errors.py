"""Domain errors → HTTP, in one place; no stack trace ever reaches a client."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

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


def status_for(exc: PactmatchError) -> int:
    return next((code for kind, code in _STATUS if isinstance(exc, kind)), 500)


async def _handle(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PactmatchError)
    status = status_for(exc)
    if is_page(request):
        if status >= 500:
            log.warning("%s %s failed: %s", request.method, request.url.path, exc)
        return page_error(request, status, exc)
    body: dict[str, object] = {"detail": str(exc)}
    if isinstance(exc, InvalidInputError) and exc.issues:
        body["detail"] = [
            {"loc": ["body", i.field], "msg": i.message, "type": "value_error"} for i in exc.issues
        ]
    if status >= 500:
        log.warning("%s %s failed: %s", request.method, request.url.path, exc)
    headers = {}
    if isinstance(exc, AuthenticationError):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, TooManyRequestsError):
        headers["Retry-After"] = str(exc.retry_after)
    return JSONResponse(status_code=status, content=body, headers=headers)


async def _http(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (unknown path, wrong method): a page under ``/app``, JSON elsewhere."""
    assert isinstance(exc, StarletteHTTPException)
    if is_page(request):
        return page_error(request, exc.status_code, exc)
    return await http_exception_handler(request, exc)


async def _invalid(request: Request, exc: Exception) -> Response:
    """A request that does not validate: a page under ``/app`` (naming the fields), JSON elsewhere."""
    assert isinstance(exc, RequestValidationError)
    if is_page(request):
        fields = ", ".join(str(e["loc"][-1]) for e in exc.errors())
        return page_error(request, 422, InvalidInputError(f"Check these fields: {fields}."))
    return await request_validation_exception_handler(request, exc)


def install(app: FastAPI) -> None:
    app.add_exception_handler(PactmatchError, _handle)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _invalid)
