"""Signals on tiny hand-built snapshots, with expectations worked out by hand."""

from __future__ import annotations

import math
from dataclasses import replace

import networkx as nx
import numpy as np
import pytest

from domain.candidates import CandidateFilters
from domain.graph_data import MembershipRow, OrgRow, PartnershipRow
from domain.models import Ecosystem, PartnershipKind, StakeholderType
from matching.features import candidate_mask, graph_proximity, regional_fit, semantic, type_complementarity
from matching.snapshot import Snapshot
from matching.types import PartnershipQuery
from tests.conftest import blas_threads


def orow(
    org_id: str,
    t: str = "sme",
    nuts: tuple[str, ...] = (),
    country: str | None = "DE",
    eco: tuple[str, ...] = (),
) -> OrgRow:
    return OrgRow(
        org_id,
        f"Org {org_id}",
        StakeholderType(t),
        t == "sme",
        country,
        nuts,
        tuple(Ecosystem(e) for e in eco),
    )


def prow(pid: str, scope: tuple[str, ...] = ()) -> PartnershipRow:
    return PartnershipRow(pid, pid, PartnershipKind.REGIONAL, scope, (), None, None)


@pytest.fixture
def snap() -> Snapshot:
    # P is the target partnership with members a, b.  Q: a, c, d.  R: b, c.  S: d, e.
    orgs = [
        orow("a", nuts=("DE111",)),
        orow("b", "higher_education", nuts=("DE112",)),
        orow("c", "vet_provider", nuts=("DE121",)),
        orow("d", nuts=("DE211",)),
        orow("e", "trade_union", nuts=("FR101",), country="FR"),
        orow("f", "sme", nuts=(), country="DE", eco=("digital",)),
    ]
    parts = [prow("P", scope=("DE11",)), prow("Q"), prow("R"), prow("S")]
    ms = [
        ("a", "P"),
        ("b", "P"),
        ("a", "Q"),
        ("c", "Q"),
        ("d", "Q"),
        ("b", "R"),
        ("c", "R"),
        ("d", "S"),
        ("e", "S"),
    ]
    vectors = {
        "a": np.array([1, 0, 0], np.float32),
        "c": np.array([0.6, 0.8, 0], np.float32),
        "d": np.array([0, 1, 0], np.float32),
    }
    return Snapshot.build(
        orgs,
        parts,
        [MembershipRow(o, p, False) for o, p in ms],
        vectors,
        {"P": np.array([1, 0, 0], np.float32)},
    )


def query(s: Snapshot, **kw: object) -> PartnershipQuery:
    p = s.partnership_index["P"]
    base: dict[str, object] = {
        "member_indices": s.members_of(p),
        "vector": s.partnership_vectors[p],
        "scope_regions": ("DE11",),
    }
    base.update(kw)
    return PartnershipQuery(**base)  # type: ignore[arg-type]


def test_adamic_adar_by_hand(snap: Snapshot) -> None:
    # Co-membership degrees: a: {b, c, d} = 3; b: {a, c} = 2.
    # c shares Q with a and R with b  -> 1/log 3 + 1/log 2;  d shares Q with a -> 1/log 3;  e, f: 0.
    sig = graph_proximity(snap, query(snap))
    i = snap.org_index
    assert sig.raw[i["c"]] == pytest.approx(1 / math.log(3) + 1 / math.log(2))
    assert sig.raw[i["d"]] == pytest.approx(1 / math.log(3))
    assert sig.raw[i["e"]] == 0 and sig.raw[i["f"]] == 0
    assert sig.values[i["c"]] == pytest.approx(sig.raw[i["c"]] / (1 + sig.raw[i["c"]]))


def test_adamic_adar_matches_networkx(snap: Snapshot) -> None:
    """Same index as networkx on the co-membership graph with P added as a node linked to its members."""
    g = nx.Graph()
    g.add_nodes_from(snap.org_ids)
    for j in range(snap.n_partnerships):
        members = [snap.org_ids[k] for k in snap.members_of(j)]
        g.add_edges_from((u, v) for n, u in enumerate(members) for v in members[n + 1 :])
    members_p = [snap.org_ids[k] for k in snap.members_of(snap.partnership_index["P"])]
    h = g.copy()
    h.add_edges_from(("__P__", m) for m in members_p)
    # networkx uses the degree in h; members gain 1 from the __P__ edge, so compare with that degree.
    expected = dict(((v, s) for _, v, s in nx.adamic_adar_index(h, [("__P__", v) for v in ("c", "d", "e")])))
    sig = graph_proximity(snap, query(snap))
    degrees_in_h = {m: h.degree(m) for m in members_p}
    for v in ("c", "d", "e"):
        ours_with_h_degrees = sum(1 / math.log(degrees_in_h[m]) for m in members_p if g.has_edge(v, m))
        assert ours_with_h_degrees == pytest.approx(expected[v])
        assert (sig.raw[snap.org_index[v]] > 0) == (expected[v] > 0)


def test_regional_fit_tiers(snap: Snapshot) -> None:
    sig = regional_fit(snap, query(snap))
    i = snap.org_index
    assert sig.values[i["a"]] == 1.0  # DE111 inside scope DE11
    assert sig.values[i["c"]] == 0.5  # DE121: shares NUTS1 DE1
    assert sig.values[i["d"]] == 0.25  # DE211: same country only
    assert sig.values[i["f"]] == 0.25  # country known, no NUTS code
    assert sig.values[i["e"]] == 0.0  # France
    assert sig.source == "scope"


def test_regional_fit_falls_back_to_member_regions(snap: Snapshot) -> None:
    sig = regional_fit(snap, query(snap, scope_regions=()))
    assert sig.source == "members" and set(sig.references) == {"DE111", "DE112"}
    assert sig.values[snap.org_index["c"]] == 0.5


def test_type_complementarity(snap: Snapshot) -> None:
    sig = type_complementarity(snap, query(snap))
    i = snap.org_index
    # members: a (sme), b (higher education): shares 1/2 each
    assert sig.values[i["d"]] == 0.5  # another SME
    assert sig.values[i["c"]] == 1.0  # no VET provider yet
    assert sig.values[i["e"]] == 1.0


def test_semantic_uses_text_then_member_centroid(snap: Snapshot) -> None:
    sig = semantic(snap, query(snap))
    i = snap.org_index
    assert sig.source == "partnership text"
    assert sig.values[i["c"]] == pytest.approx(0.6)
    assert sig.values[i["d"]] == 0.0 and sig.values[i["e"]] == 0.0  # orthogonal / no vector
    fallback = semantic(snap, query(snap, vector=None))
    assert fallback.source == "members' profiles"  # only a has a vector -> centroid = a
    assert fallback.values[i["c"]] == pytest.approx(0.6)


def test_semantic_multiplies_on_one_blas_thread(snap: Snapshot, two_blas_threads: list[int]) -> None:
    """One query's product runs single-threaded (matching.blas says why)."""
    seen: list[list[int]] = []

    class Recording(np.ndarray):  # the organisation matrix, noting the BLAS threads of its products
        def __matmul__(self, other: object) -> object:
            seen.append(blas_threads())
            return np.asarray(self) @ other

    recording = replace(snap, org_vectors=snap.org_vectors.view(Recording))
    sig = semantic(recording, query(recording))
    assert seen == [[1] * len(two_blas_threads)]
    assert sig.values[snap.org_index["c"]] == pytest.approx(0.6)


def test_candidate_mask_filters(snap: Snapshot) -> None:
    q = query(snap)
    i = snap.org_index
    everyone = candidate_mask(snap, q, CandidateFilters())
    assert not everyone[i["a"]] and not everyone[i["b"]] and everyone[i["c"]]
    assert np.flatnonzero(candidate_mask(snap, q, CandidateFilters(countries=("FR",)))).tolist() == [i["e"]]
    assert np.flatnonzero(candidate_mask(snap, q, CandidateFilters(regions=("DE12",)))).tolist() == [i["c"]]
    vet = CandidateFilters(stakeholder_types=(StakeholderType.VET_PROVIDER,))
    assert np.flatnonzero(candidate_mask(snap, q, vet)).tolist() == [i["c"]]
    assert set(np.flatnonzero(candidate_mask(snap, q, CandidateFilters(sme_only=True)))) == {i["d"], i["f"]}
    digital = CandidateFilters(ecosystems=(Ecosystem.DIGITAL,))
    assert np.flatnonzero(candidate_mask(snap, q, digital)).tolist() == [i["f"]]
