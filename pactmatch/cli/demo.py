"""``pactmatch demo``: import the bundled fictional dataset, show what the product does, serve it."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from pactmatch.cli.common import (
    EncoderOption,
    cli_actor,
    console,
    handled,
    open_service,
    print_candidates,
    print_report,
    progress_callback,
    settings_for,
)
from pactmatch.cli.core import run_api
from pactmatch.demo import create_demo_accounts, load_demo

PER_PARTNERSHIP = 5


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
    settings = settings_for(store or ".pactmatch/demo-store", encoder)
    console.print(
        "[bold]pactmatch demo[/] — the dataset is [bold]fictional[/]: invented organisations and partnerships "
        "in real NUTS regions.\n"
    )
    with handled():
        service = open_service(settings.store, settings.encoder)
        with progress_callback() as progress:
            report, showcase = load_demo(service, cli_actor(), progress)
        print_report(report)
        for p in showcase[:3]:
            result = service.candidates(p.partnership_id, top_k=PER_PARTNERSHIP)
            print_candidates(result, f"Candidates for {p.name} ({p.partnership_id}, {p.kind.value})")
        console.print(
            f"\nStore: {service.store_description}. Try: pactmatch candidates {showcase[0].partnership_id} "
            f"--store {settings.store} --type vet_provider"
        )
        logins = create_demo_accounts(service, showcase, cli_actor())
        service.close()
    table = Table(title="Demo sign-ins (new passwords at every run of the demo)")
    for column in ("user", "password", "may"):
        table.add_column(column)
    for login in logins:
        table.add_row(login.name, login.password, login.grants)
    console.print(table)
    if not no_serve:
        console.print(
            f"\nServing on http://{host}:{port}/ : sign in at http://{host}:{port}/app/login, "
            f"API docs at http://{host}:{port}/docs (Ctrl-C to stop)"
        )
        run_api(settings, host, port)


def register(app: typer.Typer) -> None:
    app.command()(demo)
