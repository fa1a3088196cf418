"""Temporal hide-and-rank splits, and that nothing from the test period reaches the recommenders."""

from __future__ import annotations

from datetime import date

import networkx as nx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.models import Membership, Organisation, Partnership
from embeddings import make_encoder
from matching.evaluation.data import case_query, history_snapshot, organisation_texts
from matching.evaluation.split import hide_members, temporal_split
from matching.evaluation.synthetic import synthetic_consortia
from matching.features import graph_proximity
from tests.conftest import member, org, partnership

CUT = date(2018, 1, 1)


def embed(texts: object) -> np.ndarray:
    return make_encoder("hashing").encode(list(texts))  # type: ignore[call-overload]


@given(
    members=st.sets(st.text("abcdefgh", min_size=1, max_size=3), min_size=4, max_size=40),
    seed=st.integers(0, 5),
)
def test_hide_half_keeps_at_least_two_visible(members: set[str], seed: int) -> None:
    visible, hidden = hide_members("P1", members, seed)
    assert set(visible) | set(hidden) == members
    assert not set(visible) & set(hidden)
    assert len(hidden) == len(members) // 2
    assert len(visible) >= 2
    assert hide_members("P1", sorted(members, reverse=True), seed) == (visible, hidden)  # order-independent


def test_too_small_a_consortium_is_refused() -> None:
    with pytest.raises(ValueError, match="4"):
        hide_members("P1", ["a", "b", "c"])


def _tiny() -> tuple[list[Organisation], list[Partnership], list[Membership]]:
    orgs = [org(o) for o in ("a", "b", "c", "d", "e", "f", "g", "new")]
    ps = [
        partnership("H1", start_date=date(2016, 3, 1), description="Battery cells"),
        partnership("T1", start_date=date(2018, 5, 1), description="Wind turbines offshore"),
        partnership("T2", start_date=date(2019, 2, 1), description="Wind blades"),
        partnership("SMALL", start_date=date(2018, 6, 1)),
        partnership("INCOMPLETE", start_date=date(2018, 7, 1)),
        partnership("UNDATED"),
        partnership("LATE", start_date=date(2021, 1, 1)),
    ]
    ms = [member(o, "H1") for o in "abc"]
    ms += [member(o, "T1") for o in ("a", "b", "d", "e", "new")]
    ms += [member(o, "T2") for o in ("c", "d", "e", "f", "g")]
    ms += [member(o, "SMALL") for o in "ab"]
    ms += [member(o, p) for o in "abcd" for p in ("INCOMPLETE", "UNDATED", "LATE")]
    return orgs, ps, ms


def test_split_by_start_date_with_reasons() -> None:
    _orgs, ps, ms = _tiny()
    split = temporal_split(ps, ms, CUT, end=date(2020, 1, 1), incomplete={"INCOMPLETE"})
    assert split.history == {"H1"}
    assert [c.partnership_id for c in split.cases] == ["T1", "T2"]
    assert split.left_out == {
        "fewer than 4 members": 1, "consortium incomplete": 1, "no start date": 1, "after the test period": 1,
    }  # fmt: skip
    for case in split.cases:
        # Newcomers: hidden members with no history membership (only a, b, c have one).
        assert set(case.cold_hidden) == set(case.hidden) - {"a", "b", "c"}
    with pytest.raises(ValueError, match="end after"):
        temporal_split(ps, ms, CUT, end=CUT)


def test_max_cases_samples_without_changing_each_projects_split() -> None:
    data = synthetic_consortia(200, 200, seed=1)
    full = temporal_split(data.partnerships, data.memberships, date(2018, 1, 1))
    sample = temporal_split(data.partnerships, data.memberships, date(2018, 1, 1), max_cases=10)
    assert len(sample.cases) == 10
    by_id = {c.partnership_id: c for c in full.cases}
    assert all(by_id[c.partnership_id] == c for c in sample.cases)


def test_snapshot_holds_history_memberships_only() -> None:
    orgs, ps, ms = _tiny()
    split = temporal_split(ps, ms, CUT, incomplete={"INCOMPLETE"})
    snap = history_snapshot(orgs, ps, ms, split, embed, model="hashing-512")
    assert snap.membership.nnz == 3  # a, b, c in H1: nothing of T1, T2, SMALL, INCOMPLETE, LATE
    for case in split.cases:
        j = snap.partnership_index[case.partnership_id]
        assert len(snap.members_of(j)) == 0  # visible members travel in the query, not the snapshot
        assert snap.partnership_has_vector[j]  # the test project's own text may be used
    assert "new" in snap.org_index  # newcomers are rankable


def test_a_test_period_membership_never_links_candidates() -> None:
    """d and e are together in T1 *and* T2 (both after the cut): no co-membership may show it."""
    orgs, ps, ms = _tiny()
    split = temporal_split(ps, ms, CUT)
    snap = history_snapshot(orgs, ps, ms, split, embed)
    for case in split.cases:
        q = case_query(snap, case)
        raw = graph_proximity(snap, q).raw
        history_graph = nx.Graph([("a", "b"), ("a", "c"), ("b", "c")])  # H1 is the only history project
        for h in case.hidden:
            linked = any(
                history_graph.has_edge(h, v)
                for v in case.visible
                if h in history_graph and v in history_graph
            )
            assert (raw[snap.org_index[h]] > 0) == linked, (case, h)


def test_graph_signal_equals_history_only_graph_on_synthetic_data() -> None:
    data = synthetic_consortia(150, 160, seed=2)
    split = temporal_split(data.partnerships, data.memberships, date(2018, 1, 1))
    snap = history_snapshot(data.organisations, data.partnerships, data.memberships, split, embed)
    g = nx.Graph()
    history: dict[str, list[str]] = {}
    for m in data.memberships:
        if m.partnership_id in split.history:
            history.setdefault(m.partnership_id, []).append(m.org_id)
    for members in history.values():
        g.add_edges_from((x, y) for x in members for y in members if x < y)
    assert split.cases
    for case in split.cases[:15]:
        raw = graph_proximity(snap, case_query(snap, case)).raw
        for h in case.hidden:
            expected = sum(
                1 / np.log(max(2, g.degree(v))) for v in case.visible if g.has_node(h) and g.has_edge(h, v)
            )
            assert raw[snap.org_index[h]] == pytest.approx(expected), (case.partnership_id, h)


def test_organisation_texts_use_history_titles_only() -> None:
    orgs, ps, ms = _tiny()
    split = temporal_split(ps, ms, CUT)
    history = [p for p in ps if p.partnership_id in split.history]
    texts = dict(zip([o.org_id for o in orgs], organisation_texts(orgs, history, ms), strict=True))
    assert "Battery cells" in texts["a"]
    assert "Wind" not in texts["d"] and "Wind" not in texts["new"]  # T1/T2 titles are test-period
