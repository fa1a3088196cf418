"""``GET /health``."""

from __future__ import annotations

from pydantic import BaseModel


class HealthPublic(BaseModel):
    status: str
    store: str
    organisations: int
    partnerships: int
    memberships: int
    encoder: str
