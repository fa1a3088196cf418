"""End to end on the bundled demo dataset: the gap report names exactly the gaps its README documents,
with candidates from the right region, and synergy pairs come with explanations.

The expected ids are those of ``pactmatch/data/demo/README.md`` ("Known gaps").
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from embeddings import EmbeddingCache
from graph.embedded import EmbeddedStore
from matching.gaps import GapReport
from pactmatch.demo import demo_dataset_path
from pactmatch.importers import read_json
from pactmatch.mapping import MappingService
from pactmatch.reports import ReportMeta, gap_report_public, synergy_pair_public, write_gaps, write_synergies
from pactmatch.service import PactmatchService
from tests.conftest import TEST_ACTOR

BRABANT = "demo-rsp-brabant-hightech"
AEROSPACE = "demo-lsp-aerospace"
BASQUE = "demo-rsp-basque-energy"


@pytest.fixture(scope="module")
def mapping(tmp_path_factory: pytest.TempPathFactory) -> MappingService:
    root = tmp_path_factory.mktemp("demo")
    service = PactmatchService(
        EmbeddedStore(root / "store"), encoder="hashing", cache=EmbeddingCache(root / "cache.sqlite")
    )
    report = service.import_batch(read_json(demo_dataset_path()), "demo.json", actor=TEST_ACTOR)
    assert report.ok
    return MappingService(service)


@pytest.fixture(scope="module")
def reports(mapping: MappingService) -> dict[str, GapReport]:
    return {r.partnership_id: r for r in mapping.gap_reports(candidates_per_gap=5)}


def _candidates(report: GapReport, key: str) -> list[str]:
    gap = next(g for g in report.gaps if g.key == key)
    return [c.org_id for c in gap.candidates]


def test_composition_gaps_are_exactly_the_documented_ones(reports: dict[str, GapReport]) -> None:
    composition = {pid: {g.key for g in r.gaps_of("composition")} for pid, r in reports.items()}
    assert composition.pop(BRABANT) == {"vet", "trade_unions"}
    assert composition.pop(BASQUE) == {"regional_authority"}
    assert all(not keys for keys in composition.values()), {k: v for k, v in composition.items() if v}


def test_brabant_candidates_come_from_noord_brabant(reports: dict[str, GapReport]) -> None:
    report = reports[BRABANT]
    assert set(_candidates(report, "vet")) == {"demo-org-038", "demo-org-123", "demo-org-159"}
    assert set(_candidates(report, "trade_unions")) == {"demo-org-284", "demo-org-380"}
    for gap in report.gaps_of("composition"):
        assert gap.filters.regions == ("NL41",)
        assert all((c.region or "").startswith("NL41") for c in gap.candidates)
        assert all(
            sum(x.value for x in c.recommendation.contributions) == pytest.approx(c.score)
            for c in gap.candidates
        )


def test_basque_candidates_are_basque_authorities(reports: dict[str, GapReport]) -> None:
    report = reports[BASQUE]
    assert set(_candidates(report, "regional_authority")) == {"demo-org-116", "demo-org-226"}
    assert all((c.region or "").startswith("ES21") for c in report.gaps[0].candidates)


def test_aerospace_misses_the_documented_countries(reports: dict[str, GapReport]) -> None:
    report = reports[AEROSPACE]
    assert {g.key for g in report.gaps_of("geography")} == {
        "PL",
        "NL",
        "PT",
        "IE",
        "AT",
        "BE",
        "SE",
        "CZ",
        "RO",
        "EL",
    }
    assert report.geography.basis == "declared scope at NUTS level 0"
    # Where the pool has aerospace organisations, they are the candidates (strict step: country + ecosystem).
    expected = {
        "PL": {"demo-org-205", "demo-org-208", "demo-org-211", "demo-org-291"},
        "NL": {"demo-org-182", "demo-org-198"},
        "IE": {"demo-org-068", "demo-org-319"},
        "BE": {"demo-org-076"},
    }
    for country, ids in expected.items():
        gap = next(g for g in report.gaps if g.key == country)
        assert gap.filters.ecosystems and gap.filters.regions == (country,)
        found = {c.org_id for c in gap.candidates}
        assert found == ids if len(ids) <= 5 else found <= ids


def test_no_sector_gaps_in_regional_partnerships(reports: dict[str, GapReport]) -> None:
    for pid, report in reports.items():
        if pid.startswith("demo-rsp-"):
            assert not report.gaps_of("sector"), pid


def test_synergies_are_explained(mapping: MappingService) -> None:
    pairs = mapping.synergies(BRABANT, top_k=5, recruits_per_pair=2)
    assert len(pairs) == 5
    for p in pairs:
        assert p.a_id == BRABANT
        assert sum(c.value for c in p.contributions) == pytest.approx(p.score)
        assert all(c.evidence for c in p.contributions)
    assert any(p.shared_terms for p in pairs) and any(p.bridges for p in pairs)
    # Brabant lacks VET providers and trade unions: a partner that has them says so.
    assert any("VET providers" in p.b_fills for p in pairs)


def test_reports_render_in_every_format(mapping: MappingService, tmp_path: Path) -> None:
    meta = ReportMeta("Gaps — demo", store="demo")
    out = io.StringIO()
    n = write_gaps(
        (gap_report_public(r) for r in mapping.gap_reports(candidates_per_gap=2)), "json", out, meta
    )
    document = json.loads(out.getvalue())
    assert n == 20 and len(document["reports"]) == 20
    assert document["summary"]["gaps_by_category"]["composition"] == 3
    out = io.StringIO()
    write_gaps((gap_report_public(r) for r in mapping.gap_reports(candidates_per_gap=2)), "csv", out, meta)
    rows = out.getvalue().splitlines()
    assert rows[0].startswith("partnership_id,partnership_name,kind")
    assert any(r.startswith(f"{BRABANT},") and ",vet," in r and "demo-org-" in r for r in rows)
    html = io.StringIO()
    write_gaps([gap_report_public(mapping.gaps(BRABANT))], "html", html, meta)
    assert html.getvalue().count("data:image/png;base64,") == 1  # composition vs target
    assert "VET providers" in html.getvalue() and "<script" not in html.getvalue()
    html = io.StringIO()
    pairs = (synergy_pair_public(p) for p in mapping.all_synergies(top_k=2))
    assert write_synergies(pairs, "html", html, ReportMeta("Synergies — demo")) > 0
    assert "Synergy network" in html.getvalue() and "data:image/png;base64," in html.getvalue()


def test_region_view_lists_the_unaffiliated_pool(mapping: MappingService) -> None:
    view = mapping.region("nl41")  # normalised
    vet = next(r for r in view.by_type if r.stakeholder_type.value == "vet_provider")
    assert {o.org_id for o in vet.examples} == {"demo-org-038", "demo-org-123", "demo-org-159"}
    assert view.partnerships[0].partnership_id == BRABANT
