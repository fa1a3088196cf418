"""``GET /health``: the store the API serves and what it holds, the encoder it embeds with, and
whether everything has a vector of that encoder (an import stopped before its embedding step
leaves rows that rank without their text similarity: the service is then ``degraded``)."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth import require
from api.deps import ServiceDep
from api.routers.common import StrictJSONRoute
from api.schemas.health import EmbeddingsPublic, HealthPublic
from pactmatch.permissions import Action

router = APIRouter(tags=["meta"], route_class=StrictJSONRoute)


@router.get("/health", response_model=HealthPublic, dependencies=[require(Action.HEALTH)])
def health(service: ServiceDep) -> HealthPublic:
    counts = service.counts()
    coverage = service.embedding_coverage()
    problems = [p for p in (coverage.warning(),) if p]
    return HealthPublic(
        status="degraded" if problems else "ok",
        store=service.public_store_description,
        organisations=counts.organisations,
        partnerships=counts.partnerships,
        memberships=counts.memberships,
        encoder=service.model_name,
        embeddings=EmbeddingsPublic(
            encoder=coverage.encoder,
            organisations_without_vector=coverage.organisations_without,
            partnerships_without_vector=coverage.partnerships_without,
            complete=coverage.complete,
        ),
        problems=problems,
    )
