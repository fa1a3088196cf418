"""``GET /health``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class EmbeddingsPublic(BaseModel):
    encoder: str
    organisations_without_vector: int = Field(description="ranked without their text similarity")
    partnerships_without_vector: int
    complete: bool


class HealthPublic(BaseModel):
    status: Literal["ok", "degraded"] = Field(
        description="degraded: the service answers, but with less than it should (see problems)"
    )
    store: str
    organisations: int
    partnerships: int
    memberships: int
    encoder: str
    embeddings: EmbeddingsPublic
    problems: list[str] = Field(description="what is degraded, and what to do about it")
