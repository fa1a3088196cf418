"""Imports are complete or say they are not: an import stopped after its data committed (before or
during its embedding step) shows in ``/health``, ``stats`` and candidate lists, and ``pactmatch
embed`` (or the same import again) completes it, embedding only what is missing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from embeddings import EmbeddingCache
from graph.embedded import EmbeddedStore
from pactmatch.demo import demo_dataset_path
from pactmatch.importers.native import read_json
from pactmatch.service import PactmatchService
from pactmatch.settings import Settings
from tests.conftest import TEST_ACTOR, admin_client
from tests.pactmatch.conftest import run

PARTNERSHIP = "demo-rsp-brabant-hightech"


class Killed(BaseException):
    """What the import sees when its process is killed at that point (nothing handles it)."""


def service_for(env: dict[str, str]) -> PactmatchService:
    store = EmbeddedStore(env["PACTMATCH_STORE"])
    return PactmatchService(
        store, encoder="hashing", cache=EmbeddingCache(Path(env["PACTMATCH_CACHE_DIR"]) / "embeddings.sqlite")
    )


def import_killed_after_commit(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """Import the demo data and stop right after the data transaction (before any embedding);
    (organisations, partnerships) imported."""
    service = service_for(env)

    def killed(*args: Any, **kw: Any) -> None:
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(service, "refresh_embeddings", killed)
        with pytest.raises(Killed):
            service.import_batch(read_json(demo_dataset_path()), "demo.json", actor=TEST_ACTOR)
    counts = service.counts()
    service.close()
    return counts.organisations, counts.partnerships


def api(env: dict[str, str]) -> TestClient:
    settings = Settings(
        store=env["PACTMATCH_STORE"], encoder="hashing", cache_dir=Path(env["PACTMATCH_CACHE_DIR"])
    )
    return admin_client(create_app(settings))


def test_an_import_killed_after_its_commit_says_so_until_embed_completes_it(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    orgs, partnerships = import_killed_after_commit(env, monkeypatch)
    assert orgs > 100 and partnerships == 20
    client = api(env)

    health = client.get("/health").json()
    assert health["status"] == "degraded"
    assert health["embeddings"] == {
        "encoder": health["encoder"],
        "organisations_without_vector": orgs,
        "partnerships_without_vector": partnerships,
        "complete": False,
    }
    (problem,) = health["problems"]
    assert f"{orgs} of {orgs} organisations and 20 of 20 partnerships have no vector" in problem
    assert "pactmatch embed" in problem
    candidates = client.get(f"/partnerships/{PARTNERSHIP}/candidates").json()
    assert candidates["items"] and candidates["warnings"] == [problem]
    code, out = run(env, "stats")
    assert code == 0 and "incomplete embeddings" in out and f"{orgs} of {orgs} organisations" in out

    code, out = run(env, "embed")
    assert code == 0, out
    assert (
        f"{orgs + partnerships} changed" in out and "every organisation and partnership has a vector" in out
    )
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["problems"] == [] and health["embeddings"]["complete"]
    assert client.get(f"/partnerships/{PARTNERSHIP}/candidates").json()["warnings"] == []
    code, out = run(env, "stats")
    assert "every organisation and partnership has a vector" in out


def test_an_embedding_step_killed_midway_resumes_where_it_stopped(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each embedded chunk is committed: a run killed after its first chunk keeps it, and the
    next run embeds only the rest."""
    orgs, partnerships = import_killed_after_commit(env, monkeypatch)
    service = service_for(env)

    def killed_after_the_first_chunk(phase: str, done: int, total: int) -> None:
        raise Killed

    with pytest.raises(Killed):
        service.refresh_embeddings(chunk=50, progress=killed_after_the_first_chunk)
    coverage = service.embedding_coverage()
    assert (coverage.organisations_without, coverage.partnerships_without) == (orgs - 50, partnerships)
    code, out = run(env, "candidates", PARTNERSHIP)
    assert code == 0 and f"{orgs - 50} of {orgs} organisations" in out
    code, out = run(env, "embed")
    assert code == 0 and f"{orgs - 50 + partnerships} changed" in out, out
    assert service.embedding_coverage().complete
    service.close()


def test_running_the_import_again_completes_it(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    orgs, partnerships = import_killed_after_commit(env, monkeypatch)
    code, out = run(env, "import", "json", str(demo_dataset_path()))
    assert code == 0 and f"{orgs + partnerships} text(s) embedded" in out, out
    code, out = run(env, "stats")
    assert "every organisation and partnership has a vector" in out
