"""The HTTP API end to end through FastAPI's test client (real store, real service)."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from pactmatch.settings import Settings
from tests.conftest import CONSORTIA, admin_client, requires_shared_data


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    settings = Settings(
        store=str(tmp_path / "store"), encoder="hashing", cache_dir=tmp_path / "cache", max_body_bytes=200_000
    )
    return admin_client(create_app(settings))


def test_the_app_freezes_what_start_up_built_when_it_starts(tmp_path: Path, thawed_heap: None) -> None:
    """Modules, the driver and the store live as long as the server: out of the collector's
    full walks once it has started (pactmatch.heap)."""
    settings = Settings(store=str(tmp_path / "store"), encoder="hashing", cache_dir=tmp_path / "cache")
    app = create_app(settings)
    with TestClient(app) as started:
        assert gc.get_freeze_count() > 0
        assert id(app.state.service) not in {id(o) for o in gc.get_objects()}
        assert started.get("/health").status_code == 200


def seed(client: TestClient) -> None:
    orgs = [
        {
            "org_id": "coord",
            "name": "Stuttgart Welding GmbH",
            "stakeholder_type": "large_employer",
            "country": "DE",
            "nuts_codes": ["DE111"],
        },
        {
            "org_id": "vet1",
            "name": "Welding vocational school Esslingen",
            "stakeholder_type": "vet_provider",
            "country": "DE",
            "nuts_codes": ["DE113"],
        },
        {
            "org_id": "vet2",
            "name": "Lyon welding academy",
            "stakeholder_type": "vet_provider",
            "country": "FR",
            "nuts_codes": ["FRK26"],
        },
        {
            "org_id": "tu",
            "name": "IG Metall Stuttgart",
            "stakeholder_type": "trade_union",
            "country": "DE",
            "nuts_codes": ["DE111"],
        },
    ]
    for o in orgs:
        assert client.post("/organisations", json=o).status_code == 201
    p = {
        "partnership_id": "rsp",
        "name": "Stuttgart welding skills",
        "kind": "regional",
        "scope_regions": ["DE11"],
        "description": "welding",
    }
    assert client.post("/partnerships", json=p).status_code == 201
    assert client.put("/partnerships/rsp/members/coord", json={"role": "coordinator"}).status_code == 201


def test_candidates_with_explanations_and_filters(client: TestClient) -> None:
    seed(client)
    body = client.get("/partnerships/rsp/candidates", params={"top_k": 5}).json()
    assert body["partnership_id"] == "rsp" and body["model"] == "heuristic-v1"
    ids = [i["org_id"] for i in body["items"]]
    assert "coord" not in ids and set(ids) == {"vet1", "vet2", "tu"}
    assert ids.index("vet1") < ids.index("vet2")  # same type and text, but inside the scope region
    for item in body["items"]:
        assert sum(c["value"] for c in item["contributions"]) == pytest.approx(item["score"])
        assert {c["signal"] for c in item["contributions"]} == {"semantic", "graph", "region", "type"}
    fr = client.get("/partnerships/rsp/candidates", params={"country": "FR"}).json()
    assert [i["org_id"] for i in fr["items"]] == ["vet2"]
    tu = client.get("/partnerships/rsp/candidates", params={"type": "trade_union", "region": "DE1"}).json()
    assert [i["org_id"] for i in tu["items"]] == ["tu"]


def test_bad_input_gets_clear_errors(client: TestClient) -> None:
    seed(client)
    assert client.get("/partnerships/nope/candidates").status_code == 404
    assert client.get("/organisations/nope").status_code == 404
    r = client.get("/partnerships/rsp/candidates", params={"top_k": 1000})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "top_k"]
    r = client.get("/partnerships/rsp/candidates", params={"region": "QQ1"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "region", 0]
    assert "unknown NUTS code 'QQ1'" in r.json()["detail"][0]["msg"]
    assert client.get("/partnerships/rsp/candidates", params={"type": "wizard"}).status_code == 422
    bad = client.post(
        "/organisations",
        json={"org_id": "x", "name": "X", "stakeholder_type": "sme", "nuts_codes": ["ZZ9"], "colour": 1},
    )
    fields = {d["loc"][-1] for d in bad.json()["detail"]}
    assert bad.status_code == 422 and fields == {"nuts_codes", "colour"}
    assert (
        client.post(
            "/organisations", json={"org_id": "coord", "name": "dup", "stakeholder_type": "sme"}
        ).status_code
        == 409
    )
    assert client.put("/partnerships/rsp/members/ghost", json={}).status_code == 404
    big = client.post(
        "/imports/json", content=b"[" + b"1," * 200_000 + b"1]", headers={"content-type": "application/json"}
    )
    assert big.status_code == 413


def test_crud_list_pagination_and_delete(client: TestClient) -> None:
    seed(client)
    page = client.get("/organisations", params={"country": "DE", "limit": 2}).json()
    assert page["total"] == 3 and len(page["items"]) == 2
    assert client.get("/organisations", params={"type": "vet_provider", "region": "FRK"}).json()["total"] == 1
    assert client.get("/organisations", params={"country": "XX"}).status_code == 422
    assert [m["org_id"] for m in client.get("/partnerships/rsp/members").json()] == ["coord"]
    assert client.delete("/partnerships/rsp/members/coord").status_code == 204
    assert client.delete("/organisations/tu").status_code == 204
    assert client.get("/organisations/tu").status_code == 404
    assert client.get("/health").json()["organisations"] == 3


def test_bulk_json_import_keeps_good_rows(client: TestClient) -> None:
    doc = {
        "organisations": [
            {"org_id": "a", "name": "A", "stakeholder_type": "sme"},
            {"org_id": "b", "name": "B"},
        ],
        "partnerships": [{"partnership_id": "p", "name": "P"}],
        "memberships": [{"org_id": "a", "partnership_id": "p"}, {"org_id": "b", "partnership_id": "p"}],
    }
    r = client.post("/imports/json", json=doc)
    body = r.json()
    assert r.status_code == 422  # rows were rejected ...
    assert body["organisations"]["created"] == 1 and body["memberships"]["created"] == 1  # ... good ones kept
    assert {(e["file"], e["item"], e["field"]) for e in body["errors"]} == {
        ("request#organisations", 1, "stakeholder_type"),
        ("request#memberships", 1, "org_id"),
    }
    again = client.post("/imports/json", json={k: v[:1] for k, v in doc.items()})
    assert again.status_code == 200 and again.json()["organisations"]["unchanged"] == 1


def test_csv_upload_import(client: TestClient) -> None:
    files = {
        "organisations": ("orgs.csv", b"org_id,name,stakeholder_type\no1,One,sme\no2,Two,\n", "text/csv")
    }
    body = client.post("/imports/csv", files=files).json()
    assert body["organisations"]["created"] == 1
    assert body["errors"][0]["line"] == 3 and body["errors"][0]["field"] == "stakeholder_type"


@pytest.mark.shared_data
@requires_shared_data
def test_real_cordis_slice_through_the_api(client: TestClient, tmp_path: Path) -> None:
    """Upload a slice of the real CORDIS files and ask for candidates for a real project."""
    projects = (CONSORTIA / "projects.csv").read_text(encoding="utf-8")
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(projects)))[:1500]
    keep = {r["project_id"] for r in rows}
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    with (CONSORTIA / "participants.csv").open(encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        parts = [r for r in reader if r["project_id"] in keep]
    pout = io.StringIO()
    pw = csv.DictWriter(pout, fieldnames=list(parts[0]))
    pw.writeheader()
    pw.writerows(parts)
    big = Settings(store=str(tmp_path / "s2"), encoder="hashing", cache_dir=tmp_path / "cache")
    real = admin_client(create_app(big))
    r = real.post(
        "/imports/cordis",
        files={
            "projects": ("projects.csv", out.getvalue().encode(), "text/csv"),
            "participants": ("participants.csv", pout.getvalue().encode(), "text/csv"),
        },
    )
    body = r.json()
    assert body["partnerships"]["created"] == 1500 and body["memberships"]["created"] > 3000
    sizes: dict[str, int] = {}
    for p in parts:
        sizes[p["project_id"]] = sizes.get(p["project_id"], 0) + 1
    pid = max(sizes, key=lambda k: sizes[k])
    cands = real.get(f"/partnerships/{pid}/candidates", params={"top_k": 10}).json()
    members = {m["org_id"] for m in real.get(f"/partnerships/{pid}/members").json()}
    assert len(cands["items"]) == 10 and not members & {i["org_id"] for i in cands["items"]}
    assert cands["items"][0]["score"] >= cands["items"][-1]["score"] > 0


def test_no_server_path_in_health_or_report_metadata(client: TestClient, tmp_path: Path) -> None:
    health = client.get("/health").json()
    assert health["store"] == "embedded store 'store'"
    p = {"partnership_id": "p1", "name": "P", "kind": "regional", "scope_regions": ["BE2"]}
    assert client.post("/partnerships", json=p).status_code == 201
    html = client.get("/partnerships/p1/gaps", params={"format": "html"}).text
    job = client.post("/gap-reports", json={"format": "json"}).json()
    client.app.state.jobs.wait(job["job_id"])  # type: ignore[attr-defined]
    meta = json.loads(client.get(f"/jobs/{job['job_id']}/result").text)["meta"]
    assert meta["store"] == "embedded store 'store'"
    for text in (json.dumps(health), html, json.dumps(meta)):
        assert str(tmp_path) not in text
