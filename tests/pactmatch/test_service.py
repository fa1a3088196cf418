"""The served view: the snapshot follows the data, the ranker also follows the stored model, and
reads never wait for either (pactmatch.views)."""

from __future__ import annotations

import gc
import threading
import time
import weakref
from pathlib import Path

import pytest

from domain.errors import NotFoundError
from domain.models import Role
from graph.embedded import EmbeddedStore
from matching.recommender import HeuristicRecommender
from matching.snapshot import Snapshot
from pactmatch.rankers import Ranker, heuristic_ranker
from pactmatch.service import PactmatchService
from pactmatch.views import View, ViewKeeper
from tests.conftest import TEST_ACTOR, member, org, partnership

#: How long a test waits for the background thread before it fails (never reached when it works).
PATIENCE = 60.0


class CountingFactory:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, snapshot, store):  # type: ignore[no-untyped-def]
        self.calls += 1
        return HeuristicRecommender().fit(snapshot)


class HeldFactory:
    """A ranker factory that, once armed, holds each renewal until the test releases it: a rebuild
    made deliberately slow."""

    def __init__(self) -> None:
        self.armed = False
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, snapshot: Snapshot, store: object) -> Ranker:
        if self.armed:
            self.entered.set()
            assert self.release.wait(PATIENCE), "the test never released the renewal"
        return HeuristicRecommender().fit(snapshot)


def wait_for_version(service: PactmatchService, version: int) -> View:
    """Read until the view is at ``version`` (the background thread brings it there)."""
    deadline = time.monotonic() + PATIENCE
    while (view := service.view()).snapshot.version < version:
        assert time.monotonic() < deadline, "the background renewal never arrived"
        time.sleep(0.01)
    return view


def names(service: PactmatchService, pid: str) -> dict[str, str]:
    return {c.org_id: c.name for c in service.candidates(pid, top_k=50).items}


@pytest.fixture
def world(hashing_service: PactmatchService) -> PactmatchService:
    hashing_service.ranker_factory = heuristic_ranker
    hashing_service.store.import_batch(
        [org("a"), org("b"), org("c"), org("d")],
        [partnership("p"), partnership("q")],
        [member("a", "p"), member("b", "q"), member("c", "q")],
    )
    return hashing_service


def test_ranker_is_rebuilt_when_the_stored_model_changes_but_not_the_snapshot(
    hashing_service: PactmatchService,
) -> None:
    factory = CountingFactory()
    hashing_service.ranker_factory = factory
    store = hashing_service.store
    store.import_batch([org("a"), org("b")], [partnership("p")], [member("a", "p")])
    snap = hashing_service.snapshot()
    hashing_service.candidates("p")
    assert factory.calls == 1
    hashing_service.candidates("p")
    assert factory.calls == 1  # nothing changed: both cached
    store.put_artifact("ranker.json", b"{}")
    view = hashing_service.view(fresh=True)
    assert factory.calls == 2 and view.snapshot is snap  # new model, same snapshot
    store.import_batch([org("c")])
    view = hashing_service.view(fresh=True)
    assert factory.calls == 3 and view.snapshot is not snap


def test_a_write_through_the_service_is_seen_by_the_next_read(world: PactmatchService) -> None:
    assert "b" in names(world, "p")
    world.put_organisation(org("b", name="Renamed"), actor=TEST_ACTOR)
    assert names(world, "p")["b"] == "Renamed"
    world.put_member("p", "b", Role.MEMBER, actor=TEST_ACTOR)
    assert "b" not in names(world, "p")
    world.delete_membership("b", "p", actor=TEST_ACTOR)
    assert "b" in names(world, "p")
    world.create_organisation(org("e", name="New"), actor=TEST_ACTOR)
    assert names(world, "p")["e"] == "New"
    world.delete_organisation("e", actor=TEST_ACTOR)
    assert "e" not in names(world, "p")


def test_the_served_snapshot_after_writes_ranks_as_a_fresh_one(
    world: PactmatchService, tmp_path: Path
) -> None:
    """The view is patched from the change log after each write, not rebuilt; it must rank as a
    snapshot read whole would."""
    world.candidates("p")
    world.put_organisation(org("b", name="Welding school", description="welding"), actor=TEST_ACTOR)
    world.put_member("q", "d", Role.COORDINATOR, actor=TEST_ACTOR)
    world.create_partnership(partnership("r", description="welding"), actor=TEST_ACTOR)
    world.put_member("r", "c", Role.MEMBER, actor=TEST_ACTOR)
    world.delete_organisation("a", actor=TEST_ACTOR)
    fresh = PactmatchService(world.store, encoder="hashing", ranker_factory=heuristic_ranker)
    for pid in ("p", "q", "r"):
        served = [(c.org_id, c.name, round(c.score, 9)) for c in world.candidates(pid, top_k=50).items]
        read_whole = [(c.org_id, c.name, round(c.score, 9)) for c in fresh.candidates(pid, top_k=50).items]
        assert sorted(served) == sorted(read_whole)


def test_a_read_gets_the_previous_version_at_once_while_the_next_is_being_built(
    world: PactmatchService,
) -> None:
    held = HeldFactory()
    world.ranker_factory = held
    before = world.view()
    held.armed = True
    world.store.import_batch([org("e")])  # another process's write: only the version tells
    try:
        assert world.view() is before  # answers from what it has; the thread notices the write
        assert held.entered.wait(PATIENCE)  # the renewal is under way, held in the factory...
        assert world.view() is before  # ...and reads still do not wait for it
        assert "e" not in names(world, "p")
    finally:
        held.release.set()
    after = wait_for_version(world, world.store.version())
    assert after is not before and "e" in after.snapshot.org_index


def test_two_services_on_one_store_see_each_others_writes(
    world: PactmatchService, embedded_store: EmbeddedStore
) -> None:
    """Two API worker processes: each notices the other's writes through the store's version."""
    other = PactmatchService(
        EmbeddedStore(embedded_store.path), encoder="hashing", ranker_factory=heuristic_ranker
    )
    try:
        assert "b" in names(other, "p") and "b" in names(world, "p")
        world.put_member("p", "b", Role.MEMBER, actor=TEST_ACTOR)
        wait_for_version(other, world.store.version())
        assert "b" not in names(other, "p")
        other.put_organisation(org("c", name="Renamed elsewhere"), actor=TEST_ACTOR)
        wait_for_version(world, other.store.version())
        assert names(world, "p")["c"] == "Renamed elsewhere"
    finally:
        other.close()


def test_a_partnership_another_process_just_made_is_answered_at_once(world: PactmatchService) -> None:
    """Not 404 while the view has yet to catch up: a partnership missing from it is looked up."""
    world.candidates("p")
    world.store.import_batch([], [partnership("z")], [member("a", "z")])
    assert "a" not in names(world, "z") and "b" in names(world, "z")
    with pytest.raises(NotFoundError):
        world.candidates("nowhere")


def quiet_keeper(service: PactmatchService) -> ViewKeeper:
    """A keeper whose thread stops polling at once: every read comes after a quiet spell."""
    return ViewKeeper(
        service.store,
        lambda: service.model_name,
        lambda s: heuristic_ranker(s, service.store),
        idle_seconds=0.0,
    )


def quiet(keeper: ViewKeeper) -> None:
    """Wait until the keeper's thread has stopped polling (it does after its first look)."""
    deadline = time.monotonic() + PATIENCE
    while keeper._polling:
        assert time.monotonic() < deadline, "the thread never stopped polling"
        time.sleep(0.01)


def test_the_first_read_after_a_quiet_spell_sees_another_processs_write(world: PactmatchService) -> None:
    keeper = quiet_keeper(world)
    try:
        before = keeper.current()
        quiet(keeper)
        world.store.import_batch([org("e")])  # another process's write, while nobody polled
        after = keeper.current()
        assert after is not before and after.snapshot.version == world.store.version()
        assert "e" in after.snapshot.org_index
    finally:
        keeper.close()


def test_the_first_read_after_a_quiet_spell_does_not_wait_for_a_rebuild(
    world: PactmatchService, monkeypatch: pytest.MonkeyPatch
) -> None:
    keeper = quiet_keeper(world)
    held = HeldFactory()
    keeper.ranker_for = lambda s: held(s, world.store)
    try:
        before = keeper.current()
        quiet(keeper)
        monkeypatch.setattr(world.store, "read_changes", lambda model, since: None)  # a rebuild is due
        held.armed = True
        world.store.import_batch([org("e")])
        assert keeper.current() is before  # answered at once; the thread rebuilds...
        assert held.entered.wait(PATIENCE)
        assert keeper.current() is before  # ...and reads do not wait for it
    finally:
        held.release.set()
    deadline = time.monotonic() + PATIENCE
    while keeper.current().snapshot.version < world.store.version():
        assert time.monotonic() < deadline, "the rebuild never arrived"
        time.sleep(0.01)
    keeper.close()


def test_the_cached_snapshot_is_out_of_the_collectors_walks_and_freed_when_replaced(
    hashing_service: PactmatchService, thawed_heap: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = hashing_service.store
    store.import_batch([org("a"), org("b")], [partnership("p")], [member("a", "p")])
    snap = hashing_service.snapshot()
    assert gc.get_freeze_count() > 0
    walked = {id(o) for o in gc.get_objects()}
    assert id(snap.org_ids) not in walked and id(snap.org_all_regions) not in walked
    replaced = weakref.ref(snap)
    del snap
    monkeypatch.setattr(store, "read_changes", lambda model, since: None)  # no log: read whole
    store.import_batch([org("c")])
    new = hashing_service.view(fresh=True).snapshot
    assert replaced() is None  # frozen, yet freed when the data changed
    assert new.org_ids == ["a", "b", "c"] and id(new.org_ids) not in {id(o) for o in gc.get_objects()}


def test_a_patched_snapshot_frees_the_frozen_one_it_replaced(
    hashing_service: PactmatchService, thawed_heap: None
) -> None:
    store = hashing_service.store
    store.import_batch([org("a"), org("b")], [partnership("p")], [member("a", "p")])
    replaced = weakref.ref(hashing_service.snapshot())
    assert gc.get_freeze_count() > 0
    store.import_batch([org("c")])
    new = hashing_service.view(fresh=True).snapshot
    assert replaced() is None and new.org_ids == ["a", "b", "c"]
