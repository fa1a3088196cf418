"""CSRF on uploads: multipart bodies are checked in their routes (``api.csrf.form_csrf``), not by
the middleware, so every route that takes a file must declare that check, and the check must hold."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI, params
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from api.app import create_app
from api.csrf import form_csrf
from domain.accounts import Grant, Role
from pactmatch.settings import Settings
from tests.conftest import TEST_PASSWORD, api_key

ORGS = b"org_id,name,stakeholder_type,country\nacme,Acme,sme,DE\n"


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    return create_app(
        Settings(store=str(tmp_path / "store"), encoder="hashing", cache_dir=tmp_path / "cache")
    )


def _takes_a_file(route: APIRoute) -> bool:
    return any(isinstance(param.field_info, params.File) for param in route.dependant.body_params)


def _checks_the_form(route: APIRoute) -> bool:
    stack = list(route.dependant.dependencies)
    while stack:
        dependency = stack.pop()
        if dependency.call is form_csrf:
            return True
        stack.extend(dependency.dependencies)
    return False


def test_every_route_that_takes_a_file_checks_the_forms_csrf_token(app: FastAPI) -> None:
    uploads = {
        str(c.path): c.original_route
        for c in iter_route_contexts(app.routes)
        if isinstance(c.original_route, APIRoute) and _takes_a_file(c.original_route)
    }
    assert set(uploads) >= {"/imports/csv", "/imports/cordis", "/app/events/{event_id}/upload"}
    assert [path for path, route in uploads.items() if not _checks_the_form(route)] == []


def test_a_signed_in_browsers_upload_needs_the_token_and_a_script_does_not(app: FastAPI) -> None:
    key = api_key(app, "root", Grant(role=Role.ADMIN))
    browser = TestClient(app)
    assert browser.post("/auth/login", json={"name": "root", "password": TEST_PASSWORD}).status_code == 200
    browser.get("/app/login")  # a page sets the csrftoken cookie
    token = browser.cookies["csrftoken"]
    files = {"organisations": ("orgs.csv", ORGS, "text/csv")}

    forged = browser.post("/imports/csv", files=files)  # what another site's form could send
    assert forged.status_code == 403 and "csrftoken" in forged.text
    wrong = browser.post("/imports/csv", files=files, data={"csrftoken": token[:-2] + "xx"})
    assert wrong.status_code == 403
    assert browser.post("/imports/csv", files=files, data={"csrftoken": token}).status_code == 200
    assert browser.post("/imports/csv", files=files, headers={"x-csrftoken": token}).status_code == 200

    script = TestClient(app, headers={"Authorization": f"Bearer {key}"})  # no cookie: nothing to forge
    assert script.post("/imports/csv", files=files).status_code == 200
