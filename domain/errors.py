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


class VersionConflictError(ConflictError):
    """A write made against a version of a document that is no longer the stored one (an HTTP
    ``If-Match`` that does not match: 409 with the current version as the ``ETag``)."""

    def __init__(self, message: str, current: int) -> None:
        super().__init__(message)
        self.current = current  # 0: the document does not exist (any more)


class StoreUnavailableError(PactmatchError):
    """The store cannot be reached or opened (server down, wrong credentials, bad path)."""


class StoreWriteError(PactmatchError):
    """A write failed and was rolled back; nothing of it is visible."""


class EncoderError(PactmatchError):
    """An embedding model could not be loaded or used."""


class AuthenticationError(PactmatchError):
    """No valid credentials: a wrong password, an unknown or revoked key (maps to HTTP 401).

    The message never says which part was wrong (user name or password), so it cannot be used to
    find out who has an account.
    """


class PermissionDeniedError(PactmatchError):
    """Valid credentials, but the action is not theirs to take (maps to HTTP 403)."""


class TooManyRequestsError(PactmatchError):
    """A rate limit, a lock-out or a full job queue (maps to HTTP 429 with ``Retry-After``)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))
