"""Accounts at the HTTP edge: sign-in, users and their grants, API keys, the audit log.

No response ever carries a password hash or a key's secret hash; a new key is shown once, in the
answer that creates it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from domain.accounts import ApiKey, AuditEntry, Grant, Role, User, Username
from pactmatch.accounts import MAX_PASSWORD, MIN_PASSWORD

#: A new password: the service checks its length (with its own message); the OpenAPI document
#: states it, so clients know what passes.
NewPassword = Annotated[str, Field(max_length=MAX_PASSWORD, json_schema_extra={"minLength": MIN_PASSWORD})]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignIn(_In):
    name: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class PasswordChange(_In):
    current: str = Field(max_length=MAX_PASSWORD)
    new: NewPassword


class PasswordSet(_In):
    password: NewPassword


class GrantCreate(Grant):
    """A grant as sent: the domain's rules (an id for every role but admin, a bounded identifier)
    checked at the edge, so a wrong one is a 422 naming it."""


class GrantPublic(BaseModel):
    role: Role
    scope: str | None = None


class UserCreate(_In):
    name: Username
    password: NewPassword
    grants: list[GrantCreate] = Field(default_factory=list, max_length=1000)


class UserPublic(BaseModel):
    name: str
    grants: list[GrantPublic]
    created_at: datetime
    password_changed_at: datetime
    locked_until: datetime | None = None


def user_public(user: User) -> UserPublic:
    return UserPublic(
        name=user.name,
        grants=[GrantPublic(role=g.role, scope=g.scope) for g in user.grants],
        created_at=user.created_at,
        password_changed_at=user.password_changed_at,
        locked_until=user.locked_until,
    )


def to_grant(body: GrantCreate) -> Grant:
    return Grant(role=body.role, scope=body.scope)


class KeyCreate(_In):
    user: str = Field(max_length=64)
    label: str = Field(default="", max_length=200)


class KeyPublic(BaseModel):
    key_id: str
    user: str
    label: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewKeyPublic(KeyPublic):
    key: str = Field(description="the key itself: shown this once, store it now")


def key_public(key: ApiKey) -> KeyPublic:
    return KeyPublic(**key.model_dump(exclude={"secret_hash"}))


class AuditEntryPublic(BaseModel):
    at: datetime
    actor: str
    via: str
    action: str
    target: str
    changes: dict[str, list[Any]]


def audit_entry_public(entry: AuditEntry) -> AuditEntryPublic:
    return AuditEntryPublic.model_validate(entry.model_dump())
