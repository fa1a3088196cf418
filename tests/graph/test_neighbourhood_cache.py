"""The per-member neighbourhood cache of the Bolt candidate query (no server needed)."""

from __future__ import annotations

import threading

import pytest

from graph.neighbourhood_cache import NeighbourhoodCache


def test_hits_return_the_ids_in_order_and_misses_are_absent() -> None:
    cache = NeighbourhoodCache(max_ids=10)
    assert cache.put(1, "a", ["#1:3", "#1:1", "#1:2"])
    assert cache.put(1, "empty", [])  # a member without co-members is cached too
    assert cache.get(1, ["a", "b", "empty"]) == {"a": ("#1:3", "#1:1", "#1:2"), "empty": ()}
    stats = cache.stats()
    assert (stats.members, stats.ids, stats.hits, stats.misses) == (2, 3, 2, 1)


def test_least_recently_used_members_are_evicted_by_the_id_budget() -> None:
    cache = NeighbourhoodCache(max_ids=5)
    cache.put(1, "a", ["x1", "x2"])
    cache.put(1, "b", ["y1", "y2"])
    assert cache.get(1, ["a"]) == {"a": ("x1", "x2")}  # a is now more recent than b
    cache.put(1, "c", ["z1", "z2"])  # 6 ids > 5: b goes, not a
    assert set(cache.get(1, ["a", "b", "c"])) == {"a", "c"}
    cache.put(1, "d", ["w1", "w2", "w3", "w4"])  # 8 ids: a then c go (least recent first)
    assert set(cache.get(1, ["a", "b", "c", "d"])) == {"d"}
    assert cache.stats().ids == 4


def test_replacing_a_member_counts_its_ids_once() -> None:
    cache = NeighbourhoodCache(max_ids=4)
    cache.put(1, "a", ["x1", "x2", "x3"])
    cache.put(1, "a", ["x1"])
    cache.put(1, "b", ["y1", "y2", "y3"])
    assert set(cache.get(1, ["a", "b"])) == {"a", "b"} and cache.stats().ids == 4


def test_a_member_larger_than_the_budget_is_not_cached_and_evicts_nothing() -> None:
    cache = NeighbourhoodCache(max_ids=3)
    cache.put(1, "a", ["x1", "x2"])
    assert not cache.put(1, "hub", ["h1", "h2", "h3", "h4"])
    assert cache.get(1, ["a", "hub"]) == {"a": ("x1", "x2")}
    assert cache.put(1, "b", ["y1"])  # exactly at the budget
    assert cache.stats().ids == 3


def test_another_version_never_sees_older_entries() -> None:
    cache = NeighbourhoodCache(max_ids=10)
    cache.put(1, "a", ["x1"])
    assert cache.get(2, ["a"]) == {}  # a write since: the entry is of no use
    cache.put(2, "b", ["y1"])  # the first entry of version 2 drops version 1's
    assert cache.get(1, ["a", "b"]) == {}
    assert cache.get(2, ["a", "b"]) == {"b": ("y1",)}
    stats = cache.stats()
    assert (stats.version, stats.members, stats.ids) == (2, 1, 1)


def test_a_budget_of_zero_caches_nothing() -> None:
    cache = NeighbourhoodCache(max_ids=0)
    assert not cache.put(1, "a", ["x1"]) and not cache.put(1, "empty", [])
    assert cache.get(1, ["a", "empty"]) == {} and len(cache) == 0
    with pytest.raises(ValueError):
        NeighbourhoodCache(max_ids=-1)


def test_element_ids_are_interned_across_members() -> None:
    cache = NeighbourhoodCache(max_ids=100)
    cache.put(1, "a", ["".join(["#1:", "7"])])
    cache.put(1, "b", ["".join(["#1:", "7"])])  # an equal but distinct string object
    found = cache.get(1, ["a", "b"])
    assert found["a"][0] is found["b"][0]
    assert cache.stats().distinct_ids == 1


def test_the_intern_table_forgets_strings_of_evicted_members() -> None:
    cache = NeighbourhoodCache(max_ids=10)
    for n in range(3000):  # 30,000 distinct ids through a budget of 10
        cache.put(1, f"m{n}", [f"#{n}:{k}" for k in range(10)])
    stats = cache.stats()
    assert stats.members == 1 and stats.ids == 10
    assert stats.distinct_ids <= 2 * stats.ids + 4096


def test_concurrent_puts_and_gets_keep_the_budget() -> None:
    cache = NeighbourhoodCache(max_ids=50)

    def work(offset: int) -> None:
        for n in range(500):
            org_id = f"m{(n + offset) % 40}"
            cache.put(1, org_id, [f"{org_id}:{k}" for k in range(n % 7)])
            cache.get(1, [org_id, f"m{n % 40}"])

    threads = [threading.Thread(target=work, args=(k * 13,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = cache.stats()
    assert stats.ids <= 50
    assert stats.ids == sum(len(v) for v in cache.get(1, [f"m{n}" for n in range(40)]).values())
