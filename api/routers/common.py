"""Query parameters and conversions several routers share."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import Query

from api.schemas import CandidateListPublic, ImportReportPublic, RowErrorPublic, UpsertCountsPublic
from pactmatch.importers import ImportReport
from pactmatch.service import CandidateList

Offset = Annotated[int, Query(ge=0, description="items to skip")]
Limit = Annotated[int, Query(ge=1, le=500, description="page size (at most 500)")]


def candidate_list_public(result: CandidateList) -> CandidateListPublic:
    return CandidateListPublic.model_validate(
        {
            "partnership_id": result.partnership_id,
            "model": result.model,
            "items": [
                {
                    "org_id": i.org_id,
                    "name": i.name,
                    "score": i.score,
                    "contributions": [asdict(c) for c in i.recommendation.contributions],
                }
                for i in result.items
            ],
        }
    )


def report_public(report: ImportReport, max_rows: int = 1000) -> ImportReportPublic:
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
