"""The demo: import the bundled fictional dataset and show what the product does with it."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from rich.console import Console

from domain.errors import PactmatchError
from domain.models import Partnership
from pactmatch.importers import read_json
from pactmatch.service import PactmatchService
from pactmatch.settings import Settings

#: Partnerships the demo explains first: they have deliberate gaps (see data/demo/README.md).
SHOWCASE_KINDS = ("regional", "large_scale")


def demo_dataset_path() -> Path:
    return Path(str(importlib.resources.files("pactmatch") / "data" / "demo" / "demo.json"))


def run_demo(settings: Settings, console: Console, per_partnership: int = 5) -> Settings:
    """Import the demo data into ``settings.store`` and print example recommendations."""
    from pactmatch.cli import print_candidates, print_report, progress_callback

    console.print(
        "[bold]pactmatch demo[/] — the dataset is [bold]fictional[/]: invented organisations and partnerships "
        "in real NUTS regions.\n"
    )
    service = PactmatchService.from_settings(settings)
    with progress_callback() as progress:
        report = service.import_batch(read_json(demo_dataset_path()), "demo.json", progress=progress)
    print_report(report)

    def showcase_order(p: Partnership) -> tuple[int, str]:
        kind = p.kind.value
        return (
            SHOWCASE_KINDS.index(kind) if kind in SHOWCASE_KINDS else len(SHOWCASE_KINDS),
            p.partnership_id,
        )

    partnerships = sorted(service.store.iter_partnerships(), key=showcase_order)
    if not partnerships:
        raise PactmatchError("the demo dataset holds no partnerships")
    for p in partnerships[:3]:
        result = service.candidates(p.partnership_id, top_k=per_partnership)
        print_candidates(result, f"Candidates for {p.name} ({p.partnership_id}, {p.kind.value})")
    console.print(
        f"\nStore: {service.store.description}. Try: pactmatch candidates {partnerships[0].partnership_id} "
        f"--store {settings.store} --type vet_provider"
    )
    return settings
