"""Journey 4, a member organisation: sign in → its profile → a mistake shown at its field → saved →
partnerships it could join → express interest → the partnership's coordinator sees the request."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import COORDINATED, ORGANISATION, LiveServer, accessible, shot, sign_in

pytestmark = pytest.mark.browser


def test_a_member_keeps_its_profile(page: Page, live_server: LiveServer) -> None:
    sign_in(page, live_server, "member")
    page.get_by_role("link", name="My organisation").first.click()
    expect(page).to_have_url(f"{live_server.url}/app/organisations/{ORGANISATION}")
    accessible(page)
    shot(page, "member-profile")

    page.get_by_label("Country (ISO code)").fill("Narnia")
    page.get_by_label("City").fill("Esslingen")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_role("alert")).to_contain_text("not saved")
    expect(page.locator("#country-error")).to_be_visible()  # next to its field
    expect(page.get_by_label("City")).to_have_value("Esslingen")  # what was typed stays
    accessible(page)

    page.get_by_label("Country (ISO code)").fill("DE")
    page.get_by_label("Skills and priorities (comma-separated)").fill("battery recycling, welding")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_role("status")).to_have_text("Your profile was saved.")
    expect(page.get_by_label("City")).to_have_value("Esslingen")
    expect(page.get_by_label("Skills and priorities (comma-separated)")).to_have_value(
        "battery recycling, welding"
    )

    page.get_by_role("link", name="Partnerships you could join").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("could join")
    expect(page.locator("ol.candidates > li").first).to_contain_text("topic fit")  # ranked, explained
    accessible(page)
    page.get_by_label("Region (NUTS code or name)").fill("XX99")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#region-error")).to_contain_text("XX99")  # next to its field
    page.get_by_label("Kind").select_option("regional")
    page.get_by_label("Region (NUTS code or name)").fill("DE1 Baden-Württemberg")
    page.get_by_role("button", name="Search", exact=True).click()
    wanted = page.locator("ol.candidates > li").filter(has_text="Baden-Württemberg Automotive")
    expect(wanted).to_contain_text("region")
    wanted.get_by_label(re.compile("^Message to its coordinators")).fill("We train welders for e-mobility")
    wanted.get_by_role("button", name=re.compile("^Express interest")).click()
    expect(page.get_by_role("status")).to_contain_text("was sent to its coordinators")
    expect(page.locator("#requests")).to_contain_text("We train welders for e-mobility")
    expect(page.get_by_label("Region (NUTS code or name)")).to_have_value("DE1 Baden-Württemberg")  # kept
    wanted = page.locator("ol.candidates > li").filter(has_text="Baden-Württemberg Automotive")
    expect(wanted.locator(".badge")).to_have_text("interest expressed")
    accessible(page)
    shot(page, "member-partnerships-to-join")

    page.goto(f"{live_server.url}/app/organisations/demo-org-002")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not yours to see")  # another organisation

    page.goto(f"{live_server.url}/app")
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, live_server, "coordinator")
    page.goto(f"{live_server.url}/app/partnerships/{COORDINATED}")
    page.get_by_role("link", name="1 organisation asked to join").click()
    requests = page.locator("#requests")
    expect(requests).to_contain_text("Belex Hospitality Cluster")
    expect(requests).to_contain_text("We train welders for e-mobility")
    accessible(page)
    requests.get_by_role("button", name=re.compile("^Add to shortlist")).click()
    expect(page.locator("#requests")).to_contain_text("On the shortlist (shortlisted)")
