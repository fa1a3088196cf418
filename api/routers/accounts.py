"""Accounts over HTTP: signing in and out, one's own password, and (for admins) users, their
grants, API keys and the audit log.

Signing in sets an HttpOnly, SameSite=Lax session cookie (Secure over HTTPS or when
``PACTMATCH_SECURE_COOKIES`` is set); scripts use API keys instead (``Authorization: Bearer``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from api.auth import SESSION_COOKIE, AccountsDep, require
from api.deps import SettingsDep
from api.routers.common import Limit, Offset, StrictJSONRoute
from api.schemas.accounts import (
    AuditEntryPublic,
    GrantCreate,
    KeyCreate,
    KeyPublic,
    NewKeyPublic,
    PasswordChange,
    PasswordSet,
    SignIn,
    UserCreate,
    UserPublic,
    audit_entry_public,
    key_public,
    to_grant,
    user_public,
)
from api.schemas.common import PagePublic
from domain.accounts import Actor, Role
from pactmatch.accounts import SESSION_LIFETIME, AccountService
from pactmatch.permissions import Action
from pactmatch.settings import Settings

auth_router = APIRouter(prefix="/auth", tags=["accounts"], route_class=StrictJSONRoute)
Admin = Annotated[Actor, require(Action.ADMIN)]
AdminOnly = require(Action.ADMIN)


def set_session_cookie(response: Response, request: Request, settings: Settings, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies or request.url.scheme == "https",
        path="/",
    )


def sign_in(
    accounts: AccountService, request: Request, response: Response, settings: Settings, body: SignIn
) -> UserPublic:
    """Check the password and open a session (what the login page does too)."""
    user = accounts.authenticate(body.name, body.password)
    set_session_cookie(response, request, settings, accounts.start_session(user))
    return user_public(user)


@auth_router.post("/login", response_model=UserPublic, dependencies=[require(Action.SIGN_IN)])
def login(
    body: SignIn, accounts: AccountsDep, request: Request, response: Response, settings: SettingsDep
) -> UserPublic:
    """Sign in: sets the session cookie. 401 for a wrong name or password (which one is not said);
    429 while the account is locked after repeated failures."""
    return sign_in(accounts, request, response, settings, body)


@auth_router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, dependencies=[require(Action.SIGN_IN)])
def logout(request: Request, accounts: AccountsDep) -> Response:
    """End this browser's session (nothing happens without one)."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.end_session(token)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@auth_router.get("/me", response_model=UserPublic)
def me(actor: Annotated[Actor, require(Action.OWN_ACCOUNT)], accounts: AccountsDep) -> UserPublic:
    """Who the credentials belong to, with their grants (the CLI, acting as admin, has no user)."""
    return user_public(accounts.get_user(actor.name))


@auth_router.post("/password", status_code=status.HTTP_204_NO_CONTENT)
def change_password(
    body: PasswordChange, actor: Annotated[Actor, require(Action.OWN_ACCOUNT)], accounts: AccountsDep
) -> Response:
    """Change one's own password (the current one is asked again); every session of the account ends."""
    accounts.change_own_password(actor, body.current, body.new)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- users (admins) ------------------------------------------------------------------------------
users_router = APIRouter(prefix="/users", tags=["accounts"], route_class=StrictJSONRoute)


@users_router.get("", response_model=list[UserPublic], dependencies=[AdminOnly])
def list_users(accounts: AccountsDep) -> list[UserPublic]:
    return [user_public(u) for u in accounts.list_users()]


@users_router.post("", status_code=status.HTTP_201_CREATED, response_model=UserPublic)
def create_user(body: UserCreate, accounts: AccountsDep, actor: Admin) -> UserPublic:
    """Create a user with their grants; 409 if the name is taken (names are case-insensitive)."""
    return user_public(accounts.add_user(body.name, body.password, [to_grant(g) for g in body.grants], actor))


@users_router.get("/{name}", response_model=UserPublic, dependencies=[AdminOnly])
def get_user(name: str, accounts: AccountsDep) -> UserPublic:
    return user_public(accounts.get_user(name))


@users_router.post("/{name}/grants", response_model=UserPublic)
def grant(name: str, body: GrantCreate, accounts: AccountsDep, actor: Admin) -> UserPublic:
    """Add a grant (a no-op when the user holds it already)."""
    return user_public(accounts.grant(name, to_grant(body), actor))


@users_router.delete("/{name}/grants/{role}", response_model=UserPublic)
def revoke(
    name: str,
    role: Role,
    accounts: AccountsDep,
    actor: Admin,
    scope: Annotated[
        str | None, Query(max_length=200, description="the partnership, event or organisation")
    ] = None,
) -> UserPublic:
    """Remove a grant; 404 when the user does not hold it."""
    return user_public(accounts.revoke(name, accounts.parse_grant(role.value, scope), actor))


@users_router.put("/{name}/password", status_code=status.HTTP_204_NO_CONTENT)
def set_password(name: str, body: PasswordSet, accounts: AccountsDep, actor: Admin) -> Response:
    """Reset a user's password: unlocks the account and ends its sessions."""
    accounts.set_password(name, body.password, actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@users_router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_user(name: str, accounts: AccountsDep, actor: Admin) -> Response:
    """Delete a user with their keys and sessions."""
    accounts.delete_user(name, actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- API keys (admins) ---------------------------------------------------------------------------
keys_router = APIRouter(prefix="/keys", tags=["accounts"], route_class=StrictJSONRoute)


@keys_router.post("", status_code=status.HTTP_201_CREATED, response_model=NewKeyPublic)
def create_key(body: KeyCreate, accounts: AccountsDep, actor: Admin) -> NewKeyPublic:
    """A new API key for a user, returned this once (only its hash is kept)."""
    key, secret = accounts.create_key(body.user, body.label, actor)
    return NewKeyPublic(**key_public(key).model_dump(), key=secret)


@keys_router.get("", response_model=list[KeyPublic], dependencies=[AdminOnly])
def list_keys(
    accounts: AccountsDep,
    user: Annotated[str | None, Query(max_length=64, description="one user's keys")] = None,
) -> list[KeyPublic]:
    return [key_public(k) for k in accounts.list_keys(user)]


@keys_router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_key(key_id: str, accounts: AccountsDep, actor: Admin) -> Response:
    """Revoke a key: it stops working at once (it stays listed, with the time it was revoked)."""
    accounts.revoke_key(key_id, actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- the audit log (admins) ----------------------------------------------------------------------
audit_router = APIRouter(prefix="/audit", tags=["accounts"], route_class=StrictJSONRoute)


@audit_router.get("", response_model=PagePublic[AuditEntryPublic], dependencies=[AdminOnly])
def audit_log(
    accounts: AccountsDep,
    offset: Offset = 0,
    limit: Limit = 50,
    actor: Annotated[str | None, Query(max_length=200, description="one actor's writes")] = None,
) -> PagePublic[AuditEntryPublic]:
    """Every write, newest first: who, when, through which interface, on what, what changed."""
    page = accounts.audit.entries(offset, limit, actor)
    return PagePublic[AuditEntryPublic](
        items=[audit_entry_public(e) for e in page.items],
        total=page.total,
        offset=page.offset,
        limit=page.limit,
    )


router = APIRouter()
for _sub in (auth_router, users_router, keys_router, audit_router):
    router.include_router(_sub)
