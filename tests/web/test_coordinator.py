"""Journey 1, the coordinator: sign in → my partnerships → a partnership → find partners → the
shortlist → statuses → add as member → the shortlist as CSV."""

from __future__ import annotations

import csv
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
    page.get_by_role("button", name="Search", exact=True).click()
    results = page.locator("ol.candidates > li")
    expect(results.first).to_be_visible()
    assert results.count() > 0
    first = results.first.inner_text()
    assert "region" in first and "%" not in first  # its reasons, with evidence
    assert "topic fit" in first  # the plain reasons, grouped
    raw = results.first.locator("details")
    expect(raw.locator("table")).to_be_hidden()  # the raw signals, one click away
    raw.locator("summary").click()
    expect(raw.locator("table")).to_contain_text("semantic")
    accessible(page)
    shot(page, "coordinator-candidates")

    # The two best go on the shortlist; the search stays as it was.
    chosen = [re.sub(r"^\d+\. ", "", results.nth(n).locator("strong").first.inner_text()) for n in (0, 1)]
    for n in (0, 1):
        results.nth(n).get_by_role("button", name=re.compile("^Add to shortlist")).click()
        expect(results.nth(n)).to_contain_text("shortlisted: shortlisted")
    expect(page.get_by_label("Stakeholder type")).to_have_value("vet_provider")

    page.get_by_role("link", name="the shortlist").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Shortlist of")
    accessible(page)
    card = page.locator("ol.shortlist > li").filter(has_text=chosen[0])
    card.get_by_label(re.compile("^Status")).select_option("contacted")
    card.get_by_label(re.compile("^Note")).fill("Called their head of training")
    card.get_by_label(re.compile("^Date")).fill("2026-03-05")
    card.get_by_role("button", name=re.compile("^Save")).click()
    expect(page.get_by_role("status")).to_have_text(f"Saved: {chosen[0]}.")
    card = page.locator("ol.shortlist > li").filter(has_text=chosen[0])
    expect(card).to_contain_text("Since 2026-03-05: Called their head of training")
    other = page.locator("ol.shortlist > li").filter(has_text=chosen[1])
    other.get_by_label(re.compile("^Status")).select_option("declined")
    other.get_by_role("button", name=re.compile("^Save")).click()
    expect(page.get_by_role("status")).to_have_text(f"Saved: {chosen[1]}.")

    card = page.locator("ol.shortlist > li").filter(has_text=chosen[0])
    expect(card.get_by_role("button", name=re.compile("^Add as member"))).to_have_count(0)  # not joined yet
    card.get_by_label(re.compile("^Status")).select_option("joined")
    card.get_by_label(re.compile("^Date")).fill("2026-04-01")
    card.get_by_role("button", name=re.compile("^Save")).click()
    card = page.locator("ol.shortlist > li").filter(has_text=chosen[0])
    card.get_by_role("button", name=re.compile("^Add as member")).click()
    expect(page.get_by_role("status")).to_have_text(f"{chosen[0]} is now a member.")
    card = page.locator("ol.shortlist > li").filter(has_text=chosen[0])
    expect(card.locator(".badge", has_text="member")).to_be_visible()
    card.locator("summary").click()
    expect(card.locator("ol.history")).to_contain_text("2026-03-05 contacted")
    accessible(page)
    shot(page, "coordinator-shortlist")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the shortlist (CSV)").click()
    with open(download.value.path(), encoding="utf-8") as fh:
        rows = {r["organisation"]: r for r in csv.DictReader(fh)}
    assert rows[chosen[0]]["status"] == "joined" and rows[chosen[0]]["member"] == "yes"
    assert rows[chosen[0]]["history"].endswith("2026-03-05 contacted; 2026-04-01 joined")
    assert rows[chosen[1]]["status"] == "declined"

    page.get_by_role("link", name=re.compile("Baden-Württemberg")).first.click()  # back to the partnership
    expect(page.get_by_role("table").last).to_contain_text(chosen[0])  # a member now
    page.goto(f"{live_server.url}/app/partnerships/{COORDINATED}/candidates?type=vet_provider")

    page.get_by_label("Region (NUTS code or name)").fill("XX99")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#region-error")).to_contain_text("XX99")  # next to its field
    expect(page.get_by_label("Region (NUTS code or name)")).to_have_value("XX99")  # what was typed stays

    page.goto(f"{live_server.url}/app/partnerships/demo-lsp-health")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not yours to see")  # another partnership
    accessible(page)
    assert COORDINATED
