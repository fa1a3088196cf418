"""The outreach pages through the app (the browser tests click through them on the demo data): the
candidates' plain reasons and requests to join, the shortlist's forms and their errors, "add as
member", and the partnerships an organisation could join with "express interest"."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api.test_outreach_api import coordinator_of, member_of, outreach_app
from tests.conftest import admin_client

CANDIDATES = "/app/partnerships/rsp/candidates"
SHORTLIST = "/app/partnerships/rsp/shortlist"
JOIN = "/app/organisations/vet1/partnerships"


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    return outreach_app(tmp_path)


@pytest.fixture
def coordinator(app: FastAPI) -> TestClient:
    client = coordinator_of(app, "rsp")
    client.follow_redirects = False
    return client


@pytest.fixture
def school(app: FastAPI) -> TestClient:
    client = member_of(app, "vet1")
    client.follow_redirects = False
    return client


def test_candidates_show_plain_reasons_with_the_raw_signals_one_click_away(coordinator: TestClient) -> None:
    page = coordinator.get(CANDIDATES)
    assert page.status_code == 200
    assert "worked with your members before" in page.text and "a stakeholder type you lack" in page.text
    assert re.search(r"<details>\s*<summary>All 4 signals of", page.text)  # the raw list, folded
    assert page.text.count("Add to shortlist") == 3  # vet1, vet2, tu
    assert "Requests to join" not in page.text


def test_a_request_to_join_reaches_the_candidate_page(school: TestClient, coordinator: TestClient) -> None:
    join = school.get(JOIN)
    assert join.status_code == 200
    assert "Stuttgart welding skills" in join.text and "worked with its members before" in join.text
    sent = school.post("/app/organisations/vet1/interests/rsp", data={"message": "We train welders"})
    assert sent.status_code == 303 and sent.headers["location"].startswith(f"{JOIN}?sent=rsp")
    after = school.get(sent.headers["location"].split("#")[0])
    assert "Your interest in Stuttgart welding skills was sent" in after.text
    assert "interest expressed" in after.text and "We train welders" in after.text

    page = coordinator.get(CANDIDATES)
    assert "Requests to join" in page.text and "We train welders" in page.text
    assert "asked to join" in page.text
    assert "1 organisation asked to join" in coordinator.get("/app/partnerships/rsp").text

    withdrawn = school.post("/app/organisations/vet1/interests/rsp/withdraw", data={"back": "country=DE"})
    assert withdrawn.status_code == 303
    assert withdrawn.headers["location"] == f"{JOIN}?country=DE&withdrawn=rsp"
    assert "Requests to join" not in coordinator.get(CANDIDATES).text


def test_join_page_filters_errors_and_a_message_too_long(school: TestClient) -> None:
    only_fr = school.get(JOIN, params={"country": "FR"})
    assert "Lyon welding" in only_fr.text and "Stuttgart welding skills" not in only_fr.text
    bad = school.get(JOIN, params={"region": "XX99 Nowhere", "country": "Narnia"})
    assert 'id="region-error"' in bad.text and "XX99" in bad.text
    assert 'id="country-error"' in bad.text and 'value="Narnia"' in bad.text  # what was typed stays
    long = "x" * 4001
    refused = school.post(
        "/app/organisations/vet1/interests/lyon", data={"message": long, "back": "country=FR"}
    )
    assert refused.status_code == 422
    assert 'id="message-p1-error"' in refused.text and "at most 4000 characters" in refused.text
    assert long in refused.text  # kept in its field
    assert school.get("/app/organisations/vet1/interests").status_code == 404  # no such page
    assert school.get("/organisations/vet1/interests").json() == []
    assert school.get("/app/organisations/vet2/partnerships").status_code == 403  # another organisation's


def test_shortlist_from_candidates_statuses_member_and_csv(app: FastAPI, coordinator: TestClient) -> None:
    back = f"{CANDIDATES}?type=vet_provider"
    added = coordinator.post(
        "/app/partnerships/rsp/shortlist/vet1", data={"status": "shortlisted", "back": back}
    )
    assert added.status_code == 303 and added.headers["location"] == back  # back to the search
    assert "shortlisted: shortlisted" in coordinator.get(back).text
    elsewhere = coordinator.post(
        "/app/partnerships/rsp/shortlist/tu",
        data={"back": "https://example.org/app/partnerships/rsp/candidates"},
    )
    assert elsewhere.headers["location"] == f"{SHORTLIST}?saved=tu"  # never off this partnership's pages

    wrong = coordinator.post(
        "/app/partnerships/rsp/shortlist/vet1",
        data={"status": "contacted", "note": "called", "on": "2026-13-40"},
    )
    assert wrong.status_code == 422
    assert re.search(r'id="on-r\d-error"', wrong.text) and 'value="2026-13-40"' in wrong.text
    assert ">called</textarea>" in wrong.text  # the note typed stays
    for status, day in (("contacted", "2026-03-05"), ("joined", "2026-04-01")):
        saved = coordinator.post(
            "/app/partnerships/rsp/shortlist/vet1", data={"status": status, "note": "called", "on": day}
        )
        assert saved.status_code == 303 and saved.headers["location"] == f"{SHORTLIST}?saved=vet1"
    page = coordinator.get(SHORTLIST, params={"saved": "vet1"})
    assert "Saved: Welding vocational school Esslingen." in page.text
    assert "Add as member" in page.text and "History (3 changes)" in page.text
    assert "1 shortlisted · 1 joined" in page.text or "1 joined · 1 shortlisted" in page.text

    school = member_of(app, "vet1")
    assert school.put("/organisations/vet1/interests/rsp", json={"message": "Keen"}).status_code == 201
    assert "Requests to join" in coordinator.get(CANDIDATES).text
    joined = coordinator.post("/app/partnerships/rsp/shortlist/vet1/member")
    assert joined.status_code == 303 and joined.headers["location"] == f"{SHORTLIST}?joined=vet1"
    members = admin_client(app).get("/partnerships/rsp/members").json()
    assert {"org_id": "vet1", "partnership_id": "rsp", "role": "member", "since": "2026-04-01"} in members
    page = coordinator.get(SHORTLIST, params={"joined": "vet1"})
    assert (
        "Welding vocational school Esslingen is now a member." in page.text
        and "Add as member" not in page.text
    )

    exported = coordinator.get("/partnerships/rsp/shortlist", params={"format": "csv"})  # the page's link
    assert 'href="/partnerships/rsp/shortlist?format=csv"' in page.text
    rows = {r["org_id"]: r for r in csv.DictReader(io.StringIO(exported.text))}
    assert rows["vet1"]["status"] == "joined" and rows["vet1"]["member"] == "yes"

    removed = coordinator.post("/app/partnerships/rsp/shortlist/tu/remove")
    assert removed.headers["location"] == f"{SHORTLIST}?removed=tu"
    assert (
        "IG Metall Stuttgart is off the shortlist."
        in coordinator.get(SHORTLIST, params={"removed": "tu"}).text
    )
    assert coordinator.post("/app/partnerships/rsp/shortlist/tu/member").status_code == 404
    assert coordinator_of(app, "lyon").get(SHORTLIST).status_code == 403
