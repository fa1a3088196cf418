"""Ranking metrics for hide-and-rank evaluation.

Each function takes one ranked list (best first) and the set of hidden members. NDCG comes from
scikit-learn (``ndcg_score``); recall@k, reciprocal rank and catalogue coverage are written out
here because scikit-learn has no list-based form of them (``top_k_accuracy_score`` is about
class labels, ``label_ranking_average_precision_score`` is average precision, not MRR).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence

import numpy as np
from sklearn.metrics import ndcg_score


def recall_at_k(ranked: Sequence[int], relevant: Collection[int], k: int) -> float:
    """Share of the relevant items found in the first ``k`` of ``ranked``.

    >>> recall_at_k([5, 1, 7], {1, 9}, 2)
    0.5
    """
    if not relevant:
        raise ValueError("recall needs at least one relevant item")
    return len(set(ranked[:k]) & set(relevant)) / len(relevant)


def ndcg_at_k(ranked: Sequence[int], relevant: Collection[int], k: int) -> float:
    """Normalised discounted cumulative gain of the first ``k`` items, binary relevance.

    The ranked list is turned into strictly decreasing scores; relevant items that were not
    recommended are appended with scores below every recommended item (and below ``k`` filler
    items when the list is shorter than ``k``), so they count in the ideal DCG but never in the DCG.
    """
    if not relevant:
        raise ValueError("NDCG needs at least one relevant item")
    shown = list(dict.fromkeys(ranked[:k]))
    relevant_set = set(relevant)
    missing = [r for r in relevant_set if r not in shown]
    fillers = max(0, k - len(shown))
    n = len(shown) + fillers + len(missing)
    y_true = np.zeros(n)
    y_true[: len(shown)] = [1.0 if r in relevant_set else 0.0 for r in shown]
    y_true[len(shown) + fillers :] = 1.0
    y_score = np.arange(n, 0, -1, dtype=np.float64)  # strictly decreasing: no ties to average over
    if n < 2:  # scikit-learn refuses a single document; one relevant item shown first is perfect
        return float(y_true[0])
    return float(ndcg_score(y_true[None, :], y_score[None, :], k=k, ignore_ties=True))


def reciprocal_rank(ranked: Sequence[int], relevant: Collection[int]) -> float:
    """1 / (position of the first relevant item), 0 when none is in the list.

    >>> reciprocal_rank([4, 2, 8], {8})
    0.3333333333333333
    """
    relevant_set = set(relevant)
    for pos, item in enumerate(ranked):
        if item in relevant_set:
            return 1.0 / (pos + 1)
    return 0.0


def catalogue_coverage(top_lists: Iterable[Iterable[int]], catalogue_size: int) -> float:
    """Share of the catalogue that appears in at least one top list (a long-tail measure)."""
    if catalogue_size <= 0:
        raise ValueError("the catalogue is empty")
    seen: set[int] = set()
    for items in top_lists:
        seen.update(items)
    return len(seen) / catalogue_size


def shares(labels: Iterable[str]) -> dict[str, float]:
    """Share of each label in a multiset of labels, largest first."""
    counts = Counter(labels)
    total = sum(counts.values())
    if not total:
        return {}
    return {key: n / total for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))}


def total_variation(p: dict[str, float], q: dict[str, float]) -> float:
    """Total variation distance between two share distributions (0 same, 1 disjoint)."""
    return 0.5 * sum(abs(p.get(key, 0.0) - q.get(key, 0.0)) for key in set(p) | set(q))
