"""Access control, route by route: every route declares a permission, and each role gets exactly
what the issue's table gives it (allowed: the route's own answer; forbidden: 403; nobody: 401).

The table below is written out by hand, not derived from ``pactmatch.permissions``, so it checks
the policy rather than restating it; a route missing from it fails the test, so every new route
has to be placed in it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import permission_of
from domain.accounts import Actor, Grant, Role
from domain.events import AttendeeCreate, EventCreate, SlotSpec
from pactmatch.event_service import EventService
from pactmatch.settings import Settings
from tests.conftest import client_as, member, org, partnership

ANON, ADMIN, COORD, OTHER_COORD, ORGANISER, MEMBER = (
    "anonymous", "admin", "coordinator", "other coordinator", "organiser", "member",
)  # fmt: skip
ROLES = [ANON, ADMIN, COORD, OTHER_COORD, ORGANISER, MEMBER]
GRANTS = {
    ADMIN: Grant(role=Role.ADMIN),
    COORD: Grant(role=Role.COORDINATOR, scope="p1"),
    OTHER_COORD: Grant(role=Role.COORDINATOR, scope="p2"),
    ORGANISER: Grant(role=Role.ORGANISER, scope="e1"),
    MEMBER: Grant(role=Role.MEMBER, scope="o1"),
}
EVERYONE = frozenset(ROLES)
SIGNED_IN = EVERYONE - {ANON}
ONLY_ADMIN = frozenset({ADMIN})
P1 = frozenset({ADMIN, COORD})  # the coordinators of p1
E1 = frozenset({ADMIN, ORGANISER})  # the organisers of e1
O1 = frozenset({ADMIN, MEMBER})  # the members of o1 (its profile, partnerships to join, interests)

#: Who may call each route (with the ids of the fixture: p1, e1, o1 in the paths).
ALLOWED: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/health"): EVERYONE,
    ("POST", "/auth/login"): EVERYONE,
    ("POST", "/auth/logout"): EVERYONE,
    ("GET", "/auth/me"): SIGNED_IN,
    ("POST", "/auth/password"): SIGNED_IN,
    ("POST", "/organisations"): ONLY_ADMIN,
    ("GET", "/organisations"): SIGNED_IN,
    ("GET", "/organisations/{org_id}"): SIGNED_IN,
    ("PUT", "/organisations/{org_id}"): O1,
    ("DELETE", "/organisations/{org_id}"): ONLY_ADMIN,
    ("GET", "/organisations/{org_id}/memberships"): SIGNED_IN,
    ("GET", "/organisations/{org_id}/partnerships-to-join"): O1,
    ("GET", "/organisations/{org_id}/interests"): O1,
    ("PUT", "/organisations/{org_id}/interests/{partnership_id}"): O1,
    ("DELETE", "/organisations/{org_id}/interests/{partnership_id}"): O1,
    ("POST", "/partnerships"): ONLY_ADMIN,
    ("GET", "/partnerships"): SIGNED_IN,
    ("GET", "/partnerships/{partnership_id}"): SIGNED_IN,
    ("PUT", "/partnerships/{partnership_id}"): P1,
    ("DELETE", "/partnerships/{partnership_id}"): ONLY_ADMIN,
    ("GET", "/partnerships/{partnership_id}/members"): SIGNED_IN,
    ("PUT", "/partnerships/{partnership_id}/members/{org_id}"): P1,
    ("DELETE", "/partnerships/{partnership_id}/members/{org_id}"): P1,
    ("GET", "/partnerships/{partnership_id}/candidates"): P1,
    ("GET", "/partnerships/{partnership_id}/gaps"): P1,
    ("POST", "/partnerships/{partnership_id}/gaps"): P1,
    ("GET", "/partnerships/{partnership_id}/synergies"): P1,
    ("GET", "/partnerships/{partnership_id}/interests"): P1,  # the requests to join p1
    ("GET", "/partnerships/{partnership_id}/shortlist"): P1,
    ("PUT", "/partnerships/{partnership_id}/shortlist/{org_id}"): P1,
    ("DELETE", "/partnerships/{partnership_id}/shortlist/{org_id}"): P1,
    ("POST", "/partnerships/{partnership_id}/shortlist/{org_id}/membership"): P1,
    ("GET", "/shortlist-outcomes"): ONLY_ADMIN,
    ("POST", "/imports/json"): ONLY_ADMIN,
    ("POST", "/imports/csv"): ONLY_ADMIN,
    ("POST", "/imports/cordis"): ONLY_ADMIN,
    ("POST", "/events"): E1,  # any organiser may create an event
    ("GET", "/events"): E1,
    ("GET", "/events/{event_id}"): E1,
    ("PUT", "/events/{event_id}"): E1,
    ("DELETE", "/events/{event_id}"): E1,
    ("POST", "/events/{event_id}/attendees"): E1,
    ("POST", "/events/{event_id}/attendees/batch"): E1,
    ("POST", "/events/{event_id}/attendees/from-store"): E1,
    ("GET", "/events/{event_id}/attendees"): E1,
    ("GET", "/events/{event_id}/attendees/{attendee_id}"): E1,
    ("PATCH", "/events/{event_id}/attendees/{attendee_id}"): E1,
    ("DELETE", "/events/{event_id}/attendees/{attendee_id}"): E1,
    ("POST", "/events/{event_id}/attendees/{attendee_id}/agenda-link"): E1,
    ("DELETE", "/events/{event_id}/attendees/{attendee_id}/agenda-link"): E1,
    ("POST", "/events/{event_id}/schedule"): E1,
    ("GET", "/events/{event_id}/schedule"): E1,
    ("GET", "/events/{event_id}/agendas"): E1,
    ("GET", "/events/{event_id}/agendas/{attendee_id}"): E1,
    ("GET", "/events/{event_id}/summary"): E1,
    ("GET", "/events/{event_id}/requests"): E1,
    ("POST", "/events/{event_id}/requests"): E1,
    ("POST", "/events/{event_id}/requests/{request_id}/cancel"): E1,
    ("POST", "/events/{event_id}/requests/{request_id}/{answer}"): E1,
    ("PUT", "/events/{event_id}/request-window"): E1,
    ("GET", "/agenda/{token}"): EVERYONE,  # the signed link is the credential
    ("GET", "/agenda/{token}/attendees"): EVERYONE,
    ("GET", "/agenda/{token}/requests"): EVERYONE,
    ("POST", "/agenda/{token}/requests"): EVERYONE,
    ("POST", "/agenda/{token}/requests/{request_id}/accept"): EVERYONE,
    ("POST", "/agenda/{token}/requests/{request_id}/decline"): EVERYONE,
    ("POST", "/agenda/{token}/requests/{request_id}/withdraw"): EVERYONE,
    ("GET", "/agenda/{token}/notifications"): EVERYONE,
    ("GET", "/regions/{code}/stakeholders"): SIGNED_IN,
    ("GET", "/regions"): SIGNED_IN,  # the region picker's search
    ("GET", "/me"): SIGNED_IN,  # what one's own grants give
    ("GET", "/target-mix"): SIGNED_IN,
    ("PUT", "/target-mix"): ONLY_ADMIN,
    ("DELETE", "/target-mix"): ONLY_ADMIN,
    ("POST", "/gap-reports"): ONLY_ADMIN,
    ("POST", "/synergy-reports"): ONLY_ADMIN,
    ("GET", "/jobs"): ONLY_ADMIN,
    ("GET", "/jobs/{job_id}"): ONLY_ADMIN,
    ("GET", "/jobs/{job_id}/result"): ONLY_ADMIN,
    ("DELETE", "/jobs/{job_id}"): ONLY_ADMIN,
    ("GET", "/users"): ONLY_ADMIN,
    ("POST", "/users"): ONLY_ADMIN,
    ("GET", "/users/{name}"): ONLY_ADMIN,
    ("POST", "/users/{name}/grants"): ONLY_ADMIN,
    ("DELETE", "/users/{name}/grants/{role}"): ONLY_ADMIN,
    ("PUT", "/users/{name}/password"): ONLY_ADMIN,
    ("DELETE", "/users/{name}"): ONLY_ADMIN,
    ("GET", "/keys"): ONLY_ADMIN,
    ("POST", "/keys"): ONLY_ADMIN,
    ("DELETE", "/keys/{key_id}"): ONLY_ADMIN,
    ("GET", "/audit"): ONLY_ADMIN,
    ("GET", "/app"): SIGNED_IN,
    ("GET", "/app/login"): EVERYONE,
    ("POST", "/app/login"): EVERYONE,
    ("POST", "/app/logout"): EVERYONE,
    ("GET", "/app/password"): SIGNED_IN,
    ("POST", "/app/password"): SIGNED_IN,
    ("GET", "/app/partnerships"): SIGNED_IN,
    ("GET", "/app/partnerships/{partnership_id}"): P1,
    ("GET", "/app/partnerships/{partnership_id}/candidates"): P1,
    ("GET", "/app/partnerships/{partnership_id}/synergies"): P1,
    ("GET", "/app/partnerships/{partnership_id}/shortlist"): P1,
    ("POST", "/app/partnerships/{partnership_id}/shortlist/{org_id}"): P1,
    ("POST", "/app/partnerships/{partnership_id}/shortlist/{org_id}/member"): P1,
    ("POST", "/app/partnerships/{partnership_id}/shortlist/{org_id}/remove"): P1,
    ("GET", "/app/organisations/{org_id}"): O1,
    ("POST", "/app/organisations/{org_id}"): O1,
    ("GET", "/app/organisations/{org_id}/partnerships"): O1,
    ("POST", "/app/organisations/{org_id}/interests/{partnership_id}"): O1,
    ("POST", "/app/organisations/{org_id}/interests/{partnership_id}/withdraw"): O1,
    ("GET", "/app/regions"): SIGNED_IN,
    ("GET", "/app/regions/{code}"): SIGNED_IN,
    ("GET", "/app/reports"): ONLY_ADMIN,
    ("POST", "/app/reports"): ONLY_ADMIN,
    ("GET", "/app/dashboard"): ONLY_ADMIN,
    ("GET", "/app/synergies"): ONLY_ADMIN,
    ("GET", "/app/events"): E1,
    ("GET", "/app/events/new"): E1,
    ("POST", "/app/events/new"): E1,
    ("GET", "/app/events/{event_id}"): E1,
    ("POST", "/app/events/{event_id}/upload"): E1,
    ("POST", "/app/events/{event_id}/from-store"): E1,
    ("POST", "/app/events/{event_id}/schedule"): E1,
    ("GET", "/app/events/{event_id}/schedule"): E1,
    ("POST", "/app/events/{event_id}/meetings/{meeting_id}"): E1,
    ("GET", "/app/events/{event_id}/summary"): E1,
    ("GET", "/app/events/{event_id}/links"): E1,
    ("POST", "/app/events/{event_id}/request-window"): E1,
    ("GET", "/app/events/{event_id}/requests"): E1,
    ("POST", "/app/events/{event_id}/requests/{request_id}/cancel"): E1,
    ("GET", "/app/agenda/{token}"): EVERYONE,  # the signed link is the credential, as in the API
    ("GET", "/app/agenda/{token}/people"): EVERYONE,
    ("POST", "/app/agenda/{token}/requests"): EVERYONE,
    ("POST", "/app/agenda/{token}/requests/{request_id}"): EVERYONE,
}

#: Routes that are not the API's: FastAPI's own documentation (public on purpose: it shows the
#: API's shape, no data) and the pages' stylesheet.
NOT_API = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/app/static"}


def make_app(tmp_path: Path) -> FastAPI:
    app = create_app(Settings(store=str(tmp_path / "store"), encoder="hashing", cache_dir=tmp_path / "cache"))
    service, setup = app.state.service, Actor.cli("tests")
    service.store.import_batch(
        [org("o1"), org("o2", stakeholder_type="higher_education")],
        [partnership("p1"), partnership("p2")],
        [member("o1", "p1"), member("o2", "p2")],
    )
    events = EventService(service, app.state.signing_key)
    event = EventCreate(
        event_id="e1", name="Event one", date="2027-01-01", tables=2,  # type: ignore[arg-type]
        slots=(SlotSpec(start="09:00"), SlotSpec(start="09:30")),  # type: ignore[arg-type]
    )  # fmt: skip
    events.create_event(event, actor=setup)
    events.register("e1", AttendeeCreate(org_id="o2", person="Ann", attendee_id="a1"), actor=setup)
    app.state.agenda_token = events.agenda_link("e1", "a1", actor=setup)[0]
    return app


def api_routes(app: FastAPI) -> Iterator[tuple[str, str, APIRoute]]:
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            for method in sorted(context.methods or ()):
                yield method, str(context.path), context.original_route


def test_every_route_declares_a_permission_and_is_in_the_table(tmp_path: Path) -> None:
    app = make_app(tmp_path)

    def permissions(dependant: object) -> list[object]:
        found = []
        for dep in getattr(dependant, "dependencies", ()):
            if permission_of(dep.call) is not None:
                found.append(permission_of(dep.call))
            found += permissions(dep)
        return found

    seen = set()
    for method, path, route in api_routes(app):
        assert permissions(route.dependant), f"{method} {path} declares no permission"
        seen.add((method, path))
    assert seen == set(ALLOWED), f"not in the table: {seen - set(ALLOWED)}; gone: {set(ALLOWED) - seen}"
    others = {
        str(c.path) for c in iter_route_contexts(app.routes) if not isinstance(c.original_route, APIRoute)
    }
    assert others == NOT_API


def _url(path: str, app: FastAPI) -> str:
    ids = {
        "org_id": "o1", "partnership_id": "p1", "event_id": "e1", "attendee_id": "a1", "job_id": "nojob",
        "name": "nobody", "role": "member", "key_id": "nokey", "code": "DE11", "token": app.state.agenda_token,
        "meeting_id": "nomeeting", "request_id": "norequest", "answer": "accept",
    }  # fmt: skip
    for key, value in ids.items():
        path = path.replace("{" + key + "}", value)
    return path


def _order(item: tuple[str, str]) -> tuple[bool, int]:
    """Deletes last, sub-resources before what holds them: every request finds the fixture."""
    method, path = item
    return method == "DELETE", -path.count("/")


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_what_the_table_gives_it(role: str, tmp_path: Path) -> None:
    app = make_app(tmp_path)
    client = (
        TestClient(app, follow_redirects=False)
        if role == ANON
        else client_as(app, f"u-{role.replace(' ', '-')}", GRANTS[role])
    )
    client.follow_redirects = False
    wrong = []
    for method, path in sorted(ALLOWED, key=_order):
        url = _url(path, app)
        body = {} if method in ("POST", "PUT", "PATCH") else None
        client.cookies.clear()  # a caller without cookies: CSRF is tested on its own
        response = client.request(method, url, json=body)
        page = path.startswith("/app")
        if role in ALLOWED[(method, path)]:
            ok = response.status_code not in (401, 403)
        elif role == ANON:
            ok = (
                (response.status_code == 303 and "/app/login" in response.headers["location"])
                if page
                else (response.status_code == 401 and response.headers.get("www-authenticate") == "Bearer")
            )
        else:
            ok = response.status_code == 403
        if not ok:
            wrong.append(f"{method} {url} -> {response.status_code} {response.text[:120]}")
    assert not wrong, f"{role}:\n" + "\n".join(wrong)
