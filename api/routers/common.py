"""What several routers share: strict JSON bodies, paging parameters, download headers, checks,
versions (``ETag`` and ``If-Match``)."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Coroutine
from email.utils import encode_rfc2231
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request, Response
from fastapi.routing import APIRoute

from domain.errors import FieldIssue, InvalidInputError

#: Deep enough for any real listing (a full CORDIS import holds ~10⁵ organisations); beyond it an
#: offset is a probe, and an integer the store's driver cannot even bind.
MAX_OFFSET = 1_000_000

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description=f"items to skip (at most {MAX_OFFSET:,})")]
Limit = Annotated[int, Query(ge=1, le=500, description="page size (at most 500)")]

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abAB]")


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _check_text(value: Any) -> None:
    """``ValueError`` for a string (or key) with a lone surrogate: no UTF-8 text can hold one."""
    if isinstance(value, str):
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ValueError('a lone surrogate (e.g. "\\ud800") is not Unicode text') from exc
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_text(item)
    elif isinstance(value, list):
        for item in value:
            _check_text(item)


def strict_json(body: bytes) -> Any:
    """Parse a request body as interoperable JSON (RFC 8259), which Python's parser is not by default:
    UTF-8 only, ``NaN`` and ``Infinity`` refused, and so is a string with a lone surrogate
    (``"a\\ud800b"``), which no store, file or response could hold. Raises ``json.JSONDecodeError``,
    which FastAPI answers with its 422."""
    text = ""
    try:
        text = body.decode("utf-8-sig")
        value = json.loads(text, parse_constant=_refuse_constant)
        if _SURROGATE_ESCAPE.search(text):  # the walk only where an escape could have made one
            _check_text(value)
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # bytes that are not UTF-8, NaN or Infinity, a lone surrogate
        raise json.JSONDecodeError(str(exc), text, 0) from exc
    return value


class _StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = strict_json(await self.body())
        return self._json


class StrictJSONRoute(APIRoute):
    """A route whose JSON body is parsed by :func:`strict_json` (every router uses it)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(_StrictJSONRequest(request.scope, request.receive))

        return strict


def attachment(filename: str) -> dict[str, str]:
    """``Content-Disposition`` for a download named after ids the client chose: the name as sent
    in RFC 5987's ``filename*`` (UTF-8, percent-encoded by the standard library's RFC 2231 encoder)
    and an ASCII ``filename`` for clients that predate it. Headers are Latin-1, so ``łódź-rsp``
    cannot go in as it is, and quotes or line breaks in an id must not break out of the header."""
    letters = "".join(c for c in unicodedata.normalize("NFKD", filename) if not unicodedata.combining(c))
    fallback = re.sub(r"[^A-Za-z0-9._-]", "_", letters)
    return {
        "Content-Disposition": f'attachment; filename="{fallback}"; filename*={encode_rfc2231(filename, "UTF-8")}'
    }


def check_body_id(field: str, in_url: str, in_body: str) -> None:
    """A PUT replaces what its URL names: a body naming something else is invalid, not a rename."""
    if in_body != in_url:
        message = f"{field} in the body differs from the URL"
        raise InvalidInputError(message, [FieldIssue(field, message)])


def etag(version: int) -> dict[str, str]:
    """The ``ETag`` of a document at ``version`` (``"0"``: none stored yet), as a header."""
    return {"ETag": f'"{version}"'}


def _if_match(
    if_match: Annotated[
        str | None,
        Header(
            pattern=r'^(\*|"[0-9]{1,18}")$',
            description='the ETag read before (e.g. `"42"`): the change is made only over that version '
            "(409 naming the current one otherwise); `*` or no header: over any version",
        ),
    ] = None,
) -> int | None:
    return None if if_match is None or if_match == "*" else int(if_match.strip('"'))


#: The version a write is conditional on (``None``: none).
IfMatch = Annotated[int | None, Depends(_if_match)]
