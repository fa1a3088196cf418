"""The shared heuristic scorer over CandidateFeatures, on hand-built features with hand-worked scores."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import sparse

from domain.models import StakeholderType
from matching.candidates import (
    CandidateFeatures,
    SignalBounds,
    adamic_adar_from_links,
    explain_candidate,
    graph_bound_to_pass,
    graph_evidence,
    pool_is_exact,
    rank_candidates,
    reference_regions_from,
    region_evidence,
    region_levels,
    select_top,
    top_indices,
    unseen_score_bound,
    with_graph_evidence,
)
from matching.recommender import DEFAULT_WEIGHTS, HeuristicRecommender, query_for_partnership
from matching.snapshot import NO_REGION, TYPE_ORDER, RegionVocabulary, Snapshot
from tests.matching.test_features import snap  # noqa: F401  (fixture)

SME = TYPE_ORDER.index(StakeholderType.SME)
VET = TYPE_ORDER.index(StakeholderType.VET_PROVIDER)


def features(
    *, aa: tuple[float, ...] = (0.0, 0.0), unseen: SignalBounds | None = None, allowed: tuple[int, ...] = ()
) -> CandidateFeatures:
    """Two candidates x (SME in DE111) and y (VET provider in FR101); members: one SME in DE111."""
    vocab = RegionVocabulary()
    regions = np.full((2, 4), NO_REGION, dtype=np.int32)
    for row, code in enumerate(("DE111", "FR101")):
        for level in range(4):
            regions[row, level] = vocab.id(code[: level + 2])
    links = (
        sparse.csr_matrix(np.array([[2.0], [0.0]], dtype=np.float32)) if aa[0] else sparse.csr_matrix((2, 1))
    )
    counts = np.zeros(len(TYPE_ORDER), dtype=np.int64)
    counts[SME] = 1
    return CandidateFeatures(
        org_ids=["x", "y"],
        names=["Org x", "Org y"],
        types=np.array([SME, VET], dtype=np.int16),
        regions=regions,
        region_vocab=vocab,
        semantic=np.array([0.5, 0.8]),
        semantic_source="partnership text",
        adamic_adar=np.array(aa, dtype=np.float64),
        links=links,
        member_ids=["m"],
        member_names=["Member m"],
        reference_regions=("DE11",),
        region_source="scope",
        member_type_counts=counts,
        unseen=unseen,
        allowed_types=allowed,
    )


def test_scores_and_evidence_by_hand() -> None:
    f = features(aa=(1.0, 0.0))
    ranked = rank_candidates(f, DEFAULT_WEIGHTS, 10, "heuristic-v1")
    # x: 0.4·0.5 + 0.3·(1/2) + 0.15·1.0 (inside DE11) + 0.15·(1 − 1/1) = 0.5
    # y: 0.4·0.8 + 0 + 0 (FR is outside DE11) + 0.15·1.0 (no VET provider yet) = 0.47
    assert [r.org_id for r in ranked] == ["x", "y"]
    assert ranked[0].score == pytest.approx(0.5) and ranked[1].score == pytest.approx(0.47)
    evidence = {c.signal: c.evidence for c in ranked[0].contributions}
    assert (
        evidence["graph"] == "worked with 1 current member(s) in other partnerships, e.g. Member m (2 shared)"
    )
    assert evidence["region"].startswith("inside DE11 ")
    assert evidence["type"] == "SME: already 1 of 1 members"
    assert {c.signal: c.evidence for c in ranked[1].contributions}["region"] == "outside the scope regions"


def test_select_top_respects_the_eligible_mask_and_breaks_ties_by_row() -> None:
    f = features()
    rows, scores = select_top(f, DEFAULT_WEIGHTS, 1, mask=np.array([False, True]))
    assert rows.tolist() == [1] and scores[0] == pytest.approx(0.47)


def test_top_indices_breaks_ties_at_the_cut_by_index() -> None:
    """argpartition alone keeps an arbitrary few of the scores tied with the k-th."""
    rng = np.random.default_rng(1)
    for _ in range(200):
        scores = rng.integers(0, 4, size=rng.integers(1, 60)).astype(np.float64)
        mask = rng.random(len(scores)) < 0.8
        k = int(rng.integers(1, 10))
        allowed = np.flatnonzero(mask)
        expected = allowed[np.lexsort((allowed, -scores[allowed]))][:k]
        assert top_indices(scores, mask, k).tolist() == expected.tolist()


def test_unseen_bound_and_exactness_by_hand() -> None:
    bounds = SignalBounds(semantic=0.25, adamic_adar=1.0, region=0.75)
    f = features(aa=(1.0, 0.0), unseen=bounds)
    # 0.4·0.25 + 0.3·0.5 + 0.15·0.75 + 0.15·1 (a type the members lack) = 0.5125
    assert unseen_score_bound(f, DEFAULT_WEIGHTS) == pytest.approx(0.5125)
    assert not pool_is_exact(f, DEFAULT_WEIGHTS, [0.5, 0.47], 2)  # x's 0.5 could be beaten
    assert pool_is_exact(f, DEFAULT_WEIGHTS, [0.6], 1)
    assert not pool_is_exact(f, DEFAULT_WEIGHTS, [0.6], 2)  # fewer than k found: unseen ones may fill
    # With a tolerance ε, a bound within ε above the k-th score is accepted: 0.47 + 0.05 ≥ 0.5125.
    assert pool_is_exact(f, DEFAULT_WEIGHTS, [0.5, 0.47], 2, tolerance=0.05)
    assert not pool_is_exact(f, DEFAULT_WEIGHTS, [0.5, 0.47], 2, tolerance=0.04)
    # Only SMEs allowed: the best unseen type value is 1 − 1/1 = 0.
    only_sme = features(aa=(1.0, 0.0), unseen=bounds, allowed=(SME,))
    assert unseen_score_bound(only_sme, DEFAULT_WEIGHTS) == pytest.approx(0.3625)
    assert pool_is_exact(features(), DEFAULT_WEIGHTS, [], 5)  # no unseen organisations at all


def test_features_reject_inconsistent_lengths() -> None:
    f = features()
    with pytest.raises(ValueError, match="number of candidates"):
        CandidateFeatures(**{**f.__dict__, "names": ["only one"]})
    with pytest.raises(ValueError, match="columns"):
        CandidateFeatures(**{**f.__dict__, "member_names": []})


def test_region_evidence_ignores_references_unknown_to_the_vocabulary() -> None:
    vocab = RegionVocabulary()
    row = np.array([vocab.id("PT"), NO_REGION, NO_REGION, NO_REGION], dtype=np.int32)
    # CZ010 is unknown to this vocabulary: its NO_REGION id must not "match" PT's missing levels.
    assert region_evidence(3, row, vocab, ("CZ010", "PT"), "members") == "inside PT Portugal (members)"
    levels = region_levels(row.reshape(1, 4), vocab, ("CZ010", "PT"))
    assert levels.tolist() == [3]


def test_reference_regions_from_scope_then_members() -> None:
    assert reference_regions_from(("DE1",), ["FR101"]) == (("DE1",), "scope")
    assert reference_regions_from((), ["FR101", None, "DE11", "FR101"]) == (("DE11", "FR101"), "members")
    assert reference_regions_from((), [None]) == ((), "none")


def test_snapshot_path_goes_through_the_shared_scorer(snap: Snapshot) -> None:  # noqa: F811
    rec = HeuristicRecommender().fit(snap)
    query = query_for_partnership(snap, "P")
    f = rec.features(query)
    assert f.member_ids == ["a", "b"] and not f.eligible[snap.org_index["a"]]
    by_scorer = rank_candidates(f, rec.weights, 3, rec.name)
    assert by_scorer == rec.recommend(query, top_k=3)
    c = snap.org_index["c"]
    aa = 1 / math.log(3) + 1 / math.log(2)
    assert f.adamic_adar[c] == pytest.approx(aa)
    assert explain_candidate(f, c, rec.weights, rec.name) == rec.explain(query, "c")


def test_adamic_adar_from_links_by_hand() -> None:
    """Members z1 (3 co-members) and z2 (1 co-member, so log max(2, 1) = log 2) both link c1."""
    aa = adamic_adar_from_links([("z2", 1, ["c1"]), ("z1", 3, ["c1", "c2"])])
    assert aa == {
        "c1": pytest.approx(1 / math.log(3) + 1 / math.log(2)),
        "c2": pytest.approx(1 / math.log(3)),
    }
    assert adamic_adar_from_links([]) == {} and adamic_adar_from_links([("z", 5, [])]) == {}


def test_graph_bound_to_pass_by_hand() -> None:
    """The other bounds leave 0.4·0.25 + 0.15·0.75 + 0.15·1 = 0.3625; the graph term gets the rest."""
    f = features(aa=(1.0, 0.0), unseen=SignalBounds(semantic=0.25, adamic_adar=1.0, region=0.75))
    # ε = 0.005: 0.3·q = 0.47 + 0.005 − 0.3625 → q = 0.375 → AA ≤ q / (1 − q) = 0.6
    assert graph_bound_to_pass(f, DEFAULT_WEIGHTS, [0.5, 0.47], 2, 0.005) == pytest.approx(0.6)
    # strict (ε = 0): a hair below 0.1075 / 0.3 / (1 − 0.1075 / 0.3); the test then passes with it
    strict = graph_bound_to_pass(f, DEFAULT_WEIGHTS, [0.5, 0.47], 2)
    assert strict == pytest.approx(0.35833 / 0.64167, rel=1e-4)
    assert strict is not None
    settled = features(aa=(1.0, 0.0), unseen=SignalBounds(semantic=0.25, adamic_adar=strict, region=0.75))
    assert pool_is_exact(settled, DEFAULT_WEIGHTS, [0.5, 0.47], 2)
    assert graph_bound_to_pass(f, DEFAULT_WEIGHTS, [0.35], 1) is None  # fails without any graph term
    assert graph_bound_to_pass(f, DEFAULT_WEIGHTS, [0.6], 2) is None  # fewer than k in the pool
    assert graph_bound_to_pass(f, DEFAULT_WEIGHTS, [0.7], 1) == math.inf  # room beyond the whole weight
    assert graph_bound_to_pass(features(), DEFAULT_WEIGHTS, [0.5], 1) is None  # nothing unseen


def test_graph_evidence_counts_partnerships_shared_with_each_member() -> None:
    f = features()
    partnerships = {"x": {"P1", "P2", "P3"}, "y": {"P9"}, "m": {"P1", "P2"}}
    links = with_graph_evidence(f, [0, 1], partnerships).links
    assert links.toarray().tolist() == [[2.0], [0.0]]
    assert graph_evidence(links, f.member_names, 0) == (
        "worked with 1 current member(s) in other partnerships, e.g. Member m (2 shared)"
    )
