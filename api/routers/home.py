"""What the pages' home and region picker need: the caller's own partnerships, events and
organisations, and NUTS regions found by code or name."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import require
from api.deps import ServiceDep
from api.routers.common import StrictJSONRoute
from api.schemas.outreach import HomePublic, RegionPublic, home_public, region_public
from domain.accounts import Actor
from pactmatch.home import home
from pactmatch.mapping import MappingService
from pactmatch.permissions import Action

router = APIRouter(tags=["home"], route_class=StrictJSONRoute)


@router.get("/me", response_model=HomePublic)
def me(service: ServiceDep, actor: Annotated[Actor, require(Action.OWN_ACCOUNT)]) -> HomePublic:
    """What the caller's grants give: the partnerships they coordinate, the events they organise and
    the organisations they are a member of, by name (admins may do everything besides)."""
    return home_public(home(service, actor))


@router.get("/regions", response_model=list[RegionPublic], dependencies=[require(Action.READ)])
def search_regions(
    q: Annotated[str, Query(min_length=1, max_length=100, description="code prefix or part of the name")],
    level: Annotated[int | None, Query(ge=0, le=3, description="only this level (0 = countries)")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[RegionPublic]:
    """NUTS regions (2024, with the UK's 2018 codes and countries) whose code starts with ``q`` or
    whose name contains it, regardless of case and accents: the exact code first, then codes, then
    names starting with ``q``, then names containing it."""
    return [region_public(m) for m in MappingService.search_regions(q, level=level, limit=limit)]
