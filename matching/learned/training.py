"""Training rows: hide-and-rank examples turned into the rows the learned model is fitted on.

Rows come from the same candidate pool and the same features the ranker uses when it serves a
query, so the model learns to order exactly the candidates it will later see.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matching.blas import single_threaded_blas
from matching.learned.context import SnapshotStats, query_context
from matching.learned.features import FEATURES, pair_features
from matching.learned.pools import PoolSizes, candidate_pool
from matching.types import PartnershipQuery


@dataclass
class TrainingReport:
    """What fitting saw, stored with the model: how many examples and rows, and the pool recall
    (the share of hidden members candidate generation found, the ceiling of any ranking)."""

    cases: int = 0
    rows: int = 0
    positives: int = 0
    positives_in_pool: int = 0
    hidden: int = 0

    @property
    def pool_recall(self) -> float:
        return self.positives_in_pool / self.hidden if self.hidden else 0.0


def training_rows(
    stats: SnapshotStats,
    examples: Sequence[tuple[PartnershipQuery, npt.NDArray[np.int64]]],
    sizes: PoolSizes,
    negatives_per_case: int,
    rng: np.random.Generator,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int64], TrainingReport]:
    """Features, labels (1 = hidden member) and example numbers of pooled candidates, as the ranker sees them.

    Every hidden member that candidate generation finds is kept; of the rest, up to
    ``negatives_per_case`` random pool members per example. Hidden members outside the pool are
    not rows (the ranker can never rank them) but count in the report's pool recall.
    """
    blocks: list[npt.NDArray[np.float64]] = []
    labels: list[npt.NDArray[np.float64]] = []
    groups: list[npt.NDArray[np.int64]] = []
    report = TrainingReport()
    n_orgs = stats.snapshot.n_orgs
    with single_threaded_blas():
        for n, (query, hidden) in enumerate(examples):
            ctx = query_context(stats, query)
            mask = np.ones(n_orgs, dtype=bool)
            mask[query.member_indices] = False
            pool = candidate_pool(stats, ctx, mask, sizes)
            is_pos = np.isin(pool, hidden)
            neg = np.flatnonzero(~is_pos)
            if len(neg) > negatives_per_case:
                neg = rng.choice(neg, negatives_per_case, replace=False)
            keep = np.concatenate([np.flatnonzero(is_pos), neg])
            blocks.append(pair_features(stats, ctx, pool[keep]))
            labels.append(is_pos[keep].astype(np.float64))
            groups.append(np.full(len(keep), n, dtype=np.int64))
            report.cases += 1
            report.hidden += len(hidden)
            report.positives_in_pool += int(is_pos.sum())
            if progress and (n % 50 == 0 or n == len(examples) - 1):
                progress(n + 1, len(examples))
    x = np.vstack(blocks) if blocks else np.zeros((0, len(FEATURES)))
    y = np.concatenate(labels) if labels else np.zeros(0)
    g = np.concatenate(groups) if groups else np.zeros(0, dtype=np.int64)
    return x, y, g, report


__all__ = ["TrainingReport", "training_rows"]
