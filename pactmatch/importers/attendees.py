"""Event registrations from a file: a JSON array or a CSV sheet of :class:`AttendeeCreate` rows.

Like the other importers it only reads and validates; the event service checks the rows against
the event and the store and registers the good ones, so a file with a few bad rows still counts.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from domain.events import AttendeeCreate
from pactmatch.importers.report import RowError, read_csv, split_list, validation_errors

ATTENDEE_REQUIRED = ("person",)
ATTENDEE_OPTIONAL = (
    "attendee_id", "org_id", "email", "group", "offer", "want", "wanted_types", "wanted_ecosystems",
    "wanted_regions", "availability", "max_meetings", "must_meet", "no_thanks",
)  # fmt: skip
_LIST_FIELDS = (
    "wanted_types",
    "wanted_ecosystems",
    "wanted_regions",
    "availability",
    "must_meet",
    "no_thanks",
)


def read_attendee_file(path: Path) -> tuple[list[AttendeeCreate], list[RowError]]:
    """Registrations from a JSON array (of :class:`AttendeeCreate` objects) or a CSV file.

    CSV columns are the fields of :class:`AttendeeCreate` (``person`` required; ``org_id`` names an
    organisation of the store); list cells are separated by ``;``. Bad rows come back as
    :class:`RowError` naming the line and field; good rows are returned either way.
    """
    errors: list[RowError] = []
    bodies: list[AttendeeCreate] = []
    if path.suffix.lower() == ".json":
        try:
            items = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            return [], [RowError(path.name, None, "file", f"not a readable JSON file: {exc}")]
        if not isinstance(items, list):
            return [], [RowError(path.name, None, "file", "expected a JSON array of attendees")]
        for k, item in enumerate(items):
            try:
                bodies.append(AttendeeCreate.model_validate(item))
            except ValidationError as exc:
                errors.extend(validation_errors(exc, path.name, None, k))
        return bodies, errors
    for line, row in read_csv(path, ATTENDEE_REQUIRED, ATTENDEE_OPTIONAL, errors=errors):
        data: dict[str, object] = {k: v.strip() for k, v in row.items() if k and v is not None and v.strip()}
        for key in _LIST_FIELDS:
            if key in data:
                data[key] = split_list(str(data[key]))
        try:
            bodies.append(AttendeeCreate.model_validate(data))
        except ValidationError as exc:
            errors.extend(validation_errors(exc, path.name, line))
    return bodies, errors
