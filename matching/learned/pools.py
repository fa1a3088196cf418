"""Candidate generation: the few thousand organisations the learned model scores for one query.

Scoring every organisation with a pair-feature model would cost too much at tens of thousands of
organisations, and most of them have no signal at all. The pool is the union of cheap generators,
each finding candidates the others miss: the text top-k, the graph neighbourhood of the members,
the most active organisations of the members' countries and overall, and newcomers (no
partnership yet) from the members' countries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matching.candidates import top_indices
from matching.learned.context import QueryContext, SnapshotStats, member_country_share


@dataclass(frozen=True)
class PoolSizes:
    """How many candidates each generator contributes (before the union removes duplicates)."""

    text: int = 300
    graph: int = 800
    country: int = 150
    popular: int = 100
    newcomers: int = 50  # organisations with no partnership yet, from the members' countries
    min_pool: int = 200  # when filters leave fewer, the best text matches inside the filters are added

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def candidate_pool(
    stats: SnapshotStats, ctx: QueryContext, mask: npt.NDArray[np.bool_], sizes: PoolSizes = PoolSizes()
) -> npt.NDArray[np.int64]:
    """Union of the candidate generators, restricted to ``mask`` (sorted org indices).

    Only one pass over all organisation vectors (the text top-k): at 40k × 384 float32 that pass is
    memory-bound and is the most expensive step of a query, so the members' profiles are compared
    on the pool only.
    """
    s = stats.snapshot
    parts: list[npt.NDArray[np.int64]] = []
    if ctx.text_reference is not None:
        ctx.text_scores = s.org_vectors @ ctx.text_reference
        parts.append(top_indices(ctx.text_scores.astype(np.float64), mask, sizes.text))
    raw = ctx.proximity.raw
    linked = np.flatnonzero((raw > 0) & mask)
    if len(linked) > sizes.graph:
        linked = linked[np.argpartition(-raw[linked], sizes.graph - 1)[: sizes.graph]]
    parts.append(linked.astype(np.int64))
    # Each member country contributes in proportion to its share of the members.
    for cid, share in zip(ctx.country_ids, ctx.country_share, strict=True):
        order = stats.country_order.get(int(cid))
        if order is not None:
            want = max(10, round(sizes.country * float(share)))
            head = order[: want * 2]
            parts.append(head[mask[head]][:want])
    head = stats.popular_order[: sizes.popular * 2]
    parts.append(head[mask[head]][: sizes.popular])
    parts.append(newcomer_pool(stats, ctx, mask, sizes.newcomers))
    # A flag array, not np.unique: one O(n) pass is cheaper than hashing a few thousand ids.
    flags = np.zeros(s.n_orgs, dtype=bool)
    for part in parts:
        flags[part] = True
    pool = np.flatnonzero(flags)
    if len(pool) < sizes.min_pool:
        fill = ctx.text_scores.astype(np.float64) if ctx.text_scores is not None else stats.log_popularity
        pool = np.union1d(pool, top_indices(fill, mask, sizes.min_pool))
    return pool.astype(np.int64)


def newcomer_pool(
    stats: SnapshotStats, ctx: QueryContext, mask: npt.NDArray[np.bool_], size: int
) -> npt.NDArray[np.int64]:
    """Organisations with no partnership yet, from the members' countries, members' types first.

    No other generator can find them (they have no links and no activity), yet a coordinator
    may want fresh partners (the ``min_newcomer_share`` quota picks from these). Ordered by the
    share of current members in their country plus 0.3 × the share of their stakeholder type.
    """
    fresh = stats.newcomers[mask[stats.newcomers]]
    if not size or not len(fresh) or not len(ctx.country_ids):
        return np.zeros(0, dtype=np.int64)
    share = member_country_share(ctx, stats.country[fresh])
    score = share + 0.3 * ctx.type_share[stats.snapshot.org_types[fresh]]
    fresh, score = fresh[share > 0], score[share > 0]
    if len(fresh) > size:
        keep = np.lexsort((fresh, -score))[:size]
        fresh = fresh[keep]
    return fresh.astype(np.int64)


__all__ = ["PoolSizes", "candidate_pool", "newcomer_pool"]
