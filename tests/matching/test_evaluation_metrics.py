"""Ranking metrics on tiny lists whose values were worked out by hand."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matching.evaluation.metrics import (
    catalogue_coverage,
    ndcg_at_k,
    recall_at_k,
    reciprocal_rank,
    shares,
    total_variation,
)

RANKED = [10, 11, 12, 13]  # relevant: 11 and 13


def test_recall_at_k() -> None:
    assert recall_at_k(RANKED, {11, 13}, 1) == 0.0
    assert recall_at_k(RANKED, {11, 13}, 2) == 0.5
    assert recall_at_k(RANKED, {11, 13}, 4) == 1.0
    assert recall_at_k(RANKED, {11, 99}, 50) == 0.5  # 99 was never recommended


def test_ndcg_by_hand() -> None:
    # DCG@2 = 1/log2(3); ideal DCG@2 = 1 + 1/log2(3)
    assert ndcg_at_k(RANKED, {11, 13}, 2) == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    # DCG@4 = 1/log2(3) + 1/log2(5); the ideal is unchanged (two relevant items)
    assert ndcg_at_k(RANKED, {11, 13}, 4) == pytest.approx(
        (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    )
    assert ndcg_at_k([5, 6], {5}, 10) == pytest.approx(1.0)
    assert ndcg_at_k([5, 6], {7}, 10) == 0.0


def test_ndcg_counts_unrecommended_relevant_items_in_the_ideal_only() -> None:
    # List shorter than k, one hit at rank 2, one relevant item never shown.
    expected = (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    assert ndcg_at_k([1, 2], {2, 99}, 10) == pytest.approx(expected)


def test_reciprocal_rank() -> None:
    assert reciprocal_rank(RANKED, {12}) == pytest.approx(1 / 3)
    assert reciprocal_rank(RANKED, {13, 11}) == 0.5  # the first hit counts
    assert reciprocal_rank(RANKED, {99}) == 0.0


def test_coverage_and_shares() -> None:
    assert catalogue_coverage([[1, 2], [2, 3]], 10) == pytest.approx(0.3)
    assert shares(["DE", "DE", "FR", "IT"]) == {"DE": 0.5, "FR": 0.25, "IT": 0.25}
    assert total_variation({"DE": 1.0}, {"DE": 0.5, "FR": 0.5}) == pytest.approx(0.5)
    assert total_variation({"DE": 1.0}, {"FR": 1.0}) == pytest.approx(1.0)


def test_empty_relevance_is_an_error() -> None:
    with pytest.raises(ValueError, match="relevant"):
        recall_at_k([1], set(), 10)
    with pytest.raises(ValueError, match="relevant"):
        ndcg_at_k([1], set(), 10)
    with pytest.raises(ValueError, match="catalogue"):
        catalogue_coverage([[1]], 0)


@given(
    ranked=st.lists(st.integers(0, 30), min_size=1, max_size=30, unique=True),
    relevant=st.sets(st.integers(0, 30), min_size=1, max_size=10),
    k=st.integers(1, 40),
)
def test_metrics_stay_in_range_and_agree(ranked: list[int], relevant: set[int], k: int) -> None:
    r = recall_at_k(ranked, relevant, k)
    n = ndcg_at_k(ranked, relevant, k)
    assert 0.0 <= r <= 1.0
    assert 0.0 <= n <= 1.0 + 1e-12
    assert (r == 0.0) == (n == 0.0)  # both see a hit in the top k, or neither does
    if set(ranked[:k]) >= relevant or (
        set(ranked[:k]) & relevant and len(relevant) == 1 and ranked[0] in relevant
    ):
        assert r == 1.0
