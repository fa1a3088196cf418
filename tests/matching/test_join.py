"""Partnerships an organisation could join: a tiny graph worked out by hand, and agreement with the
candidate ranker (the same pair scores the same from either side) on a synthetic world."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from domain.errors import NotFoundError
from domain.models import Ecosystem, PartnershipKind
from matching.candidates import heuristic_scores
from matching.join import PartnershipFilters, PartnershipRecommender
from matching.recommender import HeuristicRecommender, query_for_partnership
from matching.snapshot import ECOSYSTEM_ORDER, KIND_ORDER, Snapshot
from tests.matching.synthetic import ranking_history
from tests.matching.test_features import snap  # noqa: F401  (fixture)


def test_partnerships_for_c_by_hand(snap: Snapshot) -> None:  # noqa: F811
    """c is in Q and R, so P and S are what it could join (see test_features.snap).

    P (members a, b; text (1, 0, 0); scope DE11): text 0.6; c worked with a (co-members b, c, d)
    and b (co-members a, c); c in DE121 shares DE1 with DE11 (0.5); no VET provider among a, b.
    S (members d, e; no text): text to the members' centroid, d's vector (0, 1, 0): 0.8; c worked
    with d (co-members a, c, e); S's area is its members' regions DE211, FR101: c shares the
    country only (0.25); no VET provider among d, e.
    """
    page = PartnershipRecommender().fit(snap).recommend("c", top_k=10)
    aa_p = 1 / math.log(3) + 1 / math.log(2)
    aa_s = 1 / math.log(3)
    expected = {
        "P": 0.40 * 0.6 + 0.30 * aa_p / (1 + aa_p) + 0.15 * 0.5 + 0.15 * 1.0,
        "S": 0.40 * 0.8 + 0.30 * aa_s / (1 + aa_s) + 0.15 * 0.25 + 0.15 * 1.0,
    }
    assert [r.partnership_id for r in page.items] == ["P", "S"]  # 0.676 > 0.650
    assert page.total == 2
    for rec in page.items:
        assert rec.score == pytest.approx(expected[rec.partnership_id])
        assert [c.signal for c in rec.contributions] == ["semantic", "graph", "region", "type"]
    p, s = (dict((c.signal, c.evidence) for c in r.contributions) for r in page.items)
    assert p["semantic"] == "text similarity 0.60 to the partnership text"
    assert p["graph"].startswith("worked with 2 current member(s)") and "Org a" in p["graph"]
    assert p["region"] == "same NUTS 1 as the scope: DE1 Baden-Württemberg"
    assert p["type"] == "the partnership has no VET provider yet"
    assert s["semantic"] == "text similarity 0.80 to the members' profiles"
    assert s["region"] == "same country as the members: DE Germany"


def test_no_neighbours_no_region_no_vector(snap: Snapshot) -> None:  # noqa: F811
    """f is in no partnership, has no embedding and only a country: text and graph are zero, and
    each partnership's region counts the country where its area has one."""
    rec = PartnershipRecommender().fit(snap)
    page = rec.recommend("f", top_k=10)
    assert page.total == 4
    for item in page.items:
        parts = {c.signal: c for c in item.contributions}
        assert parts["semantic"].value == 0 and parts["graph"].value == 0
        assert parts["graph"].evidence == "no earlier collaboration with current members"
    region = {r.partnership_id: r.contributions[2].value for r in page.items}
    assert region == pytest.approx({"P": 0.15 * 0.25, "Q": 0.15 * 0.25, "R": 0.15 * 0.25, "S": 0.15 * 0.25})


def test_filters_by_area_kind_ecosystem_and_paging(snap: Snapshot) -> None:  # noqa: F811
    rec = PartnershipRecommender().fit(snap)

    def ids(**kw: object) -> list[str]:
        return sorted(r.partnership_id for r in rec.recommend("c", 10, PartnershipFilters(**kw)).items)  # type: ignore[arg-type]

    assert ids(countries=("FR",)) == ["S"]  # S's members' regions include FR101
    assert ids(regions=("DE1",)) == ["P"]  # the scope DE11 lies inside DE1
    assert ids(regions=("DE111",)) == ["P"]  # ... and contains DE111
    assert ids(regions=("ES",)) == []
    assert ids(kinds=(PartnershipKind.LARGE_SCALE,)) == []
    assert ids(exclude_ids=("P",)) == ["S"]
    first, second = rec.recommend("c", 1).items, rec.recommend("c", 1, offset=1).items
    assert [first[0].partnership_id, second[0].partnership_id] == ["P", "S"]
    assert rec.recommend("c", 5, offset=2).items == []
    with pytest.raises(NotFoundError):
        rec.recommend("nobody")
    with pytest.raises(NotFoundError):
        rec.explain("c", "nope")
    with pytest.raises(RuntimeError, match="not fitted"):
        PartnershipRecommender().recommend("c")
    eco = dataclasses.replace(
        snap,
        partnership_ecosystems=np.array([1 << ECOSYSTEM_ORDER.index(Ecosystem.DIGITAL), 0, 0, 0], np.uint32),
    )
    assert [r.partnership_id for r in PartnershipRecommender().fit(eco).recommend(
        "c", 10, PartnershipFilters(ecosystems=(Ecosystem.DIGITAL,))
    ).items] == ["P"]  # fmt: skip


def varied_world() -> Snapshot:
    """The synthetic history with the cases the signals treat differently: declared scopes of
    every level (one region no organisation is in), partnerships with and without own text."""
    _, snapshot = ranking_history()
    codes = sorted({c for c in snapshot.regions.codes})
    scopes = list(snapshot.partnership_scope)
    for j in range(0, snapshot.n_partnerships, 4):
        scopes[j] = (codes[j % len(codes)], codes[(3 * j) % len(codes)][:2], "DE300")
    rng = np.random.default_rng(5)
    vectors = snapshot.partnership_vectors.copy()
    has = snapshot.partnership_has_vector.copy()
    text = rng.random(snapshot.n_partnerships) < 0.5
    picks = rng.integers(0, snapshot.n_orgs, snapshot.n_partnerships)
    vectors[text] = snapshot.org_vectors[picks[text]]  # a text close to some organisation's
    has[text] = True
    kinds = np.array([j % len(KIND_ORDER) for j in range(snapshot.n_partnerships)], dtype=np.int8)
    return dataclasses.replace(
        snapshot, partnership_scope=scopes, partnership_vectors=vectors, partnership_has_vector=has,
        partnership_kinds=kinds,
    )  # fmt: skip


def test_both_directions_give_each_pair_the_same_score_and_evidence() -> None:
    world = varied_world()
    join = PartnershipRecommender().fit(world)
    candidates = HeuristicRecommender().fit(world)
    orgs = list(range(0, world.n_orgs, 7))
    join_scores = {o: heuristic_scores(join.signals(world.org_ids[o]).values, join.weights) for o in orgs}
    compared = 0
    for j, pid in enumerate(world.partnership_ids):
        query = query_for_partnership(world, pid)
        scores, _ = candidates.score_all(query)
        for o in orgs:
            if j not in world.partnerships_of(o):
                assert join_scores[o][j] == pytest.approx(scores[o], abs=1e-6), (world.org_ids[o], pid)
                compared += 1
        if j % 37 == 0:  # evidence texts too, for a sample of pairs
            o = next(o for o in orgs if j not in world.partnerships_of(o))
            mine = join.explain(world.org_ids[o], pid)
            theirs = candidates.explain(query, world.org_ids[o])
            assert [c.evidence for c in mine.contributions] == [c.evidence for c in theirs.contributions]
    assert compared > 10_000


def test_ranking_is_the_best_first_eligible_partnerships() -> None:
    world = varied_world()
    join = PartnershipRecommender().fit(world)
    org_id = world.org_ids[11]
    flt = PartnershipFilters(kinds=(PartnershipKind.REGIONAL, PartnershipKind.OTHER))
    page = join.recommend(org_id, top_k=25, filters=flt)
    mask = join.eligible(org_id, flt)
    scores = heuristic_scores(join.signals(org_id).values, join.weights)
    assert page.total == int(mask.sum())
    assert [r.score for r in page.items] == pytest.approx(sorted(scores[mask], reverse=True)[:25])
    own = {world.partnership_ids[int(j)] for j in world.partnerships_of(world.org_index[org_id])}
    assert not own & {r.partnership_id for r in page.items}
    assert all(world.partnership_kinds[world.partnership_index[r.partnership_id]] != 0 for r in page.items)
