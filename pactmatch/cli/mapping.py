"""``pactmatch gaps``, ``pactmatch synergies``, ``pactmatch region`` and ``pactmatch target-mix``.

Reports go to the terminal as tables by default, or to ``--out`` / stdout as JSON, CSV or a
self-contained HTML file (``--format``, or inferred from the ``--out`` extension). Batch runs
(``--all``) show a progress bar on stderr and stream their output, so 30k partnerships fit in memory.

No ``from __future__ import annotations`` here: Typer reads the option types at definition time.
"""

import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.console import Console
from rich.table import Table

from domain.errors import InvalidInputError, PactmatchError
from matching.gaps import GapReport
from matching.synergies import PAIR_KINDS, SynergyPair
from matching.target_mix import TargetMix, parse_target_mix
from pactmatch.cli.common import (
    EncoderOption,
    StoreOption,
    cli_actor,
    console,
    err_console,
    handled,
    open_service,
    progress_callback,
)
from pactmatch.mapping import MappingService
from pactmatch.reports import (
    FORMATS,
    ReportFormat,
    ReportMeta,
    gap_report_public,
    region_view_public,
    synergy_pair_public,
    write_gaps,
    write_region,
    write_synergies,
)

OUTPUT_FORMATS = ("table", *FORMATS)


def resolve_format(fmt: str | None, out: Path | None) -> str:
    """``--format`` if given, else the ``--out`` extension, else a terminal table."""
    if fmt is not None:
        if fmt not in OUTPUT_FORMATS:
            raise InvalidInputError(f"--format: expected one of {', '.join(OUTPUT_FORMATS)}, got {fmt!r}")
        if fmt == "table" and out is not None:
            raise InvalidInputError("--format table prints to the terminal; use json, csv or html with --out")
        return fmt
    if out is not None:
        suffix = out.suffix.lower().lstrip(".")
        if suffix in FORMATS:
            return suffix
        raise InvalidInputError(
            f"--out {out}: cannot tell the format from the extension; add --format json|csv|html"
        )
    return "table"


def read_target_mix(path: Path | None) -> TargetMix | None:
    if path is None:
        return None
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInputError(f"--target-mix {path}: cannot read the file ({exc.strerror or exc})") from exc
    return parse_target_mix(raw, str(path))


@contextlib.contextmanager
def output(out: Path | None) -> Iterator[TextIO]:
    """The file to write to (created with its folder), or stdout."""
    if out is None:
        yield sys.stdout
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fh = out.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise InvalidInputError(f"--out {out}: cannot write ({exc.strerror or exc})") from exc
    with fh:
        yield fh


def _one_or_all(partnership_id: str | None, all_: bool) -> None:
    if partnership_id and all_:
        raise InvalidInputError("give a PARTNERSHIP_ID or --all, not both")
    if not partnership_id and not all_:
        raise InvalidInputError("give a PARTNERSHIP_ID, or --all for every partnership")


# -- terminal tables -----------------------------------------------------------------------------
def print_gap_report(console: Console, report: GapReport) -> None:
    comp = report.composition
    table = Table(
        title=f"{report.name} ({report.partnership_id}, {report.kind.value}, {report.n_members} members)"
    )
    for col in ("requirement", "members", "target", "status"):
        table.add_column(col)
    for s in comp.requirements:
        target = f"≥ {s.requirement.min_count}" + (
            f", ≥ {s.requirement.min_share:.0%}" if s.requirement.min_share else ""
        )
        status = "[green]met[/]" if s.satisfied else f"[red]{s.needed} more needed[/]"
        table.add_row(s.requirement.label, f"{s.count} ({s.share:.0%})", target, status)
    console.print(table)
    console.print(f"[dim]target mix: {comp.mix_origin}; coverage: {report.geography.basis}[/]")
    geo = report.geography
    if geo.units:
        covered = sum(1 for u in geo.units if u.members)
        console.print(f"regions covered: {covered} of {len(geo.units)}")
    if not report.gaps:
        console.print("[green]No gaps.[/]")
    for gap in report.gaps:
        console.print(f"\n[bold red]{gap.category}[/]: [bold]{gap.label}[/] — {gap.detail}", highlight=False)
        console.print(f"[dim]candidates: {gap.search}[/]", highlight=False)
        if gap.candidates:
            t = Table(show_header=True, box=None, padding=(0, 1))
            for col in ("#", "organisation", "type", "region", "score", "why"):
                t.add_column(col)
            for rank, c in enumerate(gap.candidates, 1):
                why = "; ".join(x.evidence for x in c.recommendation.contributions if x.value > 0)
                t.add_row(
                    str(rank),
                    f"{c.name} [dim]{c.org_id}[/]",
                    c.stakeholder_type.label,
                    c.region or "",
                    f"{c.score:.3f}",
                    why,
                )
            console.print(t)


def print_gap_summary(console: Console, reports: Iterator[GapReport], limit: int = 50) -> None:
    table = Table(title="Partnerships with gaps (most first)")
    for col in ("partnership", "kind", "members", "gaps", "what is missing"):
        table.add_column(col)
    rows = []
    total = with_gaps = 0
    for r in reports:
        total += 1
        if r.gaps:
            with_gaps += 1
            rows.append(r)
    rows.sort(key=lambda r: -len(r.gaps))
    for r in rows[:limit]:
        missing = "; ".join(g.label for g in r.gaps[:6]) + (" …" if len(r.gaps) > 6 else "")
        table.add_row(
            f"{r.name} [dim]{r.partnership_id}[/]", r.kind.value, str(r.n_members), str(len(r.gaps)), missing
        )
    console.print(table)
    console.print(
        f"{with_gaps} of {total} partnerships have at least one gap"
        + (f" (first {limit} shown)" if len(rows) > limit else "")
    )


def print_synergies(
    console: Console, pairs: list[SynergyPair], title: str, *, both_sides: bool = False
) -> None:
    table = Table(title=title, show_lines=True)
    for col in ("#", "partnership", "kind", "score", "why", "linked"):
        table.add_column(col)
    for rank, p in enumerate(pairs, 1):
        why = [f"{c.signal} +{c.value:.3f}: {c.evidence}" for c in p.contributions if c.value > 0]
        if p.shared_terms:
            why.append("themes: " + ", ".join(p.shared_terms))
        if p.bridges:
            why.append("bridges: " + "; ".join(b.name for b in p.bridges))
        if p.b_fills:
            why.append(f"{p.b_name} meets: " + "; ".join(p.b_fills))
        if p.a_fills:
            why.append(f"{p.a_name} meets: " + "; ".join(p.a_fills))
        if p.recruits_for_a:
            why.append(f"could join {p.a_id}: " + "; ".join(r.name for r in p.recruits_for_a))
        table.add_row(
            str(rank),
            f"{p.a_name} ↔ {p.b_name}\n[dim]{p.a_id} ↔ {p.b_id}[/]"
            if both_sides
            else f"{p.b_name}\n[dim]{p.b_id}[/]",
            p.kind,
            f"{p.score:.3f}",
            "\n".join(why),
            "\n".join(p.linked),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``gaps``, ``synergies``, ``region`` and ``target-mix`` to the CLI."""

    FormatOpt = Annotated[
        str | None,
        typer.Option("--format", help="table | json | csv | html (default: from --out, else table)"),
    ]
    OutOpt = Annotated[Path | None, typer.Option("--out", help="write the report here (default: stdout)")]

    def finish(out: Path | None, n: int, started: float) -> None:
        if out is not None:
            err_console.print(
                f"wrote {n} item(s) to {out} in {time.perf_counter() - started:.1f} s", highlight=False
            )

    @app.command()
    def gaps(
        partnership_id: Annotated[
            str | None, typer.Argument(help="the partnership to check (or --all)")
        ] = None,
        all_: Annotated[bool, typer.Option("--all", help="every partnership in the store")] = False,
        level: Annotated[
            int | None,
            typer.Option(
                "--level",
                min=0,
                max=3,
                help="NUTS level of the coverage check (default: scope as declared; countries for large-scale)",
            ),
        ] = None,
        fmt: FormatOpt = None,
        out: OutOpt = None,
        target_mix: Annotated[
            Path | None,
            typer.Option("--target-mix", help="JSON file overriding the target mix per kind or partnership"),
        ] = None,
        candidates_per_gap: Annotated[int, typer.Option("--candidates-per-gap", min=0, max=50)] = 5,
        store: StoreOption = None,
        encoder: EncoderOption = None,
    ) -> None:
        """Membership gaps against the target mix, the scope's regions and the declared ecosystems, with candidates."""
        started = time.perf_counter()
        with handled():
            _one_or_all(partnership_id, all_)
            chosen = resolve_format(fmt, out)
            mix = read_target_mix(target_mix)
            mapping = MappingService(open_service(store, encoder))
            meta = ReportMeta(
                "Membership gaps" + (f" — {partnership_id}" if partnership_id else " — all partnerships"),
                store=mapping.store_description,
                parameters={
                    "level": "scope" if level is None else level,
                    "candidates per gap": candidates_per_gap,
                },
            )
            if partnership_id:
                report = mapping.gaps(
                    partnership_id, level=level, candidates_per_gap=candidates_per_gap, target_mix=mix
                )
                if chosen == "table":
                    print_gap_report(console, report)
                    return
                with output(out) as fh:
                    write_gaps([gap_report_public(report)], _fmt(chosen), fh, meta, envelope=False)
                finish(out, 1, started)
                return
            with progress_callback(enabled=sys.stderr.isatty() or out is not None) as progress:
                reports = mapping.gap_reports(
                    level=level, candidates_per_gap=candidates_per_gap, target_mix=mix, progress=progress
                )
                if chosen == "table":
                    print_gap_summary(console, reports)
                    return
                with output(out) as fh:
                    n = write_gaps((gap_report_public(r) for r in reports), _fmt(chosen), fh, meta)
            finish(out, n, started)

    @app.command()
    def synergies(
        partnership_id: Annotated[
            str | None, typer.Argument(help="the partnership to find partners for (or --all)")
        ] = None,
        all_: Annotated[bool, typer.Option("--all", help="the best pairs over every partnership")] = False,
        top_k: Annotated[int, typer.Option("--top-k", min=1, max=200, help="partners per partnership")] = 10,
        recruits: Annotated[
            int | None,
            typer.Option(
                "--recruits",
                min=0,
                max=20,
                help="members of each side proposed to the other (default 3; 0 with --all)",
            ),
        ] = None,
        pair_kind: Annotated[
            list[str] | None,
            typer.Option("--pair-kind", help=f"keep only these pair kinds: {', '.join(PAIR_KINDS)}"),
        ] = None,
        fmt: FormatOpt = None,
        out: OutOpt = None,
        store: StoreOption = None,
        encoder: EncoderOption = None,
    ) -> None:
        """Partnerships that should work together, each pair explained (themes, bridges, regions, what each brings)."""
        started = time.perf_counter()
        with handled():
            _one_or_all(partnership_id, all_)
            chosen = resolve_format(fmt, out)
            service = open_service(store, encoder)
            mapping = MappingService(service)
            meta = ReportMeta(
                "Synergies" + (f" — {partnership_id}" if partnership_id else " — all partnerships"),
                store=mapping.store_description,
                parameters={"top k": top_k},
            )
            if partnership_id:
                found = mapping.synergies(
                    partnership_id,
                    top_k=top_k,
                    recruits_per_pair=3 if recruits is None else recruits,
                    pair_kinds=pair_kind,
                )
                if chosen == "table":
                    name = service.get_partnership(partnership_id).name
                    print_synergies(console, found, f"Partnerships to work with {name} ({partnership_id})")
                    return
                with output(out) as fh:
                    n = write_synergies((synergy_pair_public(p) for p in found), _fmt(chosen), fh, meta)
                finish(out, n, started)
                return
            with progress_callback(enabled=sys.stderr.isatty() or out is not None) as progress:
                pairs = mapping.all_synergies(
                    top_k=top_k, recruits_per_pair=recruits or 0, pair_kinds=pair_kind, progress=progress
                )
                if chosen == "table":
                    best = [p for _, p in zip(range(50), pairs, strict=False)]
                    print_synergies(console, best, "Best partnership pairs", both_sides=True)
                    return
                with output(out) as fh:
                    n = write_synergies((synergy_pair_public(p) for p in pairs), _fmt(chosen), fh, meta)
            finish(out, n, started)

    @app.command()
    def region(
        nuts_code: Annotated[str, typer.Argument(help="NUTS code at any level, e.g. ES51 or NL414")],
        examples: Annotated[
            int, typer.Option("--examples", min=0, max=500, help="unaffiliated organisations listed per type")
        ] = 20,
        fmt: FormatOpt = None,
        out: OutOpt = None,
        store: StoreOption = None,
        encoder: EncoderOption = None,
    ) -> None:
        """Stakeholder mapping of a region: its organisations by type, those in no partnership, and who covers it."""
        with handled():
            chosen = resolve_format(fmt, out)
            mapping = MappingService(open_service(store, encoder))
            view = region_view_public(mapping.region(nuts_code, examples_per_type=examples))
            if chosen == "table":
                table = Table(
                    title=f"{view.code} {view.label}: {view.organisations} organisations, {view.unaffiliated} in no partnership"
                )
                for col in ("stakeholder type", "organisations", "in no partnership", "e.g."):
                    table.add_column(col)
                for row in view.by_type:
                    if row.organisations:
                        names = "; ".join(o.name for o in row.examples[:5]) + (
                            " …" if row.unaffiliated > 5 else ""
                        )
                        table.add_row(
                            row.stakeholder_type.label, str(row.organisations), str(row.unaffiliated), names
                        )
                console.print(table)
                covering = Table(title=f"Partnerships covering {view.code} ({view.partnerships_total})")
                for col in ("partnership", "kind", "how", "members in the region"):
                    covering.add_column(col)
                for p in view.partnerships[:25]:
                    covering.add_row(
                        f"{p.name} [dim]{p.partnership_id}[/]",
                        p.kind.value,
                        "scope" if p.in_scope else "members",
                        str(p.members_in_region),
                    )
                console.print(covering)
                return
            with output(out) as fh:
                write_region(
                    view,
                    _fmt(chosen),
                    fh,
                    ReportMeta(f"Region {view.code} {view.label}", store=mapping.store_description),
                )

    mix_app = typer.Typer(
        help="Show, save or reset the target membership mix used by gap mapping.", no_args_is_help=True
    )
    app.add_typer(mix_app, name="target-mix")

    @mix_app.command("show")
    def mix_show(store: StoreOption = None) -> None:
        """Print the effective target mix (defaults with the stored override applied)."""
        with handled():
            mapping = MappingService(open_service(store))
            console.print_json(mapping.target_mix().model_dump_json())

    @mix_app.command("set")
    def mix_set(
        file: Annotated[Path, typer.Argument(help="JSON target mix (kinds and/or partnerships)")],
        store: StoreOption = None,
    ) -> None:
        """Save an override with the store; it applies to every later gap report (CLI and API)."""
        with handled():
            mix = read_target_mix(file)
            assert mix is not None
            MappingService(open_service(store)).put_target_mix(mix, actor=cli_actor())
        console.print(f"saved the target mix override from {file}")

    @mix_app.command("reset")
    def mix_reset(store: StoreOption = None) -> None:
        """Remove the stored override (back to the shipped handbook defaults)."""
        with handled():
            try:
                MappingService(open_service(store)).delete_target_mix(actor=cli_actor())
            except PactmatchError:
                console.print("no stored override; the defaults apply")
                return
        console.print("removed the stored override; the defaults apply")


def _fmt(chosen: str) -> ReportFormat:
    assert chosen in FORMATS
    return chosen
