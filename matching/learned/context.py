"""What the learned ranker computes once per snapshot and once per query.

Candidate generation, pair features and explanations all read the same per-organisation arrays
(activity, recency, countries) and the same per-query aggregates (the members' text reference,
countries and types, the graph proximity): computing them here once keeps a query fast at tens of
thousands of organisations and keeps the three stages consistent with each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matching.features import ProximitySignal, RegionSignal, graph_proximity
from matching.snapshot import NO_REGION, TYPE_ORDER, Snapshot
from matching.types import PartnershipQuery

RECENT_DAYS = 730
#: Recency weight of an earlier partnership: exp(−age / RECENCY_SCALE_DAYS), age counted back from
#: the newest start date in the history.
RECENCY_SCALE_DAYS = 365.0
#: The slower recency scale of ``graph_group_repeat_recent`` (consortia re-form over a funding cycle).
GROUP_RECENCY_SCALE_DAYS = 730.0


class SnapshotStats:
    """Per-snapshot quantities every query needs, computed once when a ranker is bound."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        pop = snapshot.org_popularity
        self.log_popularity = np.log1p(pop)
        self.no_history = (pop == 0).astype(np.float64)
        age = _partnership_age_days(snapshot)
        recent = (age <= RECENT_DAYS).astype(np.float32)
        self.log_recent = np.log1p(np.asarray(snapshot.membership @ recent).ravel().astype(np.float64))
        self.recency_weight = np.exp(-age / RECENCY_SCALE_DAYS)
        self.group_recency_weight = np.exp(-age / GROUP_RECENCY_SCALE_DAYS)
        # Both only ever divide: floored at 1 so empty partnerships and organisations divide safely.
        size = np.asarray(snapshot.membership.sum(axis=0)).ravel().astype(np.float64)
        self.partnership_size = np.maximum(size, 1.0)
        self.inv_popularity = 1.0 / np.maximum(pop, 1.0)
        coordinated = np.asarray(snapshot.coordinators.sum(axis=1)).ravel().astype(np.float64)
        self.coordinator_rate = coordinated * self.inv_popularity
        type_counts = np.bincount(snapshot.org_types, weights=pop, minlength=len(TYPE_ORDER))
        total = float(type_counts.sum())
        self.type_share_all = type_counts / total if total else np.full(len(TYPE_ORDER), 1 / len(TYPE_ORDER))
        self.log_type_prior = np.log(self.type_share_all + 1e-3)
        self.country = snapshot.org_regions[:, 0]
        self.sme = (snapshot.org_sme == 1).astype(np.float64)
        order = np.lexsort((np.arange(snapshot.n_orgs), -pop))
        self.popular_order = order[pop[order] > 0]
        # The regional pool: per country id, its organisations by decreasing activity.
        by_country: dict[int, list[int]] = {}
        for i in self.popular_order:
            c = int(self.country[i])
            if c != NO_REGION:
                by_country.setdefault(c, []).append(int(i))
        self.country_order = {c: np.asarray(v, dtype=np.int64) for c, v in by_country.items()}
        self.newcomers = np.flatnonzero(pop == 0)
        _ = snapshot.org_degree  # warm the Adamic–Adar degrees


def _partnership_age_days(snapshot: Snapshot) -> npt.NDArray[np.float64]:
    """Days between each partnership's start and the newest start among partnerships with members.

    Undated partnerships count as old (infinitely so: recency weight 0); partnerships that start
    after the newest (a test project's empty column) count as age 0.
    """
    starts = snapshot.partnership_start
    used = np.asarray(snapshot.membership.sum(axis=0)).ravel() > 0
    dated = [d for d, u in zip(starts, used, strict=True) if d is not None and u]
    if not dated:
        return np.full(snapshot.n_partnerships, np.inf)
    newest = max(dated)
    return np.array(
        [max(0, (newest - d).days) if d is not None else np.inf for d in starts], dtype=np.float64
    )


@dataclass
class QueryContext:
    """Everything computed once per query and reused by feature extraction and explanations."""

    query: PartnershipQuery
    members: npt.NDArray[np.int64]  # visible members with a vector (for text features)
    text_reference: npt.NDArray[np.float32] | None
    text_source: str
    proximity: ProximitySignal
    overlap: npt.NDArray[np.float64]  # per partnership: how many current members it had
    country_share: npt.NDArray[np.float64]  # per country id in ``country_ids``
    country_ids: npt.NDArray[np.int32]
    type_share: npt.NDArray[np.float64]  # per stakeholder type: share of current members
    region: RegionSignal | None = None
    text_scores: npt.NDArray[np.float32] | None = None  # over all organisations, once computed


def query_context(stats: SnapshotStats, query: PartnershipQuery) -> QueryContext:
    """The query's aggregates: text reference (partnership text, else members' centroid), member
    countries and types, graph proximity and per-partnership member overlap."""
    s = stats.snapshot
    members = np.asarray(query.member_indices, dtype=np.int64)
    with_vec = members[s.org_has_vector[members]] if len(members) else members
    reference, source = None, "none"
    if query.vector is not None and np.any(query.vector) and query.vector.shape[0] == s.org_vectors.shape[1]:
        reference, source = query.vector.astype(np.float32), "partnership text"
    elif len(with_vec):
        centroid = s.org_vectors[with_vec].mean(axis=0)
        norm = float(np.linalg.norm(centroid))
        if norm > 0:
            reference, source = (centroid / norm).astype(np.float32), "members' profiles"
    countries = stats.country[members] if len(members) else np.zeros(0, dtype=np.int32)
    countries = countries[countries != NO_REGION]
    ids, counts = np.unique(countries, return_counts=True)
    share = counts / len(members) if len(members) else counts.astype(np.float64)
    overlap = np.asarray(s.membership[members].sum(axis=0)).ravel().astype(np.float64)
    type_counts = np.bincount(s.org_types[members], minlength=len(TYPE_ORDER))
    return QueryContext(
        query=query,
        members=with_vec,
        text_reference=reference,
        text_source=source,
        proximity=graph_proximity(s, query),
        overlap=overlap,
        country_share=share.astype(np.float64),
        country_ids=ids.astype(np.int32),
        type_share=type_counts / max(1, len(members)),
    )


def member_country_share(ctx: QueryContext, countries: npt.NDArray[np.int32]) -> npt.NDArray[np.float64]:
    """For each country id, the share of the query's current members located there (0 elsewhere)."""
    if not len(ctx.country_ids):
        return np.zeros(len(countries))
    pos = np.clip(np.searchsorted(ctx.country_ids, countries), 0, len(ctx.country_ids) - 1)
    return np.where(ctx.country_ids[pos] == countries, ctx.country_share[pos], 0.0)


__all__ = ["QueryContext", "SnapshotStats", "member_country_share", "query_context"]
