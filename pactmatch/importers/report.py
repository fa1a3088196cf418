"""Row-level errors and the import report."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from domain.models import Membership, Organisation, Partnership
from graph.base import ImportCounts


@dataclass(frozen=True)
class RowError:
    """One rejected (or, as a warning, amended) input row: where, which field, why.

    ``line`` is the physical line in a CSV file (the header is line 1); for JSON, ``item`` is the
    index of the record in its array (``line`` is then ``None``).
    """

    file: str
    line: int | None
    field: str
    reason: str
    item: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else f"item {self.item}"
        return f"{self.file}, {where}, field {self.field!r}: {self.reason}"


@dataclass
class ParsedBatch:
    """What an importer read: valid models, rejected rows and warnings (amended but kept rows)."""

    organisations: list[Organisation] = field(default_factory=list)
    partnerships: list[Partnership] = field(default_factory=list)
    memberships: list[Membership] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    #: where each membership came from, for reporting reference errors found later
    membership_origin: list[tuple[str, int | None, int | None]] = field(default_factory=list)


@dataclass
class ImportReport:
    source: str
    counts: ImportCounts = field(default_factory=ImportCounts)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    embedded: int = 0
    seconds: float = 0.0

    @property
    def rejected_rows(self) -> int:
        return len({(e.file, e.line, e.item) for e in self.errors})

    @property
    def ok(self) -> bool:
        return not self.errors


def validation_errors(
    exc: ValidationError, file: str, line: int | None, item: int | None = None
) -> list[RowError]:
    """Pydantic errors → row errors naming the input field (not pydantic's internal location)."""
    out = []
    for err in exc.errors():
        loc = err.get("loc") or ("row",)
        name = str(loc[0]) if loc else "row"
        message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        out.append(RowError(file, line, name, message, item))
    return out


def read_csv(
    path: Path, required: Sequence[str], optional: Sequence[str] = (), *, errors: list[RowError]
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line, row)`` for well-formed rows; malformed ones go to ``errors``.

    The line is where the record starts (quoted fields may span lines); the header is line 1.
    """
    name = path.name
    try:
        fh = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        errors.append(RowError(name, None, "file", f"cannot open: {exc.strerror or exc}"))
        return
    with fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            errors.append(RowError(name, 1, "header", "the file is empty"))
            return
        except (csv.Error, UnicodeDecodeError) as exc:
            errors.append(RowError(name, 1, "header", f"unreadable: {exc}"))
            return
        header = [h.strip() for h in header]
        missing = [c for c in required if c not in header]
        unknown = [c for c in header if c not in required and c not in optional]
        if missing or unknown:
            problems = []
            if missing:
                problems.append(f"missing column(s) {', '.join(missing)}")
            if unknown:
                problems.append(f"unknown column(s) {', '.join(unknown)}")
            errors.append(
                RowError(
                    name,
                    1,
                    "header",
                    "; ".join(problems) + f" (expected {', '.join([*required, *optional])})",
                )
            )
            return
        line = reader.line_num + 1
        while True:
            try:
                values = next(reader)
            except StopIteration:
                break
            except (csv.Error, UnicodeDecodeError) as exc:
                errors.append(RowError(name, line, "row", f"malformed CSV: {exc}"))
                line = reader.line_num + 1
                continue
            start, line = line, reader.line_num + 1
            if not any(v.strip() for v in values):
                continue  # blank line
            if len(values) != len(header):
                errors.append(
                    RowError(name, start, "row", f"expected {len(header)} fields, found {len(values)}")
                )
                continue
            yield start, dict(zip(header, values, strict=True))


def split_list(value: str) -> list[str]:
    """CSV list cells are ``;``-separated."""
    return [v.strip() for v in value.split(";") if v.strip()]


def blank_to_none(row: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    return {k: (None if isinstance(v, str) and not v.strip() and k in keys else v) for k, v in row.items()}
