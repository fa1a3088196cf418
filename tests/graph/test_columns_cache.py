"""The screening columns cache of the Bolt candidate query (no server needed)."""

from __future__ import annotations

import gc

import pytest

from graph.columns_cache import ColumnsCache


def row(org_id: str, eid: str, kind: str = "sme", path: list[str] | None = None) -> list[object]:
    """A candidate row as the statements return it: [org_id, name, type, region_path, eid, ...]."""
    return [org_id, f"Org {org_id}", kind, path, eid, 0.5, True]


def test_hits_return_org_id_type_and_region_path_and_misses_are_absent() -> None:
    cache = ColumnsCache()
    cache.put(1, [row("a", "#1:1", path=["DE", "DE1", "DE11", "DE111"]), row("b", "#1:2", "ngo")])
    assert cache.get(1, ["#1:1", "#1:2", "#1:3"]) == {
        "#1:1": ("a", "sme", ("DE", "DE1", "DE11", "DE111")),
        "#1:2": ("b", "ngo", ()),  # no region: an empty path
    }
    stats = cache.stats()
    assert (stats.version, stats.entries, stats.hits, stats.misses) == (1, 2, 2, 1)


def test_another_version_misses_and_a_put_under_it_drops_the_older_entries() -> None:
    cache = ColumnsCache()
    cache.put(1, [row("a", "#1:1")])
    assert cache.get(2, ["#1:1"]) == {}  # a write since: nothing of version 1 answers
    cache.put(2, [row("b", "#1:2")])
    assert len(cache) == 1 and cache.get(2, ["#1:1", "#1:2"]) == {"#1:2": ("b", "sme", ())}
    cache.clear()
    assert len(cache) == 0 and cache.stats().version is None


def test_least_recently_read_organisations_are_evicted_and_a_put_does_not_refresh() -> None:
    cache = ColumnsCache(max_entries=2)
    cache.put(1, [row("a", "#1:1"), row("b", "#1:2")])
    assert set(cache.get(1, ["#1:1"])) == {"#1:1"}  # a is now more recent than b
    cache.put(1, [row("b", "#1:2"), row("c", "#1:3")])  # b held already: it keeps its place
    assert set(cache.get(1, ["#1:1", "#1:2", "#1:3"])) == {"#1:1", "#1:3"}
    assert cache.get(1, ["#1:1"])["#1:1"] == ("a", "sme", ())  # a later row does not overwrite


def test_a_zero_budget_disables_it_and_a_negative_one_is_refused() -> None:
    cache = ColumnsCache(max_entries=0)
    cache.put(1, [row("a", "#1:1")])
    assert cache.get(1, ["#1:1"]) == {} and len(cache) == 0
    with pytest.raises(ValueError, match="max_entries"):
        ColumnsCache(max_entries=-1)


def test_entries_share_their_type_and_path_objects_and_stay_out_of_the_collector() -> None:
    """Thousands of organisations share a few types and region paths: one object each. Entries
    hold only strings, so the cyclic collector stops tracking them (no walk per full collection)."""
    cache = ColumnsCache()
    cache.put(1, [row("a", "#1:1", path=["FR", "FR1"]), row("b", "#1:2", path=["FR", "FR1"])])
    got = cache.get(1, ["#1:1", "#1:2"])
    a, b = got["#1:1"], got["#1:2"]
    assert a[1] is b[1] and a[2] is b[2]
    gc.collect()
    gc.collect()  # the path tuple first, then the entry holding it
    assert not gc.is_tracked(a) and not gc.is_tracked(a[2])
