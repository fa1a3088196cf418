"""CSV exports of shortlists, and the outcomes file that ``pactmatch evaluate --feedback`` reads back.

Names and notes come from whoever typed them, and a cell such as ``=HYPERLINK(...)`` would run in
the reader's spreadsheet (OWASP, "CSV Injection"): every export writes through the project's
:class:`~pactmatch.reports.spreadsheet.SafeCsvWriter`, which gives text that starts like a formula
(``=``, ``+``, ``-``, ``@``, tab, CR) a leading ``'``. :func:`read_outcomes` takes that ``'`` off
again, so an exported file reads back as it was written.

>>> write_csv(("note",), [("=1+1",)]).splitlines()
['note', "'=1+1"]
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

from pydantic import ValidationError

from domain.errors import FieldIssue, InvalidInputError
from domain.outreach import Outcome
from pactmatch.reports.spreadsheet import SafeCsvWriter, safe_cell

#: The outcomes file's columns: one row per status change.
OUTCOME_COLUMNS = ("partnership_id", "org_id", "outcome", "date")


def _unsafe_cell(value: str) -> str:
    """What :func:`safe_cell` was given (its ``'`` taken off)."""
    return value[1:] if value.startswith("'") and safe_cell(value[1:]) == value else value


def write_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A CSV document (``\\n`` line ends) of ``rows`` under ``header``, every cell made safe."""
    out = io.StringIO()
    writer = SafeCsvWriter(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def outcomes_csv(outcomes: Iterable[Outcome]) -> str:
    return write_csv(
        OUTCOME_COLUMNS, ((o.partnership_id, o.org_id, o.status.value, o.on.isoformat()) for o in outcomes)
    )


def read_outcomes(path: Path) -> list[Outcome]:
    """The outcomes of an exported file; ``InvalidInputError`` naming the line and field of a bad row."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InvalidInputError(f"cannot read the outcomes file {path}: {exc.strerror}") from exc
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in OUTCOME_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInputError(f"{path.name}: missing column(s) {', '.join(missing)}")
    outcomes = []
    for line, row in enumerate(reader, 2):
        try:
            outcomes.append(
                Outcome(
                    partnership_id=_unsafe_cell(row["partnership_id"]),
                    org_id=_unsafe_cell(row["org_id"]),
                    status=row["outcome"],
                    on=row["date"],
                )
            )
        except ValidationError as exc:
            error = exc.errors()[0]
            name = {"status": "outcome", "on": "date"}.get(str(error["loc"][0]), str(error["loc"][0]))
            raise InvalidInputError(
                f"{path.name} line {line}: {name}: {error['msg']}", [FieldIssue(name, error["msg"])]
            ) from exc
    return outcomes
