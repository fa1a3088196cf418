"""Each organisation's co-membership neighbourhood, cached for the Bolt candidate query.

A candidate query needs, for every member ``z`` of the partnership, the element ids of ``z``'s
distinct co-members (their number is ``|N(z)|``, the Adamic–Adar degree). Expanding them in
the database is the query's biggest cost when members are hubs (hundreds of projects, 10,000+
co-members), and the same organisations sit in many partnerships: on CORDIS, for the
benchmark's pattern (30 warm-up then 100 queries on random partnerships), a cache of
neighbourhoods *per member* cuts the two-hop paths traversed per query by ~70 % (mean 12,400 →
3,700; p95 38,900 → 13,300). The per-partnership cache of the store only helps the same
partnership asked again.

Why it is exact: entries belong to one store version (``(:PactmatchMeta {key: 'version'})``,
bumped in the same transaction as every data write), and a lookup under any other version
misses. Within one version no organisation, partnership or membership has been written or
deleted, so a member's co-members and their element ids are what a fresh expansion would
return; element ids are reused only after a delete, which bumps the version. The store's
per-partnership cache (keyed by version too) relies on the same fact. (Neo4j itself promises
an element id's meaning within one transaction only; in practice an id changes meaning only when
a deleted node's id is reused.) A query reads the version at the start of its read transaction;
a write committing while it runs may put newer neighbourhoods under the older version, which
only queries already running at that version can see: the same window as the per-partnership
cache, and the same data those queries could read from the database themselves.

Memory is bounded by the number of element ids held over all entries (``max_ids``); the least
recently used members go first, and a member with more co-members than the whole budget is not
cached at all. Element ids are interned in a table of the cache, so an organisation that is a
co-member of many cached members costs one string and a pointer per entry (8 bytes), not a
string per entry (~50–100 bytes): distinct co-members are bounded by the organisations, while
entries repeat them many times.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

from graph.versioned_lru import VersionedLru

#: Element ids held over all entries: ~8 MB of pointers plus one string per distinct co-member.
DEFAULT_MAX_IDS = 1_000_000
#: The intern table is rebuilt from the live entries when it holds this many strings more than
#: twice the ids cached (strings left by evicted entries), so it stays bounded by the budget.
_INTERN_SLACK = 4096


@dataclass(frozen=True)
class NeighbourhoodCacheStats:
    """How full the cache is and how often it answered (for benchmarks and monitoring)."""

    version: int | None
    members: int
    ids: int
    distinct_ids: int
    hits: int
    misses: int
    approx_bytes: int


class NeighbourhoodCache(VersionedLru[tuple[str, ...]]):
    """A thread-safe, version-keyed LRU map: organisation id → its co-members' element ids.

    Parameters
    ----------
    max_ids : int
        Budget: element ids held over all entries; ``0`` disables the cache.

    Examples
    --------
    >>> cache = NeighbourhoodCache(max_ids=3)
    >>> cache.put(7, "a", ["#1:1", "#1:2"])
    True
    >>> cache.get(7, ["a", "b"])
    {'a': ('#1:1', '#1:2')}
    >>> cache.get(8, ["a"])  # written since: another version
    {}
    """

    def __init__(self, max_ids: int = DEFAULT_MAX_IDS) -> None:
        if max_ids < 0:
            raise ValueError("max_ids must be ≥ 0")
        super().__init__()
        self.max_ids = max_ids
        self._ids = 0
        self._strings: dict[str, str] = {}

    def put(self, version: int, org_id: str, linked: Sequence[str]) -> bool:
        """Cache ``org_id``'s distinct co-members at ``version``; ``False`` when over the budget.

        A version other than the cached one replaces every entry: entries of an older version
        are never used again, and an older query finishing late only costs a refill.
        """
        if not self.max_ids or len(linked) > self.max_ids:
            return False
        with self._lock:
            self._switch(version)
            old = self._entries.pop(org_id, None)
            if old is not None:
                self._ids -= len(old)
            strings = self._strings
            entry = tuple([strings.setdefault(s, s) for s in map(str, linked)])
            self._entries[org_id] = entry
            self._ids += len(entry)
            while self._ids > self.max_ids:
                _, evicted = self._entries.popitem(last=False)
                self._ids -= len(evicted)
            if len(strings) > 2 * self._ids + _INTERN_SLACK:
                self._strings = {s: s for e in self._entries.values() for s in e}
        return True

    def _reset(self, version: int | None) -> None:
        super()._reset(version)
        self._strings.clear()
        self._ids = 0

    def stats(self) -> NeighbourhoodCacheStats:
        """Counts, and a rough size: the entries' tuples plus the interned strings and their table."""
        with self._lock:
            size = sys.getsizeof(self._entries) + sum(sys.getsizeof(e) for e in self._entries.values())
            size += sum(sys.getsizeof(s) for s in self._strings) + sys.getsizeof(self._strings)
            return NeighbourhoodCacheStats(
                version=self._version,
                members=len(self._entries),
                ids=self._ids,
                distinct_ids=len(self._strings),
                hits=self._hits,
                misses=self._misses,
                approx_bytes=size,
            )
