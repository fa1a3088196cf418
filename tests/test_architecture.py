"""The layering as tests: import-linter's contracts (in pyproject.toml) must all be kept.

``domain`` imports nothing of the project; ``embeddings``, ``matching`` and ``graph`` import only
``domain`` and never each other; the services in ``pactmatch`` compose them; ``api`` and the CLI
sit on top; no package has import cycles between its modules.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_are_kept() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
