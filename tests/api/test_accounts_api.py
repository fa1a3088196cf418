"""Accounts through the API: sign-in cookies, CSRF, keys, the audit log, rate limits, agenda links."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from domain.accounts import Grant, Role
from pactmatch.settings import Settings
from tests.conftest import TEST_PASSWORD, admin_client, api_key, client_as


def app_with(tmp_path: Path, **settings: object) -> FastAPI:
    """An app on a store of its own under ``tmp_path``, with ``settings`` besides."""
    return create_app(
        Settings(store=str(tmp_path / "store"), encoder="hashing", cache_dir=tmp_path / "cache", **settings)  # type: ignore[arg-type]
    )


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    return app_with(tmp_path, rate_limit="3/minute")


ORG = {"org_id": "acme", "name": "Acme", "stakeholder_type": "sme", "country": "DE"}


def test_anonymous_calls_are_refused_with_a_bearer_challenge(app: FastAPI) -> None:
    client = TestClient(app)
    assert client.get("/health").status_code == 200
    refused = client.get("/organisations")
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    assert client.get("/organisations", headers={"Authorization": "Bearer pm_nope_nope"}).status_code == 401


def test_sign_in_sets_a_safe_session_cookie_and_sign_out_ends_it(app: FastAPI) -> None:
    api_key(app, "ana", Grant(role=Role.MEMBER, scope="acme"))
    client = TestClient(app)
    assert client.post("/auth/login", json={"name": "ana", "password": "wrong password"}).status_code == 401
    signed = client.post("/auth/login", json={"name": "ANA", "password": TEST_PASSWORD})
    assert signed.status_code == 200 and signed.json()["grants"] == [{"role": "member", "scope": "acme"}]
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie  # plain http here
    assert client.get("/auth/me").json()["name"] == "ana"
    # A write authorised by the cookie alone needs the CSRF token (double submit: cookie + header).
    assert client.put("/organisations/acme", json=ORG).status_code == 403
    client.get("/app/login")  # a page sets the csrftoken cookie
    token = client.cookies["csrftoken"]
    assert client.put("/organisations/acme", json=ORG, headers={"x-csrftoken": token}).status_code == 201
    assert client.post("/auth/logout", headers={"x-csrftoken": token}).status_code == 204
    assert client.get("/auth/me").status_code == 401


def test_writes_land_in_the_audit_log_with_the_fields_they_changed(app: FastAPI) -> None:
    admin = admin_client(app)
    member = client_as(app, "ana", Grant(role=Role.MEMBER, scope="acme"))
    assert admin.post("/organisations", json=ORG).status_code == 201
    assert member.put("/organisations/acme", json={**ORG, "city": "Köln"}).status_code == 200
    assert member.put("/organisations/other", json={**ORG, "org_id": "other"}).status_code == 403
    entries = admin.get("/audit", params={"limit": 10}).json()
    writes = [e for e in entries["items"] if e["action"].startswith("organisation")]
    assert [(e["actor"], e["via"], e["action"], e["target"]) for e in writes] == [
        ("ana", "api", "organisation.update", "organisation acme"),
        ("test-admin", "api", "organisation.create", "organisation acme"),
    ]
    assert writes[0]["changes"] == {"city": [None, "Köln"]}
    assert admin.get("/audit", params={"actor": "ana"}).json()["total"] == 1
    assert member.get("/audit").status_code == 403


def test_keys_are_shown_once_and_stop_working_when_revoked(app: FastAPI) -> None:
    admin = admin_client(app)
    admin.post("/users", json={"name": "bot", "password": TEST_PASSWORD, "grants": [{"role": "admin"}]})
    made = admin.post("/keys", json={"user": "bot", "label": "nightly import"}).json()
    key = made["key"]
    listed = admin.get("/keys", params={"user": "bot"}).json()
    assert [k["key_id"] for k in listed] == [made["key_id"]] and "key" not in listed[0]
    bot = TestClient(app, headers={"Authorization": f"Bearer {key}"})
    assert bot.get("/users").status_code == 200
    assert admin.delete(f"/keys/{made['key_id']}").status_code == 204
    assert bot.get("/users").status_code == 401


def test_a_grant_against_the_rules_is_a_422_naming_it(app: FastAPI) -> None:
    """A grant is checked at the edge (it was a 500 when the route built the domain's grant)."""
    admin = admin_client(app)
    for grant, loc in [
        ({"role": "admin", "scope": "p1"}, ["body", "grants", 0]),
        ({"role": "coordinator"}, ["body", "grants", 0]),
        ({"role": "member", "scope": "a/b"}, ["body", "grants", 0, "scope"]),
    ]:
        r = admin.post("/users", json={"name": "bo", "password": TEST_PASSWORD, "grants": [grant]})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == loc, r.text
        r = admin.post("/users/test-admin/grants", json=grant)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", *loc[3:]], r.text


def test_expensive_operations_are_rate_limited_per_key(app: FastAPI) -> None:
    admin = admin_client(app)
    answers = [admin.post("/imports/json", json={"organisations": []}).status_code for _ in range(4)]
    assert answers[:3] == [200, 200, 200] and answers[3] == 429
    refused = admin.post("/imports/json", json={"organisations": []})
    assert int(refused.headers["retry-after"]) >= 1
    other = client_as(app, "second-admin", Grant(role=Role.ADMIN))
    assert other.post("/imports/json", json={"organisations": []}).status_code == 200  # its own budget


def test_a_user_may_have_only_so_many_batch_jobs_at_once(tmp_path: Path) -> None:
    app = app_with(tmp_path, max_jobs_per_user=1)
    admin = admin_client(app)
    release = threading.Event()

    def blocker_work(params: object, out: object, progress: object) -> int:
        release.wait(30)
        return 0

    app.state.jobs.kinds["blocker"] = blocker_work
    blocker = app.state.jobs.submit("blocker", {}, media_type="text/plain", filename="x", owner="test-admin")
    refused = admin.post("/gap-reports", json={})
    assert refused.status_code == 429 and "at most 1" in refused.json()["detail"][0]["msg"]
    release.set()
    app.state.jobs.wait(blocker.job_id)
    assert admin.post("/gap-reports", json={}).status_code == 202


def test_a_full_job_queue_answers_429_with_retry_after(tmp_path: Path) -> None:
    """The queue is bounded for everybody together: with one job running and two waiting, a third
    admin is turned away with Retry-After, and welcome again once the queue has room."""
    app = app_with(tmp_path, max_queued_jobs=2)
    release = threading.Event()
    app.state.jobs.kinds["blocker"] = lambda params, out, progress: int(release.wait(30))
    blocker = app.state.jobs.submit("blocker", {}, media_type="text/plain", filename="x", owner="someone")
    while app.state.jobs.get(blocker.job_id).status == "queued":
        time.sleep(0.01)
    admins = [client_as(app, f"admin-{i}", Grant(role=Role.ADMIN)) for i in range(3)]
    assert [a.post("/gap-reports", json={}).status_code for a in admins[:2]] == [202, 202]
    refused = admins[2].post("/gap-reports", json={})
    assert refused.status_code == 429 and "queue is full" in refused.json()["detail"][0]["msg"]
    assert int(refused.headers["retry-after"]) >= 1
    release.set()
    app.state.jobs.wait(blocker.job_id)
    deadline = time.monotonic() + 60
    while admins[2].post("/gap-reports", json={}).status_code != 202:
        assert time.monotonic() < deadline
        time.sleep(0.2)


def test_an_attendee_opens_their_agenda_by_link_until_it_is_revoked(app: FastAPI) -> None:
    organiser = client_as(app, "olga", Grant(role=Role.ORGANISER, scope="any-event"))
    admin = admin_client(app)
    admin.post("/organisations", json=ORG)
    admin.post(
        "/organisations", json={**ORG, "org_id": "beta", "name": "Beta", "stakeholder_type": "vet_provider"}
    )
    event = {
        "event_id": "fair",
        "name": "Fair",
        "date": "2027-05-04",
        "tables": 2,
        "slots": [{"start": "10:00"}],
    }
    assert organiser.post("/events", json=event).status_code == 201  # an organiser organises what they create
    for org_id, person in (("acme", "Ann"), ("beta", "Bo")):
        assert (
            organiser.post("/events/fair/attendees", json={"org_id": org_id, "person": person}).status_code
            == 201
        )
    assert organiser.post("/events/fair/schedule", json={}).status_code == 200
    attendee = organiser.get("/events/fair/attendees").json()["items"][0]["attendee_id"]
    link = organiser.post(f"/events/fair/attendees/{attendee}/agenda-link").json()
    anonymous = TestClient(app)
    agenda = anonymous.get(link["path"])
    assert agenda.status_code == 200 and agenda.json()["attendee_id"] == attendee
    ics = anonymous.get(link["path"], params={"format": "ics"})
    assert ics.headers["content-type"].startswith("text/calendar") and "BEGIN:VEVENT" in ics.text
    assert anonymous.get(link["path"][:-3] + "abc").status_code == 401  # forged
    assert organiser.delete(f"/events/fair/attendees/{attendee}/agenda-link").status_code == 204
    assert anonymous.get(link["path"]).status_code == 401  # revoked
    assert anonymous.get("/events/fair/attendees").status_code == 401  # the link opens one agenda only
