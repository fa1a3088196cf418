"""Report rendering on the hand-built partnerships of ``tests/matching/test_gaps.py``.

R1 has 4 gaps (VET, trade unions, chambers, digital), R2 6 (all but VET), L1 30 (5 composition
gaps and 25 missing EU countries).
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from matching.gaps import GapMapper
from matching.recommender import HeuristicRecommender
from pactmatch.importers.report import ParsedBatch
from pactmatch.reports import GapReportPublic, ReportMeta, gap_report_public, write_gaps
from pactmatch.reports.render import GAP_COLUMNS, GapOverview
from pactmatch.service import PactmatchService
from tests.conftest import TEST_ACTOR
from tests.matching.test_gaps import MEMBERS, ORGS, PARTNERSHIPS


@pytest.fixture
def reports(hashing_service: PactmatchService) -> list[GapReportPublic]:
    assert hashing_service.import_batch(ParsedBatch(ORGS, PARTNERSHIPS, MEMBERS), "test", actor=TEST_ACTOR).ok
    snapshot = hashing_service.snapshot()
    mapper = GapMapper(candidates_per_gap=2).fit(snapshot, HeuristicRecommender().fit(snapshot))
    return [gap_report_public(r) for r in mapper.reports()]


def test_overview_keeps_the_partnerships_with_most_gaps(reports: list[GapReportPublic]) -> None:
    overview = GapOverview(detail_limit=1, table_limit=2)
    for r in reports:
        overview.add(r)
    assert [r.partnership_id for r in overview.details] == ["L1"]
    assert [r.partnership_id for r in overview.table] == ["L1", "R2"]
    summary = overview.summary()
    assert summary["partnerships"] == 3 and summary["with_gaps"] == 3
    assert summary["gaps_by_category"] == {"composition": 14, "sector": 1, "geography": 25}
    assert summary["unmet_requirements"]["trade unions"] == 3


def test_json_batch_is_one_valid_document(reports: list[GapReportPublic]) -> None:
    out = io.StringIO()
    assert write_gaps(reports, "json", out, ReportMeta("t", parameters={"level": "scope"})) == 3
    document = json.loads(out.getvalue())
    assert [r["partnership_id"] for r in document["reports"]] == [r.partnership_id for r in reports]
    assert sorted(r["partnership_id"] for r in document["reports"]) == ["L1", "R1", "R2"]
    assert document["meta"]["parameters"] == {"level": "scope"}
    assert document["summary"]["with_gaps"] == 3


def test_csv_has_a_row_per_gap_candidate(reports: list[GapReportPublic]) -> None:
    out = io.StringIO()
    write_gaps([r for r in reports if r.partnership_id == "R1"], "csv", out, ReportMeta("t"))
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == GAP_COLUMNS
    by_gap: dict[str, list[str]] = {}
    for row in rows:
        by_gap.setdefault(row["gap_key"], []).append(row["org_id"])
    assert by_gap == {
        "vet": ["a5"],
        "trade_unions": ["a7"],
        "economic_representatives": ["a8"],
        "digital": [""],
    }
    vet = next(r for r in rows if r["gap_key"] == "vet")
    assert vet["rank"] == "1" and "region +" in vet["why"] and float(vet["score"]) > 0


def test_html_is_self_contained(reports: list[GapReportPublic]) -> None:
    out = io.StringIO()
    write_gaps(reports, "html", out, ReportMeta("Gaps <test>"))
    html = out.getvalue()
    assert "Gaps &lt;test&gt;" in html  # autoescaped
    assert "<script" not in html and "http://" not in html and "https://" not in html
    # overview charts (unmet requirements, composition matrix, coverage) + one chart per partnership
    assert html.count('src="data:image/png;base64,') == 6
