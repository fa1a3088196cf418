"""CLI test helpers shared by the command tests: an isolated environment and a runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pactmatch.cli import app


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """Settings for one test: its own store and cache, the instant hashing encoder, a wide terminal."""
    return {
        "PACTMATCH_STORE": str(tmp_path / "store"),
        "PACTMATCH_ENCODER": "hashing",
        "PACTMATCH_CACHE_DIR": str(tmp_path / "cache"),
        "COLUMNS": "220",
    }


def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    """Invoke ``pactmatch ARGS`` in-process; return the exit code and everything it printed."""
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output
