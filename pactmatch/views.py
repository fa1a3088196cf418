"""The snapshot and ranker a process serves, kept up to date without making reads wait.

A read takes the current :class:`View` (one data version: a snapshot and the ranker built on
it) and never waits for the next one. When the store's version or stored ranker moved on, the
read asks a background thread to bring the view up to date and is answered from the view it has;
the thread builds the next view beside it and swaps it in (one reference assignment, so a read
sees the old view or the new one, never a mix).

Building the next view is cheap after a few writes: the store's change log names what they
touched, and :meth:`~matching.snapshot.Snapshot.with_changes` applies that to a copy of the
current snapshot (tens of milliseconds on CORDIS). Only without a usable log (the first read,
an import that touched thousands of items, a snapshot older than the log) is everything read
again (seconds). Every API worker process holds its own view and notices other processes' writes
through ``store.version()``; a write made through this process's service is applied before the
write returns (:meth:`ViewKeeper.refresh`), so its next read sees it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from graph.base import GraphStore
from matching.snapshot import Snapshot
from pactmatch.heap import long_lived
from pactmatch.ranker_repository import RankerRepository
from pactmatch.rankers import Ranker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class View:
    """One consistent version: a snapshot, the ranker built on it, and the stored ranker's
    fingerprint it was built for (``pactmatch fit`` saves a new ranker while the API runs, and
    artifact writes leave the data version alone)."""

    snapshot: Snapshot
    ranker: Ranker
    ranker_fingerprint: str


class ViewKeeper:
    """The current :class:`View` of one store and encoder, and the thread that renews it.

    ``model`` names the encoder whose vectors the snapshot holds; ``ranker_for`` builds the ranker
    of a snapshot (both are asked each time, so a service's encoder and ranker factory can be set
    after it was made).
    """

    def __init__(
        self, store: GraphStore, model: Callable[[], str], ranker_for: Callable[[Snapshot], Ranker]
    ) -> None:
        self.store = store
        self.model = model
        self.ranker_for = ranker_for
        self._view: View | None = None
        self._renewing = threading.Lock()  # one renewal at a time; reads never take it
        self._wanted = threading.Event()
        self._starting = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def serving(self) -> bool:
        """Whether a view was built: this process answers reads from snapshots."""
        return self._view is not None

    def current(self) -> View:
        """The view to answer a read from: the current one, at once, even when the store has
        moved on (the background thread is asked to catch up). Only the first read, with nothing
        to serve yet, waits for a view to be built."""
        view = self._view
        if view is None:
            return self.refresh()
        if view.snapshot.version != self.store.version() or view.ranker_fingerprint != self._fingerprint():
            self._request()
        return view

    def refresh(self) -> View:
        """Bring the view up to the store's current version now, and return it.

        Writers call it (through the service) so that their next read sees what they wrote; a
        renewal already under way is waited for first, by the writer, never by a reader.
        """
        with self._renewing:
            version, fingerprint = self.store.version(), self._fingerprint()
            old = self._view
            if old is not None and old.snapshot.version == version and old.ranker_fingerprint == fingerprint:
                return old
            snapshot, rebuilt = self._next_snapshot(old, version)
            if old is not None and old.snapshot is snapshot and old.ranker_fingerprint == fingerprint:
                return old
            view = View(snapshot, self.ranker_for(snapshot), fingerprint)
            if rebuilt:
                # A rebuilt snapshot holds ~130,000 long-lived containers on CORDIS: out of the
                # collector's walks with it (pactmatch.heap). A patched one shares most of its
                # predecessor's (already frozen) and adds a few lists, not worth a full collection.
                with long_lived():
                    self._view = view
            else:
                self._view = view
            return view

    def _next_snapshot(self, old: View | None, version: int) -> tuple[Snapshot, bool]:
        """The snapshot of the store now, and whether it was read whole (not patched)."""
        model = self.model()
        if old is not None and old.snapshot.model == model:
            if old.snapshot.version == version:
                return old.snapshot, False  # only the stored ranker changed
            changes = self.store.read_changes(model, old.snapshot.version)
            patched = old.snapshot.with_changes(changes) if changes is not None else None
            if patched is not None:
                return patched, False
        return Snapshot.from_data(self.store.read_graph(model)), True

    def _fingerprint(self) -> str:
        return RankerRepository(self.store).fingerprint()

    # -- the background thread -----------------------------------------------------------------
    def _request(self) -> None:
        """Ask the background thread for a renewal (started on first use: the CLI never needs it)."""
        self._wanted.set()
        if self._thread is None:
            with self._starting:  # at most one thread, even when two reads ask at once
                if self._thread is None and not self._closed:
                    self._thread = threading.Thread(target=self._run, name="pactmatch-views", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            if self._closed:
                return
            try:
                self.refresh()
            except Exception:  # the store went away for a moment: keep serving, retry when asked
                log.exception("renewing the snapshot failed; still serving the previous one")

    def close(self) -> None:
        """Stop the background thread (it ends after a renewal under way)."""
        self._closed = True
        self._wanted.set()
