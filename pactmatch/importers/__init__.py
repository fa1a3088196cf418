"""Importers turn files into validated domain models plus row-level errors; they never write.

The service (:mod:`pactmatch.service`) checks references against the store, writes the good rows
in one transaction and embeds what changed; attendee files go to the event service
(:mod:`pactmatch.event_service`) the same way.
"""

from pactmatch.importers.attendees import read_attendee_file
from pactmatch.importers.cordis import read_cordis
from pactmatch.importers.native import read_csv_files, read_json
from pactmatch.importers.report import ImportReport, ParsedBatch, RowError

__all__ = [
    "ImportReport",
    "ParsedBatch",
    "RowError",
    "read_attendee_file",
    "read_cordis",
    "read_csv_files",
    "read_json",
]
