"""Tiny hand-built events for the event-matching tests (vectors chosen so scores are hand-computable)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from domain.events import Attendee, AttendeeGroup, Event, TimeSlot
from matching.events import PairRules, Participants, build_participants


def event(
    slots: int = 4, tables: int = 10, cap: int = 3, floor: int = 1, groups: Sequence[AttendeeGroup] = ()
) -> Event:
    return Event(
        event_id="ev",
        name="Test event",
        date=date(2025, 6, 3),
        slots=tuple(
            TimeSlot(slot_id=f"s{k + 1}", start=datetime(2025, 6, 3, 9, 0) + timedelta(minutes=30 * k))
            for k in range(slots)
        ),
        tables=tables,
        default_max_meetings=cap,
        min_meetings=min(floor, cap),
        groups=tuple(groups),
    )


def attendee(aid: str, **kw: Any) -> Attendee:
    data: dict[str, Any] = {
        "attendee_id": aid,
        "org_id": f"org-{aid}",
        "org_name": f"Org {aid}",
        "person": f"Person {aid}",
        "stakeholder_type": "sme",
        "country": "BE",
        "offer": f"offer of {aid}",
        "want": f"want of {aid}",
    }
    data.update(kw)
    return Attendee(**data)


def build(
    ev: Event,
    attendees: Sequence[Attendee],
    offers: npt.ArrayLike,
    wants: npt.ArrayLike,
    met_before: Iterable[tuple[int, int]] = (),
) -> tuple[Participants, PairRules, list[str]]:
    return build_participants(
        ev, attendees, np.asarray(offers, dtype=np.float32), np.asarray(wants, dtype=np.float32), met_before
    )
