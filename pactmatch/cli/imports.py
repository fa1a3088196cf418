"""``pactmatch import``: organisations, partnerships and memberships from CORDIS, JSON or CSV files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pactmatch.cli.common import (
    EncoderOption,
    ErrorsOption,
    StoreOption,
    cli_actor,
    console,
    fail,
    finish_import,
    handled,
    open_service,
    progress_callback,
)
from pactmatch.importers import read_csv_files, read_json

import_app = typer.Typer(help="Import organisations, partnerships and memberships.", no_args_is_help=True)


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
            report = service.import_batch(
                batch, f"{projects.name} + {participants.name}", progress=progress, actor=cli_actor()
            )
    finish_import(report, errors_out)


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
            report = service.import_batch(read_json(file), file.name, progress=progress, actor=cli_actor())
    finish_import(report, errors_out)


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
                read_csv_files(organisations, partnerships, memberships),
                names,
                progress=progress,
                actor=cli_actor(),
            )
    finish_import(report, errors_out)


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
