"""Gap reports, synergy pairs and region views as JSON, CSV and self-contained HTML.

Writers take an iterable and stream it: a batch over 30k partnerships is written report by report
(JSON and CSV) or folded into running aggregates (HTML keeps the overview numbers for all and the
full detail for the partnerships with the most gaps), so memory stays flat however large the run.
"""

from __future__ import annotations

import heapq
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

import jinja2

from domain.models import StakeholderType
from matching.snapshot import TYPE_ORDER
from pactmatch.reports import charts
from pactmatch.reports.models import GapReportPublic, RegionViewPublic, SynergyPairPublic
from pactmatch.reports.spreadsheet import SafeCsvWriter

ReportFormat = Literal["json", "csv", "html"]
FORMATS: tuple[ReportFormat, ...] = ("json", "csv", "html")
#: The media type a report of each format is sent as.
MEDIA_TYPES: dict[ReportFormat, str] = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
}

GAP_COLUMNS = (
    "partnership_id", "partnership_name", "kind", "n_members", "category", "gap_key", "gap_label", "detail",
    "search", "rank", "org_id", "org_name", "stakeholder_type", "region", "score", "why",
)  # fmt: skip
SYNERGY_COLUMNS = (
    "a_id", "a_name", "a_kind", "b_id", "b_name", "b_kind", "pair_kind", "score", "text", "members", "ecosystems",
    "regions", "complementarity", "shared_terms", "bridges", "n_shared_members", "overlapping_regions",
    "shared_ecosystems", "a_brings", "b_brings", "a_fills", "b_fills", "linked", "recruits_for_a", "recruits_for_b",
)  # fmt: skip
REGION_COLUMNS = (
    "section",
    "key",
    "label",
    "organisations",
    "unaffiliated",
    "item_id",
    "item_name",
    "detail",
)


@dataclass(frozen=True)
class ReportMeta:
    """What the reader needs to know about how a report was made."""

    title: str
    store: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    generated_at: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "store": self.store,
            "parameters": self.parameters,
            "generated_at": self.generated_at,
        }


_env = jinja2.Environment(
    loader=jinja2.PackageLoader("pactmatch.reports", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)
_env.filters["pct"] = lambda v: f"{v:.0%}"
_env.filters["num"] = lambda v: f"{v:,}"
_env.filters["label"] = lambda v: (
    StakeholderType(v).label if v in StakeholderType._value2member_map_ else str(v)
)
_env.filters["nice"] = lambda v: str(getattr(v, "value", v)).replace("_", " ")


def _why(contributions: Iterable[Any]) -> str:
    return " | ".join(f"{c.signal} +{c.value:.3f}: {c.evidence}" for c in contributions if c.value > 0)


# -- gaps ----------------------------------------------------------------------------------------
def gap_csv_rows(report: GapReportPublic) -> Iterator[list[object]]:
    """One row per (gap, candidate); a gap without candidates and a partnership without gaps get one row."""
    head = [report.partnership_id, report.name, report.kind.value, report.n_members]
    if not report.gaps:
        yield [*head, "none", "", "no gaps", "", "", "", "", "", "", "", "", ""]
        return
    for gap in report.gaps:
        gap_cells = [gap.category, gap.key, gap.label, gap.detail, gap.search]
        if not gap.candidates:
            yield [*head, *gap_cells, "", "", "", "", "", "", ""]
        for rank, c in enumerate(gap.candidates, 1):
            yield [
                *head, *gap_cells, rank, c.org_id, c.name, c.stakeholder_type.value, c.region or "",
                f"{c.score:.4f}", _why(c.contributions),
            ]  # fmt: skip


class GapOverview:
    """Running aggregates of a stream of gap reports, and the details worth showing in full."""

    def __init__(self, detail_limit: int = 40, table_limit: int = 400) -> None:
        self.detail_limit = detail_limit
        self.table_limit = table_limit
        self.partnerships = 0
        self.with_gaps = 0
        self.by_category: Counter[str] = Counter()
        self.missing: Counter[str] = Counter()
        self.requirement_labels: dict[str, str] = {}
        self.kinds: Counter[str] = Counter()
        self.region_types: dict[str, Counter[str]] = {}
        self.region_labels: dict[str, str] = {}
        # min-heaps on (gaps, members, -order)
        self._top: list[tuple[int, int, int, str, GapReportPublic]] = []
        self._rows: list[tuple[int, int, int, str, GapReportPublic]] = []

    def add(self, report: GapReportPublic) -> None:
        self.partnerships += 1
        self.kinds[report.kind.value] += 1
        if report.gaps:
            self.with_gaps += 1
        for gap in report.gaps:
            self.by_category[gap.category] += 1
        for r in report.composition.requirements:
            self.requirement_labels.setdefault(r.id, r.label)
            if not r.satisfied:
                self.missing[r.id] += 1
        for unit in report.geography.units:
            self.region_labels[unit.code] = unit.label
            counts = self.region_types.setdefault(unit.code, Counter())
            counts.update({t.value: n for t, n in unit.type_counts.items()})
            counts["__members__"] += unit.members
        # Keep the partnerships with most gaps for details and the table; among equals the larger
        # partnership (a gap in a big consortium is more notable), then the earlier one.
        item = (len(report.gaps), report.n_members, -self.partnerships, report.partnership_id, report)
        for heap, limit in ((self._top, self.detail_limit), (self._rows, self.table_limit)):
            if len(heap) < limit:
                heapq.heappush(heap, item)
            elif limit and item[:3] > heap[0][:3]:
                heapq.heapreplace(heap, item)

    @property
    def details(self) -> list[GapReportPublic]:
        return [x[-1] for x in sorted(self._top, key=lambda x: (-x[0], -x[1], -x[2]))]

    @property
    def table(self) -> list[GapReportPublic]:
        return [x[-1] for x in sorted(self._rows, key=lambda x: (-x[0], -x[1], -x[2]))]

    def summary(self) -> dict[str, Any]:
        return {
            "partnerships": self.partnerships,
            "with_gaps": self.with_gaps,
            "gaps_by_category": dict(self.by_category),
            "unmet_requirements": {self.requirement_labels[k]: n for k, n in self.missing.most_common()},
            "kinds": dict(self.kinds),
        }

    def coverage_grid(self, max_regions: int = 40) -> tuple[list[str], list[str], list[list[int]]]:
        """Regions × stakeholder types: members summed over the partnerships whose scope names the region."""
        if not self.region_types:
            return [], [], []
        regions = sorted(self.region_types, key=lambda c: (-self.region_types[c]["__members__"], c))[
            :max_regions
        ]
        present = [t for t in TYPE_ORDER if any(self.region_types[c][t.value] for c in regions)]
        types = present or list(TYPE_ORDER[:1])
        grid = [[self.region_types[c][t.value] for t in types] for c in regions]
        return (
            [f"{c} {self.region_labels.get(c, '')}".strip() for c in regions],
            [t.label for t in types],
            grid,
        )


def render_gaps_html(
    reports: Iterable[GapReportPublic], meta: ReportMeta, *, detail_limit: int = 40, chart_limit: int = 12
) -> str:
    """The HTML report; per-partnership charts for the first ``chart_limit`` details only, since each
    matplotlib figure costs a few hundred milliseconds (tables carry the same numbers for the rest)."""
    overview = GapOverview(detail_limit=detail_limit)
    for report in reports:
        overview.add(report)
    details = overview.details
    single = overview.partnerships == 1
    sections = []
    for n, report in enumerate(details):
        units = report.geography.units
        sections.append(
            {
                "report": report,
                "composition_chart": charts.composition_chart(report) if n < chart_limit else None,
                "coverage_types": [t for t in TYPE_ORDER if any(u.type_counts.get(t) for u in units)],
            }
        )
    regions, types, grid = overview.coverage_grid()
    table = overview.table
    requirement_ids = list(overview.requirement_labels)
    return _env.get_template("gaps.html.j2").render(
        meta=meta,
        overview=overview,
        summary=overview.summary(),
        single=single,
        sections=sections,
        table=table,
        requirement_ids=requirement_ids,
        requirement_labels=overview.requirement_labels,
        frequency_chart=None
        if single
        else charts.requirement_frequency_chart(
            [(overview.requirement_labels[k], n) for k, n in overview.missing.items()], overview.partnerships
        ),
        # one row per partnership: readable up to a few dozen (beyond, the table carries it)
        matrix_chart=None
        if single or overview.partnerships > 60
        else charts.composition_matrix(table, requirement_ids, overview.requirement_labels),
        coverage_chart=None
        if single
        else charts.coverage_heatmap(regions, types, grid, "Members by scope region and stakeholder type"),
    )


def write_gaps(
    reports: Iterable[GapReportPublic],
    fmt: ReportFormat,
    out: TextIO,
    meta: ReportMeta,
    *,
    envelope: bool = True,
) -> int:
    """Write gap reports; returns how many were written. ``envelope=False`` writes one bare report as JSON."""
    n = 0
    if fmt == "json":
        if not envelope:
            report = next(iter(reports))
            out.write(report.model_dump_json(indent=2))
            out.write("\n")
            return 1
        overview = GapOverview(detail_limit=0, table_limit=0)
        out.write('{"meta": ' + json.dumps(meta.as_dict(), ensure_ascii=False) + ',\n "reports": [\n')
        for report in reports:
            overview.add(report)
            out.write((",\n" if n else "") + report.model_dump_json())
            n += 1
        out.write('\n],\n "summary": ' + json.dumps(overview.summary(), ensure_ascii=False) + "}\n")
    elif fmt == "csv":
        writer = SafeCsvWriter(out)
        writer.writerow(GAP_COLUMNS)
        for report in reports:
            writer.writerows(gap_csv_rows(report))
            n += 1
    else:
        counted: list[int] = [0]

        def counting() -> Iterator[GapReportPublic]:
            for report in reports:
                counted[0] += 1
                yield report

        out.write(render_gaps_html(counting(), meta))
        n = counted[0]
    return n


# -- synergies -----------------------------------------------------------------------------------
def synergy_csv_row(pair: SynergyPairPublic) -> list[object]:
    signals = {c.signal: c.value for c in pair.contributions}

    def recruits(items: Iterable[Any]) -> str:
        return "; ".join(f"{r.name} ({r.org_id}, {r.score:.3f})" for r in items)

    return [
        pair.a.partnership_id, pair.a.name, pair.a.kind.value, pair.b.partnership_id, pair.b.name, pair.b.kind.value,
        pair.kind, f"{pair.score:.4f}",
        *(f"{signals.get(s, 0.0):.4f}" for s in ("text", "members", "ecosystems", "regions", "complementarity")),
        "; ".join(pair.shared_terms), "; ".join(b.name for b in pair.bridges), pair.n_shared_members,
        "; ".join(r.code for r in pair.overlapping_regions), "; ".join(e.value for e in pair.shared_ecosystems),
        "; ".join(t.value for t in pair.a_brings), "; ".join(t.value for t in pair.b_brings),
        "; ".join(pair.a_fills), "; ".join(pair.b_fills), "; ".join(pair.linked),
        recruits(pair.recruits_for_a), recruits(pair.recruits_for_b),
    ]  # fmt: skip


def render_synergies_html(
    pairs: Iterable[SynergyPairPublic], meta: ReportMeta, *, table_limit: int = 300, detail_limit: int = 30
) -> str:
    kept: list[SynergyPairPublic] = []
    total = 0
    kinds: Counter[str] = Counter()
    linked = 0
    for pair in pairs:  # pairs arrive best first
        total += 1
        kinds[pair.kind] += 1
        linked += bool(pair.linked)
        if len(kept) < table_limit:
            kept.append(pair)
    return _env.get_template("synergies.html.j2").render(
        meta=meta,
        total=total,
        kinds=dict(kinds),
        linked=linked,
        pairs=kept,
        details=kept[:detail_limit],
        network_chart=charts.synergy_network(kept),
    )


def write_synergies(
    pairs: Iterable[SynergyPairPublic], fmt: ReportFormat, out: TextIO, meta: ReportMeta
) -> int:
    n = 0
    if fmt == "json":
        out.write('{"meta": ' + json.dumps(meta.as_dict(), ensure_ascii=False) + ',\n "pairs": [\n')
        for pair in pairs:
            out.write((",\n" if n else "") + pair.model_dump_json())
            n += 1
        out.write("\n]}\n")
    elif fmt == "csv":
        writer = SafeCsvWriter(out)
        writer.writerow(SYNERGY_COLUMNS)
        for pair in pairs:
            writer.writerow(synergy_csv_row(pair))
            n += 1
    else:
        materialised = list(pairs)
        out.write(render_synergies_html(materialised, meta))
        n = len(materialised)
    return n


# -- regions -------------------------------------------------------------------------------------
def write_region(view: RegionViewPublic, fmt: ReportFormat, out: TextIO, meta: ReportMeta) -> None:
    if fmt == "json":
        out.write(view.model_dump_json(indent=2) + "\n")
    elif fmt == "csv":
        writer = SafeCsvWriter(out)
        writer.writerow(REGION_COLUMNS)
        for row in view.by_type:
            t = row.stakeholder_type
            if not row.examples:
                writer.writerow(
                    ["stakeholder_type", t.value, t.label, row.organisations, row.unaffiliated, "", "", ""]
                )
            for o in row.examples:
                writer.writerow(
                    [
                        "stakeholder_type",
                        t.value,
                        t.label,
                        row.organisations,
                        row.unaffiliated,
                        o.org_id,
                        o.name,
                        o.region or "",
                    ]
                )
        for p in view.partnerships:
            writer.writerow(
                ["partnership", p.kind.value, "in scope" if p.in_scope else "members only", "", "",
                 p.partnership_id, p.name, f"{p.members_in_region} member(s) in the region"]
            )  # fmt: skip
    else:
        chart = charts.region_types_chart(
            [(r.stakeholder_type.label, r.organisations, r.unaffiliated) for r in view.by_type],
            f"Organisations in {view.code} {view.label} by stakeholder type",
        )
        out.write(_env.get_template("region.html.j2").render(meta=meta, view=view, chart=chart))
