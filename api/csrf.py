"""CSRF protection for every state-changing request that a browser's cookies could authorise.

``asgi-csrf`` (Datasette's middleware) implements the double-submit-cookie pattern: a signed
``csrftoken`` cookie must match a ``csrftoken`` form field or an ``x-csrftoken`` header on every
POST, PUT, PATCH and DELETE. Requests with no cookies at all (scripts) and requests carrying
``Authorization: Bearer`` (API keys, which a browser never adds by itself) are not at risk and pass.
Pages put the token in their forms from ``request.scope["csrftoken"]()``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Annotated, Any

from asgi_csrf import Errors, asgi_csrf, error_messages  # type: ignore[import-untyped]
from fastapi import Depends, Form, Request
from itsdangerous import BadSignature, URLSafeSerializer
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.errors import PactmatchError, PermissionDeniedError


async def _answer(send: Send, status: int, detail: list[dict[str, Any]]) -> None:
    """An error in the API's one shape, sent from here (outside the app's exception handlers)."""
    body = json.dumps({"detail": detail}).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _refuse(scope: Scope, send: Send, reason: Errors) -> None:
    """403 (the middleware's own answer is an HTML page)."""
    message = f"CSRF check failed: {error_messages.get(reason, reason)}"
    await _answer(send, 403, [{"loc": ["csrftoken"], "msg": message, "type": "csrf"}])


def _multipart(scope: Scope) -> bool:
    """Multipart bodies are checked by :func:`form_csrf` in their routes instead: asgi-csrf's own
    multipart reading calls a ``python-multipart`` API that its current versions no longer have."""
    content_type = dict(scope.get("headers") or []).get(b"content-type", b"")
    return bool(content_type.split(b";", 1)[0].strip() == b"multipart/form-data")


def form_csrf(request: Request, csrftoken: Annotated[str | None, Form(max_length=500)] = None) -> None:
    """The double-submit check of a multipart form, as asgi-csrf makes it for every other body.

    Written here because asgi-csrf cannot read multipart with the ``python-multipart`` FastAPI
    needs: the ``csrftoken`` form field (or the ``x-csrftoken`` header) must equal the
    ``csrftoken`` cookie, whose signature must hold. Requests a browser cannot forge pass, as
    there: no cookies at all (a script), or an API key (``Authorization: Bearer``). Every route
    that takes a file declares it (``tests/api/test_csrf.py`` walks the routes).
    """
    if not _multipart(request.scope):
        return
    headers = request.headers
    if not headers.get("cookie") or headers.get("authorization", "").startswith("Bearer "):
        return
    cookie = request.cookies.get("csrftoken", "")
    sent = headers.get("x-csrftoken") or csrftoken or ""
    key = request.app.state.signing_key()
    try:
        URLSafeSerializer(key).loads(cookie, salt="csrftoken")
    except BadSignature:
        cookie = ""
    if not cookie or not secrets.compare_digest(sent, cookie):
        raise PermissionDeniedError("CSRF check failed: the form's csrftoken does not match its cookie")


FormCsrf = Depends(form_csrf)


class CsrfProtection:
    """``asgi_csrf`` as a Starlette middleware class (``app.add_middleware``).

    The signing secret is asked for on the first request, not when the app is built: it may live
    in the store, and building an app must not need the store to answer (a server whose store is
    down still starts and says 503).
    """

    def __init__(self, app: ASGIApp, *, signing_secret: Callable[[], str], secure: bool = False) -> None:
        self._inner, self._secret, self._secure = app, signing_secret, secure
        self._app: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._inner(scope, receive, send)
            return
        if self._app is None:
            try:
                secret = self._secret()
            except PactmatchError as exc:  # the store holding the key is down: say so, as any route would
                await _answer(send, 503, [{"loc": [], "msg": str(exc), "type": "unavailable"}])
                return
            self._app = asgi_csrf(
                self._inner,
                signing_secret=secret,
                cookie_secure=self._secure,
                send_csrf_failed=_refuse,
                skip_if_scope=_multipart,
            )
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._app(scope, receive, tracked)
        except HTTPException as exc:
            # Only a body read here, by the check of a form, raises this far: a route's errors are
            # answered inside the app. FastAPI's max_body_size (outside this middleware) raises its
            # 413 from ``receive`` and would answer it in plain text; the API answers in one shape.
            if started or exc.status_code != 413:
                raise
            await _answer(send, 413, [{"loc": [], "msg": str(exc.detail), "type": "content_too_large"}])
