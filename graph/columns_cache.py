"""The screening columns of organisations candidate queries have read, cached per store version.

Settling a Bolt candidate pool's graph bound screens the linked candidates above a floor
(hundreds to thousands on CORDIS) by each one's own stakeholder type and region, before any of
their cosines are read (``_CandidateQuery._screened_by_graph``). Reading those columns was a
statement of its own, 14–39 ms in the slowest queries of the benchmark. Yet every source of every
query brings the same columns along with its candidates (``CANDIDATE_ROW``), and the same
organisations recur: on CORDIS, after 300 queries on random partnerships, 99% of the element ids
a screening asked for had been read before (95% over queries 101–300, 67% over the first 100).
So the store keeps ``element id → (org id, stakeholder type, region path)`` of what it has read,
and a screening reads from the database only the ids it does not hold.

Why it is exact: as for :mod:`graph.neighbourhood_cache`, entries belong to one store version
(bumped in the same transaction as every data write) and a lookup under any other version
misses; within one version no organisation was written or deleted, so its columns are what the
database would return, and element ids are reused only after a delete. Eligibility is not
cached: it depends on the query's filters and members. Without a restricting filter it is "not
a member, not excluded", which the caller decides from the org id; with one, the screening
reads the database as before.

Memory: at most ``max_entries`` organisations (least recently used go first). Types and region
paths are shared between entries (a few thousand distinct paths), so an entry is its two id
strings, a tuple and its slot: ~260 bytes (tracemalloc: 146 bytes an entry beyond the strings,
over the 31,086 organisations 400 CORDIS queries read), ~50 MB for the default budget, ~8 MB for
all of CORDIS. The tuples hold only strings, so Python's cyclic collector stops tracking them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from graph.versioned_lru import VersionedLru

#: Organisations held at most.
DEFAULT_MAX_ENTRIES = 200_000

#: One organisation's screening columns: (org id, stakeholder type, region path).
Columns = tuple[str, str, tuple[str, ...]]


@dataclass(frozen=True)
class ColumnsCacheStats:
    """How full the cache is and how often it answered (for benchmarks and monitoring)."""

    version: int | None
    entries: int
    hits: int
    misses: int


class ColumnsCache(VersionedLru[Columns]):
    """A thread-safe, version-keyed LRU map: element id → :data:`Columns`.

    Parameters
    ----------
    max_entries : int
        Organisations held at most; ``0`` disables the cache.

    Examples
    --------
    >>> cache = ColumnsCache(max_entries=2)
    >>> cache.put(7, [["o1", "Org 1", "sme", ["DE", "DE1"], "#1:1", 0.5, True]])
    >>> cache.get(7, ["#1:1", "#1:2"])
    {'#1:1': ('o1', 'sme', ('DE', 'DE1'))}
    >>> cache.get(8, ["#1:1"])  # written since: another version
    {}
    """

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if max_entries < 0:
            raise ValueError("max_entries must be ≥ 0")
        super().__init__()
        self.max_entries = max_entries
        self._shared: dict[Any, Any] = {}

    def put(self, version: int, rows: Iterable[Sequence[Any]]) -> None:
        """Cache the columns of ``rows`` read at ``version``, each ``[org_id, name,
        stakeholder_type, region_path, element_id, ...]`` (:data:`graph.cypher.CANDIDATE_ROW`).

        A version other than the cached one replaces every entry (entries of an older version are
        never used again). Ids already held keep their place: a put is on every query's path, and
        reading an entry (:meth:`get`) is what marks it as used.
        """
        if not self.max_entries:
            return
        with self._lock:
            self._switch(version)
            entries, shared = self._entries, self._shared
            for r in rows:
                eid = str(r[4])
                if eid not in entries:
                    kind, path = str(r[2]), tuple(r[3] or ())
                    # few distinct types and region paths: one object each, shared by entries
                    entries[eid] = (str(r[0]), shared.setdefault(kind, kind), shared.setdefault(path, path))
            while len(entries) > self.max_entries:
                entries.popitem(last=False)

    def _reset(self, version: int | None) -> None:
        super()._reset(version)
        self._shared.clear()

    def stats(self) -> ColumnsCacheStats:
        with self._lock:
            return ColumnsCacheStats(self._version, len(self._entries), self._hits, self._misses)
