"""Result and query types of the matching layer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from domain.models import Ecosystem


@dataclass(frozen=True)
class Contribution:
    """One signal's share of a score: ``value`` is already weighted, so contributions sum to the score."""

    signal: str
    value: float
    evidence: str


def _check_sum(contributions: Sequence[Contribution], score: float) -> None:
    total = sum(c.value for c in contributions)
    if abs(total - score) > 1e-6:
        raise ValueError(f"contributions sum to {total}, not the score {score}")


@dataclass(frozen=True)
class Recommendation:
    """A candidate with the explanation computed while it was scored."""

    org_id: str
    score: float
    contributions: tuple[Contribution, ...]
    model: str

    def __post_init__(self) -> None:
        _check_sum(self.contributions, self.score)


@dataclass(frozen=True)
class PartnershipRecommendation:
    """A partnership an organisation could join, explained like a candidate (the contributions
    add up to the score): the recommender's answer in the other direction."""

    partnership_id: str
    score: float
    contributions: tuple[Contribution, ...]
    model: str

    def __post_init__(self) -> None:
        _check_sum(self.contributions, self.score)


@dataclass(frozen=True)
class PartnershipQuery:
    """What a recommender knows about the partnership it recommends for.

    Usually built from a stored partnership (:func:`matching.recommender.query_for_partnership`);
    the evaluation harness builds it from a project's *visible* members and its text instead.
    """

    member_indices: npt.NDArray[np.int64]
    vector: npt.NDArray[np.float32] | None = None
    scope_regions: tuple[str, ...] = ()
    ecosystems: tuple[Ecosystem, ...] = ()
    exclude_partnership: int | None = None  # its own column, ignored for co-membership
    label: str = ""
    extra_exclude: Sequence[int] = field(default=())
