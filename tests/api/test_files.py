"""Files in and out: download names the client chose (RFC 5987), upload names that are labels only,
and forms that would silently lose a part."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import EVENT, event_client, issues


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return event_client(tmp_path)


def filename_star(header: str) -> str:
    charset, _language, quoted = header.split("filename*=", 1)[1].split("'", 2)
    assert charset == "UTF-8"
    return unquote(quoted, encoding=charset, errors="strict")


def test_download_names_travel_as_rfc_5987_with_an_ascii_fallback(client: TestClient) -> None:
    p = {"partnership_id": "łódź-rsp", "name": "Łódź", "kind": "regional", "scope_regions": ["PL71"]}
    assert client.post("/partnerships", json=p).status_code == 201
    assert client.post("/events", json={**EVENT, "event_id": 'zürich"x'}).status_code == 201
    for o in ("u1", "s1"):
        body = {"attendee_id": f"ä-{o}", "person": "P", "org_id": o}
        assert client.post('/events/zürich"x/attendees', json=body).status_code == 201
    assert client.post('/events/zürich"x/schedule', json={"solver": "greedy"}).status_code == 200
    for url, params, name in [
        ("/partnerships/łódź-rsp/gaps", {"format": "csv"}, "gaps-łódź-rsp.csv"),
        ("/partnerships/łódź-rsp/gaps", {"format": "html"}, "gaps-łódź-rsp.html"),
        ("/partnerships/łódź-rsp/synergies", {"format": "csv"}, "synergies-łódź-rsp.csv"),
        ('/events/zürich"x/agendas/ä-u1', {"format": "ics"}, 'zürich"x-ä-u1.ics'),
    ]:
        r = client.get(url, params=params)
        assert r.status_code == 200, (url, r.text)
        header = r.headers["content-disposition"]
        assert header.isascii() and filename_star(header) == name
        fallback = header.split('filename="', 1)[1].split('"', 1)[0]
        assert fallback.isascii() and fallback.endswith(name.rsplit(".", 1)[1]) and "/" not in fallback


CSV_ORGS = b"org_id,name,stakeholder_type\nc1,Uploaded,sme\n"
CSV_PARTNERSHIPS = b"partnership_id,name\np9,Uploaded partnership\n"


@pytest.mark.parametrize("filename", ["..", ".", "../../etc/passwd", "..\\..\\x.csv", "a\x00b.csv", "/"])
def test_an_upload_name_is_a_label_never_a_path(client: TestClient, filename: str) -> None:
    r = client.post("/imports/csv", files=[("organisations", (filename, CSV_ORGS, "text/csv"))])
    assert r.status_code == 200, r.text
    assert client.get("/organisations/c1").json()["name"] == "Uploaded"
    assert "/" not in r.json()["source"] and r.json()["source"] not in ("", ".", "..")


def test_two_parts_of_one_name_or_one_file_name_are_refused(client: TestClient) -> None:
    twice = [
        ("organisations", ("a.csv", CSV_ORGS, "text/csv")),
        ("organisations", ("b.csv", CSV_ORGS, "text/csv")),
    ]
    r = client.post("/imports/csv", files=twice)
    assert r.status_code == 422 and issues(r)[0]["loc"] == ["body", "organisations"]
    same_name = [
        ("organisations", ("data.csv", CSV_ORGS, "text/csv")),
        ("partnerships", ("data.csv", CSV_PARTNERSHIPS, "text/csv")),
    ]
    r = client.post("/imports/csv", files=same_name)
    assert r.status_code == 422 and "both send 'data.csv'" in issues(r)[0]["msg"]
    cordis = [("projects", ("x.csv", b"id\n", "text/csv")), ("participants", ("x.csv", b"id\n", "text/csv"))]
    assert client.post("/imports/cordis", files=cordis).status_code == 422
    assert client.get("/organisations/c1").status_code == 404  # nothing imported
