"""Shapes every resource uses: a page of items, and a problem with one field."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


class PagePublic(BaseModel, Generic[T]):
    items: list[T]
    total: int
    offset: int
    limit: int


# One rejected field of one input record, e.g. a row of a batch registration. (A comment: a
# docstring would be published as the schema's description in the OpenAPI document.)
class IssuePublic(BaseModel):
    field: str
    message: str
