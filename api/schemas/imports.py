"""Bulk imports: the import report, with the rows rejected or amended (file, line, field, reason)."""

from __future__ import annotations

from dataclasses import asdict

from pydantic import BaseModel, Field

from pactmatch.importers import ImportReport


class RowErrorPublic(BaseModel):
    file: str
    line: int | None
    item: int | None
    field: str
    reason: str


class UpsertCountsPublic(BaseModel):
    created: int
    updated: int
    unchanged: int


class ImportReportPublic(BaseModel):
    source: str
    organisations: UpsertCountsPublic
    partnerships: UpsertCountsPublic
    memberships: UpsertCountsPublic
    rejected_rows: int
    errors: list[RowErrorPublic]
    warnings: list[RowErrorPublic] = Field(description="rows kept with an amended value (first 1,000)")
    embedded: int
    seconds: float


def import_report_public(report: ImportReport, max_rows: int = 1000) -> ImportReportPublic:
    """The report with at most ``max_rows`` errors and warnings (a response stays small however bad
    the upload)."""
    c = report.counts
    return ImportReportPublic(
        source=report.source,
        organisations=UpsertCountsPublic(**asdict(c.organisations)),
        partnerships=UpsertCountsPublic(**asdict(c.partnerships)),
        memberships=UpsertCountsPublic(**asdict(c.memberships)),
        rejected_rows=report.rejected_rows,
        errors=[RowErrorPublic(**asdict(e)) for e in report.errors[:max_rows]],
        warnings=[RowErrorPublic(**asdict(w)) for w in report.warnings[:max_rows]],
        embedded=report.embedded,
        seconds=report.seconds,
    )
