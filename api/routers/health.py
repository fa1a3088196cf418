"""``GET /health``: the store the API serves and what it holds, and the encoder it embeds with."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth import require
from api.deps import ServiceDep
from api.routers.common import StrictJSONRoute
from api.schemas.health import HealthPublic
from pactmatch.permissions import Action

router = APIRouter(tags=["meta"], route_class=StrictJSONRoute)


@router.get("/health", response_model=HealthPublic, dependencies=[require(Action.HEALTH)])
def health(service: ServiceDep) -> HealthPublic:
    counts = service.counts()
    return HealthPublic(
        status="ok",
        store=service.public_store_description,
        organisations=counts.organisations,
        partnerships=counts.partnerships,
        memberships=counts.memberships,
        encoder=service.model_name,
    )
