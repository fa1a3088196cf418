"""Journey 4, a member organisation: sign in → its profile → a mistake shown at its field → saved."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import ORGANISATION, LiveServer, accessible, shot, sign_in

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

    page.goto(f"{live_server.url}/app/organisations/demo-org-002")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not yours to see")  # another organisation
