"""The mechanism the Bolt store's read caches share: an LRU map whose entries belong to one version.

Both :class:`~graph.neighbourhood_cache.NeighbourhoodCache` (member → co-members' element ids)
and :class:`~graph.columns_cache.ColumnsCache` (element id → screening columns) hold what
candidate queries read at one store version; a lookup under any other version misses, and a
write under a newer one drops every entry (why that is exact is in each module). What differs is
what an entry is and how the budget counts, so each one writes its own ``put``; the lookup, the
version switch, the counters and the lock are this class.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Generic, TypeVar

V = TypeVar("V")


class VersionedLru(Generic[V]):
    """A thread-safe LRU map of ``str`` keys whose entries all belong to one version.

    Subclasses add entries under ``self._lock`` in their ``put`` (calling :meth:`_switch` first)
    and extend :meth:`_reset` with any state of their own.
    """

    def __init__(self) -> None:
        self._version: int | None = None
        self._entries: OrderedDict[str, V] = OrderedDict()
        self._hits = 0
        self._misses = 0
        self._lock = threading.Lock()  # API workers query from several threads

    def get(self, version: int, keys: Iterable[str]) -> dict[str, V]:
        """The entries of ``keys`` at ``version`` (absent keys were not cached); each one found
        becomes the most recently used."""
        found: dict[str, V] = {}
        with self._lock:
            asked = 0
            current = version == self._version
            for key in keys:
                asked += 1
                value = self._entries.get(key) if current else None
                if value is not None:
                    self._entries.move_to_end(key)
                    found[key] = value
            self._hits += len(found)
            self._misses += asked - len(found)
        return found

    def clear(self) -> None:
        with self._lock:
            self._reset(None)

    def __len__(self) -> int:
        return len(self._entries)

    def _switch(self, version: int) -> None:
        """Hold ``version`` from now on, dropping every entry of another (the caller holds the
        lock): entries of an older version are never used again."""
        if version != self._version:
            self._reset(version)

    def _reset(self, version: int | None) -> None:
        """Drop every entry and hold ``version`` (the caller holds the lock)."""
        self._entries.clear()
        self._version = version
