"""Explanations for people: a ranker's contributions grouped into a few plain reasons.

A learned candidate carries 28 contributions such as ``graph_random_walk +0.062 "walk score 19.4"``:
exact, and right for a data scientist, but a coordinator wants to know *why* in a few words. Each
contribution belongs to one reason; a reason's value is the sum of its contributions (so the
reasons and the model's baseline still add up to the score), and its evidence is the plain-words
evidence of the contribution that pushes most in the reason's direction. The API and the pages
both group here, so they always agree; the raw contributions stay available beside the reasons.

===============  ================================================================================
reason           contributions (heuristic signal; learned features)
===============  ================================================================================
collaboration    ``graph``; every ``graph_*`` feature (shared partnerships, reunions, random walk,
                 confidence and loyalty shares)
topic            ``semantic``; ``text_partnership``, ``text_members_max``, ``text_members_mean``
region           ``region``; ``region_fit``, ``country_share``, ``country_popularity``
type             ``type``; ``type_share``, ``type_prior``, ``sme``
activity         ``popularity``, ``recent_activity``, ``no_history``, ``coordinator_rate``
===============  ================================================================================

The learned models' ``baseline`` (their average score) is no reason: it is kept apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from matching.types import Contribution


class Audience(StrEnum):
    """Who reads the explanation: a partnership's coordinators (about a candidate organisation)
    or an organisation's members (about a partnership they could join)."""

    CANDIDATE = "candidate"
    JOIN = "join"


#: The reasons, in the order they are listed, with their label for each audience.
REASONS: Mapping[str, Mapping[Audience, str]] = {
    "collaboration": {
        Audience.CANDIDATE: "worked with your members before",
        Audience.JOIN: "worked with its members before",
    },
    "topic": {Audience.CANDIDATE: "topic fit", Audience.JOIN: "topic fit"},
    "region": {Audience.CANDIDATE: "region", Audience.JOIN: "region"},
    "type": {Audience.CANDIDATE: "a stakeholder type you lack", Audience.JOIN: "a stakeholder type it lacks"},
    "activity": {Audience.CANDIDATE: "activity", Audience.JOIN: "activity"},
}

_COLLABORATION = (
    "graph_adamic_adar", "graph_common_members", "graph_shared_partnerships", "graph_best_overlap",
    "graph_consortium_share", "graph_recent_shared", "graph_group_repeat", "graph_group_overlap",
    "graph_group_repeat_recent", "graph_random_walk", "graph_confidence_max", "graph_confidence_sum",
    "graph_loyalty_max", "graph_loyalty",
)  # fmt: skip

#: The reason of each contribution: the heuristic ranker's four signals, then the learned ranker's
#: features (matching.learned.features.FEATURES; a test checks that every one is placed).
REASON_OF: Mapping[str, str] = {
    "semantic": "topic",
    "graph": "collaboration",
    "region": "region",
    "type": "type",
    "text_partnership": "topic",
    "text_members_max": "topic",
    "text_members_mean": "topic",
    **dict.fromkeys(_COLLABORATION, "collaboration"),
    "popularity": "activity",
    "recent_activity": "activity",
    "no_history": "activity",
    "coordinator_rate": "activity",
    "country_share": "region",
    "country_popularity": "region",
    "region_fit": "region",
    "type_share": "type",
    "type_prior": "type",
    "sme": "type",
}

#: Contributions whose evidence reads as plain words (names, counts, places). The others' evidence
#: quotes a score ("walk score 19.4") and is a reason's evidence only when nothing plainer is there.
PLAIN: frozenset[str] = frozenset(
    {
        "semantic", "graph", "region", "type", "text_partnership", "text_members_max", "graph_adamic_adar",
        "graph_common_members", "graph_shared_partnerships", "graph_best_overlap", "graph_group_repeat",
        "graph_group_overlap", "graph_group_repeat_recent", "popularity", "recent_activity", "no_history",
        "coordinator_rate", "country_share", "region_fit", "type_share", "type_prior", "sme",
    }
)  # fmt: skip

BASELINE = "baseline"


@dataclass(frozen=True)
class Reason:
    """One plain reason: its summed contribution, its best evidence, and what was summed."""

    key: str
    label: str
    value: float
    evidence: str
    signals: tuple[str, ...]


@dataclass(frozen=True)
class Explanation:
    """The reasons, in :data:`REASONS` order; ``baseline + Σ reason values`` is the score."""

    baseline: float
    reasons: tuple[Reason, ...]


def explain_for_people(contributions: Iterable[Contribution], audience: Audience) -> Explanation:
    """Group ``contributions`` into reasons (only the reasons some contribution belongs to)."""
    baseline = 0.0
    groups: dict[str, list[Contribution]] = {key: [] for key in REASONS}
    for c in contributions:
        if c.signal == BASELINE:
            baseline += c.value
        else:
            groups[REASON_OF[c.signal]].append(c)
    reasons = []
    for key, parts in groups.items():
        if parts:
            total = sum(c.value for c in parts)
            reasons.append(
                Reason(
                    key,
                    REASONS[key][audience],
                    total,
                    _best_evidence(parts, total),
                    tuple(c.signal for c in parts),
                )
            )
    return Explanation(baseline, tuple(reasons))


def _best_evidence(parts: list[Contribution], total: float) -> str:
    """The evidence of the contribution that pushes most in the direction of the reason's total
    (up for a reason that raises the score, down for one that lowers it), plain words first."""
    direction = -1.0 if total < 0 else 1.0
    plain = [c for c in parts if c.signal in PLAIN] or parts
    return max(plain, key=lambda c: direction * c.value).evidence
