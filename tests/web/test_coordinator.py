"""Journey 1, the coordinator: sign in → my partnerships → a partnership → find partners."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import COORDINATED, LiveServer, accessible, shot, sign_in

pytestmark = pytest.mark.browser


def test_a_coordinator_finds_partners_for_a_gap(page: Page, live_server: LiveServer) -> None:
    sign_in(page, live_server, "coordinator")
    accessible(page)
    page.get_by_role("link", name=re.compile("Baden-Württemberg")).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Baden-Württemberg")
    expect(page.get_by_role("heading", name="What it lacks")).to_be_visible()
    expect(page.get_by_role("table").last).to_contain_text("coordinator")  # members with their roles
    accessible(page)
    shot(page, "coordinator-partnership")

    page.get_by_role("link", name="Organisation").click()  # sort the members by name, the other way
    expect(page).to_have_url(re.compile("sort=-name"))

    page.get_by_role("link", name="Find partners").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Find partners")
    page.get_by_label("Stakeholder type").select_option("vet_provider")
    page.get_by_label("Region (NUTS code or name)").fill("DE1 Baden-Württemberg")
    page.get_by_role("button", name="Search").click()
    results = page.locator("ol.candidates > li")
    expect(results.first).to_be_visible()
    assert results.count() > 0
    first = results.first.inner_text()
    assert "region" in first and "%" not in first  # its reasons, with evidence
    accessible(page)
    shot(page, "coordinator-candidates")

    page.get_by_label("Region (NUTS code or name)").fill("XX99")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#region-error")).to_contain_text("XX99")  # next to its field
    expect(page.get_by_label("Region (NUTS code or name)")).to_have_value("XX99")  # what was typed stays

    page.goto(f"{live_server.url}/app/partnerships/demo-lsp-health")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not yours to see")  # another partnership
    accessible(page)
    assert COORDINATED
