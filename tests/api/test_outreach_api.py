"""The member's and the coordinator's journeys through the HTTP API: partnerships to join, interest,
candidates with reasons and flags, the shortlist and its CSV, outcomes, the home and region search."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from domain.accounts import Grant, Role
from pactmatch.settings import Settings
from tests.api.test_api import seed
from tests.conftest import admin_client, client_as


def outreach_app(tmp_path: Path) -> FastAPI:
    """test_api's welding partnership around Stuttgart, with a second, Lyon-based one."""
    app = create_app(Settings(store=str(tmp_path / "store"), encoder="hashing", cache_dir=tmp_path / "cache"))
    admin = admin_client(app)
    seed(admin)
    lyon = {"partnership_id": "lyon", "name": "Lyon welding", "kind": "regional", "scope_regions": ["FRK26"]}
    assert admin.post("/partnerships", json=lyon).status_code == 201
    assert admin.put("/partnerships/lyon/members/vet2", json={"role": "coordinator"}).status_code == 201
    return app


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    return outreach_app(tmp_path)


def member_of(app: FastAPI, org_id: str) -> TestClient:
    return client_as(app, f"member-{org_id}", Grant(role=Role.MEMBER, scope=org_id))


def coordinator_of(app: FastAPI, partnership_id: str) -> TestClient:
    return client_as(app, f"coord-{partnership_id}", Grant(role=Role.COORDINATOR, scope=partnership_id))


def test_member_finds_partnerships_and_expresses_interest(app: FastAPI) -> None:
    school = member_of(app, "vet1")
    body = school.get("/organisations/vet1/partnerships-to-join").json()
    assert body["model"] == "heuristic-join-v1" and body["total"] == 2 and body["offset"] == 0
    assert [i["partnership_id"] for i in body["items"]] == ["rsp", "lyon"]  # inside rsp's scope
    best = body["items"][0]
    assert best["name"] == "Stuttgart welding skills" and best["kind"] == "regional"
    assert sum(c["value"] for c in best["contributions"]) == pytest.approx(best["score"])
    assert sum(r["value"] for r in best["reasons"]) == pytest.approx(best["score"])
    assert {r["key"] for r in best["reasons"]} == {"collaboration", "topic", "region", "type"}
    assert not best["interest_expressed"]
    only_fr = school.get(
        "/organisations/vet1/partnerships-to-join", params={"country": "FR", "limit": 5}
    ).json()
    assert [i["partnership_id"] for i in only_fr["items"]] == ["lyon"] and only_fr["limit"] == 5
    bad = school.get("/organisations/vet1/partnerships-to-join", params={"region": "XX99"})
    assert bad.status_code == 422
    assert school.get("/organisations/vet2/partnerships-to-join").status_code == 403  # another organisation's

    created = school.put("/organisations/vet1/interests/rsp", json={"message": "We train welders"})
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "Stuttgart welding skills" and created.json()["by"] == "member-vet1"
    assert school.put("/organisations/vet1/interests/rsp", json={"message": "Still keen"}).status_code == 200
    assert school.put("/organisations/vet1/interests/nope", json={}).status_code == 404
    assert member_of(app, "coord").put("/organisations/coord/interests/rsp", json={}).status_code == 409
    assert school.get("/organisations/vet1/partnerships-to-join").json()["items"][0]["interest_expressed"]
    assert [i["partnership_id"] for i in school.get("/organisations/vet1/interests").json()] == ["rsp"]

    coordinator = coordinator_of(app, "rsp")
    [inbound] = coordinator.get("/partnerships/rsp/interests").json()
    assert inbound["org_id"] == "vet1" and inbound["message"] == "Still keen"
    assert inbound["name"] == "Welding vocational school Esslingen"
    items = {i["org_id"]: i for i in coordinator.get("/partnerships/rsp/candidates").json()["items"]}
    assert items["vet1"]["inbound_interest"] and not items["tu"]["inbound_interest"]
    assert coordinator_of(app, "lyon").get("/partnerships/rsp/interests").status_code == 403

    assert school.delete("/organisations/vet1/interests/rsp").status_code == 204
    assert school.delete("/organisations/vet1/interests/rsp").status_code == 404
    assert coordinator.get("/partnerships/rsp/interests").json() == []


def test_candidates_carry_reasons_beside_the_raw_contributions(app: FastAPI) -> None:
    item = coordinator_of(app, "rsp").get("/partnerships/rsp/candidates").json()["items"][0]
    assert item["baseline"] == 0 and item["shortlist_status"] is None
    assert [r["key"] for r in item["reasons"]] == ["collaboration", "topic", "region", "type"]
    assert item["reasons"][3]["label"] == "a stakeholder type you lack"
    by_signal = {c["signal"]: c for c in item["contributions"]}
    for reason in item["reasons"]:
        [signal] = reason["signals"]
        assert reason["value"] == pytest.approx(by_signal[signal]["value"])
        assert reason["evidence"] == by_signal[signal]["evidence"]


def test_coordinator_shortlists_adds_a_member_and_exports(app: FastAPI) -> None:
    coordinator = coordinator_of(app, "rsp")
    put = coordinator.put("/partnerships/rsp/shortlist/vet1", json={"note": "=cmd|' /C calc'!A0"})
    assert put.status_code == 201, put.text
    assert (
        put.json()["status"] == "shortlisted" and put.json()["name"] == "Welding vocational school Esslingen"
    )
    contacted = coordinator.put(
        "/partnerships/rsp/shortlist/vet1", json={"status": "contacted", "note": "called", "on": "2026-03-05"}
    )
    assert contacted.status_code == 200
    assert [h["status"] for h in contacted.json()["history"]] == ["shortlisted", "contacted"]
    assert coordinator.put("/partnerships/rsp/shortlist/tu", json={"status": "declined"}).status_code == 201
    assert coordinator.put("/partnerships/rsp/shortlist/nope", json={}).status_code == 404
    assert coordinator.put("/partnerships/rsp/shortlist/tu", json={"status": "won"}).status_code == 422
    candidates = {i["org_id"]: i for i in coordinator.get("/partnerships/rsp/candidates").json()["items"]}
    assert (
        candidates["vet1"]["shortlist_status"] == "contacted"
        and candidates["vet2"]["shortlist_status"] is None
    )

    joined = coordinator.post("/partnerships/rsp/shortlist/vet1/membership", json={"since": "2026-04-01"})
    assert joined.status_code == 201, joined.text
    assert joined.json()["membership"] == {"org_id": "vet1", "partnership_id": "rsp", "role": "member",
                                           "since": "2026-04-01"}  # fmt: skip
    assert joined.json()["entry"]["status"] == "joined" and joined.json()["entry"]["member"]
    assert coordinator.post("/partnerships/rsp/shortlist/vet2/membership", json={}).status_code == 404
    listed = coordinator.get("/partnerships/rsp/shortlist").json()
    assert [(e["org_id"], e["status"]) for e in listed] == [("vet1", "joined"), ("tu", "declined")]

    exported = coordinator.get("/partnerships/rsp/shortlist", params={"format": "csv"})
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = {r["org_id"]: r for r in csv.DictReader(io.StringIO(exported.text))}
    assert rows["vet1"]["status"] == "joined" and rows["vet1"]["member"] == "yes"
    assert rows["vet1"]["history"].endswith(" shortlisted; 2026-03-05 contacted; 2026-04-01 joined")

    admin = admin_client(app)
    outcomes = admin.get("/shortlist-outcomes").json()
    assert {(o["org_id"], o["outcome"]) for o in outcomes} >= {("vet1", "joined"), ("tu", "declined")}
    as_csv = admin.get("/shortlist-outcomes", params={"format": "csv"}).text
    assert as_csv.startswith("partnership_id,org_id,outcome,date\n")
    assert coordinator.delete("/partnerships/rsp/shortlist/tu").status_code == 204
    assert coordinator.delete("/partnerships/rsp/shortlist/tu").status_code == 404
    actions = [e["action"] for e in admin.get("/audit", params={"limit": 100}).json()["items"]]
    assert {"shortlist.create", "shortlist.update", "shortlist.delete", "membership.create"} <= set(actions)


def test_csv_cells_that_look_like_formulas_are_text(app: FastAPI) -> None:
    coordinator = coordinator_of(app, "rsp")
    coordinator.put("/partnerships/rsp/shortlist/vet1", json={"note": '=HYPERLINK("http://x")'})
    coordinator.put("/partnerships/rsp/shortlist/tu", json={"note": "+1+A1", "status": "contacted"})
    coordinator.put("/partnerships/rsp/shortlist/vet2", json={"note": "-2"})  # a number stays a number
    rows = {r["org_id"]: r for r in csv.DictReader(io.StringIO(
        coordinator.get("/partnerships/rsp/shortlist", params={"format": "csv"}).text))}  # fmt: skip
    assert rows["vet1"]["note"] == '\'=HYPERLINK("http://x")' and rows["tu"]["note"] == "'+1+A1"
    assert rows["vet2"]["note"] == "-2"


def test_home_and_region_search(app: FastAPI) -> None:
    both = client_as(
        app, "ana", Grant(role=Role.COORDINATOR, scope="rsp"), Grant(role=Role.MEMBER, scope="vet1")
    )
    me = both.get("/me").json()
    assert me == {
        "name": "ana", "admin": False, "events": [],
        "partnerships": [{"id": "rsp", "name": "Stuttgart welding skills"}],
        "organisations": [{"id": "vet1", "name": "Welding vocational school Esslingen"}],
    }  # fmt: skip
    assert admin_client(app).get("/me").json()["admin"]
    regions = both.get("/regions", params={"q": "stutt"}).json()
    assert regions == [
        {"code": "DE11", "label": "Stuttgart", "level": 2, "country": "DE", "within": ["Baden-Württemberg", "Germany"]},
        {"code": "DE111", "label": "Stuttgart, Stadtkreis", "level": 3, "country": "DE",
         "within": ["Stuttgart", "Baden-Württemberg", "Germany"]},
    ]  # fmt: skip
    assert [r["code"] for r in both.get("/regions", params={"q": "de1", "level": 1}).json()] == ["DE1"]
    assert len(both.get("/regions", params={"q": "de", "limit": 3}).json()) == 3
    assert both.get("/regions").status_code == 422
    assert both.get("/regions", params={"q": "x", "level": 4}).status_code == 422
