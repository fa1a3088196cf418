"""What both stores write for API keys, sessions and audit entries, and how they keep times.

Times are kept as ISO-8601 text in UTC with microseconds (``2026-01-02T03:04:05.000000+00:00``):
every such text has the same width, so comparing and sorting the text compares and sorts the
times, in SQL and in Cypher alike, and the text reads back (pydantic parses it) as an aware
datetime equal to the one written. Keys and sessions are rows of their own fields, so that the
writes several API processes make at once (last use, revocation) each set one column or property
and cannot undo each other; the columns and the row keys are the fields of the domain model.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic_core import PydanticSerializationError

from domain.accounts import ApiKey, AuditEntry, Session
from domain.errors import InvalidInputError


def stored_time(at: datetime) -> str:
    """``at`` as the stores keep it; ``InvalidInputError`` for a naive datetime (which instant it
    means depends on the clock of whoever wrote it)."""
    if at.utcoffset() is None:
        raise InvalidInputError(f"a time with a timezone is required, got {at.isoformat()}")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def _optional_time(at: datetime | None) -> str | None:
    return None if at is None else stored_time(at)


#: The fields of an API key, in the order of the ``api_keys`` columns.
API_KEY_FIELDS = ("key_id", "user", "secret_hash", "label", "created_at", "last_used_at", "revoked_at")
#: The fields of a session, in the order of the ``sessions`` columns.
SESSION_FIELDS = ("token_hash", "user", "created_at", "expires_at")


def api_key_row(key: ApiKey) -> dict[str, str | None]:
    """The stored values of ``key`` (times as :func:`stored_time` text), by field name."""
    return {
        "key_id": key.key_id,
        "user": key.user,
        "secret_hash": key.secret_hash,
        "label": key.label,
        "created_at": stored_time(key.created_at),
        "last_used_at": _optional_time(key.last_used_at),
        "revoked_at": _optional_time(key.revoked_at),
    }


def session_row(session: Session) -> dict[str, str]:
    return {
        "token_hash": session.token_hash,
        "user": session.user,
        "created_at": stored_time(session.created_at),
        "expires_at": stored_time(session.expires_at),
    }


def audit_row(entry: AuditEntry) -> dict[str, str]:
    """The stored values of ``entry``: the whole entry as JSON (``data``), and the time and actor
    that the log is ordered and filtered by. ``InvalidInputError`` for ``changes`` values that have
    no JSON form (the model takes any value there)."""
    try:
        data = entry.model_dump_json()
    except PydanticSerializationError as exc:
        raise InvalidInputError(f"audit entry changes: {exc}") from exc
    return {"at": stored_time(entry.at), "actor": entry.actor, "data": data}
