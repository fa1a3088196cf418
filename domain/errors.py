"""One exception hierarchy for the whole product.

Stores, importers and services raise these (never driver or pydantic errors), so that the API can
map them to HTTP statuses in a single handler and the CLI can print them without a stack trace.
"""

from __future__ import annotations

from dataclasses import dataclass


class PactmatchError(Exception):
    """Base class of every error this package raises on purpose."""


class NotFoundError(PactmatchError):
    """An id that does not exist in the store (maps to HTTP 404)."""

    def __init__(self, kind: str, item_id: str) -> None:
        super().__init__(f"{kind} {item_id!r} not found")
        self.kind = kind
        self.item_id = item_id


@dataclass(frozen=True)
class FieldIssue:
    """One problem with one field of one input record."""

    field: str
    message: str


class InvalidInputError(PactmatchError):
    """Input that failed validation (maps to HTTP 422); carries field-level issues."""

    def __init__(self, message: str, issues: list[FieldIssue] | None = None) -> None:
        super().__init__(message)
        self.issues = issues or []


class ConflictError(PactmatchError):
    """A write that contradicts the stored state, e.g. a membership of an unknown organisation."""


class StoreUnavailableError(PactmatchError):
    """The store cannot be reached or opened (server down, wrong credentials, bad path)."""


class StoreWriteError(PactmatchError):
    """A write failed and was rolled back; nothing of it is visible."""


class EncoderError(PactmatchError):
    """An embedding model could not be loaded or used."""
