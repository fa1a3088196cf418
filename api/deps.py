"""Typed dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

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
