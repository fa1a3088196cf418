"""Where events are kept: validated JSON documents in the artifact area of any :class:`GraphStore`.

Events need no schema of their own, so they work on every store (embedded and Neo4j) unchanged:

* ``event/<event_id>.json`` — the :class:`~domain.events.Event`;
* ``event/<event_id>/attendees.json`` — its attendees;
* ``event/<event_id>/schedule.json`` — the latest generated :class:`~domain.events.Schedule`;
* ``event/<event_id>/requests.json`` — the attendees' meeting requests
  (:class:`~domain.meeting_requests.MeetingRequest`), in the order they were sent.

Separate documents rather than one, so that listing events does not parse thousands of attendees,
re-registering one attendee does not rewrite the schedule, and an attendee's request does not
rewrite the attendee list.

Each document has its version (:mod:`pactmatch.documents`): a read-modify-write is a
compare-and-set retried inside :func:`~pactmatch.documents.attempts`. A schedule names the
attendee and request lists it was planned from, and is saved only while both are unchanged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from pydantic import BaseModel, ValidationError

from domain.errors import NotFoundError, PactmatchError
from domain.events import Attendee, Event, Schedule
from domain.meeting_requests import MeetingRequest
from pactmatch.documents import DocumentRepository, StaleWriteError

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
    """Events, attendees and schedules as validated JSON artifacts of any :class:`GraphStore`,
    each with its version (see the module's notes)."""

    def _describe(self, name: str) -> str:
        """A document's name as a person says it: "the attendees of event 'b1'"."""
        event_id, _, part = name[len(PREFIX) :].removesuffix(".json").partition("/")
        return f"the {part} of event {event_id!r}" if part else f"event {event_id!r}"

    # -- events -----------------------------------------------------------------------------------
    def get_event(self, event_id: str) -> Event:
        return self.event_versioned(event_id)[0]

    def event_versioned(self, event_id: str) -> tuple[Event, int]:
        event, version = self._load_versioned(event_key(event_id), Event)
        if event is None:
            raise NotFoundError("event", event_id)
        return event, version

    def exists(self, event_id: str) -> bool:
        return self.store.get_artifact(event_key(event_id)) is not None

    def put_event(self, event: Event, *, expected: int | None = None) -> int:
        return self._save(event_key(event.event_id), event, expected)

    def list_events(self) -> list[Event]:
        names = [
            n
            for n in self.store.list_artifacts(PREFIX)
            if n.endswith(".json") and "/" not in n[len(PREFIX) :]
        ]
        events = [self._load_versioned(n, Event)[0] for n in names]
        return sorted((e for e in events if e is not None), key=lambda e: (e.date, e.event_id))

    def delete_event(self, event_id: str, *, expected: int | None = None) -> None:
        """Delete the event and its documents (with ``expected``: only while the event document
        still has that version)."""
        _, version = self.event_versioned(event_id)
        if expected is not None and version != expected:
            raise StaleWriteError(f"event {event_id!r} changed meanwhile (now version {version})", version)
        for name in (requests_key(event_id), schedule_key(event_id), attendees_key(event_id)):
            if self.store.get_artifact(name) is not None:
                self.store.delete_artifact(name)
        if not self.store.delete_artifact_if(event_key(event_id), version):
            current = self.version(event_key(event_id))
            if current == 0:
                raise NotFoundError("event", event_id)
            raise StaleWriteError(f"event {event_id!r} changed meanwhile (now version {current})", current)

    # -- attendees, schedules, requests -------------------------------------------------------------
    def attendees(self, event_id: str) -> list[Attendee]:
        return self.attendees_versioned(event_id)[0]

    def attendees_versioned(self, event_id: str) -> tuple[list[Attendee], int]:
        doc, version = self._load_versioned(attendees_key(event_id), _AttendeeDoc)
        return (list(doc.attendees) if doc else []), version

    def put_attendees(
        self, event_id: str, attendees: Sequence[Attendee], *, expected: int | None = None
    ) -> int:
        doc = _AttendeeDoc(event_id=event_id, attendees=list(attendees))
        return self._save(attendees_key(event_id), doc, expected)

    def schedule(self, event_id: str) -> Schedule | None:
        return self.schedule_versioned(event_id)[0]

    def schedule_versioned(self, event_id: str) -> tuple[Schedule | None, int]:
        return self._load_versioned(schedule_key(event_id), Schedule)

    def put_schedule(self, schedule: Schedule, *, expected: int | None = None) -> int:
        """Save the schedule; when it names the versions of the attendee and request lists it was
        planned from, only while they are still those (``StaleWriteError`` otherwise)."""
        event_id = schedule.event_id
        planned_from = {
            name: version
            for name, version in (
                (attendees_key(event_id), schedule.attendees_version),
                (requests_key(event_id), schedule.requests_version),
            )
            if version is not None
        }
        return self._save(schedule_key(event_id), schedule, expected, planned_from)

    def requests(self, event_id: str) -> list[MeetingRequest]:
        return self.requests_versioned(event_id)[0]

    def requests_versioned(self, event_id: str) -> tuple[list[MeetingRequest], int]:
        doc, version = self._load_versioned(requests_key(event_id), _RequestDoc)
        return (list(doc.requests) if doc else []), version

    def put_requests(
        self, event_id: str, requests: Sequence[MeetingRequest], *, expected: int | None = None
    ) -> int:
        doc = _RequestDoc(event_id=event_id, requests=list(requests))
        return self._save(requests_key(event_id), doc, expected)

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
