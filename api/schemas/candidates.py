"""Candidate members of a partnership, each with the per-signal contributions to its score."""

from __future__ import annotations

from dataclasses import asdict

from pydantic import BaseModel, Field

from pactmatch.reports.models import ContributionPublic
from pactmatch.service import CandidateList

__all__ = ["CandidateListPublic", "CandidatePublic", "ContributionPublic", "candidate_list_public"]


class CandidatePublic(BaseModel):
    org_id: str
    name: str
    score: float
    contributions: list[ContributionPublic]


class CandidateListPublic(BaseModel):
    partnership_id: str
    model: str = Field(description="the ranker that produced the list")
    items: list[CandidatePublic]
    warnings: list[str] = Field(
        default_factory=list,
        description="what the ranking could not take into account (organisations without a text vector)",
    )


def candidate_list_public(result: CandidateList) -> CandidateListPublic:
    return CandidateListPublic.model_validate(
        {
            "partnership_id": result.partnership_id,
            "model": result.model,
            "items": [
                {
                    "org_id": i.org_id,
                    "name": i.name,
                    "score": i.score,
                    "contributions": [asdict(c) for c in i.recommendation.contributions],
                }
                for i in result.items
            ],
            "warnings": list(result.warnings),
        }
    )
