"""Who is calling, and whether they may: the dependencies every route declares.

A route names its permission with :func:`require` (``Action`` and, for actions on one
partnership, event or organisation, the path parameter naming it); :mod:`pactmatch.permissions`
decides. ``tests/api/test_auth.py`` walks every route of the app and fails if one declares
nothing, so a new route can never be public by accident.

Credentials: an API key (``Authorization: Bearer pm_…``), else the session cookie of a signed-in
browser. A request with neither is anonymous: 401 where a permission is needed, 403 when the
caller is known but the action is not theirs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from domain.accounts import Actor
from domain.errors import AuthenticationError, PermissionDeniedError
from pactmatch.accounts import AccountService
from pactmatch.permissions import Action, allowed

SESSION_COOKIE = "pactmatch_session"

bearer = HTTPBearer(
    auto_error=False, scheme_name="apiKey", description="An API key: `Authorization: Bearer pm_…`"
)
session_cookie = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, scheme_name="session", description="A signed-in browser's session"
)


def get_accounts(request: Request) -> AccountService:
    accounts: AccountService = request.app.state.accounts
    return accounts


AccountsDep = Annotated[AccountService, Depends(get_accounts)]


def current_actor(
    accounts: AccountsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
    session: Annotated[str | None, Security(session_cookie)],
) -> Actor:
    """The caller: a key's user (a wrong key is an error, not anonymity), a session's user, or
    nobody (an expired session is nobody: the pages send them to sign in)."""
    if credentials is not None:
        user, key = accounts.user_for_key(credentials.credentials)
        return Actor.of(user, "api", key.key_id)
    if session:
        signed_in = accounts.user_for_session(session)
        if signed_in is not None:
            return Actor.of(signed_in, "page")
    return Actor.anonymous()


ActorDep = Annotated[Actor, Depends(current_actor)]


def require(action: Action, resource: str | None = None) -> Any:
    """The dependency that lets a request through only when its caller may do ``action`` (on the
    resource named by the path parameter ``resource``); it returns the :class:`Actor`, which
    routes pass on to the services for the audit log."""

    def permission(request: Request, actor: ActorDep) -> Actor:
        scope = str(request.path_params[resource]) if resource else None
        if allowed(actor, action, scope):
            return actor
        if not actor.signed_in:
            raise AuthenticationError("sign in, or send an API key: Authorization: Bearer <key>")
        on = f" on {scope!r}" if scope else ""
        raise PermissionDeniedError(f"{actor.name} may not {action.value}{on}")

    permission.__name__ = f"require_{action.name.lower()}"
    _PERMISSIONS[permission] = (action, resource)
    return Depends(permission)


#: Every permission dependency made by :func:`require`, with what it checks (for the route walk).
_PERMISSIONS: dict[Callable[..., Actor], tuple[Action, str | None]] = {}


def permission_of(call: object) -> tuple[Action, str | None] | None:
    """What a dependency callable checks, if it is one of :func:`require`'s."""
    return next((checks for fn, checks in _PERMISSIONS.items() if fn is call), None)
