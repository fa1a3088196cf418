"""Shapes every resource uses: a page of items, a problem with one field, place filters."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, StringConstraints

from domain.regions import normalise_country, region_filter

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


def _country_filter(value: str) -> str:
    return normalise_country(value) if value.strip() else ""


def _region_filter(value: str) -> str:
    return region_filter(value) if value.strip() else ""


#: A country or a NUTS region used as a filter (query parameters, the from-store registration),
#: checked at the edge so that a bad one is a 422 naming the parameter: ``el``/``UK`` spellings and
#: NUTS 2021 codes are accepted and normalised, an unknown code is refused (never answered for its
#: parent region), and an empty string stays what it always was, no filter.
CountryFilter = Annotated[str, StringConstraints(max_length=64), AfterValidator(_country_filter)]
RegionFilter = Annotated[str, StringConstraints(max_length=32), AfterValidator(_region_filter)]
