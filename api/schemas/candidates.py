"""Candidate members of a partnership, each with the per-signal contributions to its score, the
same grouped into plain reasons, and whether it asked to join or is on the shortlist."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict

from pydantic import BaseModel, Field

from domain.outreach import ShortlistStatus
from pactmatch.reasons import Explanation
from pactmatch.reports.models import ContributionPublic, contributions_public
from pactmatch.service import CandidateList

__all__ = [
    "CandidateListPublic",
    "CandidatePublic",
    "ContributionPublic",
    "ReasonPublic",
    "candidate_list_public",
    "reasons_public",
]


class ReasonPublic(BaseModel):
    key: str = Field(description="collaboration | topic | region | type | activity")
    label: str
    value: float = Field(description="the summed contributions of its signals")
    evidence: str = Field(description="the plain-words evidence of its strongest signal")
    signals: list[str] = Field(description="the contributions it sums")


class CandidatePublic(BaseModel):
    org_id: str
    name: str
    score: float
    reasons: list[ReasonPublic] = Field(
        description="the contributions grouped; with baseline they add up to the score"
    )
    baseline: float = Field(description="the learned model's starting score (0 for the heuristic ranker)")
    contributions: list[ContributionPublic]
    inbound_interest: bool = Field(default=False, description="it expressed interest in joining")
    shortlist_status: ShortlistStatus | None = Field(default=None, description="its status on the shortlist")


class CandidateListPublic(BaseModel):
    partnership_id: str
    model: str = Field(description="the ranker that produced the list")
    items: list[CandidatePublic]
    warnings: list[str] = Field(
        default_factory=list,
        description="what the ranking could not take into account (organisations without a text vector)",
    )


def reasons_public(explanation: Explanation) -> list[ReasonPublic]:
    return [ReasonPublic.model_validate(asdict(r)) for r in explanation.reasons]


def candidate_list_public(
    result: CandidateList,
    interested: frozenset[str] = frozenset(),
    shortlisted: Mapping[str, ShortlistStatus] | None = None,
) -> CandidateListPublic:
    shortlisted = shortlisted or {}
    return CandidateListPublic(
        partnership_id=result.partnership_id,
        model=result.model,
        items=[
            CandidatePublic(
                org_id=i.org_id,
                name=i.name,
                score=i.score,
                reasons=reasons_public(i.reasons),
                baseline=i.reasons.baseline,
                contributions=contributions_public(i.recommendation),
                inbound_interest=i.org_id in interested,
                shortlist_status=shortlisted.get(i.org_id),
            )
            for i in result.items
        ],
        warnings=list(result.warnings),
    )
