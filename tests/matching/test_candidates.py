"""The shared heuristic scorer over CandidateFeatures, on hand-built features with hand-worked scores."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from scipy import sparse

from domain.models import StakeholderType
from matching.candidates import (
    CandidateFeatures,
    ScreenedOut,
    SignalBounds,
    adamic_adar_from_links,
    could_enter,
    explain_candidate,
    graph_bound_to_pass,
    pool_is_exact,
    rank_candidates,
    reference_regions_from,
    region_evidence,
    region_levels,
    select_top,
    unseen_score_bound,
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


def test_screened_out_candidates_bound_the_unseen_under_their_weights_and_by_graph_under_others() -> None:
    """Generic bound 0.5125 (see above). Screened-out candidates scored at most 0.55 under the
    default weights, with graph values up to 3: under those weights the bound is 0.55; under
    other weights their graph value replaces the unseen's 1.0."""
    screened = ScreenedOut.under(DEFAULT_WEIGHTS, 0.55, 3.0)
    bounds = SignalBounds(semantic=0.25, adamic_adar=1.0, region=0.75, screened=screened)
    f = features(aa=(1.0, 0.0), unseen=bounds)
    assert screened.applies_to(dict(reversed(list(DEFAULT_WEIGHTS.items()))))  # order does not matter
    assert unseen_score_bound(f, DEFAULT_WEIGHTS) == pytest.approx(0.55)
    other = {**DEFAULT_WEIGHTS, "graph": 0.6}
    # 0.4·0.25 + 0.6·3/4 + 0.15·0.75 + 0.15·1
    assert unseen_score_bound(f, other) == pytest.approx(0.8125)
    assert not pool_is_exact(f, DEFAULT_WEIGHTS, [0.6, 0.54], 2)
    assert pool_is_exact(f, DEFAULT_WEIGHTS, [0.6, 0.56], 2)
    # Reading more linked candidates cannot settle a pool the screened-out ones fail ...
    assert graph_bound_to_pass(f, DEFAULT_WEIGHTS, [0.6, 0.54], 2) is None
    # ... and passes where they pass: the floor is the one without them (0.6 at ε = 0.005).
    below = features(
        aa=(1.0, 0.0), unseen=replace(bounds, screened=ScreenedOut.under(DEFAULT_WEIGHTS, 0.4, 3.0))
    )
    assert graph_bound_to_pass(below, DEFAULT_WEIGHTS, [0.5, 0.47], 2, 0.005) == pytest.approx(0.6)
    # Under other weights a floor below their graph value would not cover them.
    assert graph_bound_to_pass(below, other, [0.9, 0.8], 2) is None


def test_screenings_joined_keep_the_higher_of_each_bound_under_the_same_weights_only() -> None:
    """A pool screened in steps (the graph settle, then the fill after widening) leaves out the
    candidates of every step: their joint bound is the higher score and the higher graph value."""
    first = ScreenedOut.under(DEFAULT_WEIGHTS, 0.55, 3.0)
    later = ScreenedOut.under(DEFAULT_WEIGHTS, 0.6, 1.5)
    joined = ScreenedOut.join(first, later)
    assert joined == ScreenedOut.under(DEFAULT_WEIGHTS, 0.6, 3.0) == ScreenedOut.join(later, first)
    assert ScreenedOut.join(first, None) is first and ScreenedOut.join(None, later) is later
    assert ScreenedOut.join(None, None) is None
    with pytest.raises(ValueError, match="different weights"):
        ScreenedOut.join(first, ScreenedOut.under({**DEFAULT_WEIGHTS, "graph": 0.6}, 0.5, 1.0))


def test_could_enter_is_the_complement_of_the_exactness_test() -> None:
    bounds = np.array([0.3, 0.5, 0.5 + 1e-13, 0.504, 0.506])
    assert could_enter(bounds, 0.5).tolist() == [False, True, True, True, True]  # ties may win at ε = 0
    assert could_enter(bounds, 0.5, 0.005).tolist() == [False, False, False, False, True]
    for b, enters in zip(bounds, could_enter(bounds, 0.5, 0.005), strict=True):
        f = features(unseen=SignalBounds(0.0, 0.0, 0.0, ScreenedOut.under(DEFAULT_WEIGHTS, float(b), 0.0)))
        assert pool_is_exact(f, DEFAULT_WEIGHTS, [0.5], 1, 0.005) is not bool(enters)
