"""Validated JSON documents in any store's artifact area, each with its version: what the
repositories of events, interests and shortlists share.

Documents need no schema of their own, so they work on every store (embedded and Neo4j)
unchanged, through the artifact API the store contract covers. A document that no longer
validates is a :class:`~domain.errors.PactmatchError` naming it, never a pydantic traceback.

Each document has the store's version of it (0: none stored). A read can return it with the
document, and a write given ``expected`` is a compare-and-set on it (:class:`StaleWriteError` when
another write, from any process, came first): a read-modify-write runs inside :func:`attempts`,
which reads and changes again until its write lands. No lock is held between the read and the
write, so writers in several API processes and the CLI never lose each other's changes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from domain.errors import ConflictError, NotFoundError, PactmatchError, VersionConflictError
from graph.base import GraphStore

M = TypeVar("M", bound=BaseModel)
#: How often :func:`attempts` reads and changes a document again before it gives up (each try
#: is a read and a write of milliseconds; only writers of the same document at once compete).
MAX_ATTEMPTS = 50


class StaleWriteError(VersionConflictError):
    """A compare-and-set lost: the document changed after it was read (read it again and retry)."""


class Attempt:
    """One try of a read-modify-write (see :func:`attempts`): a lost compare-and-set inside it
    is kept here instead of raised."""

    def __init__(self) -> None:
        self.lost: StaleWriteError | None = None

    def __enter__(self) -> Attempt:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        if isinstance(exc, StaleWriteError):
            self.lost = exc
            return True
        return False


def attempts(what: str, tries: int = MAX_ATTEMPTS) -> Iterator[Attempt]:
    """Tries of a read-modify-write, until one's compare-and-set lands::

        for attempt in attempts(f"the attendees of {event_id}"):
            with attempt:
                attendees, version = repo.attendees_versioned(event_id)
                ...
                repo.put_attendees(event_id, changed, expected=version)

    Another error ends the loop as it would without it. After ``tries`` lost writes (the document
    never stood still), ``ConflictError``.
    """
    for k in range(tries):
        attempt = Attempt()
        yield attempt
        if attempt.lost is None:
            return
        # a little jitter, so that writers who lost together do not collide again at once
        time.sleep(random.uniform(0, min(0.001 * (k + 1), 0.02)))  # nosec B311  (timing, not secrets)
    raise ConflictError(f"{what} kept changing while this change was being made: try again")


class DocumentRepository:
    """Reads and writes versioned documents by name; a read-modify-write is the services' loop
    (:func:`attempts`) around a read with its version and a write that expects it."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store

    def _describe(self, name: str) -> str:
        """The document as a person names it, for a conflict's message."""
        return f"document {name!r}"

    def _load_versioned(self, name: str, model: type[M]) -> tuple[M | None, int]:
        found = self.store.get_versioned_artifact(name)
        if found is None:
            return None, 0
        try:
            return model.model_validate_json(found.data), found.version
        except ValidationError as exc:
            raise PactmatchError(f"stored document {name!r} is not a valid {model.__name__}: {exc}") from exc

    def _load(self, name: str, model: type[M]) -> M | None:
        return self._load_versioned(name, model)[0]

    def _load_all(self, prefix: str, model: type[M]) -> Iterator[M]:
        """Every document whose name starts with ``prefix``, in name order."""
        for name in self.store.list_artifacts(prefix):
            doc = self._load(name, model)
            if doc is not None:  # deleted between the listing and the read
                yield doc

    def _save(
        self,
        name: str,
        doc: BaseModel,
        expected: int | None = None,
        unchanged: Mapping[str, int] | None = None,
    ) -> int:
        """Write ``doc``; with ``expected`` only over that version (0: only if none is stored) and
        while the documents in ``unchanged`` keep theirs. Returns the new version."""
        data = doc.model_dump_json().encode("utf-8")
        if expected is None and not unchanged:
            return self.store.put_artifact(name, data)
        if expected is None:
            expected = self.version(name)
        version = self.store.put_artifact_if(name, data, expected, unchanged=unchanged)
        if version is None:
            current = self.version(name)
            raise StaleWriteError(
                f"{self._describe(name)} changed meanwhile (now version {current})", current
            )
        return version

    def _delete(self, name: str, expected: int | None = None) -> bool:
        """Remove the document (with ``expected``: only while it has that version); whether there
        was one."""
        if expected is None:
            try:
                self.store.delete_artifact(name)
            except NotFoundError:
                return False
            return True
        if self.store.delete_artifact_if(name, expected):
            return True
        current = self.version(name)
        if current == 0:
            return False
        raise StaleWriteError(f"{self._describe(name)} changed meanwhile (now version {current})", current)

    def version(self, name: str) -> int:
        found = self.store.get_versioned_artifact(name)
        return 0 if found is None else found.version
