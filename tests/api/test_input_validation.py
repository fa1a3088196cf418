"""Input checked at the edge: types, bounds, strict JSON and place filters. Each of these crashed the
server (a 5xx that also closed the connection) or was accepted as it came (issue 19)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.routers.common import MAX_OFFSET
from tests.api.helpers import ORG, event_client, issues, raw_post


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return event_client(tmp_path)


@pytest.mark.parametrize("country", [{}, 1, True, ["DE"]])
def test_a_country_that_is_not_a_string_is_a_422_in_every_payload(
    client: TestClient, country: object
) -> None:
    attendee = {"person": "P", "organisation": {**ORG, "country": country}}
    for method, url, body, loc in [
        ("POST", "/organisations", {**ORG, "country": country}, ["body", "country"]),
        ("PUT", "/organisations/x1", {**ORG, "country": country}, ["body", "country"]),
        ("POST", "/events/ev/attendees", attendee, ["body", "organisation", "country"]),
        (
            "POST",
            "/events/ev/attendees/batch",
            {"attendees": [attendee]},
            ["body", "attendees", 0, "organisation", "country"],
        ),
    ]:
        r = client.request(method, url, json=body)
        assert r.status_code == 422 and issues(r)[0]["loc"] == loc, (url, r.text)


def test_wanted_regions_null_is_a_422(client: TestClient) -> None:
    r = client.post("/events/ev/attendees", json={"person": "P", "org_id": "u1", "wanted_regions": None})
    assert r.status_code == 422 and issues(r)[0]["loc"] == ["body", "wanted_regions"]
    assert (
        client.post(
            "/events/ev/attendees", json={"attendee_id": "a1", "person": "P", "org_id": "u1"}
        ).status_code
        == 201
    )
    r = client.patch("/events/ev/attendees/a1", json={"wanted_regions": None})
    assert r.status_code == 422 and issues(r)[0]["loc"] == ["body", "wanted_regions"]


def test_offsets_are_bounded(client: TestClient) -> None:
    for url in ("/organisations", "/partnerships", "/events", "/events/ev/attendees"):
        r = client.get(url, params={"offset": "9223372036854775808"})
        assert r.status_code == 422 and issues(r)[0]["loc"] == ["query", "offset"], url
        assert client.get(url, params={"offset": MAX_OFFSET}).json()["items"] == []


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_are_not_json(client: TestClient, constant: bytes) -> None:
    for url, body in [
        ("/organisations", b'{"org_id": "n1", "name": "N", "stakeholder_type": "sme", "x": %s}'),
        ("/events/ev/schedule", b'{"time_limit": %s}'),
        ("/partnerships/none/gaps", b'{"target_mix": {"kinds": {}, "v": %s}}'),
    ]:
        r = raw_post(client, url, body % constant)
        assert r.status_code == 422, (url, r.text)
        assert issues(r)[0]["type"] == "json_invalid" and "not a JSON number" in issues(r)[0]["msg"]


def test_every_json_body_is_parsed_strictly(client: TestClient) -> None:
    """Each operation that takes a JSON body refuses NaN before anything else looks at it."""
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    operations = [
        (method, path)
        for path, item in paths.items()
        for method, op in item.items()
        if "application/json" in op.get("requestBody", {}).get("content", {})
    ]
    assert len(operations) >= 15
    for method, path in operations:
        url = path.replace("{", "").replace("}", "")
        r = raw_post(client, url, b'{"a": NaN}', method.upper())
        assert r.status_code == 422 and issues(r)[0]["type"] == "json_invalid", (method, path, r.text)


def test_a_lone_surrogate_is_refused_and_a_pair_is_kept(client: TestClient) -> None:
    r = raw_post(
        client, "/organisations", b'{"org_id": "e1", "name": "a\\ud800b", "stakeholder_type": "sme"}'
    )
    assert r.status_code == 422 and "lone surrogate" in issues(r)[0]["msg"]
    r = raw_post(
        client, "/organisations", b'{"org_id": "e1", "name": "a\\ud83d\\ude00b", "stakeholder_type": "sme"}'
    )
    assert r.status_code == 201 and r.json()["name"] == "a😀b"
    assert client.post("/imports/json", content=b'{"organisations": [{"\\udfff": 1}]}').status_code == 422


def test_a_huge_keyword_and_a_huge_organisation_are_refused_naming_the_field(client: TestClient) -> None:
    r = client.post("/organisations", json={**ORG, "keywords": ["k" * 100_000]})
    assert r.status_code == 422 and issues(r)[0]["loc"] == ["body", "keywords", 0]
    assert len(r.content) < 1_000  # the input is not echoed back
    r = client.post("/organisations", json={**ORG, "description": "d" * 20_000_000})
    assert r.status_code == 422 and issues(r)[0]["loc"] == ["body", "description"]


def test_query_strings_and_lists_are_bounded(client: TestClient) -> None:
    for url, params, loc in [
        ("/organisations", {"partnership_id": "p" * 201}, ["query", "partnership_id"]),
        ("/partnerships", {"parent_id": "p" * 201}, ["query", "parent_id"]),
        ("/events/ev/attendees", {"group": "g" * 201}, ["query", "group"]),
        ("/partnerships/p/candidates", {"region": ["DE1"] * 51}, ["query", "region"]),
        ("/partnerships/p/candidates", {"max_per_country": 10**30}, ["query", "max_per_country"]),
    ]:
        r = client.get(url, params=params)
        assert r.status_code == 422 and issues(r)[0]["loc"] == loc, (url, r.text)


def test_an_unknown_region_filter_names_the_code(client: TestClient) -> None:
    r = client.get("/regions/AT3Q/stakeholders")
    assert r.status_code == 422 and "unknown NUTS code 'AT3Q'" in issues(r)[0]["msg"]
    assert client.get("/regions/AT3/stakeholders").status_code == 200
    assert client.get("/organisations", params={"region": "DE1\n"}).status_code == 422
    assert client.post("/organisations", json={**ORG, "nuts_codes": ["DE1\n"]}).status_code == 422


@pytest.mark.parametrize(
    ("method", "url", "body", "loc"),
    [
        ("GET", "/organisations?region=AT3Q", None, ["query", "region"]),
        ("GET", "/organisations?country=XX", None, ["query", "country"]),
        ("GET", "/partnerships?region=QQ1", None, ["query", "region"]),
        ("GET", "/partnerships/p/candidates?country=DE&country=XX", None, ["query", "country", 1]),
        ("GET", "/regions/AT3Q/stakeholders", None, ["path", "code"]),
        ("POST", "/events/ev/attendees/from-store", {"region": "AT3Q"}, ["body", "region"]),
        ("POST", "/events/ev/attendees/from-store", {"country": "XX"}, ["body", "country"]),
    ],
)
def test_a_bad_place_filter_is_a_422_naming_the_parameter(
    client: TestClient, method: str, url: str, body: object, loc: list[object]
) -> None:
    r = client.request(method, url, json=body)
    assert r.status_code == 422 and issues(r)[0]["loc"] == loc, r.text
