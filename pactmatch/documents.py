"""Validated JSON documents in any store's artifact area: what the repositories of events,
interests and shortlists share.

Documents need no schema of their own, so they work on every store (embedded and Neo4j)
unchanged, through the artifact API the store contract covers. A document that no longer
validates is a :class:`~domain.errors.PactmatchError` naming it, never a pydantic traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from domain.errors import NotFoundError, PactmatchError
from graph.base import GraphStore

M = TypeVar("M", bound=BaseModel)


class DocumentRepository:
    """Reads and writes documents by name; serialising read-modify-write is the services' job."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store

    def _load(self, name: str, model: type[M]) -> M | None:
        raw = self.store.get_artifact(name)
        if raw is None:
            return None
        try:
            return model.model_validate_json(raw)
        except ValidationError as exc:
            raise PactmatchError(f"stored document {name!r} is not a valid {model.__name__}: {exc}") from exc

    def _load_all(self, prefix: str, model: type[M]) -> Iterator[M]:
        """Every document whose name starts with ``prefix``, in name order."""
        for name in self.store.list_artifacts(prefix):
            doc = self._load(name, model)
            if doc is not None:  # deleted between the listing and the read
                yield doc

    def _save(self, name: str, doc: BaseModel) -> None:
        self.store.put_artifact(name, doc.model_dump_json().encode("utf-8"))

    def _delete(self, name: str) -> bool:
        """Remove the document; whether there was one."""
        try:
            self.store.delete_artifact(name)
        except NotFoundError:
            return False
        return True
