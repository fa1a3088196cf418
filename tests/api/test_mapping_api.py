"""Gaps, synergies, region views, target mix and batch jobs over HTTP, on the bundled demo dataset."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from pactmatch.demo import demo_dataset_path
from pactmatch.jobs import JobService
from pactmatch.settings import Settings
from tests.conftest import admin_client

BRABANT = "demo-rsp-brabant-hightech"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    root = tmp_path_factory.mktemp("api")
    settings = Settings(store=str(root / "store"), encoder="hashing", cache_dir=root / "cache")
    client = admin_client(create_app(settings))
    r = client.post(
        "/imports/json",
        content=demo_dataset_path().read_bytes(),
        headers={"content-type": "application/json"},
    )
    assert r.status_code in (200, 201), r.text
    return client


def wait_for(client: TestClient, url: str, timeout: float = 60.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, object] = client.get(url).json()
        if job["status"] in ("succeeded", "failed", "cancelled") or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def test_gaps(client: TestClient) -> None:
    r = client.get(f"/partnerships/{BRABANT}/gaps", params={"candidates_per_gap": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [g["key"] for g in body["gaps"]] == ["vet", "trade_unions"]
    vet = body["gaps"][0]
    assert {c["org_id"] for c in vet["candidates"]} == {"demo-org-038", "demo-org-123", "demo-org-159"}
    for c in vet["candidates"]:
        assert sum(x["value"] for x in c["contributions"]) == pytest.approx(c["score"])
    vet_status = next(s for s in body["composition"]["requirements"] if s["id"] == "vet")
    assert vet_status["count"] == 0 and not vet_status["satisfied"] and vet_status["needed"] == 1


def test_gaps_as_files(client: TestClient) -> None:
    r = client.get(f"/partnerships/{BRABANT}/gaps", params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {row["gap_key"] for row in rows} == {"vet", "trade_unions"}
    r = client.get(f"/partnerships/{BRABANT}/gaps", params={"format": "html", "level": 3})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "attachment" in r.headers["content-disposition"] and "data:image/png;base64," in r.text


def test_gaps_with_a_target_mix_in_the_body(client: TestClient) -> None:
    mix = {
        "partnerships": {
            BRABANT: {
                "requirements": [
                    {"id": "ngo", "label": "NGOs", "types": ["civil_society_ngo"], "min_count": 2}
                ]
            }
        }
    }
    r = client.post(f"/partnerships/{BRABANT}/gaps", json={"target_mix": mix, "candidates_per_gap": 1})
    assert r.status_code == 200, r.text
    assert [g["key"] for g in r.json()["gaps"]] == ["ngo"]
    bad = {"kinds": {"regional": {"requirements": [{"id": "x", "label": "x", "types": ["wizard"]}]}}}
    r = client.post(f"/partnerships/{BRABANT}/gaps", json={"target_mix": bad})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "target_mix.kinds.regional.requirements[0].types[0]"]


def test_stored_target_mix(client: TestClient) -> None:
    assert client.get("/target-mix").json()["stored_override"] is False
    mix = {
        "kinds": {
            "regional": {
                "requirements": [{"id": "pes", "label": "PES", "types": ["public_employment_service"]}]
            }
        }
    }
    r = client.put("/target-mix", json=mix)
    assert r.status_code == 200 and r.json()["stored_override"] is True
    try:
        body = client.get(f"/partnerships/{BRABANT}/gaps").json()
        assert [g["key"] for g in body["gaps"]] == ["pes"]
        assert body["composition"]["mix_origin"] == "kind regional (override)"
    finally:
        assert client.delete("/target-mix").status_code == 204
    assert client.delete("/target-mix").status_code == 404
    assert client.put("/target-mix", json={"kinds": {"regionl": {}}}).status_code == 422


def test_synergies(client: TestClient) -> None:
    r = client.get(f"/partnerships/{BRABANT}/synergies", params={"top_k": 3, "recruits": 2})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) == 3 and all(p["a"]["partnership_id"] == BRABANT for p in items)
    assert all(sum(c["value"] for c in p["contributions"]) == pytest.approx(p["score"]) for p in items)
    r = client.get(
        f"/partnerships/{BRABANT}/synergies", params={"pair_kind": "regional-regional", "top_k": 2}
    )
    assert {p["kind"] for p in r.json()["items"]} == {"regional-regional"}
    r = client.get(f"/partnerships/{BRABANT}/synergies", params={"format": "html"})
    assert r.status_code == 200 and "Synergy network" in r.text


def test_region(client: TestClient) -> None:
    r = client.get("/regions/nl41/stakeholders", params={"examples": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["code"] == "NL41" and body["partnerships"][0]["partnership_id"] == BRABANT
    assert client.get("/regions/NL41/stakeholders", params={"format": "csv"}).text.startswith("section,key")


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "status"),
    [
        ("get", "/partnerships/nope/gaps", {}, 404),
        ("get", f"/partnerships/{BRABANT}/gaps", {"params": {"level": 5}}, 422),
        ("get", f"/partnerships/{BRABANT}/gaps", {"params": {"candidates_per_gap": 51}}, 422),
        ("get", f"/partnerships/{BRABANT}/gaps", {"params": {"format": "pdf"}}, 422),
        ("get", "/partnerships/nope/synergies", {}, 404),
        ("get", f"/partnerships/{BRABANT}/synergies", {"params": {"pair_kind": "a-b"}}, 422),
        ("get", "/regions/XX99/stakeholders", {}, 422),
        ("post", "/gap-reports", {"json": {"partnership_ids": ["nope"]}}, 422),
        ("post", "/gap-reports", {"json": {"colour": "blue"}}, 422),
        ("post", "/synergy-reports", {"json": {"top_k": 0}}, 422),
        ("get", "/jobs/nope", {}, 404),
    ],
)
def test_bad_input(client: TestClient, method: str, url: str, kwargs: dict[str, object], status: int) -> None:
    r = getattr(client, method)(url, **kwargs)
    assert r.status_code == status, r.text


def test_batch_gap_reports_as_a_job(client: TestClient) -> None:
    r = client.post("/gap-reports", json={"format": "csv", "candidates_per_gap": 1})
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["location"] == job["status_url"]
    done = wait_for(client, job["status_url"])
    assert done["status"] == "succeeded", done
    assert done["total"] == 20 and done["done"] == 20 and done["items"] == 20
    result = client.get(str(done["result_url"]))
    assert result.status_code == 200 and result.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(result.text)))
    assert len({r["partnership_id"] for r in rows}) == 20
    assert any(r["partnership_id"] == BRABANT and r["gap_key"] == "vet" for r in rows)
    assert job["job_id"] in {j["job_id"] for j in client.get("/jobs").json()}
    assert client.delete(job["status_url"]).status_code == 204
    assert client.get(job["status_url"]).status_code == 404


def test_batch_synergies_as_a_job(client: TestClient, tmp_path: Path) -> None:
    r = client.post("/synergy-reports", json={"top_k": 2, "format": "json"})
    assert r.status_code == 202, r.text
    done = wait_for(client, r.json()["status_url"])
    assert done["status"] == "succeeded", done
    pairs = client.get(str(done["result_url"])).json()["pairs"]
    assert pairs and pairs[0]["score"] >= pairs[-1]["score"]


def test_result_of_an_unfinished_job_is_a_conflict(client: TestClient) -> None:
    jobs: JobService = client.app.state.jobs  # type: ignore[attr-defined]
    jobs.kinds["slow"] = lambda params, out, progress: time.sleep(0.5) or 0
    started = jobs.submit("slow", {}, media_type="text/plain", filename="x.txt", owner="tests")
    r = client.get(f"/jobs/{started.job_id}/result")
    assert r.status_code == 409 and ("running" in r.text or "queued" in r.text)
    assert jobs.wait(started.job_id).status == "succeeded"


def test_a_job_says_who_submitted_it_and_when_it_expires(client: TestClient) -> None:
    r = client.post("/gap-reports", json={"format": "json", "partnership_ids": [BRABANT]})
    done = wait_for(client, r.json()["status_url"])
    assert done["owner"] == "test-admin" and done["attempt"] == 1 and done["expires_at"] > done["finished_at"]
    result = client.get(str(done["result_url"]))
    assert result.headers["content-disposition"].startswith('attachment; filename="gap-reports.json"; ')
    assert int(result.headers["content-length"]) == done["result_bytes"] == len(result.content)
    assert [g["partnership_id"] for g in result.json()["reports"]] == [BRABANT]
