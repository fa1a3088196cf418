"""One error shape for every error answer, whoever raised it; 413 for streamed and declared bodies,
the CSRF check's reading of a form included; 405 with every allowed method."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import EVENT, ORG, event_client, issues, make_client


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return event_client(tmp_path)


@pytest.mark.parametrize(
    ("method", "url", "body", "loc"),
    [
        ("PUT", "/organisations/other", {**ORG}, ["body", "org_id"]),
        ("PUT", "/partnerships/other", {"partnership_id": "p1", "name": "P"}, ["body", "partnership_id"]),
        ("PUT", "/events/other", EVENT, ["body", "event_id"]),
        (
            "POST",
            "/partnerships",
            {"partnership_id": "p1", "name": "P", "parent_id": "ghost"},
            ["body", "parent_id"],
        ),
        ("PUT", "/target-mix", {"kinds": {"regional": {"requirements": "x"}}}, None),
        ("POST", "/imports/csv", None, []),
        ("POST", "/events/ev/schedule", {}, []),
        ("GET", "/organisations/ghost", None, []),
        ("GET", "/no/such/path", None, []),
    ],
)
def test_every_error_answer_has_the_one_shape(
    client: TestClient, method: str, url: str, body: object, loc: list[object] | None
) -> None:
    r = client.request(method, url, json=body)
    assert 400 <= r.status_code < 500, r.text
    found = issues(r)
    if loc is not None:
        assert found[0]["loc"] == loc, found


def test_a_chunked_body_over_the_limit_is_413(tmp_path: Path) -> None:
    small = make_client(tmp_path, max_body_bytes=10_000)
    chunks = iter([b'{"organisations": [' + b'{"a": 1},' * 2_000 + b"{}]}"])
    r = small.post("/imports/json", content=chunks, headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers
    assert r.status_code == 413 and issues(r)[0]["type"] == "content_too_large"
    r = small.post(
        "/imports/json", content=b"[" + b"1," * 10_000 + b"1]", headers={"content-type": "application/json"}
    )
    assert r.status_code == 413 and issues(r)[0]["type"] == "content_too_large"  # a declared length


@pytest.mark.parametrize("chunked", [False, True])
def test_a_form_body_over_the_limit_is_413_in_the_one_shape_when_the_csrf_check_reads_it(
    tmp_path: Path, chunked: bool
) -> None:
    """A browser's form (cookies, no API key) is read by the CSRF middleware, outside the app's
    exception handlers; its 413 still has the one shape, whether the length was declared or not."""
    small = make_client(tmp_path, max_body_bytes=10_000)
    del small.headers["Authorization"]
    form = b"csrftoken=x&name=a&password=" + b"p" * 20_000
    r = small.post(
        "/app/login",
        content=iter([form]) if chunked else form,
        headers={"content-type": "application/x-www-form-urlencoded", "cookie": "csrftoken=x"},
    )
    assert ("content-length" in r.request.headers) is not chunked
    assert r.status_code == 413 and issues(r)[0]["type"] == "content_too_large", r.text


def test_405_lists_every_allowed_method(client: TestClient) -> None:
    for url, allowed in [
        ("/organisations/u1", "GET, PUT, DELETE"),
        ("/organisations", "GET, POST"),
        ("/target-mix", "GET, PUT, DELETE"),
        ("/events/ev/attendees/a1", "GET, PATCH, DELETE"),
    ]:
        r = client.request("POST" if "a1" in url or "u1" in url else "PATCH", url)
        assert r.status_code == 405 and r.headers["allow"] == allowed, (url, r.headers.get("allow"))
        assert issues(r)[0]["type"] == "method_not_allowed"
    page = client.put("/app/login")  # a page answers with a page, and names the methods all the same
    assert page.status_code == 405 and page.headers["allow"] == "GET, POST"
    assert page.headers["content-type"].startswith("text/html")
