"""The demo dataset: bundled, fictional organisations and partnerships in real NUTS regions."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from domain.errors import PactmatchError
from domain.models import Partnership
from pactmatch.importers import ImportReport, read_json
from pactmatch.service import PactmatchService, Progress

#: Partnerships the demo explains first: they have deliberate gaps (see data/demo/README.md).
SHOWCASE_KINDS = ("regional", "large_scale")


def demo_dataset_path() -> Path:
    return Path(str(importlib.resources.files("pactmatch") / "data" / "demo" / "demo.json"))


def load_demo(
    service: PactmatchService, progress: Progress | None = None
) -> tuple[ImportReport, list[Partnership]]:
    """Import the demo dataset; returns the report and the partnerships to show first (those with
    deliberate gaps: regional, then large-scale)."""
    report = service.import_batch(read_json(demo_dataset_path()), "demo.json", progress=progress)

    def showcase_order(p: Partnership) -> tuple[int, str]:
        kind = p.kind.value
        return (
            SHOWCASE_KINDS.index(kind) if kind in SHOWCASE_KINDS else len(SHOWCASE_KINDS),
            p.partnership_id,
        )

    partnerships = sorted(service.iter_partnerships(), key=showcase_order)
    if not partnerships:
        raise PactmatchError("the demo dataset holds no partnerships")
    return report, partnerships
