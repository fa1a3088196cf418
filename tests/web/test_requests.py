"""Attendees ask each other to meet before the schedule (issue 20), in a real browser: attendee A opens
their link → people to meet → requests a meeting (an empty or over-long message is refused next to
the field, the text kept) → attendee B sees it in their feed and accepts → the organiser schedules →
both agendas hold the meeting → the organiser cancels it on the grid and re-schedules; closing the
request window closes the forms."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.web.conftest import LiveServer, accessible, shot, sign_in

pytestmark = pytest.mark.browser
MESSAGE = "Shall we talk about battery recycling pilots?"


def _agenda_links(page: Page) -> dict[str, str]:
    """The links page's rows: attendee label -> their private link."""
    rows = page.locator("table tbody tr")
    return {
        rows.nth(k).locator("td").first.inner_text(): str(rows.nth(k).locator("a").get_attribute("href"))
        for k in range(rows.count())
    }


def test_attendees_request_accept_and_the_organiser_schedules_and_cancels(
    page: Page, browser: Browser, live_server: LiveServer
) -> None:
    sign_in(page, live_server, "organiser")
    page.goto(f"{live_server.url}/app/events/new")
    page.get_by_label("Name", exact=True).fill("Requests brokerage day")
    page.get_by_label("Date").fill("2027-05-11")
    page.get_by_label("Meeting slots").fill("4")
    page.get_by_label("Tables (meetings at once)").fill("10")
    page.get_by_role("button", name="Create event").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Requests brokerage day")
    event_url = page.url
    page.get_by_label("How many (most active first)").fill("12")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("status")).to_contain_text("12 attendee(s) registered")
    expect(page.locator("#requests-h + .grid")).to_contain_text("Requests are open now")
    page.goto(f"{event_url}/links")
    links = _agenda_links(page)
    assert len(links) == 12

    # A browses the others and asks the best match they may ask
    a_label, a_link = next(iter(links.items()))
    a_org = a_label.split("(", 1)[1].rstrip(")")
    a = browser.new_context().new_page()  # no account, no cookie: the link is the credential
    a.goto(a_link)
    expect(a.get_by_role("heading", level=1)).to_contain_text("your meetings at Requests brokerage day")
    expect(a.get_by_text("The organiser has not made the schedule yet")).to_be_visible()
    a.get_by_role("link", name="People to meet").click()
    expect(a.get_by_role("heading", level=1)).to_have_text("People to meet at Requests brokerage day")
    cards = a.locator("ol.candidates > li")
    assert cards.count() == 10  # a page of the 11 others
    expect(a.get_by_role("navigation", name="pages")).to_contain_text("1–10 of 11")
    accessible(a)
    shot(a, "attendee-people")
    card = cards.filter(has=a.locator("details.request")).first  # the best match that may be asked
    b_org = card.locator(".org").inner_text()
    card.get_by_text("Request a meeting").click()
    card.get_by_role("button", name=re.compile("^Send the request")).click()  # nothing written
    card = a.locator("ol.candidates > li").filter(has=a.locator(".org", has_text=b_org)).first
    expect(card.locator("p.error")).to_contain_text("write a short message")
    message = card.get_by_role("textbox")
    expect(message).to_have_attribute("aria-invalid", "true")
    accessible(a)
    shot(a, "attendee-people-refused")
    too_long = "x" * 520
    message.evaluate("field => field.removeAttribute('maxlength')")  # what a browser's limit would stop
    message.fill(too_long)
    card.get_by_role("button", name=re.compile("^Send the request")).click()
    card = a.locator("ol.candidates > li").filter(has=a.locator(".org", has_text=b_org)).first
    expect(card.locator("p.error")).to_contain_text("at most 500 characters")
    expect(card.get_by_role("textbox")).to_have_value(too_long)  # what was typed stays
    card.get_by_role("textbox").fill(MESSAGE)
    card.get_by_role("button", name=re.compile("^Send the request")).click()
    expect(a.get_by_role("status").first).to_contain_text("Your request was sent")
    a.get_by_label("Request between you").select_option("sent")
    a.get_by_role("button", name="Filter").click()
    expect(a.locator("ol.candidates > li")).to_have_count(1)
    expect(a.locator("ol.candidates > li")).to_contain_text("You asked: pending")

    # B reads it in their feed and accepts
    _, b_link = next((label, url) for label, url in links.items() if b_org in label)
    b = browser.new_context().new_page()
    b.goto(b_link)
    feed = b.get_by_role("list", name="What's new")
    expect(feed).to_contain_text(f"asked to meet you: {MESSAGE}")
    accessible(b)
    shot(b, "attendee-requests")
    b.get_by_role("button", name=re.compile("^Accept the request")).click()
    expect(b.get_by_role("status")).to_contain_text("You accepted the request")
    expect(b.locator("table tbody")).to_contain_text("accepted")
    a.goto(a_link)
    expect(a.get_by_role("list", name="What's new")).to_contain_text("accepted the request")

    # the organiser schedules: both agendas hold the meeting
    page.goto(event_url)
    expect(page.locator("#requests-h + .grid")).to_contain_text("1 accepted")
    page.get_by_role("button", name="Schedule", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Schedule")
    a.goto(a_link)
    expect(a.locator("ol.candidates")).to_contain_text(b_org)
    b.goto(b_link)
    expect(b.locator("ol.candidates")).to_contain_text(a_org)
    expect(b.get_by_role("list", name="What's new")).to_contain_text("your agenda was updated")

    # the organiser's list of requests: the accepted one is in the schedule
    schedule_url = page.url
    page.goto(f"{event_url}/requests")
    expect(page.get_by_role("heading", level=1)).to_have_text("Attendees' meeting requests")
    expect(page.locator("table tbody tr")).to_have_count(1)
    expect(page.locator("table tbody")).to_contain_text("in the schedule")
    csv = page.get_by_role("link", name=re.compile("as CSV"))
    expect(csv).to_have_attribute("href", re.compile("format=csv"))
    page.get_by_label("State").select_option("declined")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table tbody")).to_contain_text("No request matches these filters")
    page.get_by_label("State").select_option("accepted")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("button", name="Cancel request r1")).to_be_visible()
    accessible(page)
    shot(page, "organiser-requests")

    # ... and cancels it on the grid (the accepted request behind it), then re-schedules
    page.goto(schedule_url)
    cell = page.locator("table tbody td").filter(has=page.get_by_text("Cancel…"))
    expect(cell).to_have_count(1)  # only the meeting an accepted request confirmed
    cell.get_by_text("Cancel…").click()
    cell.get_by_label(re.compile("^Note for both")).fill("the room is needed for the keynote")
    expect(cell.get_by_label(re.compile("keep them apart"))).to_be_checked()
    accessible(page)
    shot(page, "organiser-schedule-cancel")
    cell.get_by_role("button", name=re.compile("^Cancel the meeting")).click()
    expect(page.get_by_role("status")).to_contain_text("cancelled; both attendees are told")
    page.get_by_role("button", name=re.compile("^Re-schedule")).click()
    expect(page.locator("section.card").filter(has_text="Meetings dropped")).to_contain_text(
        "was cancelled by organiser"
    )
    cells = page.locator("table tbody td").all_inner_texts()
    assert not any(a_org in text and b_org in text for text in cells)  # kept apart: not paired again
    b.goto(b_link)
    expect(b.get_by_role("list", name="What's new")).to_contain_text(
        "the organiser cancelled the request between you and"
    )
    expect(b.get_by_role("list", name="What's new")).to_contain_text("the room is needed for the keynote")

    # the request shows as cancelled, with the note; closing the window closes the attendees' forms
    page.goto(f"{event_url}/requests")
    expect(page.locator("table tbody")).to_contain_text("cancelled")
    expect(page.locator("table tbody")).to_contain_text("by organiser: the room is needed for the keynote")
    page.goto(event_url)
    page.get_by_label(re.compile("^Requests close")).fill("2020-01-01T12:00")
    page.get_by_label(re.compile("^Requests open")).fill("2020-01-02T12:00")
    page.get_by_role("button", name="Save the window").click()
    expect(page.locator("#closes_at-error")).to_contain_text("closes_at must come after opens_at")
    expect(page.get_by_label(re.compile("^Requests close"))).to_have_value("2020-01-01T12:00")
    page.get_by_label(re.compile("^Requests open")).fill("")
    page.get_by_role("button", name="Save the window").click()
    expect(page.get_by_role("status")).to_contain_text("Request window saved")
    accessible(page)
    a.goto(f"{a_link}/people")
    expect(a.get_by_text("Requests closed on 2020-01-01 12:00")).to_be_visible()
    expect(a.locator("details.request")).to_have_count(0)
