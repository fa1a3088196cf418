"""The /events API end to end through FastAPI's test client (real store, hashing encoder)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from pactmatch.settings import Settings
from tests.conftest import EVENT_ORGS, admin_client

EVENT = {
    "event_id": "b1",
    "name": "Brokerage",
    "date": "2025-06-03",
    "location": "Brussels",
    "slots": [{"start": "09:00"}, {"start": "09:30"}, {"start": "10:00"}, {"start": "10:30"}],
    "tables": 5,
    "default_max_meetings": 3,
    "min_meetings": 1,
    "groups": [{"group_id": "seekers", "meets": ["offerers"]}, {"group_id": "offerers"}],
}


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    settings = Settings(store=str(tmp_path / "store"), encoder="hashing", cache_dir=tmp_path / "cache")
    c = admin_client(create_app(settings))
    for o in EVENT_ORGS:
        assert c.post("/organisations", json=o).status_code == 201
    return c


def test_event_lifecycle(client: TestClient) -> None:
    r = client.post("/events", json=EVENT)
    assert r.status_code == 201, r.text
    assert [s["slot_id"] for s in r.json()["slots"]] == ["s1", "s2", "s3", "s4"]
    assert client.post("/events", json=EVENT).status_code == 409
    assert client.get("/events").json()["total"] == 1
    assert client.get("/events/nope").status_code == 404

    for org_id, group in (("u1", "seekers"), ("s1", "offerers"), ("v1", "offerers")):
        r = client.post(
            "/events/b1/attendees", json={"org_id": org_id, "person": f"P {org_id}", "group": group}
        )
        assert r.status_code == 201, r.text
    r = client.post("/events/b1/attendees", json={"org_id": "s2", "person": "X"})
    assert r.status_code == 422 and "say which one" in r.text  # groups are required in a grouped event
    r = client.post(
        "/events/b1/attendees",
        json={"organisation": {"org_id": "n1", "name": "New org", "stakeholder_type": "sme"}, "person": "Eve",
              "group": "seekers", "offer": "sensors", "want": "recycling", "availability": ["s1", "s2"]},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert client.get("/organisations/n1").status_code == 200  # upserted as an organisation

    page = client.get("/events/b1/attendees", params={"group": "offerers"}).json()
    assert page["total"] == 2
    aid = page["items"][0]["attendee_id"]
    r = client.patch(f"/events/b1/attendees/{aid}", json={"max_meetings": 1})
    assert r.status_code == 200 and r.json()["max_meetings"] == 1
    assert client.patch(f"/events/b1/attendees/{aid}", json={"availability": ["s9"]}).status_code == 422

    assert client.get("/events/b1/schedule").status_code == 404
    r = client.post("/events/b1/schedule", json={"time_limit": 5})
    assert r.status_code == 200, r.text
    run = r.json()
    assert run["meetings"] >= 1 and run["stats"]["lp_bound"] is not None
    meetings = client.get("/events/b1/schedule").json()["meetings"]
    groups = {a["attendee_id"]: a["group"] for a in client.get("/events/b1/attendees").json()["items"]}
    for m in meetings:  # seekers only meet offerers
        assert {groups[m["attendee_a"]], groups[m["attendee_b"]]} == {"seekers", "offerers"}

    seeker = next(a for a, g in groups.items() if g == "seekers")
    agenda = client.get(f"/events/b1/agendas/{seeker}").json()
    assert agenda["attendee_id"] == seeker
    r = client.get(f"/events/b1/agendas/{seeker}", params={"format": "ics"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    from icalendar import Calendar

    assert len(list(Calendar.from_ical(r.content).walk("VEVENT"))) == len(agenda["items"])
    r = client.get("/events/b1/agendas", params={"format": "csv"})
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 2 * len(meetings)
    assert client.get("/events/b1/agendas", params={"format": "xml"}).status_code == 422

    summary = client.get("/events/b1/summary").json()
    assert summary["meetings"] == len(meetings) and summary["attendees"] == 4
    r = client.get("/events/b1/summary", params={"format": "html"})
    assert r.headers["content-type"].startswith("text/html") and "<svg" in r.text
    r = client.get("/events/b1/summary", params={"format": "csv"})
    assert r.text.splitlines()[0].startswith("attendee_id")

    assert client.delete(f"/events/b1/attendees/{seeker}").status_code == 204
    rerun = client.post("/events/b1/schedule").json()
    assert all("cancelled" in d["reason"] for d in rerun["dropped"])
    assert client.delete("/events/b1").status_code == 204
    assert client.get("/events/b1").status_code == 404


def test_bad_input_names_the_field(client: TestClient) -> None:
    bad = {**EVENT, "slots": [{"start": "09:00", "duration_minutes": 60}, {"start": "09:30"}]}
    r = client.post("/events", json=bad)
    assert r.status_code == 422 and "overlap" in r.text
    assert client.post("/events", json={**EVENT, "tables": 0}).status_code == 422
    assert client.post("/events", json={**EVENT, "timezone": "Nowhere/City"}).status_code == 422
    client.post("/events", json={**EVENT, "groups": []})
    r = client.post("/events/b1/attendees", json={"org_id": "ghost", "person": "X"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "org_id"]
    r = client.post("/events/b1/attendees", json={"person": "X"})
    assert r.status_code == 422
    r = client.post("/events/b1/attendees/batch", json={"attendees": [{"org_id": "u1", "person": "A"},
                                                                     {"org_id": "zz", "person": "B"}]})  # fmt: skip
    body = r.json()
    assert r.status_code == 200 and body["registered"] == 1 and body["errors"][0]["field"] == "org_id"
    assert "row 2" in body["errors"][0]["message"]
    r = client.post("/events/b1/attendees/from-store", json={"country": "Atlantis"})
    assert r.status_code == 422
    r = client.post("/events/b1/attendees/from-store", json={"country": "BE", "limit": 5})
    assert r.status_code == 200 and r.json()["skipped"] == ["u1"]
    assert client.post("/events/b1/schedule", json={"time_limit": 1000}).status_code == 422


def test_etags_and_if_match_refuse_a_stale_write_with_409(client: TestClient) -> None:
    """An event, its attendee list and its schedule answer their version as the ETag; a write with
    an If-Match that is no longer current is refused (409 in the one error shape, naming the current
    version in the message and the ETag) and changes nothing; without If-Match writes still work."""
    assert client.put("/events/b1", json=EVENT, headers={"If-Match": '"0"'}).status_code == 201  # create only
    assert client.put("/events/b1", json=EVENT, headers={"If-Match": '"0"'}).status_code == 409
    event = client.get("/events/b1")
    tag = event.headers["ETag"]
    assert tag.startswith('"') and tag != '"0"'
    attendees = client.get("/events/b1/attendees")
    assert attendees.headers["ETag"] == '"0"'  # no one registered yet
    for org_id, group in (("u1", "seekers"), ("s1", "offerers"), ("v1", "offerers")):
        body = {"org_id": org_id, "person": f"P {org_id}", "group": group}
        assert client.post("/events/b1/attendees", json=body).status_code == 201
    listed = client.get("/events/b1/attendees")
    list_tag = listed.headers["ETag"]
    first = listed.json()["items"][0]["attendee_id"]
    assert client.get(f"/events/b1/attendees/{first}").headers["ETag"] == list_tag

    # someone else changes the list: the first writer's version is stale
    second = listed.json()["items"][1]["attendee_id"]
    assert client.patch(f"/events/b1/attendees/{second}", json={"max_meetings": 2}).status_code == 200
    current = client.get("/events/b1/attendees").headers["ETag"]
    assert current != list_tag
    stale = client.patch(
        f"/events/b1/attendees/{first}", json={"max_meetings": 1}, headers={"If-Match": list_tag}
    )
    assert stale.status_code == 409 and stale.headers["ETag"] == current
    (issue,) = stale.json()["detail"]
    assert (
        issue["loc"] == []
        and issue["type"] == "conflict"
        and f"version {current.strip(chr(34))}" in issue["msg"]
    )
    assert client.get(f"/events/b1/attendees/{first}").json()["max_meetings"] != 1
    assert client.delete(f"/events/b1/attendees/{first}", headers={"If-Match": list_tag}).status_code == 409
    ok = client.patch(
        f"/events/b1/attendees/{first}", json={"max_meetings": 1}, headers={"If-Match": current}
    )
    assert ok.status_code == 200 and ok.json()["max_meetings"] == 1

    # the event document has its own version
    replaced = {**EVENT, "tables": 4}
    assert client.put("/events/b1", json=replaced, headers={"If-Match": tag}).status_code == 200
    assert client.put("/events/b1", json=replaced, headers={"If-Match": tag}).status_code == 409
    assert client.delete("/events/b1", headers={"If-Match": tag}).status_code == 409
    assert client.put("/events/b1", json=replaced, headers={"If-Match": "*"}).status_code == 200
    bad = client.put("/events/b1", json=replaced, headers={"If-Match": 'W/"1"'})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["header", "if-match"]

    # the schedule: its ETag, and the attendee-list version it was planned from
    assert client.post("/events/b1/schedule", json={"solver": "greedy"}).status_code == 200
    schedule = client.get("/events/b1/schedule")
    assert schedule.status_code == 200 and schedule.headers["ETag"] not in ("", '"0"')

    final = client.get("/events/b1").headers["ETag"]
    assert client.delete("/events/b1", headers={"If-Match": final}).status_code == 204
    assert client.get("/events/b1").status_code == 404
