"""Who may use the service: users and their role grants, API keys, sessions, and the audit log.

A user holds any number of grants, each a role with the partnership, event or organisation it
applies to (``coordinator`` of two partnerships, say); ``admin`` applies to everything. Secrets
are never stored: passwords as Argon2 hashes, API keys and session ids as SHA-256 hashes of
random tokens (they carry 256 bits of entropy, so a fast hash is as safe as a slow one there,
and every request checks one).
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

from domain.models import Identifier

_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{1,63}$")


def _username(value: str) -> str:
    if not _USERNAME.match(value):
        raise ValueError(
            "a user name is 2-64 characters: letters, digits and . _ @ + - (starting with a letter or digit)"
        )
    return value


#: A login name (an e-mail address works too). Its JSON schema states the rule the validator
#: checks, so the OpenAPI document says which names pass.
Username = Annotated[
    str, AfterValidator(_username), WithJsonSchema({"type": "string", "pattern": _USERNAME.pattern})
]


class Role(StrEnum):
    ADMIN = "admin"  # support staff: everything
    COORDINATOR = "coordinator"  # of a partnership
    ORGANISER = "organiser"  # of a match-making event
    MEMBER = "member"  # of an organisation: its own profile

    @property
    def scope_kind(self) -> str | None:
        """What a grant of this role applies to (``None``: everything, no scope)."""
        return _SCOPE_KINDS[self]


_SCOPE_KINDS: dict[Role, str | None] = {
    Role.ADMIN: None,
    Role.COORDINATOR: "partnership",
    Role.ORGANISER: "event",
    Role.MEMBER: "organisation",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Grant(_Frozen):
    """One role, with the id of the partnership, event or organisation it applies to."""

    role: Role
    scope: Identifier | None = None

    @model_validator(mode="after")
    def _scoped(self) -> Grant:
        kind = self.role.scope_kind
        if kind is None and self.scope is not None:
            raise ValueError("scope: admin applies to everything and takes no scope")
        if kind is not None and self.scope is None:
            raise ValueError(f"scope: a {self.role.value} grant needs the {kind} id it applies to")
        return self

    def label(self) -> str:
        return self.role.value if self.scope is None else f"{self.role.value} of {self.scope}"


class User(_Frozen):
    """An account. ``failed_logins`` and ``locked_until`` slow down password guessing."""

    name: Username
    password_hash: str = Field(repr=False)
    grants: tuple[Grant, ...] = ()
    created_at: datetime
    password_changed_at: datetime
    failed_logins: int = 0
    locked_until: datetime | None = None

    def has(self, role: Role, scope: str | None = None) -> bool:
        return any(g.role == role and (scope is None or g.scope == scope) for g in self.grants)

    @property
    def is_admin(self) -> bool:
        return self.has(Role.ADMIN)

    def scopes(self, role: Role) -> list[str]:
        """The ids this user holds ``role`` for, sorted."""
        return sorted(g.scope for g in self.grants if g.role == role and g.scope is not None)


class ApiKey(_Frozen):
    """An API key: ``key_id`` is the public part of the key (its lookup prefix), shown in lists."""

    key_id: str
    user: str
    secret_hash: str = Field(repr=False)
    label: str = Field(default="", max_length=200)
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class Session(_Frozen):
    """A signed-in browser: the cookie holds a random token, the store only its hash."""

    token_hash: str = Field(repr=False)
    user: str
    created_at: datetime
    expires_at: datetime


class AuditEntry(_Frozen):
    """One write: who did it, when, through which interface, on what, and what changed.

    ``changes`` maps a field to its ``[before, after]`` values, for profiles and memberships.
    """

    at: datetime
    actor: str
    via: str = Field(description="api | page | cli")
    action: str = Field(description="e.g. organisation.update, membership.delete, user.grant")
    target: str = Field(description="the ids written, e.g. 'organisation acme' or 'p1/acme'")
    changes: dict[str, list[Any]] = Field(default_factory=dict)


class Actor(_Frozen):
    """Who is acting: a signed-in user (through the API or a page), the CLI, or nobody.

    The CLI acts as admin on the store it opens: whoever can open the store file (or holds the
    database credentials) owns it.
    """

    name: str
    via: str = Field(description="api | page | cli | link (an attendee's agenda link)")
    user: User | None = None
    key_id: str | None = None

    @classmethod
    def anonymous(cls, via: str = "api") -> Actor:
        return cls(name="", via=via)

    @classmethod
    def cli(cls, who: str) -> Actor:
        return cls(name=f"cli:{who}", via="cli")

    @classmethod
    def attendee(cls, event_id: str, attendee_id: str) -> Actor:
        """An event's attendee acting through their agenda link: no account, the signed link is the
        credential, and it lets them act on their own requests only."""
        return cls(name=f"attendee {attendee_id} of {event_id}", via="link")

    @classmethod
    def of(cls, user: User, via: str, key_id: str | None = None) -> Actor:
        return cls(name=user.name, via=via, user=user, key_id=key_id)

    @property
    def signed_in(self) -> bool:
        return self.user is not None or self.via == "cli"

    @property
    def is_admin(self) -> bool:
        return self.via == "cli" or (self.user is not None and self.user.is_admin)

    def has(self, role: Role, scope: str | None = None) -> bool:
        return self.user is not None and self.user.has(role, scope)

    def scopes(self, role: Role) -> list[str]:
        return self.user.scopes(role) if self.user is not None else []
