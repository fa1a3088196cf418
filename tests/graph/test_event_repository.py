"""Events persist as validated JSON artifacts on every store (embedded and Bolt)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from domain.events import Attendee, EventCreate, Schedule, ScheduleStats, SlotSpec
from graph.base import GraphStore
from pactmatch.event_repository import EventRepository


def test_event_documents_round_trip(store: GraphStore) -> None:
    repo = EventRepository(store)
    event = EventCreate(
        name="Brokerage", date=date(2025, 6, 3), slots=[SlotSpec(start=time(9, 0))], tables=3
    ).to_event("b1", datetime(2025, 1, 1, tzinfo=UTC))
    repo.put_event(event)
    attendee = Attendee(attendee_id="a1", org_id="o1", org_name="Org", person="Ann", stakeholder_type="sme")
    repo.put_attendees("b1", [attendee])
    stats = ScheduleStats(
        solver="milp", status="optimal", objective=0.0, score_total=0.0, lp_bound=0.0, gap_to_bound=0.0,
        greedy_objective=0.0, greedy_score_total=0.0, greedy_min_meetings=0, meetings=0, min_meetings=0,
        mean_meetings=0.0, candidate_edges=0, pricing_rounds=1, unplaced_after_selection=0,
    )  # fmt: skip
    schedule = Schedule(
        event_id="b1", generated_at=datetime(2025, 1, 2, tzinfo=UTC), encoder="hashing-512", attendees=1,
        meetings=(), stats=stats,
    )  # fmt: skip
    repo.put_schedule(schedule)
    assert repo.get_event("b1") == event
    assert repo.attendees("b1") == [attendee]
    assert repo.schedule("b1") == schedule
    assert [e.event_id for e in repo.list_events()] == ["b1"]  # attendees/schedule documents are not events
    repo.delete_event("b1")
    assert store.list_artifacts("event/") == []
