"""Interests and shortlist entries persist as validated JSON artifacts on every store (embedded and Bolt)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.errors import PactmatchError
from domain.outreach import Interest, ShortlistChange, ShortlistEntry, ShortlistStatus
from graph.base import GraphStore
from pactmatch.outreach_repository import OutreachRepository

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def interest(org_id: str, partnership_id: str) -> Interest:
    return Interest(
        org_id=org_id, partnership_id=partnership_id, message="hi", created_at=AT, updated_at=AT, by="u"
    )


def test_outreach_documents_round_trip(store: GraphStore) -> None:
    repo = OutreachRepository(store)
    # "p1" is a prefix of "p10", and "o.json" ends like a document: names must keep them apart.
    for org_id, pid in (("o1", "p1"), ("o.json", "p1"), ("o1", "p10"), ("o2", "p10")):
        repo.put_interest(interest(org_id, pid))
    assert repo.interest("p1", "o1") == interest("o1", "p1")
    assert repo.interested_org_ids("p1") == {"o1", "o.json"}
    assert [(i.org_id, i.partnership_id) for i in repo.interests_in("p10")] == [("o1", "p10"), ("o2", "p10")]
    assert sorted(i.partnership_id for i in repo.interests_of("o1")) == ["p1", "p10"]
    assert repo.delete_interest("p1", "o1") and not repo.delete_interest("p1", "o1")
    assert repo.interest("p1", "o1") is None

    change = ShortlistChange(
        status=ShortlistStatus.CONTACTED, note="called", on=date(2026, 3, 1), at=AT, by="u"
    )
    entry = ShortlistEntry(partnership_id="p1", org_id="o1", history=(change,))
    repo.put_entry(entry)
    repo.put_entry(ShortlistEntry(partnership_id="p10", org_id="o2", history=(change,)))
    assert repo.entry("p1", "o1") == entry and repo.entry("p1", "o2") is None
    assert repo.shortlist("p1") == [entry]
    assert [(e.partnership_id, e.org_id) for e in repo.all_entries()] == [("p1", "o1"), ("p10", "o2")]
    assert repo.delete_entry("p1", "o1") and repo.shortlist("p1") == []


def test_a_broken_document_is_a_clear_error(store: GraphStore) -> None:
    store.put_artifact("shortlist/p1/o1.json", b'{"partnership_id": "p1"}')
    with pytest.raises(PactmatchError, match="not a valid ShortlistEntry"):
        OutreachRepository(store).entry("p1", "o1")
