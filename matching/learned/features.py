"""Pair features: what the learned model knows about one candidate for one partnership.

:data:`FEATURES` lists them in the order of the model's columns (a stored model names them, so a
renamed or reordered feature is refused rather than silently misread). Each is computed for the
whole candidate pool at once from the per-snapshot and per-query context. A new feature needs
its column here and its evidence row in :data:`matching.learned.explain.EVIDENCE`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from matching.features import REGION_TIERS, reference_regions
from matching.learned.context import QueryContext, SnapshotStats, member_country_share
from matching.snapshot import NO_REGION, Snapshot
from matching.types import PartnershipQuery

FEATURES: tuple[str, ...] = (
    "text_partnership",  # cosine to the partnership text (members' centroid when it has none)
    "text_members_max",  # cosine to the most similar current member
    "text_members_mean",  # cosine to the members' centroid
    "graph_adamic_adar",  # log(1 + Adamic–Adar index to the members)
    "graph_common_members",  # share of current members it worked with before
    "graph_shared_partnerships",  # log(1 + partnerships shared with current members, counted per member)
    "graph_best_overlap",  # most current members met in one earlier partnership, as a share of them
    "graph_consortium_share",  # largest share of an earlier partnership's members that are current members
    "graph_recent_shared",  # log(1 + shared partnerships with current members, weighted by recency)
    "graph_group_repeat",  # log(1 + Σ over its earlier partnerships of overlap³ / size): reunions of several members
    "graph_group_overlap",  # log(1 + Σ overlap² / √size): the same, gentler on size
    "graph_group_repeat_recent",  # graph_group_repeat weighted by recency (two-year scale)
    "graph_random_walk",  # log(1 + 1000 · P(three-step walk member → partnership → it)), popularity-neutral
    "graph_confidence_max",  # max over current members of the share of the member's partnerships it joined
    "graph_confidence_sum",  # the same shares, summed over current members
    "graph_loyalty_max",  # max over current members of the share of its own partnerships shared with them
    "graph_loyalty",  # share of its partnerships shared with current members, counted per member
    "popularity",  # log(1 + partnerships)
    "recent_activity",  # log(1 + partnerships that started in the last two years of history)
    "no_history",  # 1 when it has no partnership at all
    "country_share",  # share of current members in its country
    "country_popularity",  # country_share × popularity: the active organisations of member countries
    "region_fit",  # NUTS closeness to the members' (or the scope's) regions, 0..1
    "type_share",  # share of current members of its stakeholder type
    "type_prior",  # log share of its stakeholder type among all memberships
    "sme",  # 1 SME, 0 not or unknown
    "coordinator_rate",  # share of its partnerships it coordinated
)


def pair_features(
    stats: SnapshotStats, ctx: QueryContext, pool: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """The (len(pool) × len(FEATURES)) feature matrix for one query."""
    s = stats.snapshot
    n = len(pool)
    x = np.zeros((n, len(FEATURES)), dtype=np.float64)
    if n == 0:
        return x
    col = {name: f for f, name in enumerate(FEATURES)}
    vecs = s.org_vectors[pool]
    if ctx.text_reference is not None:
        x[:, col["text_partnership"]] = vecs @ ctx.text_reference
    if len(ctx.members):
        member_vecs = s.org_vectors[ctx.members]
        x[:, col["text_members_max"]] = (vecs @ member_vecs.T).max(axis=1)
        centroid = member_vecs.mean(axis=0)
        norm = float(np.linalg.norm(centroid))
        if norm > 0:
            x[:, col["text_members_mean"]] = vecs @ (centroid / norm)
    prox = ctx.proximity
    n_members = max(1, len(ctx.query.member_indices))
    links = prox.links[pool]
    x[:, col["graph_adamic_adar"]] = np.log1p(prox.raw[pool])
    x[:, col["graph_common_members"]] = np.diff(links.indptr) / n_members
    shared = np.asarray(links.sum(axis=1)).ravel()  # per candidate: partnerships shared, per member
    x[:, col["graph_shared_partnerships"]] = np.log1p(shared)
    rows = s.membership[pool]  # (pool × partnerships): the candidates' own earlier partnerships
    if rows.nnz:
        overlap = rows.multiply(ctx.overlap[None, :]).tocsr()
        x[:, col["graph_best_overlap"]] = overlap.max(axis=1).toarray().ravel() / n_members
        x[:, col["graph_consortium_share"]] = (
            rows.multiply((ctx.overlap / stats.partnership_size)[None, :])
            .tocsr()
            .max(axis=1)
            .toarray()
            .ravel()
        )
        x[:, col["graph_recent_shared"]] = np.log1p(overlap @ stats.recency_weight)
        _group_features(stats, ctx, rows, x, col)
    _member_link_features(stats, ctx, pool, links, shared, x, col)
    x[:, col["popularity"]] = stats.log_popularity[pool]
    x[:, col["recent_activity"]] = stats.log_recent[pool]
    x[:, col["no_history"]] = stats.no_history[pool]
    x[:, col["country_share"]] = member_country_share(ctx, stats.country[pool])
    x[:, col["country_popularity"]] = x[:, col["country_share"]] * x[:, col["popularity"]]
    x[:, col["region_fit"]] = _region_fit_pool(s, ctx.query, pool)
    types = s.org_types[pool]
    x[:, col["type_share"]] = ctx.type_share[types]
    x[:, col["type_prior"]] = stats.log_type_prior[types]
    x[:, col["sme"]] = stats.sme[pool]
    x[:, col["coordinator_rate"]] = stats.coordinator_rate[pool]
    return x


def _group_features(
    stats: SnapshotStats,
    ctx: QueryContext,
    rows: Any,
    x: npt.NDArray[np.float64],
    col: dict[str, int],
) -> None:
    """Features of the earlier partnerships that brought several current members together.

    Consortia re-form: a partnership that had three of the current members is a much stronger hint
    about its other members than three partnerships with one member each. Overlap is raised to a
    power and divided by size (a large partnership is a weaker hint about any one of its members).
    ``rows`` are the pool's rows of the membership matrix.
    """
    size = stats.partnership_size
    ov = ctx.overlap
    repeat = ov**3 / size
    x[:, col["graph_group_repeat"]] = np.log1p(rows @ repeat)
    x[:, col["graph_group_overlap"]] = np.log1p(rows @ (ov**2 / np.sqrt(size)))
    x[:, col["graph_group_repeat_recent"]] = np.log1p(rows @ (repeat * stats.group_recency_weight))
    members = ctx.query.member_indices
    if len(members):
        # P3 random walk (Cooper et al. 2014): member → one of its partnerships → one of that
        # partnership's members, each step uniform. Scaled by 1000 before the log so typical
        # probabilities (1e-4..1e-1) spread out.
        step = np.asarray(stats.snapshot.membership[members].T @ stats.inv_popularity[members]).ravel()
        x[:, col["graph_random_walk"]] = np.log1p(1000.0 * (rows @ (step / size)))


def _member_link_features(
    stats: SnapshotStats,
    ctx: QueryContext,
    pool: npt.NDArray[np.int64],
    links: Any,
    shared: npt.NDArray[np.float64],
    x: npt.NDArray[np.float64],
    col: dict[str, int],
) -> None:
    """Association-rule style shares from the (pool × members) counts of shared partnerships.

    ``confidence``: of a member's partnerships, the share the candidate was in (how much the member
    relies on it); ``loyalty``: of the candidate's partnerships, the share with that member (how much
    it relies on the member). Adamic–Adar counts neither direction's base rate.
    """
    members = ctx.query.member_indices
    if not len(members) or links.nnz == 0:
        return
    conf = links.multiply(stats.inv_popularity[members][None, :]).tocsr()
    x[:, col["graph_confidence_max"]] = conf.max(axis=1).toarray().ravel()
    x[:, col["graph_confidence_sum"]] = np.asarray(conf.sum(axis=1)).ravel()
    own = stats.inv_popularity[pool]
    x[:, col["graph_loyalty_max"]] = links.max(axis=1).toarray().ravel() * own
    x[:, col["graph_loyalty"]] = shared * own


def _region_fit_pool(
    s: Snapshot, query: PartnershipQuery, pool: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """:func:`matching.features.regional_fit` values for the pool only (same tiers, same rules)."""
    refs, _ = reference_regions(s, query)
    level = np.full(len(pool), -1, dtype=np.int8)
    if refs:
        regions = s.org_regions[pool]
        for lv in range(4):
            inside = [s.regions.lookup(c) for c in refs if len(c) - 2 == lv]
            inside = [i for i in inside if i != NO_REGION]
            if inside:
                level[np.isin(regions[:, lv], inside)] = 3
        for lv in (2, 1, 0):
            shared = {s.regions.lookup(c[: lv + 2]) for c in refs if len(c) - 2 > lv}
            shared.discard(NO_REGION)
            if shared:
                level[np.isin(regions[:, lv], list(shared)) & (level < lv)] = lv
    tiers = np.array([0.0, *[REGION_TIERS[lv] for lv in (0, 1, 2, 3)]])
    return tiers[level.astype(np.int64) + 1]


__all__ = ["FEATURES", "pair_features"]
