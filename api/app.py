"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import cache
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp

from api import errors
from api.csrf import CsrfProtection
from api.pages import attendees as attendee_pages
from api.pages import auth as auth_pages
from api.pages import events as event_pages
from api.pages import organisations as organisation_pages
from api.pages import outreach as outreach_pages
from api.pages import partnerships as partnership_pages
from api.pages import support as support_pages
from api.rate_limits import RateLimits
from api.routers import (
    accounts,
    events,
    health,
    home,
    imports,
    mapping,
    organisations,
    outreach,
    partnerships,
    requests,
)
from pactmatch import __version__
from pactmatch.accounts import AccountService, signing_key
from pactmatch.heap import freeze_heap
from pactmatch.jobs import JobLimits, JobService
from pactmatch.mapping import MappingService
from pactmatch.report_jobs import report_job_kinds
from pactmatch.service import PactmatchService
from pactmatch.settings import Settings

STATIC = Path(__file__).resolve().parent / "static"


class _App(FastAPI):
    """FastAPI with :class:`api.errors.DeclaredBodyLimit` around its whole middleware stack: the
    only place a 413 for a declared length can still be answered in the one error shape."""

    def build_middleware_stack(self) -> ASGIApp:
        return errors.DeclaredBodyLimit(super().build_middleware_stack(), self.max_body_size)


def create_app(settings: Settings | None = None, service: PactmatchService | None = None) -> FastAPI:
    """Build the app for ``settings`` (or wrap an existing ``service``, as tests do).

    The store is opened here, at start-up, so that a wrong location or an unreachable server fails
    the start with a clear message instead of the first request.
    """
    settings = settings or Settings()
    if service is None:
        service = PactmatchService.from_settings(settings)
    owned = service
    mapping_service = MappingService(service)
    jobs = JobService(
        service.store,
        report_job_kinds(mapping_service),
        limits=JobLimits(per_owner=settings.max_jobs_per_user, queued=settings.max_queued_jobs),
        results_ttl=timedelta(hours=settings.job_results_hours),
        stale_after=timedelta(seconds=settings.job_stale_seconds),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        freeze_heap()  # started: what start-up built lives as long as the server (pactmatch.heap)
        jobs.start()  # queued jobs run again; those a killed server was running are failed
        yield
        jobs.shutdown()  # before the store closes: the running job goes back to the queue
        owned.close()

    app = _App(
        title="pactmatch",
        version=__version__,
        description="Partner matching and stakeholder mapping for Pact for Skills partnerships.",
        lifespan=lifespan,
        max_body_size=settings.max_body_bytes,  # 413; streamed (chunked) bodies counted as they arrive
    )
    app.state.settings = settings
    app.state.service = service
    app.state.accounts = AccountService(service.store)
    app.state.rate_limits = RateLimits(settings.rate_limit)
    app.state.mapping_service = mapping_service
    app.state.jobs = jobs
    secret = settings.secret_key.get_secret_value() if settings.secret_key else None
    store = service.store

    @cache
    def key() -> str:
        return signing_key(store, secret)

    app.state.signing_key = key
    errors.install(app)
    # FastAPI's max_body_size wraps every user middleware, so the CSRF check's reading of a form
    # body is counted too (CsrfProtection answers that 413 in the one error shape).
    app.add_middleware(CsrfProtection, signing_secret=key, secure=settings.secure_cookies)

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
    app.include_router(outreach.router)
    app.include_router(home.router)
    for pages in (
        auth_pages,
        partnership_pages,
        organisation_pages,
        outreach_pages,
        support_pages,
        event_pages,
        attendee_pages,
    ):
        app.include_router(pages.router)
    app.mount("/app/static", StaticFiles(directory=STATIC), name="static")
    return app
