"""Journey 3, the event organiser: create an event → register attendees → schedule → review, pin and
veto → re-schedule → publish private agenda links; an attendee opens theirs without an account."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.web.conftest import LiveServer, accessible, shot, sign_in

pytestmark = pytest.mark.browser


def test_an_organiser_runs_an_event_from_creation_to_agendas(
    page: Page, browser: Browser, live_server: LiveServer, tmp_path: Path
) -> None:
    sign_in(page, live_server, "organiser")
    page.get_by_role("link", name="Events").click()
    page.get_by_role("link", name="New event").click()
    accessible(page)
    page.get_by_label("Name", exact=True).fill("Skills brokerage Stuttgart")
    page.get_by_label("Date").fill("2027-04-20")
    page.get_by_label("Meeting slots").fill("4")
    page.get_by_label("Tables (meetings at once)").fill("10")
    page.get_by_label("At least meetings per attendee (floor)").fill("9")  # above the cap of 6: refused
    page.get_by_role("button", name="Create event").click()
    expect(page.locator("#floor-error")).to_be_visible()
    expect(page.get_by_label("Name", exact=True)).to_have_value(
        "Skills brokerage Stuttgart"
    )  # what was typed stays
    page.get_by_label("At least meetings per attendee (floor)").fill("2")
    page.get_by_role("button", name="Create event").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Skills brokerage Stuttgart")

    page.get_by_label("How many (most active first)").fill("20")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("status")).to_contain_text("20 attendee(s) registered")
    upload = tmp_path / "attendees.csv"
    upload.write_text(
        "person,org_id\nAda Lovelace,demo-org-002\nNobody Known,no-such-org\n", encoding="utf-8"
    )
    page.get_by_label(re.compile("CSV or JSON")).set_input_files(str(upload))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("status")).to_contain_text("1 attendee(s) registered")
    expect(page.get_by_role("alert")).to_contain_text("no-such-org")  # the bad row, named
    accessible(page)
    shot(page, "organiser-event")

    page.get_by_role("button", name="Schedule").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Schedule")
    cells = page.locator("table tbody td form")
    assert cells.count() > 5  # meetings in the slot × table grid
    accessible(page)
    shot(page, "organiser-schedule")
    first = page.locator("table tbody td").filter(has=page.locator("form")).first
    vetoed = first.locator("strong").all_inner_texts()
    first.get_by_role("button", name=re.compile("^Veto")).click()
    page.get_by_role("button", name=re.compile("^Re-schedule")).click()
    grid = page.locator("table tbody").inner_text()
    assert f"{vetoed[0]}\nwith {vetoed[1]}" not in grid  # the vetoed pair no longer meets

    page.goto(page.url.replace("/schedule", "/summary"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Organiser summary")
    assert page.locator("td.chart .seg").count() >= 1  # its charts
    accessible(page)
    shot(page, "organiser-summary")

    page.goto(page.url.replace("/summary", "/links"))
    link = page.locator("a[href*='/app/agenda/']").first.get_attribute("href")
    assert link
    attendee = browser.new_context().new_page()  # no account, no cookie
    attendee.goto(link)
    expect(attendee.get_by_role("heading", level=1)).to_contain_text(
        "your meetings at Skills brokerage Stuttgart"
    )
    expect(attendee.get_by_role("link", name=re.compile("calendar"))).to_be_visible()
    accessible(attendee)
    shot(attendee, "attendee-agenda")
    attendee.goto(link[:-4] + "abcd")
    expect(attendee.get_by_role("heading", level=1)).to_have_text("This link does not open an agenda")
