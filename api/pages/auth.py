"""Signing in and out, the start page, and changing one's password."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.auth import SESSION_COOKIE, AccountsDep, ActorDep, require
from api.deps import EventsDep, ServiceDep, SettingsDep
from api.pages import PREFIX, render
from api.routers.accounts import sign_in
from api.schemas.accounts import SignIn
from domain.accounts import Actor, Role
from domain.errors import AuthenticationError, InvalidInputError, NotFoundError, TooManyRequestsError
from pactmatch.permissions import Action

router = APIRouter(prefix=PREFIX, include_in_schema=False)
T = TypeVar("T")
SignedIn = Annotated[Actor, require(Action.OWN_ACCOUNT)]


def _local(target: str) -> str:
    """Where to go after signing in: only a path of this site (no open redirect)."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return PREFIX
    return target


@router.get("", response_class=HTMLResponse, name="home")
def home(request: Request, actor: SignedIn, service: ServiceDep, events: EventsDep) -> Response:
    """What the caller's grants open: their partnerships, events and organisation."""
    partnerships = [
        p for pid in actor.scopes(Role.COORDINATOR) if (p := _found(service.get_partnership, pid))
    ]
    organisations = [o for oid in actor.scopes(Role.MEMBER) if (o := _found(service.get_organisation, oid))]
    mine = [e for eid in actor.scopes(Role.ORGANISER) if (e := _found(events.get_event, eid))]
    return render(
        request, "home.html.j2", actor, partnerships=partnerships, organisations=organisations, events=mine
    )


def _found(get: Callable[[str], T], item_id: str) -> T | None:
    """The item, or None when a grant names one that is gone (or not imported yet)."""
    try:
        return get(item_id)
    except NotFoundError:
        return None


@router.get("/login", response_class=HTMLResponse, name="login_form", dependencies=[require(Action.SIGN_IN)])
def login_form(request: Request, actor: ActorDep, next: str = PREFIX) -> Response:
    if actor.user is not None:
        return RedirectResponse(_local(next), status_code=status.HTTP_303_SEE_OTHER)
    return render(request, "login.html.j2", None, next=_local(next), name="", error=None)


@router.post("/login", response_class=HTMLResponse, name="login_page", dependencies=[require(Action.SIGN_IN)])
def login_page(
    request: Request,
    accounts: AccountsDep,
    settings: SettingsDep,
    name: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=2000)] = PREFIX,
) -> Response:
    """Sign in from the form: back where the visitor was going, or the form again with the error
    and the typed name kept."""
    redirect = RedirectResponse(_local(next), status_code=status.HTTP_303_SEE_OTHER)
    try:
        sign_in(accounts, request, redirect, settings, SignIn(name=name, password=password))
    except (AuthenticationError, TooManyRequestsError) as exc:
        code = 429 if isinstance(exc, TooManyRequestsError) else 401
        return render(request, "login.html.j2", None, code, next=_local(next), name=name, error=str(exc))
    return redirect


@router.post("/logout", name="logout_page", dependencies=[require(Action.SIGN_IN)])
def logout_page(request: Request, accounts: AccountsDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.end_session(token)
    response = RedirectResponse(f"{PREFIX}/login", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/password", response_class=HTMLResponse, name="password_form")
def password_form(request: Request, actor: SignedIn) -> Response:
    return render(request, "password.html.j2", actor, errors={}, done=False)


@router.post("/password", response_class=HTMLResponse, name="password_page")
def password_page(
    request: Request,
    actor: SignedIn,
    accounts: AccountsDep,
    current: Annotated[str, Form(max_length=1024)],
    new: Annotated[str, Form(max_length=1024)],
) -> Response:
    """Change one's password; errors are shown next to their field."""
    try:
        accounts.change_own_password(actor, current, new)
    except AuthenticationError:
        return render(
            request,
            "password.html.j2",
            actor,
            422,
            errors={"current": "This is not your current password."},
            done=False,
        )
    except TooManyRequestsError as exc:
        return render(request, "password.html.j2", actor, 429, errors={"current": str(exc)}, done=False)
    except InvalidInputError as exc:
        message = exc.issues[0].message if exc.issues else str(exc)
        return render(
            request,
            "password.html.j2",
            actor,
            422,
            errors={"new": f"The new password {message}."},
            done=False,
        )
    # Every session of the account ended with the old password, this one too.
    response = render(request, "password.html.j2", None, errors={}, done=True)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
