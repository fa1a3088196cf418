"""The everyday commands: candidates, embed, stats, and serving the API."""

from __future__ import annotations

import json
import os
from typing import Annotated

import typer
from rich.markup import escape

from domain.models import Ecosystem, StakeholderType
from matching.diversity import DiversityOptions
from pactmatch.accounts import AccountService, signing_key
from pactmatch.cli.common import (
    EncoderOption,
    FormatOption,
    StoreOption,
    candidates_json,
    console,
    fail,
    handled,
    open_service,
    print_candidates,
    progress_callback,
    settings_for,
)
from pactmatch.filters import build_filters
from pactmatch.outreach import OutreachService
from pactmatch.service import EmbeddingCoverage
from pactmatch.settings import Settings


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
    with handled():
        service = open_service(store, encoder)
        filters = build_filters(country, region, stakeholder_type, sme, ecosystem)
        options = DiversityOptions(diversity, min_sme_share, min_newcomer_share, max_per_country)
        page = OutreachService(service).candidates(partnership_id, top_k, filters, options)
        name = service.get_partnership(partnership_id).name
    flags = page.interested, page.shortlisted
    if output == "json":
        console.print_json(json.dumps(candidates_json(page.candidates, *flags), ensure_ascii=False))
    else:
        print_candidates(page.candidates, f"Candidates for {name} ({partnership_id})", *flags)


def embed(store: StoreOption = None, encoder: EncoderOption = None) -> None:
    """Embed every organisation and partnership whose text changed or that has no vector yet
    (cached; nothing is embedded twice): what completes an import stopped before its embedding."""
    with handled():
        service = open_service(store, encoder)
        with progress_callback() as progress:
            stats = service.refresh_embeddings(progress=progress)
        coverage = service.embedding_coverage()
    console.print(
        f"{stats.texts} texts, {stats.changed} changed, {stats.encoded} encoded "
        f"({stats.texts_per_second:.0f} texts/s), {stats.seconds:.1f} s"
    )
    print_coverage(coverage)


def stats(store: StoreOption = None, encoder: EncoderOption = None) -> None:
    """Counts of what the store holds, and what has no vector of the encoder."""
    with handled():
        service = open_service(store, encoder)
        counts = service.counts()
        coverage = service.embedding_coverage()
    console.print(
        f"{service.store_description}: {counts.organisations} organisations, {counts.partnerships} partnerships, "
        f"{counts.memberships} memberships"
    )
    print_coverage(coverage)


def print_coverage(coverage: EmbeddingCoverage) -> None:
    warning = coverage.warning()
    if warning:
        console.print(f"[yellow]incomplete embeddings:[/] {escape(warning)}", highlight=False)
    else:
        console.print(
            f"every organisation and partnership has a vector for the encoder {escape(coverage.encoder)}",
            highlight=False,
        )


def serve(
    host: Annotated[
        str,
        typer.Option("--host", help="interface to listen on; any other than loopback needs an admin first"),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    store: StoreOption = None,
    encoder: EncoderOption = None,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs)."""
    run_api(settings_for(store, encoder), host, port)


def run_api(settings: Settings, host: str, port: int) -> None:
    """Serve ``api.app:create_app`` for ``settings`` with uvicorn.

    The store is opened here first, so an unreachable one fails in one line rather than in a
    server traceback, and a server that other machines can reach refuses to start while the store
    has no admin (nobody could sign in to manage it, and the data would be reachable by keys
    alone). uvicorn then builds the app by its import string, with the settings passed through the
    environment (how ``create_app`` reads them, as under ``uvicorn --factory``): the CLI never
    imports the API layer above it.
    """
    import uvicorn

    with handled():
        service = open_service(settings.store, settings.encoder)
        try:
            if not is_loopback(host) and not AccountService(service.store).admin_exists():
                raise fail(
                    f"refusing to serve on {host}: the store has no admin yet. Create one first:\n"
                    f"  pactmatch user add NAME --role admin --store {settings.store}\n"
                    "or serve on 127.0.0.1 (the default)"
                )
            secret = settings.secret_key.get_secret_value() if settings.secret_key else None
            signing_key(service.store, secret)  # made now, before any worker process reads it
        finally:
            service.close()
    os.environ["PACTMATCH_STORE"] = settings.store
    os.environ["PACTMATCH_ENCODER"] = settings.encoder
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port)


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def register(app: typer.Typer) -> None:
    for command in (candidates, embed, stats, serve):
        app.command()(command)
