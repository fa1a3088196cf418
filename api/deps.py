"""Typed dependencies shared by the routers: the services, the job service and the settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request

from pactmatch.event_service import EventService
from pactmatch.jobs import JobService
from pactmatch.mapping import MappingService
from pactmatch.outreach import OutreachService
from pactmatch.service import PactmatchService
from pactmatch.settings import Settings


def get_service(request: Request) -> PactmatchService:
    service: PactmatchService = request.app.state.service
    return service


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


ServiceDep = Annotated[PactmatchService, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


_S = TypeVar("_S", MappingService, EventService, OutreachService)


def _one_per_app(
    request: Request, attribute: str, service: PactmatchService, make: Callable[[PactmatchService], _S]
) -> _S:
    """The app's one ``make(service)``, kept in ``app.state.<attribute>`` (made again when the app's
    service was replaced)."""
    current: _S | None = getattr(request.app.state, attribute, None)
    if current is None or current.service is not service:
        current = make(service)
        setattr(request.app.state, attribute, current)
    return current


def get_mapping(request: Request, service: ServiceDep) -> MappingService:
    """One MappingService per app, so its fitted synergy finders are reused across requests."""
    return _one_per_app(request, "mapping_service", service, MappingService)


def get_events(request: Request, service: ServiceDep) -> EventService:
    """One EventService per app (it holds no state beyond the service it wraps and the key that
    signs attendees' agenda links)."""
    return _one_per_app(
        request, "event_service", service, lambda s: EventService(s, request.app.state.signing_key)
    )


def get_outreach(request: Request, service: ServiceDep) -> OutreachService:
    """One OutreachService per app, so its fitted partnerships-to-join recommender is reused."""
    return _one_per_app(request, "outreach_service", service, OutreachService)


def get_jobs(request: Request) -> JobService:
    """The app's job service (made at start-up): a job outlives the request that submitted it."""
    jobs: JobService = request.app.state.jobs
    return jobs


MappingDep = Annotated[MappingService, Depends(get_mapping)]
EventsDep = Annotated[EventService, Depends(get_events)]
OutreachDep = Annotated[OutreachService, Depends(get_outreach)]
JobsDep = Annotated[JobService, Depends(get_jobs)]
