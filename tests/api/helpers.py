"""What the API tests share: an app on a small store (hashing encoder) called as an admin, raw JSON
bodies, and the one error shape every error answer must have."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from domain.accounts import Grant, Role
from pactmatch.settings import Settings
from tests.conftest import EVENT_ORGS, api_key

ORG = {"org_id": "x1", "name": "X", "stakeholder_type": "sme"}
EVENT = {
    "event_id": "ev",
    "name": "Brokerage",
    "date": "2025-06-03",
    "slots": [{"start": "09:00"}],
    "tables": 2,
}


def make_client(root: Path, **settings: Any) -> TestClient:
    """An app on an empty store under ``root``, called with an admin's API key; a 5xx comes back as
    an answer, not an exception."""
    config = Settings(store=str(root / "store"), encoder="hashing", cache_dir=root / "cache", **settings)
    app = create_app(config)
    key = api_key(app, "test-admin", Grant(role=Role.ADMIN))
    return TestClient(app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {key}"})


def event_client(root: Path) -> TestClient:
    """:func:`make_client` with the four event organisations and the event ``ev``."""
    client = make_client(root)
    for o in EVENT_ORGS:
        assert client.post("/organisations", json=o).status_code == 201
    assert client.post("/events", json=EVENT).status_code == 201
    return client


def issues(response: Any) -> list[dict[str, Any]]:
    """The ``detail`` of an error answer, checked to be the one documented shape."""
    detail = response.json()["detail"]
    assert isinstance(detail, list) and detail, response.text
    assert all(set(d) == {"loc", "msg", "type"} for d in detail), detail
    return list(detail)


def raw_post(client: TestClient, url: str, body: bytes, method: str = "POST") -> Any:
    return client.request(method, url, content=body, headers={"content-type": "application/json"})
