"""The ``store`` fixture, parametrised over every store implementation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from graph.base import GraphStore
from graph.embedded import EmbeddedStore

STORE_KINDS = ["embedded"]


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphStore]:
    if request.param == "embedded":
        s = EmbeddedStore(tmp_path / "store")
        yield s
        s.close()
