"""Query parameters and checks several routers share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from domain.errors import FieldIssue, InvalidInputError

Offset = Annotated[int, Query(ge=0, description="items to skip")]
Limit = Annotated[int, Query(ge=1, le=500, description="page size (at most 500)")]


def check_body_id(field: str, in_url: str, in_body: str) -> None:
    """A PUT replaces what its URL names: a body naming something else is invalid, not a rename."""
    if in_body != in_url:
        message = f"{field} in the body differs from the URL"
        raise InvalidInputError(message, [FieldIssue(field, message)])
