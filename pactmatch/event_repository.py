"""Where events are kept: validated JSON documents in the artifact area of any :class:`GraphStore`.

Events need no schema of their own, so they work on every store (embedded and Neo4j) unchanged:

* ``event/<event_id>.json`` — the :class:`~domain.events.Event`;
* ``event/<event_id>/attendees.json`` — its attendees;
* ``event/<event_id>/schedule.json`` — the latest generated :class:`~domain.events.Schedule`.

Three documents rather than one, so that listing events does not parse thousands of attendees and
re-registering one attendee does not rewrite the schedule. The repository only reads and writes;
serialising read-modify-write is the service's job (:mod:`pactmatch.event_service`).
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from domain.errors import NotFoundError
from domain.events import Attendee, Event, Schedule
from pactmatch.documents import DocumentRepository

PREFIX = "event/"


class _AttendeeDoc(BaseModel):
    event_id: str
    attendees: list[Attendee]


def event_key(event_id: str) -> str:
    return f"{PREFIX}{event_id}.json"


def attendees_key(event_id: str) -> str:
    return f"{PREFIX}{event_id}/attendees.json"


def schedule_key(event_id: str) -> str:
    return f"{PREFIX}{event_id}/schedule.json"


class EventRepository(DocumentRepository):
    """Events, attendees and schedules as validated JSON artifacts of any :class:`GraphStore`."""

    def get_event(self, event_id: str) -> Event:
        event = self._load(event_key(event_id), Event)
        if event is None:
            raise NotFoundError("event", event_id)
        return event

    def exists(self, event_id: str) -> bool:
        return self.store.get_artifact(event_key(event_id)) is not None

    def put_event(self, event: Event) -> None:
        self._save(event_key(event.event_id), event)

    def list_events(self) -> list[Event]:
        names = [
            n
            for n in self.store.list_artifacts(PREFIX)
            if n.endswith(".json") and "/" not in n[len(PREFIX) :]
        ]
        events = [self._load(n, Event) for n in names]
        return sorted((e for e in events if e is not None), key=lambda e: (e.date, e.event_id))

    def delete_event(self, event_id: str) -> None:
        self.get_event(event_id)
        for name in (schedule_key(event_id), attendees_key(event_id), event_key(event_id)):
            if self.store.get_artifact(name) is not None:
                self.store.delete_artifact(name)

    def attendees(self, event_id: str) -> list[Attendee]:
        doc = self._load(attendees_key(event_id), _AttendeeDoc)
        return list(doc.attendees) if doc else []

    def put_attendees(self, event_id: str, attendees: Sequence[Attendee]) -> None:
        self._save(attendees_key(event_id), _AttendeeDoc(event_id=event_id, attendees=list(attendees)))

    def schedule(self, event_id: str) -> Schedule | None:
        return self._load(schedule_key(event_id), Schedule)

    def put_schedule(self, schedule: Schedule) -> None:
        self._save(schedule_key(schedule.event_id), schedule)
