"""Diversity re-ranking: maximal marginal relevance on embeddings, plus SME and country quotas.

A ranked list from any recommender tends to repeat one kind of partner (ten research institutes
from one country). :func:`diversify` re-orders a longer ranked list greedily:

.. math:: \\text{next} = \\arg\\max_{c}\\; (1 - d)\\,\\text{rel}(c) - d \\max_{s \\in S} \\cos(c, s)

with ``d`` the ``diversity`` (0 keeps the order, 1 only avoids similarity), ``rel`` the score
rescaled to [0, 1] and ``S`` the already selected candidates (Carbonell & Goldstein, 1998). Quotas
are hard constraints checked at each step: at least ``min_sme_share`` of the list are SMEs and at
least ``min_newcomer_share`` are organisations with no partnership yet (each when enough of them
are in the input), and at most ``max_per_country`` come from one country. Scores are
not changed, only the order, so explanations still add up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from domain.errors import FieldIssue, InvalidInputError
from matching.snapshot import NO_REGION, Snapshot
from matching.types import Recommendation

#: How many more candidates than requested a caller should fetch before re-ranking.
OVERFETCH = 5


@dataclass(frozen=True)
class DiversityOptions:
    diversity: float = 0.0
    min_sme_share: float = 0.0
    min_newcomer_share: float = 0.0
    max_per_country: int | None = None

    def __post_init__(self) -> None:
        issues = []
        if not 0.0 <= self.diversity <= 1.0:
            issues.append(FieldIssue("diversity", "must be between 0 and 1"))
        if not 0.0 <= self.min_sme_share <= 1.0:
            issues.append(FieldIssue("min_sme_share", "must be between 0 and 1"))
        if not 0.0 <= self.min_newcomer_share <= 1.0:
            issues.append(FieldIssue("min_newcomer_share", "must be between 0 and 1"))
        if self.max_per_country is not None and self.max_per_country < 1:
            issues.append(FieldIssue("max_per_country", "must be at least 1"))
        if issues:
            raise InvalidInputError("invalid diversity options", issues)

    @property
    def active(self) -> bool:
        return (
            self.diversity > 0
            or self.min_sme_share > 0
            or self.min_newcomer_share > 0
            or self.max_per_country is not None
        )

    def label(self) -> str:
        parts = []
        if self.diversity > 0:
            parts.append(f"mmr={self.diversity:g}")
        if self.min_sme_share > 0:
            parts.append(f"sme>={self.min_sme_share:g}")
        if self.min_newcomer_share > 0:
            parts.append(f"newcomers>={self.min_newcomer_share:g}")
        if self.max_per_country is not None:
            parts.append(f"country<={self.max_per_country}")
        return ",".join(parts)


def diversify(
    snapshot: Snapshot,
    ranked: npt.NDArray[np.int64],
    scores: npt.NDArray[np.float64],
    k: int,
    options: DiversityOptions,
) -> npt.NDArray[np.int64]:
    """Re-order ``ranked`` (org indices, best first, with their ``scores``) and keep ``k``."""
    n = len(ranked)
    if n == 0 or k <= 0:
        return np.zeros(0, dtype=np.int64)
    if not options.active:
        return ranked[:k]
    lo, hi = float(np.min(scores)), float(np.max(scores))
    relevance = (scores - lo) / (hi - lo) if hi > lo else np.ones(n)
    vectors = snapshot.org_vectors[ranked]
    sme = snapshot.org_sme[ranked] == 1
    country = snapshot.org_regions[ranked, 0]
    k = min(k, n)
    newcomer = snapshot.org_popularity[ranked] == 0
    quotas = [
        (sme, min(math.ceil(options.min_sme_share * k), int(sme.sum()))),
        (newcomer, min(math.ceil(options.min_newcomer_share * k), int(newcomer.sum()))),
    ]
    max_similarity = np.full(n, -np.inf)
    taken = np.zeros(n, dtype=bool)
    per_country: dict[int, int] = {}
    out: list[int] = []
    d = options.diversity
    for step in range(k):
        allowed = ~taken
        if options.max_per_country is not None:
            full = [
                c for c, used in per_country.items() if used >= options.max_per_country and c != NO_REGION
            ]
            if full:
                allowed &= ~np.isin(country, full)
        deficits = [(group, need - (int(group[out].sum()) if out else 0)) for group, need in quotas]
        short = [group for group, missing in deficits if missing > 0]
        if short and sum(missing for _, missing in deficits if missing > 0) >= k - step:
            # every remaining slot is needed to meet the quotas
            allowed &= np.logical_or.reduce(short)
        if not allowed.any():
            allowed = ~taken  # quotas cannot be met any more: fill by relevance rather than stop short
        penalty = np.where(np.isfinite(max_similarity), max_similarity, 0.0)
        value = (1.0 - d) * relevance - d * penalty
        value = np.where(allowed, value, -np.inf)
        best = int(np.argmax(value))  # first best wins: ties keep the original order
        out.append(best)
        taken[best] = True
        per_country[int(country[best])] = per_country.get(int(country[best]), 0) + 1
        max_similarity = np.maximum(max_similarity, vectors @ vectors[best])
    return ranked[np.asarray(out, dtype=np.int64)]


def diversify_recommendations(
    snapshot: Snapshot, recommendations: Sequence[Recommendation], k: int, options: DiversityOptions
) -> list[Recommendation]:
    """:func:`diversify` for a list of recommendations (unknown org ids are an error)."""
    if not options.active:
        return list(recommendations[:k])
    index = snapshot.org_index
    ranked = np.array([index[r.org_id] for r in recommendations], dtype=np.int64)
    scores = np.array([r.score for r in recommendations], dtype=np.float64)
    order = diversify(snapshot, ranked, scores, k, options)
    by_index = {int(i): r for i, r in zip(ranked, recommendations, strict=True)}
    return [by_index[int(i)] for i in order]
