"""Pair scores on tiny events whose values were worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from domain.events import AttendeeGroup
from matching.events.scoring import OPEN_INTEREST, REQUEST_BONUS, PairScorer, shared_terms
from tests.matching.events.helpers import attendee, build, event

X, Y = [1.0, 0.0], [0.0, 1.0]


def test_reciprocal_text_match_scores_one_and_one_sided_scores_zero() -> None:
    # A offers X wants Y; B offers Y wants X (a perfect mutual match); C offers X wants X:
    # C wants what A offers, but A does not want what C offers -> one-sided -> 0.
    ev = event()
    people = [attendee("a"), attendee("b"), attendee("c")]
    p, rules, _ = build(ev, people, [X, Y, X], [Y, X, X])
    scorer = PairScorer(p, rules)
    assert scorer.score(0, 1) == pytest.approx(1.0)
    assert scorer.score(0, 2) == pytest.approx(0.0)
    assert scorer.score(1, 2) == pytest.approx(0.0)  # C wants X, B offers Y
    # geometric mean, not arithmetic: the one-sided pair is 0 although C's interest in A is 1
    assert scorer.interest(np.array([2]), np.array([0]))[0, 0] == pytest.approx(1.0)


def test_weights_renormalise_over_expressed_signals_and_contributions_sum_to_score() -> None:
    # A wants text Y and SMEs (weights .6/.2 -> .75/.25); C is an SME offering X, wanting X.
    # I(A->C) = .75*0 + .25*1 = .25 ; I(C->A) = 1 ; s = sqrt(.25) = .5
    # shares: scale = .5 / (.25 + 1) = .4 -> type (A's side) .1, text (C's side) .4
    ev = event()
    people = [attendee("a", wanted_types=("sme",)), attendee("c", stakeholder_type="sme")]
    p, rules, _ = build(ev, people, [X, X], [Y, X])
    scorer = PairScorer(p, rules)
    assert scorer.score(0, 1) == pytest.approx(0.5)
    contributions = scorer.explain(0, 1)
    by_key = {(c.signal, c.side): c.value for c in contributions}
    assert by_key == pytest.approx({("text", "b"): 0.4, ("type", "a"): 0.1})
    assert sum(c.value for c in contributions) == pytest.approx(scorer.score(0, 1))
    assert "a type Org a asked to meet" in next(c.evidence for c in contributions if c.signal == "type")


def test_region_tiers_follow_the_nuts_hierarchy() -> None:
    # A wants partners in BE1 (Brussels, NUTS 1) and only that. B sits in BE100 (inside: 1.0),
    # C in BE211 (same country only: 0.25), D in France (0). Everyone else is open to anyone (0.5).
    ev = event()
    people = [
        attendee("a", wanted_regions=("BE1",), want=""),
        attendee("b", nuts_codes=("BE100",), want=""),
        attendee("c", nuts_codes=("BE211",), want=""),
        attendee("d", country="FR", want=""),
    ]
    zero = [0.0, 0.0]
    p, rules, _ = build(ev, people, [X, X, X, X], [zero] * 4)
    scorer = PairScorer(p, rules)
    assert scorer.score(0, 1) == pytest.approx(math.sqrt(1.0 * OPEN_INTEREST))
    assert scorer.score(0, 2) == pytest.approx(math.sqrt(0.25 * OPEN_INTEREST))
    assert scorer.score(0, 3) == pytest.approx(0.0)
    assert scorer.score(1, 2) == pytest.approx(OPEN_INTEREST)  # both open to anyone
    evidence = [c.evidence for c in scorer.explain(0, 1) if c.signal == "region"]
    assert evidence and "BE1" in evidence[0]


def test_requests_boost_vetoes_exclude_and_met_before_excludes_unless_requested() -> None:
    ev = event()
    people = [
        attendee("a", must_meet=("org-c",)),  # by org id
        attendee("b", no_thanks=("a",)),
        attendee("c"),
        attendee("d"),
    ]
    p, rules, warnings = build(ev, people, [X, Y, Y, Y], [Y, X, X, X], met_before=[(0, 2), (0, 3)])
    assert warnings == []
    scorer = PairScorer(p, rules)
    assert scorer.score(0, 1) == 0.0  # vetoed by b although the texts match perfectly
    assert scorer.score(0, 2) == pytest.approx(1.0 + REQUEST_BONUS)  # met before, but a asked
    assert scorer.score(0, 3) == 0.0  # met before, nobody asked
    requested = [c for c in scorer.explain(0, 2) if c.signal == "requested"]
    assert requested[0].value == REQUEST_BONUS and requested[0].side == "a"


def test_unknown_references_are_warnings_and_veto_beats_request() -> None:
    ev = event()
    people = [attendee("a", must_meet=("b", "ghost")), attendee("b", no_thanks=("a",))]
    p, rules, warnings = build(ev, people, [X, Y], [Y, X])
    assert any("ghost" in w for w in warnings)
    assert any("ignored" in w and "no thanks" in w for w in warnings)
    assert PairScorer(p, rules).score(0, 1) == 0.0


def test_group_rules_and_availability_exclude_pairs() -> None:
    groups = (AttendeeGroup(group_id="seekers", meets=("offerers",)), AttendeeGroup(group_id="offerers"))
    ev = event(groups=groups)
    people = [
        attendee("s1", group="seekers"),
        attendee("s2", group="seekers"),
        attendee("o1", group="offerers", availability=("s1",)),
        attendee("o2", group="offerers", availability=("s2",)),
    ]
    p, rules, _ = build(ev, people, [Y, Y, Y, Y], [Y, Y, Y, Y])
    scorer = PairScorer(p, rules)
    assert scorer.score(0, 1) == 0.0  # seekers may not meet seekers
    assert scorer.score(2, 3) == 0.0  # offerers may not meet offerers (rules are symmetric, o lists nobody)
    assert scorer.score(0, 2) == pytest.approx(1.0)  # offerers meet seekers: the seekers' rule covers it
    _, counts = scorer.candidate_edges(top_n=5)
    assert counts.excluded["group rules"][0] == 1
    # o1 and o2 share no slot, but they were already excluded by the group rule (first reason wins)
    assert counts.excluded["no common slot"][2] == 0


def test_caps_follow_availability() -> None:
    ev = event(slots=4, cap=3)
    people = [attendee("a", availability=("s1", "s2")), attendee("b", max_meetings=0), attendee("c")]
    p, _, _ = build(ev, people, [X, X, X], [X, X, X])
    assert p.caps.tolist() == [2, 0, 3]


def test_shared_terms_prefers_rare_words() -> None:
    from collections import Counter

    want = "digital skills for battery recycling"
    offer = "battery recycling and digital skills"
    assert shared_terms(want, offer) == ["digital", "skills", "battery", "recycling"]
    freq = Counter({"digital": 50, "skills": 40, "battery": 2, "recycling": 3})
    assert shared_terms(want, offer, freq, limit=2) == ["battery", "recycling"]


def test_scalar_and_block_signals_agree() -> None:
    rng = np.random.default_rng(5)
    ev = event()
    people = [
        attendee("a", wanted_types=("sme", "trade_union"), wanted_regions=("BE1", "DE")),
        attendee("b", stakeholder_type="trade_union", nuts_codes=("BE100",), wanted_ecosystems=("digital",)),
        attendee("c", country="DE", ecosystems=("digital",), wanted_regions=("BE211",)),
        attendee("d", nuts_codes=("BE211",)),
    ]
    vecs = np.abs(rng.normal(size=(4, 3)))
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    p, rules, _ = build(ev, people, vecs, vecs[::-1])
    scorer = PairScorer(p, rules)
    block = scorer.signals(np.arange(4), np.arange(4))
    for i in range(4):
        for j in range(4):
            assert scorer._pair_signals(i, j) == pytest.approx(block[:, i, j])
