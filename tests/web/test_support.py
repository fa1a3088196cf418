"""Journey 2, support staff: start a gap report over every partnership and watch it finish → the
dashboard (filter, follow a requirement) → a region's stakeholders → synergies."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import LiveServer, accessible, shot, sign_in

pytestmark = pytest.mark.browser


def test_support_staff_map_gaps_regions_and_synergies(page: Page, live_server: LiveServer) -> None:
    sign_in(page, live_server, "admin")
    page.get_by_role("link", name="Reports").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Batch reports")
    page.get_by_label("Report").select_option("gaps")
    page.get_by_label("Format").select_option("json")
    page.get_by_role("button", name="Start").click()
    newest = page.locator("table tbody tr").first
    expect(newest).to_contain_text("gap reports")
    expect(newest).to_contain_text("succeeded", timeout=120_000)  # the page refreshes itself until then
    accessible(page)
    shot(page, "support-reports")

    newest.get_by_role("link", name="dashboard").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Unmet requirements, every partnership")
    rows = page.locator("#overview tbody tr")
    every = rows.count()
    assert every > 1
    accessible(page)
    shot(page, "support-dashboard")

    page.get_by_label("Kind").select_option("regional")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile("kind=regional"))
    assert 0 < rows.count() <= every
    assert all("regional" in row for row in rows.all_inner_texts())

    first_requirement = page.locator("#totals-h ~ table a").first
    label = first_requirement.inner_text()
    first_requirement.click()
    expect(page.get_by_text("Only partnerships missing")).to_contain_text(label)
    assert all(label in row for row in rows.all_inner_texts())  # each lacks it

    page.get_by_role("link", name="Regions").first.click()
    page.get_by_label(re.compile("^Region")).fill("Atlantis")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#code-error")).to_contain_text("Atlantis")
    page.get_by_label(re.compile("^Region")).fill("DE1 Baden-Württemberg")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile("/app/regions/DE1$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Baden-Württemberg")
    accessible(page)
    shot(page, "support-region")

    page.goto(f"{live_server.url}/app/partnerships/demo-rsp-baden-wuerttemberg-automotive/synergies")
    expect(page.get_by_role("heading", level=1)).to_have_text("Partnerships to work with")
    assert page.locator("main li, main tr").count() > 0  # pairs, each explained
    accessible(page)
