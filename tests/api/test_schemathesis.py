"""Schemathesis over the whole OpenAPI document: every operation, valid and invalid requests.

Each operation is one test (``test_api[GET /organisations]``), run in-process against the ASGI app
on the demo dataset (hashing encoder), as an admin (an API key on every request: an admin may call
every operation, so each is exercised past its permission check). Checks: no 5xx (``not_a_server_error``), a documented answer
matches its schema and content type, and every error answer has the one error shape. Seeded,
derandomized and without an example database, so a run takes the same cases every time; bounded
(50 generated cases per operation and mode, plus the coverage phase's boundary cases), so it stays
within a minute or two on two shared cores.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis.config import SchemathesisConfig
from starlette.types import ASGIApp, Receive, Scope, Send

from api.app import create_app
from domain.accounts import Grant, Role
from embeddings import EmbeddingCache
from graph.embedded import EmbeddedStore
from pactmatch.demo import load_demo
from pactmatch.service import PactmatchService
from pactmatch.settings import Settings
from tests.conftest import TEST_ACTOR, api_key

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 19,
        "generation": {"mode": "all", "max-examples": 50, "database": "none", "deterministic": True},
        "phases": {"stateful": {"enabled": False}},
        "checks": {
            "enabled": False,
            "not_a_server_error": {"enabled": True},
            "response_schema_conformance": {"enabled": True},
            "content_type_conformance": {"enabled": True},
        },
    }
)


def _openapi_document() -> dict[str, Any]:
    """The app's document, read once at collection (schemathesis makes one test per operation)."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(store=f"{tmp}/store", encoder="hashing", cache_dir=Path(tmp) / "cache"))
        document = app.openapi()
        app.state.service.close()
    return document


schema = schemathesis.openapi.from_dict(_openapi_document(), config=CONFIG)


@schemathesis.check
def one_error_shape(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """Every error answer is ``{"detail": [{"loc": [...], "msg": ..., "type": ...}, ...]}`` (an
    import's 422 is its report, with the rejected rows, as documented)."""
    if response.status_code < 400:
        return
    body = response.json()
    if response.status_code == 422 and case.path.startswith("/imports/") and "errors" in body:
        return
    detail = body["detail"]
    assert isinstance(detail, list) and detail, f"detail is not a list of issues: {body}"
    for item in detail:
        assert set(item) == {"loc", "msg", "type"} and isinstance(item["loc"], list), item


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """The app on the demo dataset, shared by every operation's test. The rate limit is lifted:
    schemathesis sends far more imports a minute than any key may, and a 429 tests nothing."""
    root: Path = tmp_path_factory.mktemp("schemathesis")
    settings = Settings(
        store=str(root / "store"), encoder="hashing", cache_dir=root / "cache", rate_limit="100000/minute"
    )
    service = PactmatchService(
        EmbeddedStore(root / "store"), encoder="hashing", cache=EmbeddingCache(root / "cache.sqlite")
    )
    load_demo(service, TEST_ACTOR)
    app = create_app(settings, service=service)
    yield app
    jobs = app.state.jobs  # the batch reports schemathesis started
    for job in jobs.list():
        jobs.cancel(job.job_id)
        jobs.wait(job.job_id)
    jobs.shutdown()
    service.close()


@pytest.fixture(scope="module")
def api_headers(demo_app: FastAPI) -> dict[str, str]:
    """Headers every generated request carries: an admin's API key (every operation but
    ``/health`` needs credentials, and an admin may call them all)."""
    return {"Authorization": f"Bearer {api_key(demo_app, 'test-admin', Grant(role=Role.ADMIN))}"}


@pytest.fixture(scope="module")
def api_app(demo_app: FastAPI) -> ASGIApp:
    """:func:`demo_app` without its lifespan (freeze the heap at start, close the store at the
    end): schemathesis would run it once per operation, closing the store under the next one; the
    fixture owns it."""

    async def requests_only(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # ASGI: raising at a lifespan scope means "no lifespan here"
            raise ValueError("no lifespan: the fixture owns the service")
        await demo_app(scope, receive, send)

    return requests_only


@schema.parametrize()
def test_api(case: schemathesis.Case, api_app: ASGIApp, api_headers: dict[str, str]) -> None:
    case.call_and_validate(app=api_app, headers=api_headers, additional_checks=[one_error_shape])
