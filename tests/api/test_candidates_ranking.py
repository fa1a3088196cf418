"""The API serves the learned ranker's candidates with explanations, and diversity re-ranking."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from embeddings import EmbeddingCache
from graph.embedded import EmbeddedStore
from matching.evaluation.synthetic import synthetic_consortia
from pactmatch.importers.report import ParsedBatch
from pactmatch.rankers import fit_store_ranker
from pactmatch.service import PactmatchService
from pactmatch.settings import Settings
from tests.conftest import TEST_ACTOR, admin_client


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    settings = Settings(store=str(tmp_path / "store"), encoder="hashing", cache_dir=tmp_path / "cache")
    service = PactmatchService(
        EmbeddedStore(tmp_path / "store"),
        encoder="hashing",
        cache=EmbeddingCache(tmp_path / "cache" / "e.sqlite"),
    )
    data = synthetic_consortia(250, 300, seed=7)
    service.import_batch(
        ParsedBatch(
            organisations=data.organisations, partnerships=data.partnerships, memberships=data.memberships
        ),
        "s",
        actor=TEST_ACTOR,
    )
    fit_store_ranker(service.store, service.encoder, service.cache)
    return admin_client(create_app(settings, service=service))


def test_learned_candidates_with_additive_explanations(client: TestClient) -> None:
    r = client.get("/partnerships/P000290/candidates", params={"top_k": 7})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "learned-lgbm-v2"
    assert len(body["items"]) == 7
    for item in body["items"]:
        contributions = item["contributions"]
        assert contributions[0]["signal"] == "baseline"
        assert sum(c["value"] for c in contributions) == pytest.approx(item["score"], abs=1e-6)


def test_diversity_reorders_and_names_itself(client: TestClient) -> None:
    plain = client.get("/partnerships/P000290/candidates", params={"top_k": 5}).json()
    mixed = client.get(
        "/partnerships/P000290/candidates", params={"top_k": 5, "diversity": 0.9, "max_per_country": 1}
    ).json()
    assert mixed["model"] == "learned-lgbm-v2 + mmr=0.9,country<=1"
    assert len(mixed["items"]) == 5

    def country(org_id: str) -> str:
        return str(client.get(f"/organisations/{org_id}").json()["country"])

    wide = client.get("/partnerships/P000290/candidates", params={"top_k": 25}).json()  # what MMR chose from
    available = len({country(i["org_id"]) for i in wide["items"]})
    countries = [country(i["org_id"]) for i in mixed["items"]]
    first = min(5, available)
    # one per country while the over-fetched list has countries left, then by relevance
    assert len(set(countries[:first])) == first
    assert [i["org_id"] for i in mixed["items"]] != [i["org_id"] for i in plain["items"]]
    bad = client.get("/partnerships/P000290/candidates", params={"diversity": 2})
    assert bad.status_code == 422
