"""The snapshot and ranker a process serves, kept up to date without making reads wait.

A read takes the current :class:`View` (one data version: a snapshot and the ranker built on
it) and never waits for the next one. While reads come in, a background thread compares the
view with the store every :data:`POLL_SECONDS` (the store's version, and the stored ranker's
fingerprint) and, when the store moved on, builds the next view beside the current one and swaps
it in (one reference assignment, so a read sees the old view or the new one, never a mix). That
is how each API worker process notices the others' writes, whether or not it reads in between:
a write is served here within a poll and a renewal of it being committed.

Building the next view is cheap after a few writes: the store's change log names what they
touched, and :meth:`~matching.snapshot.Snapshot.with_changes` applies that to a copy of the
current snapshot (tens of milliseconds on CORDIS). Only without a usable log (the first read,
an import that touched thousands of items, a snapshot older than the log) is everything read
again (seconds), and reads meanwhile get the previous view. A write made through this process's
service is applied before the write returns (:meth:`ViewKeeper.refresh`), so its next read here
sees it.

After :data:`IDLE_SECONDS` without reads the thread stops polling (a process nobody reads from
costs nothing, and a service a test forgot to close leaves no busy thread). The first read after
such a quiet spell compares the view with the store itself and, when the store moved on, applies
the change log before answering; if only a rebuild would do, it answers from the view it has and
leaves the rebuild to the thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from graph.base import GraphStore
from matching.snapshot import Snapshot
from pactmatch.heap import long_lived
from pactmatch.ranker_repository import RankerRepository
from pactmatch.rankers import Ranker

log = logging.getLogger(__name__)

#: How often the thread compares the view with the store while reads come in: well inside the
#: 100 ms in which a write is to be served, and a version read costs microseconds (embedded) to
#: a Bolt round trip.
POLL_SECONDS = 0.05
#: How long without reads before the thread stops polling.
IDLE_SECONDS = 30.0


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
    after it was made). ``poll_seconds`` and ``idle_seconds`` default to :data:`POLL_SECONDS` and
    :data:`IDLE_SECONDS`.
    """

    def __init__(
        self,
        store: GraphStore,
        model: Callable[[], str],
        ranker_for: Callable[[Snapshot], Ranker],
        *,
        poll_seconds: float = POLL_SECONDS,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        self.store = store
        self.model = model
        self.ranker_for = ranker_for
        self.poll_seconds = poll_seconds
        self.idle_seconds = idle_seconds
        self._view: View | None = None
        self._renewing = threading.Lock()  # one renewal at a time; reads never wait for it
        self._polling = False  # the thread compares the view with the store: reads need not
        self._last_read = 0.0
        self._wake = threading.Event()
        self._starting = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def serving(self) -> bool:
        """Whether a view was built: this process answers reads from snapshots."""
        return self._view is not None

    def current(self) -> View:
        """The view to answer a read from, at once. Only the first read, with nothing to serve
        yet, waits for a view to be built; the first read after a quiet spell may wait for the
        change log to be applied (milliseconds), never for a rebuild."""
        view = self._view
        self._last_read = time.monotonic()
        if view is None:
            view = self.refresh()
        elif not self._polling and self._behind(view) and self._renewing.acquire(blocking=False):
            # A quiet spell ends and the store moved on during it, perhaps long ago. (When the
            # lock is taken, a renewal under way brings the news: answered from the view held.)
            try:
                view = self._renew(rebuild=False) or view
            finally:
                self._renewing.release()
        if not self._polling:
            self._poll()  # after the renewal above: the thread does what it could not (a rebuild)
        return view

    def refresh(self) -> View:
        """Bring the view up to the store's current version now, and return it.

        Writers call it (through the service) so that their next read sees what they wrote; a
        renewal already under way is waited for first, by the writer, never by a reader.
        """
        with self._renewing:
            view = self._renew(rebuild=True)
            assert view is not None  # a rebuild always makes one
            return view

    def _behind(self, view: View) -> bool:
        return not _shows(view, self.store.version(), self._fingerprint())

    def _renew(self, *, rebuild: bool) -> View | None:
        """The view of the store now, made current (the caller holds ``_renewing``); ``None`` when
        only a rebuild would do and ``rebuild`` is false."""
        version, fingerprint = self.store.version(), self._fingerprint()
        old = self._view
        if old is not None and _shows(old, version, fingerprint):
            return old
        snapshot = self._patched(old, version)
        if snapshot is None and not rebuild:
            return None
        if snapshot is not None:
            view = View(snapshot, self.ranker_for(snapshot), fingerprint)
            self._view = view
            return view
        # A rebuilt snapshot holds ~130,000 long-lived containers on CORDIS: out of the collector's
        # walks with it (pactmatch.heap). A patched one shares most of its predecessor's (already
        # frozen) and adds a few lists, not worth a full collection.
        with long_lived():
            snapshot = Snapshot.from_data(self.store.read_graph(self.model()))
            view = View(snapshot, self.ranker_for(snapshot), fingerprint)
            self._view = view
        return view

    def _patched(self, old: View | None, version: int) -> Snapshot | None:
        """The snapshot of ``version`` made from ``old``'s and the change log, or ``None`` when
        that cannot be done (no snapshot yet, another encoder, a log that cannot answer)."""
        model = self.model()
        if old is None or old.snapshot.model != model:
            return None
        if old.snapshot.version == version:
            return old.snapshot  # only the stored ranker changed
        changes = self.store.read_changes(model, old.snapshot.version)
        return old.snapshot.with_changes(changes) if changes is not None else None

    def _fingerprint(self) -> str:
        return RankerRepository(self.store).fingerprint()

    # -- the background thread -----------------------------------------------------------------
    def _poll(self) -> None:
        """Have the thread poll (started on first use: a CLI command that builds no view never
        starts it)."""
        self._polling = True
        self._wake.set()
        if self._thread is None:
            with self._starting:  # at most one thread, even when two reads ask at once
                if self._thread is None and not self._closed:
                    self._thread = threading.Thread(target=self._run, name="pactmatch-views", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        failing = False
        while not self._closed:
            try:
                self._catch_up()
                failing = False
            except Exception:  # the store went away for a moment: keep serving, retry
                if not failing and not self._closed:
                    log.exception("renewing the snapshot failed; still serving the previous one")
                failing = True
            if time.monotonic() - self._last_read > self.idle_seconds:
                self._polling = False  # the next read checks for itself, and wakes the thread
                self._wake.wait()
            else:
                self._wake.wait(self.poll_seconds)
            self._wake.clear()

    def _catch_up(self) -> None:
        """Renew the view if the store moved on. No local holds the view, here or in the loop: the
        thread must not keep a replaced view alive (it is freed when the renewal swaps it out)."""
        # The store is read before the view is looked at: a view held across those reads would
        # outlive a replacement made meanwhile (a reader's refresh) by as long.
        version, fingerprint = self.store.version(), self._fingerprint()
        if self._view is not None and not _shows(self._view, version, fingerprint):
            self.refresh()

    def close(self) -> None:
        """Stop the background thread (it ends after a renewal under way)."""
        self._closed = True
        self._wake.set()


def _shows(view: View, version: int, fingerprint: str) -> bool:
    """Whether ``view`` is of the store's data ``version`` and stored ranker ``fingerprint``."""
    return view.snapshot.version == version and view.ranker_fingerprint == fingerprint
