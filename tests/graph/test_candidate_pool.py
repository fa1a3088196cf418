"""CandidatePool: a candidate query's growing pool, converted once per row, built many times."""

from __future__ import annotations

import math

import numpy as np

from domain.models import StakeholderType
from graph.candidate_pool import CandidatePool, PoolFrame
from matching.candidates import SignalBounds
from matching.snapshot import NO_REGION, TYPE_ORDER


def _frame(semantic_source: str = "partnership text") -> PoolFrame:
    return PoolFrame.of(
        ["m1", "m2"],
        ["Member 1", "Member 2"],
        ["sme", "higher_education"],
        semantic_source=semantic_source,
        reference_regions=("DE1",),
        region_source="scope",
        allowed_types=(StakeholderType.SME, "higher_education"),
    )


def test_features_are_ordered_by_id_with_each_rows_columns() -> None:
    pool = CandidatePool(_frame(), {"#b": 0.7})
    pool.add(["c", "C", "higher_education", ["FR", "FR1", "FR10", "FR101"], "#c"], 0.9)
    pool.add(["b", "B", "sme", ["DE", "DE1"], "#b"], 0.25)
    pool.add(["a", "A", "other", None, "#a"], float("nan"))
    f = pool.features(SignalBounds(semantic=0.1, adamic_adar=0.2))
    assert f.org_ids == ["a", "b", "c"] and f.names == ["A", "B", "C"]
    assert [TYPE_ORDER[t].value for t in f.types] == ["other", "sme", "higher_education"]
    assert f.semantic.tolist() == [0.0, 0.25, 0.9]  # no vector (NaN) counts as 0
    assert f.adamic_adar.tolist() == [0.0, 0.7, 0.0]
    vocab = f.region_vocab
    assert f.regions[0].tolist() == [NO_REGION] * 4
    assert f.regions[1].tolist() == [vocab.lookup("DE"), vocab.lookup("DE1"), NO_REGION, NO_REGION]
    assert [vocab.codes[i] for i in f.regions[2]] == ["FR", "FR1", "FR10", "FR101"]
    assert f.unseen == SignalBounds(semantic=0.1, adamic_adar=0.2)
    assert f.member_type_counts.sum() == 2 and f.links.shape == (3, 2)
    assert f.allowed_types == (
        TYPE_ORDER.index(StakeholderType.SME),
        TYPE_ORDER.index(StakeholderType.HIGHER_EDUCATION),
    )


def test_a_candidate_seen_again_keeps_one_row_and_takes_the_later_similarity() -> None:
    pool = CandidatePool(_frame(), {})
    pool.add(["a", "A", "sme", ["DE"], "#a"], 0.4)
    pool.add(["a", "A", "sme", ["DE"], "#a"], 0.5)
    assert len(pool) == 1 and "a" in pool and "b" not in pool
    assert pool.features(None).semantic.tolist() == [0.5]
    assert pool.element_id("a") == "#a" and pool.element_ids() == {"#a"}


def test_a_pool_builds_again_after_it_grows_and_pools_can_share_region_ids() -> None:
    pool = CandidatePool(_frame(), {})
    pool.add(["b", "B", "sme", ["DE", "DE1"], "#b"], 0.2)
    first = pool.features(None)
    pool.add(["a", "A", "sme", ["FR", "FR1"], "#a"], 0.3)
    second = pool.features(None)
    assert first.org_ids == ["b"] and second.org_ids == ["a", "b"]
    assert second.regions[1].tolist() == first.regions[0].tolist()  # ids stay valid as the pool grows
    screen = CandidatePool(_frame(), {}, pool.vocab)
    screen.add(["z", "Z", "sme", ["FR", "FR1"], "#z"], 0.1)
    assert screen.features(None).regions[0].tolist() == second.regions[0].tolist()


def test_without_a_text_reference_every_similarity_is_zero() -> None:
    pool = CandidatePool(_frame("none"), {})
    pool.add(["a", "A", "sme", None, "#a"], 0.8)
    assert pool.features(None).semantic.tolist() == [0.0]


def test_an_empty_pool_builds_empty_features() -> None:
    f = CandidatePool(_frame(), {}).features(SignalBounds(semantic=1.0, adamic_adar=math.inf))
    assert f.org_ids == [] and f.regions.shape == (0, 4) and np.size(f.semantic) == 0
