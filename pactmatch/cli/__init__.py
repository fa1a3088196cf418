"""The ``pactmatch`` command line: a thin layer over the application services.

Each module holds one group of commands and registers it here; what they share (options, the
service, progress bars, one-line errors) is :mod:`pactmatch.cli.common`.
"""

from __future__ import annotations

import typer

from pactmatch.cli import accounts, arcadedb, core, demo, evaluate, events, imports, mapping, outreach

app = typer.Typer(
    name="pactmatch",
    help="Partner matching and stakeholder mapping for Pact for Skills partnerships.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
for _commands in (core, demo, imports, accounts, events, evaluate, mapping, outreach, arcadedb):
    _commands.register(app)


def main() -> None:  # pragma: no cover - console entry point
    app()
