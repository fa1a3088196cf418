"""Domain errors → HTTP, in one place; no stack trace ever reaches a client."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

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


def status_for(exc: PactmatchError) -> int:
    return next((code for kind, code in _STATUS if isinstance(exc, kind)), 500)


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PactmatchError)
    status = status_for(exc)
    body: dict[str, object] = {"detail": str(exc)}
    if isinstance(exc, InvalidInputError) and exc.issues:
        body["detail"] = [
            {"loc": ["body", i.field], "msg": i.message, "type": "value_error"} for i in exc.issues
        ]
    if status >= 500:
        log.warning("%s %s failed: %s", request.method, request.url.path, exc)
    return JSONResponse(status_code=status, content=body)


def install(app: FastAPI) -> None:
    app.add_exception_handler(PactmatchError, _handle)
