"""Meeting requests through the API: attendees act with their agenda link (no account), the
organiser oversees; every state change, who may make it, and what the schedule makes of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from domain.accounts import Grant, Role
from pactmatch.settings import Settings
from tests.conftest import EVENT_ORGS, admin_client, client_as

EVENT = {
    "event_id": "b1",
    "name": "Brokerage",
    "date": "2030-06-03",
    "slots": [{"start": "09:00"}, {"start": "09:30"}, {"start": "10:00"}, {"start": "10:30"}],
    "tables": 5,
    "default_max_meetings": 2,
    "min_meetings": 1,
}
PEOPLE = {"u1": "Ann", "s1": "Bo", "v1": "Cy", "s2": "Di"}


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    return create_app(
        Settings(store=str(tmp_path / "store"), encoder="hashing", cache_dir=tmp_path / "cache")
    )


@pytest.fixture
def organiser(app: FastAPI) -> TestClient:
    admin = admin_client(app)
    for o in EVENT_ORGS:
        assert admin.post("/organisations", json=o).status_code == 201
    assert admin.post("/events", json=EVENT).status_code == 201
    for org_id, person in PEOPLE.items():
        body = {"org_id": org_id, "person": person, "attendee_id": person.lower()}
        assert admin.post("/events/b1/attendees", json=body).status_code == 201
    return client_as(app, "org-b1", Grant(role=Role.ORGANISER, scope="b1"))


def messages(response: Any) -> str:
    """The error's message(s), whichever shape the body has: ``{"detail": "..."}`` or a list of
    ``{"loc", "msg", "type"}`` (what validation errors, and soon every error, look like)."""
    detail = response.json()["detail"]
    if isinstance(detail, str):
        return detail
    return "; ".join(str(d["msg"]) for d in detail)


def link(organiser: TestClient, attendee_id: str) -> str:
    """The attendee's agenda link path, as the organiser would send it to them."""
    r = organiser.post(f"/events/b1/attendees/{attendee_id}/agenda-link")
    assert r.status_code == 200, r.text
    return str(r.json()["path"])


def test_attendees_browse_each_other_with_scores_and_why(app: FastAPI, organiser: TestClient) -> None:
    anyone = TestClient(app)  # no account: the link is the credential
    ann = link(organiser, "ann")
    page = anyone.get(f"{ann}/attendees").json()
    assert page["total"] == 3 and "ann" not in {c["attendee_id"] for c in page["items"]}
    scores = [c["score"] for c in page["items"]]
    assert scores == sorted(scores, reverse=True) and all(c["why"] for c in page["items"])
    assert all("email" not in c for c in page["items"])
    assert anyone.get(f"{ann}/attendees", params={"q": "welding"}).json()["total"] == 2  # v1, s2
    assert anyone.get(f"{ann}/attendees", params={"type": "sme"}).json()["total"] == 2
    names = [c["person"] for c in anyone.get(f"{ann}/attendees", params={"sort": "name"}).json()["items"]]
    assert names == ["Bo", "Cy", "Di"]
    assert anyone.get("/agenda/forged-token/attendees").status_code == 401
    assert anyone.get(f"{ann}/attendees", params={"limit": 101}).status_code == 422


def test_the_request_flow_and_what_each_side_sees(app: FastAPI, organiser: TestClient) -> None:
    anyone = TestClient(app)
    ann, bo, cy = link(organiser, "ann"), link(organiser, "bo"), link(organiser, "cy")

    r = anyone.post(f"{ann}/requests", json={"to": "bo", "message": "Battery recycling apprenticeships?"})
    assert r.status_code == 201, r.text
    sent = r.json()
    assert (sent["state"], sent["sender"], sent["recipient"], sent["recipient_person"]) == (
        "pending", "ann", "bo", "Bo",
    )  # fmt: skip
    rid = sent["request_id"]
    # a second request between the pair, either way, is refused
    assert anyone.post(f"{ann}/requests", json={"to": "bo"}).status_code == 409
    again = anyone.post(f"{bo}/requests", json={"to": "ann"})
    assert again.status_code == 409 and "answer it instead" in messages(again)
    assert anyone.post(f"{ann}/requests", json={"to": "ann"}).status_code == 422
    assert anyone.post(f"{ann}/requests", json={"to": "nobody"}).status_code == 422
    assert anyone.post(f"{ann}/requests", json={"to": "cy", "message": "x" * 501}).status_code == 422

    # both sides see the same state; only the recipient answers, only the sender withdraws
    assert [x["state"] for x in anyone.get(f"{bo}/requests", params={"direction": "received"}).json()] == [
        "pending"
    ]
    assert anyone.post(f"{ann}/requests/{rid}/accept").status_code == 403
    assert anyone.post(f"{bo}/requests/{rid}/withdraw").status_code == 403
    assert anyone.post(f"{cy}/requests/{rid}/accept").status_code == 404  # not theirs: not there
    r = anyone.post(f"{bo}/requests/{rid}/accept")
    assert r.status_code == 200 and r.json()["state"] == "accepted"
    assert anyone.get(f"{ann}/requests").json()[0]["state"] == "accepted"
    assert anyone.post(f"{bo}/requests/{rid}/accept").status_code == 409  # already accepted
    card = next(c for c in anyone.get(f"{ann}/attendees").json()["items"] if c["attendee_id"] == "bo")
    assert card["request"] == {"request_id": rid, "direction": "sent", "state": "accepted"}

    feed = anyone.get(f"{ann}/notifications").json()
    assert [n["kind"] for n in feed] == ["request.accepted"] and "Bo" in feed[0]["text"]
    assert anyone.get(f"{bo}/notifications").json()[0]["kind"] == "request.received"
    later = anyone.get(f"{ann}/notifications", params={"since": feed[0]["at"]}).json()
    assert later == []

    # Cy asks Ann, Ann declines; Ann withdraws her accepted request to Bo
    rid2 = anyone.post(f"{cy}/requests", json={"to": "ann"}).json()["request_id"]
    assert anyone.post(f"{ann}/requests/{rid2}/decline").json()["state"] == "declined"
    assert anyone.post(f"{cy}/requests", json={"to": "ann"}).status_code == 409  # declined stays declined
    assert anyone.post(f"{ann}/requests/{rid}/withdraw").json()["state"] == "withdrawn"
    assert [n["kind"] for n in anyone.get(f"{bo}/notifications").json()] == [
        "request.withdrawn",
        "request.received",
    ]

    # the organiser's view: every request, newest first; the audit log has every change
    listed = organiser.get("/events/b1/requests").json()
    assert [x["state"] for x in listed["items"]] == ["declined", "withdrawn"]
    assert organiser.get("/events/b1/requests", params={"state": "declined"}).json()["total"] == 1
    audit = admin_client(app).get("/audit", params={"limit": 200}).json()["items"]
    actions = [e["action"] for e in audit if e["via"] == "link"]
    assert sorted(actions) == sorted(
        ["request.send", "request.accept", "request.send", "request.decline", "request.withdraw"]
    )


def test_limits_windows_and_the_organisers_word(app: FastAPI, organiser: TestClient) -> None:
    anyone = TestClient(app)
    ann, bo, cy, di = (link(organiser, x) for x in ("ann", "bo", "cy", "di"))
    window = {"max_open_per_attendee": 1}
    assert organiser.put("/events/b1/request-window", json=window).status_code == 200
    assert anyone.post(f"{ann}/requests", json={"to": "bo"}).status_code == 201
    limited = anyone.post(f"{ann}/requests", json={"to": "cy"})
    assert limited.status_code == 409 and "most this event allows (1)" in messages(limited)

    # caps: Di can have 2 meetings; a third acceptance is refused
    organiser.put("/events/b1/request-window", json={"max_open_per_attendee": 5})
    r1 = anyone.post(f"{bo}/requests", json={"to": "di"}).json()["request_id"]
    r2 = anyone.post(f"{cy}/requests", json={"to": "di"}).json()["request_id"]
    r3 = anyone.post(f"{ann}/requests", json={"to": "di"}).json()["request_id"]
    assert anyone.post(f"{di}/requests/{r1}/accept").status_code == 200
    assert anyone.post(f"{di}/requests/{r2}/accept").status_code == 200
    full = anyone.post(f"{di}/requests/{r3}/accept")
    assert full.status_code == 409 and "as many as they can have (2)" in messages(full)

    # the organiser cancels an accepted request, with a note both sides read
    r = organiser.post(f"/events/b1/requests/{r1}/cancel", json={"note": "Bo's company withdrew"})
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    assert organiser.post(f"/events/b1/requests/{r1}/cancel").status_code == 409
    assert "Bo's company withdrew" in anyone.get(f"{di}/notifications").json()[0]["text"]

    # the window closes: no more requests or answers (the organiser still acts)
    closed = {"opens_at": "2020-01-01T09:00:00", "closes_at": "2020-01-02T09:00:00"}
    assert organiser.put("/events/b1/request-window", json=closed).status_code == 200
    late = anyone.post(f"{cy}/requests", json={"to": "bo"})
    assert late.status_code == 409 and "requests closed at 2020-01-02 09:00" in messages(late)
    assert anyone.post(f"{di}/requests/{r3}/decline").status_code == 409
    assert organiser.post(f"/events/b1/requests/{r3}/cancel").status_code == 200
    bad = {"opens_at": "2030-01-02T09:00:00", "closes_at": "2030-01-01T09:00:00"}
    assert organiser.put("/events/b1/request-window", json=bad).status_code == 422


def test_the_schedule_honours_requests_and_the_summary_counts_them(
    app: FastAPI, organiser: TestClient
) -> None:
    anyone = TestClient(app)
    ann, bo, cy, di = (link(organiser, x) for x in ("ann", "bo", "cy", "di"))
    accepted = anyone.post(f"{ann}/requests", json={"to": "cy"}).json()["request_id"]
    anyone.post(f"{cy}/requests/{accepted}/accept")
    declined = anyone.post(f"{bo}/requests", json={"to": "di"}).json()["request_id"]
    anyone.post(f"{di}/requests/{declined}/decline")
    anyone.post(f"{ann}/requests", json={"to": "di"})  # pending: a boost only

    run = organiser.post("/events/b1/schedule", json={"time_limit": 5}).json()
    assert any("request window is still open" in w for w in run["warnings"])
    meetings = organiser.get("/events/b1/schedule").json()["meetings"]
    pairs = {frozenset((m["attendee_a"], m["attendee_b"])): m for m in meetings}
    assert pairs[frozenset(("ann", "cy"))]["pinned"]  # the accepted request is a meeting
    assert frozenset(("bo", "di")) not in pairs  # the declined one is not
    summary = organiser.get("/events/b1/summary").json()["requests"]
    assert (summary["sent"], summary["accepted"], summary["declined"], summary["pending"]) == (3, 1, 1, 1)
    assert summary["in_schedule"] == 1 and summary["share_of_meetings"] == pytest.approx(1 / len(meetings))
    assert "Attendees' requests" in organiser.get("/events/b1/summary", params={"format": "html"}).text

    # Ann's calendar holds the meeting; after Cy calls it off and the organiser re-schedules, the
    # calendar cancels it under the same UID
    from icalendar import Calendar

    before = Calendar.from_ical(anyone.get(ann, params={"format": "ics"}).content)
    uid = next(str(v["UID"]) for v in before.walk("VEVENT") if "Cy" in str(v["SUMMARY"]))
    assert anyone.post(f"{cy}/requests/{accepted}/decline").status_code == 200
    rerun = organiser.post("/events/b1/schedule", json={"time_limit": 5}).json()
    assert any("was declined by cy" in d["reason"] for d in rerun["dropped"])
    after = Calendar.from_ical(anyone.get(ann, params={"format": "ics"}).content)
    gone = next(v for v in after.walk("VEVENT") if str(v["UID"]) == uid)
    assert str(gone["STATUS"]) == "CANCELLED"
    assert int(str(gone["SEQUENCE"])) >= int(str(before.walk("VEVENT")[0]["SEQUENCE"]))
    assert "agenda.updated" in {n["kind"] for n in anyone.get(f"{ann}/notifications").json()}


def test_the_organiser_enters_pins_and_answers_for_attendees(app: FastAPI, organiser: TestClient) -> None:
    anyone = TestClient(app)
    ann, bo = link(organiser, "ann"), link(organiser, "bo")
    closed = {"closes_at": "2020-01-02T09:00:00", "max_open_per_attendee": 0}
    assert organiser.put("/events/b1/request-window", json=closed).status_code == 200

    # entered for Ann at the help desk: the window and the limit do not bind the organiser
    r = organiser.post("/events/b1/requests", json={"sender": "ann", "to": "bo", "message": "From the desk"})
    assert r.status_code == 201 and (r.json()["state"], r.json()["sender"]) == ("pending", "ann"), r.text
    rid = r.json()["request_id"]
    assert anyone.get(f"{bo}/requests").json()[0]["request_id"] == rid  # both sides see it
    assert "entered by the organiser" in anyone.get(f"{bo}/notifications").json()[0]["text"]
    refused = anyone.post(f"{bo}/requests/{rid}/accept")  # Bo himself: the window is closed
    assert refused.status_code == 409 and "requests closed" in messages(refused)
    r = organiser.post(f"/events/b1/requests/{rid}/accept", json={"note": "Bo said yes by phone"})
    assert r.status_code == 200 and r.json()["history"][-1]["by"] == "organiser"
    assert organiser.post(f"/events/b1/requests/{rid}/accept").status_code == 409  # accepted already
    assert organiser.post(f"/events/b1/requests/{rid}/withdraw").json()["state"] == "withdrawn"
    for answer in ("accept", "decline", "withdraw", "cancel"):
        assert organiser.post(f"/events/b1/requests/{rid}/{answer}").status_code == 409  # final
    assert organiser.post("/events/b1/requests/r99/decline").status_code == 404

    # a pin: a meeting accepted at once; Di's cap (2) bounds pins too
    for other in ("ann", "bo"):
        pin = organiser.post("/events/b1/requests", json={"sender": "di", "to": other, "confirmed": True})
        assert pin.status_code == 201 and pin.json()["state"] == "accepted", pin.text
    over = organiser.post("/events/b1/requests", json={"sender": "di", "to": "cy", "confirmed": True})
    assert over.status_code == 409 and "as many as they can have (2)" in messages(over)
    assert "the organiser confirmed" in anyone.get(f"{ann}/notifications").json()[0]["text"]
    unknown = organiser.post("/events/b1/requests", json={"sender": "di", "to": "nobody"})
    assert unknown.status_code == 422 and "no attendee 'nobody'" in messages(unknown)
    assert (
        organiser.post("/events/b1/requests", json={"sender": "di", "to": "ann", "x": 1}).status_code == 422
    )

    # who may: the event's organisers only; a link holder and another event's organiser may not
    stranger = client_as(app, "org-b2", Grant(role=Role.ORGANISER, scope="b2"))
    assert stranger.post("/events/b1/requests", json={"sender": "ann", "to": "cy"}).status_code == 403
    assert stranger.post(f"/events/b1/requests/{rid}/decline").status_code == 403
    assert anyone.post("/events/b1/requests", json={"sender": "ann", "to": "cy"}).status_code == 401
    run = organiser.post("/events/b1/schedule", json={"time_limit": 5}).json()
    meetings = organiser.get("/events/b1/schedule").json()["meetings"]
    pinned = {frozenset((m["attendee_a"], m["attendee_b"])) for m in meetings if m["pinned"]}
    assert {frozenset(("di", "ann")), frozenset(("di", "bo"))} <= pinned, run


def test_the_organiser_downloads_the_requests_as_csv(app: FastAPI, organiser: TestClient) -> None:
    anyone = TestClient(app)
    assert (
        anyone.post(f"{link(organiser, 'ann')}/requests", json={"to": "bo", "message": "hi"}).status_code
        == 201
    )
    csv = organiser.get("/events/b1/requests", params={"format": "csv"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    rows = csv.text.splitlines()
    assert rows[0].startswith("request_id,state,sender") and rows[1].startswith("r1,pending,ann")
    assert (
        organiser.get("/events/b1/requests", params={"format": "csv", "state": "declined"}).text.count("\n")
        == 1
    )


def test_the_attendee_pages_take_the_link_as_credential(app: FastAPI, organiser: TestClient) -> None:
    """A link that opens nothing is said in words on every attendee page (no sign-in page: no
    account); a request is answered only by its side; every form needs the CSRF token."""
    browser = TestClient(app, follow_redirects=False)
    ann, bo = link(organiser, "ann").removeprefix("/"), link(organiser, "bo").removeprefix("/")
    assert browser.get(f"/app/{ann}").status_code == 200  # sets the csrftoken cookie
    token = browser.cookies["csrftoken"]
    for method, path in (("GET", ""), ("GET", "/people"), ("POST", "/requests"), ("POST", "/requests/r1")):
        data = (
            {"to": "bo", "message": "hi", "answer": "accept", "csrftoken": token}
            if method == "POST"
            else None
        )
        r = browser.request(method, f"/app/agenda/forged-token{path}", data=data)
        assert r.status_code == 403 and "This link does not open an agenda" in r.text, (method, path)
    form = {"to": "bo", "message": "Shall we talk welding?"}
    assert browser.post(f"/app/{ann}/requests", data=form).status_code == 403  # no token: refused
    sent = browser.post(f"/app/{ann}/requests", data={**form, "csrftoken": token})
    assert sent.status_code == 303 and sent.headers["location"].endswith("done=sent")
    refused = browser.post(f"/app/{ann}/requests/r1", data={"answer": "accept", "csrftoken": token})
    assert refused.status_code == 403 and "recipient can accept it" in refused.text
    accepted = browser.post(f"/app/{bo}/requests/r1", data={"answer": "accept", "csrftoken": token})
    assert accepted.status_code == 303
    assert "accepted" in browser.get(f"/app/{ann}", params={"state": "accepted"}).text
