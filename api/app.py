"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api import errors
from api.csrf import CsrfProtection
from api.limits import BodySizeLimit
from api.pages import auth as auth_pages
from api.rate_limits import RateLimits
from api.routers import accounts, events, health, imports, mapping, organisations, partnerships, requests
from pactmatch import __version__
from pactmatch.accounts import AccountService, signing_key
from pactmatch.heap import freeze_heap
from pactmatch.jobs import JobRegistry
from pactmatch.service import PactmatchService
from pactmatch.settings import Settings

STATIC = Path(__file__).resolve().parent / "static"


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
    )
    app.state.settings = settings
    app.state.service = service
    app.state.accounts = AccountService(service.store)
    app.state.rate_limits = RateLimits(settings.rate_limit)
    app.state.jobs = JobRegistry(max_per_owner=settings.max_jobs_per_user)
    secret = settings.secret_key.get_secret_value() if settings.secret_key else None
    store = service.store

    @cache
    def key() -> str:
        return signing_key(store, secret)

    app.state.signing_key = key
    errors.install(app)
    # Outermost last: the body limit runs before the CSRF check reads a form body.
    app.add_middleware(CsrfProtection, signing_secret=key, secure=settings.secure_cookies)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)

    app.include_router(organisations.router)
    app.include_router(partnerships.router)
    app.include_router(imports.router)
    app.include_router(events.router)
    app.include_router(events.attendee_router)
    app.include_router(requests.organiser_router)
    app.include_router(requests.attendee_router)
    app.include_router(mapping.router)
    app.include_router(health.router)
    app.include_router(accounts.router)
    app.include_router(auth_pages.router)
    app.mount("/app/static", StaticFiles(directory=STATIC), name="static")
    return app
