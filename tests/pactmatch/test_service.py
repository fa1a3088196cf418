"""Service caches: the snapshot follows the data, the ranker also follows the stored model."""

from __future__ import annotations

import gc
import weakref

from pactmatch.service import PactmatchService
from tests.conftest import member, org, partnership


class CountingFactory:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, snapshot, store):  # type: ignore[no-untyped-def]
        from matching.recommender import HeuristicRecommender

        self.calls += 1
        return HeuristicRecommender().fit(snapshot)


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
    hashing_service.candidates("p")
    assert factory.calls == 2 and hashing_service.snapshot() is snap  # new model, same snapshot
    store.import_batch([org("c")])
    hashing_service.candidates("p")
    assert factory.calls == 3 and hashing_service.snapshot() is not snap


def test_the_cached_snapshot_is_out_of_the_collectors_walks_and_freed_when_replaced(
    hashing_service: PactmatchService, thawed_heap: None
) -> None:
    store = hashing_service.store
    store.import_batch([org("a"), org("b")], [partnership("p")], [member("a", "p")])
    snap = hashing_service.snapshot()
    assert gc.get_freeze_count() > 0
    walked = {id(o) for o in gc.get_objects()}
    assert id(snap.org_ids) not in walked and id(snap.org_all_regions) not in walked
    replaced = weakref.ref(snap)
    del snap
    store.import_batch([org("c")])
    new = hashing_service.snapshot()
    assert replaced() is None  # frozen, yet freed when the data changed
    assert new.org_ids == ["a", "b", "c"] and id(new.org_ids) not in {id(o) for o in gc.get_objects()}
