"""Where events are kept: validated JSON documents in the artifact area of any :class:`GraphStore`.

Events need no schema of their own, so they work on every store (embedded and Neo4j) unchanged:

* ``event/<event_id>.json`` — the :class:`~domain.events.Event`;
* ``event/<event_id>/attendees.json`` — its attendees;
* ``event/<event_id>/schedule.json`` — the latest generated :class:`~domain.events.Schedule`;
* ``event/<event_id>/requests.json`` — the attendees' meeting requests
  (:class:`~domain.meeting_requests.MeetingRequest`), in the order they were sent.

Separate documents rather than one, so that listing events does not parse thousands of attendees,
re-registering one attendee does not rewrite the schedule, and an attendee's request does not
rewrite the attendee list. The repository only reads and writes;
serialising read-modify-write is the service's job (:mod:`pactmatch.event_service`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from pydantic import BaseModel, ValidationError

from domain.errors import NotFoundError, PactmatchError
from domain.events import Attendee, Event, Schedule
from domain.meeting_requests import MeetingRequest
from pactmatch.documents import DocumentRepository

PREFIX = "event/"


class _AttendeeDoc(BaseModel):
    event_id: str
    attendees: list[Attendee]


class _RequestDoc(BaseModel):
    event_id: str
    requests: list[MeetingRequest]


def event_key(event_id: str) -> str:
    return f"{PREFIX}{event_id}.json"


def attendees_key(event_id: str) -> str:
    return f"{PREFIX}{event_id}/attendees.json"


def schedule_key(event_id: str) -> str:
    return f"{PREFIX}{event_id}/schedule.json"


def requests_key(event_id: str) -> str:
    return f"{PREFIX}{event_id}/requests.json"


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
        for name in (
            requests_key(event_id),
            schedule_key(event_id),
            attendees_key(event_id),
            event_key(event_id),
        ):
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

    def requests(self, event_id: str) -> list[MeetingRequest]:
        doc = self._load(requests_key(event_id), _RequestDoc)
        return list(doc.requests) if doc else []

    def put_requests(self, event_id: str, requests: Sequence[MeetingRequest]) -> None:
        self._save(requests_key(event_id), _RequestDoc(event_id=event_id, requests=list(requests)))

    def attendees_and_digest(self, event_id: str) -> tuple[list[Attendee], str]:
        """The attendees and a digest of their document, read once: the digest changes whenever an
        attendee's stated fields do (what caches of their embedded offers and wants are keyed by)."""
        raw = self.store.get_artifact(attendees_key(event_id))
        if raw is None:
            return [], hashlib.sha256(b"").hexdigest()
        try:
            doc = _AttendeeDoc.model_validate_json(raw)
        except ValidationError as exc:
            raise PactmatchError(f"stored document {attendees_key(event_id)!r} is not valid: {exc}") from exc
        return list(doc.attendees), hashlib.sha256(raw).hexdigest()
