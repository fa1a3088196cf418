"""Accounts: users and their grants, passwords, API keys, browser sessions, and the audit trail.

The API, the pages and the CLI all go through :class:`AccountService`; the store keeps the
records (:class:`graph.base.GraphStore`'s accounts part), so every API process sees the same
users, keys and sessions.

* Passwords are hashed with Argon2id (``argon2-cffi``, its default parameters) and re-hashed on
  login when those defaults change. A wrong password and an unknown user take the same time and
  give the same answer.
* After :data:`LOCK_AFTER` failed logins in a row an account is locked for :data:`LOCK_FOR`
  (slows password guessing down to a few tries an hour; an admin's ``user passwd`` unlocks).
* API keys are ``pm_<key id>_<secret>``: 256 random bits, shown once; the store keeps the key id
  (what lists show and lookups use) and the SHA-256 of the secret. A key's last use is written
  at most once a minute (a write per request would cost more than the request).
* Session cookies carry a random token; the store keeps its SHA-256 and an expiry.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, ValidationError

from domain.accounts import Actor, ApiKey, AuditEntry, Grant, Role, Session, User
from domain.errors import (
    AuthenticationError,
    ConflictError,
    FieldIssue,
    InvalidInputError,
    NotFoundError,
    TooManyRequestsError,
)
from graph.base import GraphStore, Page

LOCK_AFTER = 5
LOCK_FOR = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)
KEY_TOUCH_EVERY = timedelta(minutes=1)
MIN_PASSWORD, MAX_PASSWORD = 10, 1024
KEY_PREFIX = "pm"

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_password(password: str) -> str:
    """A new password: long enough to resist guessing, short enough not to burden the hash."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInputError(
            f"password: {MIN_PASSWORD} to {MAX_PASSWORD} characters",
            [FieldIssue("password", f"must be {MIN_PASSWORD} to {MAX_PASSWORD} characters long")],
        )
    return password


def changed_fields(before: BaseModel | None, after: BaseModel | None) -> dict[str, list[Any]]:
    """``{field: [before, after]}`` for every field that differs (the audit log's ``changes``)."""
    old = before.model_dump(mode="json") if before is not None else {}
    new = after.model_dump(mode="json") if after is not None else {}
    return {k: [old.get(k), new.get(k)] for k in sorted(old.keys() | new.keys()) if old.get(k) != new.get(k)}


class AuditTrail:
    """Appends who-did-what entries to the store's audit log (every service write calls it)."""

    def __init__(self, store: GraphStore, clock: Clock = utc_now) -> None:
        self.store, self.clock = store, clock

    def record(
        self, actor: Actor, action: str, target: str, changes: dict[str, list[Any]] | None = None
    ) -> None:
        self.store.append_audit(
            AuditEntry(
                at=self.clock(), actor=actor.name or "anonymous", via=actor.via, action=action,
                target=target, changes=changes or {},
            )
        )  # fmt: skip

    def entries(self, offset: int, limit: int, actor: str | None = None) -> Page[AuditEntry]:
        return self.store.audit_log(offset, limit, actor=actor)


class AccountService:
    def __init__(self, store: GraphStore, clock: Clock = utc_now) -> None:
        self.store, self.clock = store, clock
        self.audit = AuditTrail(store, clock)
        self._hasher = PasswordHasher()
        # Verified against when the user does not exist, so that a login for an unknown name
        # costs what a wrong password costs.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    # -- users ------------------------------------------------------------------------------
    def get_user(self, name: str) -> User:
        user = self.store.get_user(name.lower())
        if user is None:
            raise NotFoundError("user", name)
        return user

    def list_users(self) -> list[User]:
        return self.store.list_users()

    def admin_exists(self) -> bool:
        return any(u.is_admin for u in self.store.list_users())

    def add_user(self, name: str, password: str, grants: Sequence[Grant], actor: Actor) -> User:
        """A new user (names are case-insensitive: stored lower-cased); ``ConflictError`` if taken."""
        now = self.clock()
        try:
            user = User(
                name=name.lower(), password_hash=self._hasher.hash(check_password(password)),
                grants=tuple(dict.fromkeys(grants)), created_at=now, password_changed_at=now,
            )  # fmt: skip
        except ValidationError as exc:
            raise InvalidInputError(
                f"user: {exc.errors()[0]['msg']}", [FieldIssue("name", exc.errors()[0]["msg"])]
            ) from exc
        if self.store.get_user(user.name) is not None:
            raise ConflictError(f"user {user.name!r} already exists")
        self.store.put_user(user)
        self.audit.record(
            actor, "user.create", f"user {user.name}", {"grants": [None, [g.label() for g in user.grants]]}
        )
        return user

    def grant(self, name: str, grant: Grant, actor: Actor) -> User:
        user = self.get_user(name)
        if grant in user.grants:
            return user
        updated = user.model_copy(update={"grants": (*user.grants, grant)})
        self.store.put_user(updated)
        self.audit.record(actor, "user.grant", f"user {user.name}", {"grant": [None, grant.label()]})
        return updated

    def revoke(self, name: str, grant: Grant, actor: Actor) -> User:
        user = self.get_user(name)
        if grant not in user.grants:
            raise NotFoundError("grant", f"{grant.label()} of {user.name}")
        updated = user.model_copy(update={"grants": tuple(g for g in user.grants if g != grant)})
        self.store.put_user(updated)
        self.audit.record(actor, "user.revoke", f"user {user.name}", {"grant": [grant.label(), None]})
        return updated

    def set_password(self, name: str, password: str, actor: Actor) -> None:
        """A new password (an admin's reset, or the user's own change): unlocks the account and
        ends its sessions, so a stolen cookie dies with the old password."""
        user = self.get_user(name)
        self.store.put_user(
            user.model_copy(
                update={
                    "password_hash": self._hasher.hash(check_password(password)),
                    "password_changed_at": self.clock(), "failed_logins": 0, "locked_until": None,
                }
            )
        )  # fmt: skip
        self.store.delete_sessions(user.name)
        self.audit.record(actor, "user.password", f"user {user.name}")

    def change_own_password(self, actor: Actor, current: str, new: str) -> None:
        if actor.user is None:
            raise AuthenticationError("sign in to change your password")
        self.authenticate(actor.user.name, current)
        self.set_password(actor.user.name, new, actor)

    def delete_user(self, name: str, actor: Actor) -> None:
        user = self.get_user(name)
        self.store.delete_user(user.name)
        self.audit.record(actor, "user.delete", f"user {user.name}")

    # -- passwords --------------------------------------------------------------------------
    def authenticate(self, name: str, password: str) -> User:
        """The user with this name and password; ``AuthenticationError`` otherwise (the same for
        an unknown name), ``TooManyRequestsError`` while the account is locked."""
        now = self.clock()
        user = self.store.get_user(name.strip().lower())
        if user is None:
            self._verify(self._dummy_hash, password)
            raise AuthenticationError("wrong user name or password")
        if user.locked_until is not None and user.locked_until > now:
            wait = (user.locked_until - now).total_seconds()
            raise TooManyRequestsError(
                f"too many failed sign-ins: try again in {max(1, round(wait / 60))} minute(s)", int(wait) + 1
            )
        if not self._verify(user.password_hash, password):
            failed = user.failed_logins + 1
            locked = now + LOCK_FOR if failed >= LOCK_AFTER else None
            self.store.put_user(user.model_copy(update={"failed_logins": failed, "locked_until": locked}))
            raise AuthenticationError("wrong user name or password")
        update: dict[str, Any] = {}
        if user.failed_logins or user.locked_until:
            update.update(failed_logins=0, locked_until=None)
        if self._hasher.check_needs_rehash(user.password_hash):
            update["password_hash"] = self._hasher.hash(password)
        if update:
            user = user.model_copy(update=update)
            self.store.put_user(user)
        return user

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    # -- API keys ---------------------------------------------------------------------------
    def create_key(self, user_name: str, label: str, actor: Actor) -> tuple[ApiKey, str]:
        """A new key for ``user_name``: the record and the key itself, which is shown only now."""
        user = self.get_user(user_name)
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        key = ApiKey(
            key_id=key_id, user=user.name, secret_hash=_sha256(secret), label=label, created_at=self.clock()
        )
        self.store.add_api_key(key)
        self.audit.record(actor, "key.create", f"key {key_id} of user {user.name}")
        return key, f"{KEY_PREFIX}_{key_id}_{secret}"

    def list_keys(self, user_name: str | None = None) -> list[ApiKey]:
        return self.store.list_api_keys(user_name.lower() if user_name else None)

    def revoke_key(self, key_id: str, actor: Actor) -> None:
        self.store.revoke_api_key(key_id, self.clock())
        self.audit.record(actor, "key.revoke", f"key {key_id}")

    def user_for_key(self, token: str) -> tuple[User, ApiKey]:
        """The user a presented key belongs to; ``AuthenticationError`` for a malformed, unknown,
        revoked or wrong key, and for a key whose user is gone."""
        prefix, _, rest = token.strip().partition("_")
        key_id, _, secret = rest.partition("_")
        key = self.store.get_api_key(key_id) if prefix == KEY_PREFIX and key_id and secret else None
        if key is None or not hmac.compare_digest(key.secret_hash, _sha256(secret)) or not key.active:
            raise AuthenticationError("invalid or revoked API key")
        user = self.store.get_user(key.user)
        if user is None:
            raise AuthenticationError("invalid or revoked API key")
        now = self.clock()
        if key.last_used_at is None or now - key.last_used_at >= KEY_TOUCH_EVERY:
            self.store.touch_api_key(key.key_id, now)
        return user, key

    # -- sessions ---------------------------------------------------------------------------
    def start_session(self, user: User) -> str:
        """A new browser session for ``user``; returns the token for the cookie."""
        token, now = secrets.token_urlsafe(32), self.clock()
        self.store.add_session(
            Session(
                token_hash=_sha256(token), user=user.name, created_at=now, expires_at=now + SESSION_LIFETIME
            )
        )
        # Expired sessions of this user go now, so they never pile up.
        self.store.delete_sessions(user.name, expired_before=now)
        return token

    def user_for_session(self, token: str) -> User | None:
        session = self.store.get_session(_sha256(token))
        if session is None or session.expires_at <= self.clock():
            return None
        return self.store.get_user(session.user)

    def end_session(self, token: str) -> None:
        self.store.delete_session(_sha256(token))

    # -- the first admin --------------------------------------------------------------------
    @staticmethod
    def parse_grant(role: str, scope: str | None) -> Grant:
        """A grant from the CLI's ``--role`` and ``--scope``, with the field named on error."""
        try:
            return Grant(role=Role(role), scope=scope)
        except ValidationError as exc:
            message = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
            raise InvalidInputError(f"role: {message}", [FieldIssue("role", message)]) from exc
        except ValueError as exc:  # not a role at all
            message = f"{role!r} is not a role: use one of {', '.join(r.value for r in Role)}"
            raise InvalidInputError(f"role: {message}", [FieldIssue("role", message)]) from exc


SIGNING_KEY_ARTIFACT = "secrets/signing-key"


def signing_key(store: GraphStore, configured: str | None) -> str:
    """The key that signs CSRF tokens and attendee links: the configured one, else a random one
    made on first use and kept in the store (every API process of the store then shares it, and
    links stay valid across restarts)."""
    if configured:
        return configured
    stored = store.get_artifact(SIGNING_KEY_ARTIFACT)
    if stored is None:
        store.put_artifact(SIGNING_KEY_ARTIFACT, secrets.token_urlsafe(48).encode("ascii"))
        stored = store.get_artifact(SIGNING_KEY_ARTIFACT)  # a concurrent first start may have won
        assert stored is not None
    return stored.decode("ascii")
