"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import errors
from api.routers import events, health, imports, mapping, organisations, partnerships
from pactmatch import __version__
from pactmatch.heap import freeze_heap
from pactmatch.service import PactmatchService
from pactmatch.settings import Settings


def create_app(settings: Settings | None = None, service: PactmatchService | None = None) -> FastAPI:
    """Build the app for ``settings`` (or wrap an existing ``service``, as tests do).

    The store is opened here, at start-up, so that a wrong location or an unreachable server fails
    the start with a clear message instead of the first request.
    """
    settings = settings or Settings()
    if service is None:
        service = PactmatchService.from_settings(settings)
    owned = service

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        freeze_heap()  # started: what start-up built lives as long as the server (pactmatch.heap)
        yield
        owned.close()

    app = FastAPI(
        title="pactmatch",
        version=__version__,
        description="Partner matching and stakeholder mapping for Pact for Skills partnerships.",
        lifespan=lifespan,
        max_body_size=settings.max_body_bytes,  # 413, streamed (chunked) bodies counted as they arrive
    )
    app.state.settings = settings
    app.state.service = service
    errors.install(app)

    app.include_router(organisations.router)
    app.include_router(partnerships.router)
    app.include_router(imports.router)
    app.include_router(events.router)
    app.include_router(mapping.router)
    app.include_router(health.router)
    return app
