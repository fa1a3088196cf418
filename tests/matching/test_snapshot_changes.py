"""Snapshot.with_changes: applying a store's changes gives what a rebuild would.

Random worlds (organisations, partnerships, memberships, vectors) are changed at random (items
created, changed and deleted, memberships added, changed and removed, vectors written); the
changes a store would report are applied to the snapshot of the world before, and the result is
compared with the snapshot built from the world after, item by item (rows may sit elsewhere).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt
import pytest

from domain.graph_data import GraphChanges, GraphData, MembershipRow, OrgRow, PartnershipRow
from domain.models import Ecosystem, PartnershipKind, StakeholderType
from matching.recommender import HeuristicRecommender, query_for_partnership
from matching.snapshot import NO_REGION, Snapshot

DIM = 8
CODES = ["DE", "DE1", "DE11", "DE111", "DE2", "FR", "FR1", "FR10", "ES", "ES5", "ES51"]


@dataclass
class World:
    orgs: dict[str, OrgRow] = field(default_factory=dict)
    partnerships: dict[str, PartnershipRow] = field(default_factory=dict)
    memberships: dict[tuple[str, str], MembershipRow] = field(default_factory=dict)
    org_vectors: dict[str, npt.NDArray[np.float32]] = field(default_factory=dict)
    p_vectors: dict[str, npt.NDArray[np.float32]] = field(default_factory=dict)

    def copy(self) -> World:
        return World(
            *(
                dict(getattr(self, f))
                for f in ("orgs", "partnerships", "memberships", "org_vectors", "p_vectors")
            )
        )

    def data(self, version: int) -> GraphData:
        return GraphData(
            [self.orgs[i] for i in sorted(self.orgs)],
            [self.partnerships[i] for i in sorted(self.partnerships)],
            list(self.memberships.values()),
            self.org_vectors,
            self.p_vectors,
            model="m",
            version=version,
        )

    def changes(self, since: int, version: int, org_ids: set[str], p_ids: set[str]) -> GraphChanges:
        """What a store reports for writes that touched ``org_ids`` and ``p_ids``."""
        members = [m for m in self.memberships.values() if m.org_id in org_ids or m.partnership_id in p_ids]
        return GraphChanges(
            since,
            frozenset(org_ids),
            frozenset(p_ids),
            GraphData(
                [self.orgs[i] for i in sorted(org_ids) if i in self.orgs],
                [self.partnerships[i] for i in sorted(p_ids) if i in self.partnerships],
                members,
                {i: v for i, v in self.org_vectors.items() if i in org_ids},
                {i: v for i, v in self.p_vectors.items() if i in p_ids},
                model="m",
                version=version,
            ),
        )


def vector(rng: random.Random) -> npt.NDArray[np.float32]:
    v = np.asarray([rng.gauss(0, 1) for _ in range(DIM)], dtype=np.float32)
    return v / np.linalg.norm(v)


def an_org(rng: random.Random, org_id: str) -> OrgRow:
    codes = tuple(rng.sample([c for c in CODES if len(c) > 2], rng.randint(0, 2)))
    return OrgRow(
        org_id,
        f"{org_id} {rng.randint(0, 99)}",
        rng.choice(list(StakeholderType)),
        rng.choice([True, False, None]),
        rng.choice(["DE", "FR", "ES", None]),
        codes,
        tuple(rng.sample(list(Ecosystem), rng.randint(0, 2))),
    )


def a_partnership(rng: random.Random, pid: str) -> PartnershipRow:
    return PartnershipRow(
        pid,
        f"{pid} {rng.randint(0, 99)}",
        rng.choice(list(PartnershipKind)),
        tuple(rng.sample(CODES, rng.randint(0, 2))),
        tuple(rng.sample(list(Ecosystem), rng.randint(0, 2))),
        None,
        None,
    )


def random_world(rng: random.Random, n_orgs: int, n_partnerships: int) -> World:
    world = World()
    for n in range(n_orgs):
        world.orgs[f"o{n:03}"] = an_org(rng, f"o{n:03}")
        if rng.random() < 0.8:
            world.org_vectors[f"o{n:03}"] = vector(rng)
    for n in range(n_partnerships):
        world.partnerships[f"p{n:03}"] = a_partnership(rng, f"p{n:03}")
        if rng.random() < 0.8:
            world.p_vectors[f"p{n:03}"] = vector(rng)
    for pid in world.partnerships:
        for org_id in rng.sample(sorted(world.orgs), min(len(world.orgs), rng.randint(0, 6))):
            world.memberships[(org_id, pid)] = MembershipRow(org_id, pid, rng.random() < 0.2)
    return world


def change_at_random(rng: random.Random, world: World) -> tuple[World, set[str], set[str]]:
    """A few writes to a copy of ``world``: the copy and the ids they touched."""
    after = world.copy()
    orgs: set[str] = set()
    ps: set[str] = set()
    for _ in range(rng.randint(1, 6)):
        what = rng.choice(["org", "new org", "delete org", "partnership", "new partnership",
                           "delete partnership", "join", "leave", "role", "vector"])  # fmt: skip
        org_id = rng.choice(sorted(after.orgs)) if after.orgs else None
        pid = rng.choice(sorted(after.partnerships)) if after.partnerships else None
        if what in ("org", "new org"):
            new_id = org_id if what == "org" and org_id else f"n{rng.randint(0, 999):03}"
            after.orgs[new_id] = an_org(rng, new_id)
            orgs.add(new_id)
        elif what == "delete org" and org_id:
            del after.orgs[org_id]
            after.org_vectors.pop(org_id, None)
            after.memberships = {k: m for k, m in after.memberships.items() if k[0] != org_id}
            orgs.add(org_id)
        elif what in ("partnership", "new partnership"):
            new_id = pid if what == "partnership" and pid else f"q{rng.randint(0, 999):03}"
            after.partnerships[new_id] = a_partnership(rng, new_id)
            ps.add(new_id)
        elif what == "delete partnership" and pid:
            del after.partnerships[pid]
            after.p_vectors.pop(pid, None)
            after.memberships = {k: m for k, m in after.memberships.items() if k[1] != pid}
            ps.add(pid)
        elif what in ("join", "role") and org_id and pid:
            after.memberships[(org_id, pid)] = MembershipRow(org_id, pid, rng.random() < 0.5)
            orgs.add(org_id)
            ps.add(pid)
        elif what == "leave" and after.memberships:
            key = rng.choice(sorted(after.memberships))
            del after.memberships[key]
            orgs.add(key[0])
            ps.add(key[1])
        elif what == "vector" and org_id:
            after.org_vectors[org_id] = vector(rng)
            orgs.add(org_id)
    return after, orgs, ps


def contents(s: Snapshot) -> dict[str, object]:
    """Everything a snapshot says, keyed by ids instead of rows."""
    regions = [tuple(s.regions.codes[r] if r != NO_REGION else None for r in row) for row in s.org_regions]
    orgs = {
        org_id: (
            s.org_names[i], int(s.org_types[i]), int(s.org_sme[i]), regions[i], s.org_all_regions[i],
            int(s.org_ecosystems[i]), s.org_vectors[i].tobytes(), bool(s.org_has_vector[i]),
            float(s.org_degree[i]), float(s.org_popularity[i]),
        )
        for i, org_id in enumerate(s.org_ids)
    }  # fmt: skip
    partnerships = {
        pid: (
            s.partnership_names[j], int(s.partnership_kinds[j]), s.partnership_scope[j],
            int(s.partnership_ecosystems[j]), s.partnership_parent[j], s.partnership_start[j],
            s.partnership_vectors[j].tobytes(), bool(s.partnership_has_vector[j]),
        )
        for j, pid in enumerate(s.partnership_ids)
    }  # fmt: skip
    coo = s.membership.tocoo()
    coord = s.coordinators.tocoo()
    return {
        "orgs": orgs,
        "partnerships": partnerships,
        "members": sorted((s.org_ids[i], s.partnership_ids[j], float(v)) for i, j, v in zip(coo.row, coo.col, coo.data, strict=True)),
        "coordinators": sorted((s.org_ids[i], s.partnership_ids[j], float(v)) for i, j, v in zip(coord.row, coord.col, coord.data, strict=True)),
        "index": (s.org_index == {o: i for i, o in enumerate(s.org_ids)}, s.partnership_index == {p: j for j, p in enumerate(s.partnership_ids)}),
        "members_of": {pid: sorted(s.org_ids[i] for i in s.members_of(j)) for j, pid in enumerate(s.partnership_ids)},
        "version": s.version,
    }  # fmt: skip


@pytest.mark.parametrize("seed", range(60))
def test_applying_a_stores_changes_gives_the_rebuilt_snapshot(seed: int) -> None:
    rng = random.Random(seed)
    world = random_world(rng, rng.randint(0, 25), rng.randint(0, 12))
    snapshot = Snapshot.from_data(world.data(1))
    if rng.random() < 0.7:
        _ = snapshot.org_degree  # warmed (as a ranker does): carried over, not recomputed
    version = 1
    for _ in range(3):  # changes applied on top of changes
        after, orgs, ps = change_at_random(rng, world)
        patched = snapshot.with_changes(after.changes(version, version + 1, orgs, ps))
        version += 1
        if patched is None:  # the first vectors of a snapshot without any: rebuilt
            assert not snapshot.org_vectors.shape[1]
            patched = Snapshot.from_data(after.data(version))
        assert contents(patched) == contents(Snapshot.from_data(after.data(version)))
        world, snapshot = after, patched


def test_the_snapshot_changes_are_applied_to_stays_as_it_was() -> None:
    """Queries running on the old snapshot while the next is made see one version throughout."""
    rng = random.Random(5)
    world = random_world(rng, 20, 8)
    snapshot = Snapshot.from_data(world.data(1))
    _ = snapshot.org_degree
    before = contents(snapshot)
    after, orgs, ps = change_at_random(random.Random(6), world)
    assert snapshot.with_changes(after.changes(1, 2, orgs, ps)) is not None
    assert contents(snapshot) == before


def test_a_change_to_one_organisation_shares_what_it_did_not_touch() -> None:
    world = random_world(random.Random(1), 20, 8)
    snapshot = Snapshot.from_data(world.data(1))
    after = world.copy()
    after.orgs["o003"] = replace(after.orgs["o003"], name="Renamed")
    patched = snapshot.with_changes(after.changes(1, 2, {"o003"}, set()))
    assert patched is not None and patched.org_names[patched.org_index["o003"]] == "Renamed"
    assert patched.partnership_vectors is snapshot.partnership_vectors
    assert patched.org_index is snapshot.org_index  # no row moved: the index is shared too
    assert patched.membership is snapshot.membership  # nor did a membership change


def test_a_recommender_on_the_patched_snapshot_ranks_as_on_the_rebuilt_one() -> None:
    rng = random.Random(11)
    world = random_world(rng, 40, 15)
    snapshot = Snapshot.from_data(world.data(1))
    HeuristicRecommender().fit(snapshot)
    after, orgs, ps = change_at_random(rng, world)
    patched = snapshot.with_changes(after.changes(1, 2, orgs, ps))
    rebuilt = Snapshot.from_data(after.data(2))
    assert patched is not None
    for pid in rebuilt.partnership_ids:
        ranked = [
            sorted((r.org_id, round(r.score, 9)) for r in HeuristicRecommender().fit(s).recommend(query_for_partnership(s, pid), top_k=50))
            for s in (patched, rebuilt)
        ]  # fmt: skip
        assert ranked[0] == ranked[1]


def test_changes_of_another_encoder_are_not_applied() -> None:
    world = random_world(random.Random(2), 5, 3)
    snapshot = Snapshot.from_data(world.data(1))
    changes = world.changes(1, 2, {"o001"}, set())
    assert snapshot.with_changes(replace(changes, data=replace(changes.data, model="other"))) is None
