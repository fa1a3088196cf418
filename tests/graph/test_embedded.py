"""Embedded-store specifics: durability across a crash, and reopening from disk."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from graph.embedded import EmbeddedStore
from tests.conftest import org


def test_data_survives_reopening(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "s")
    store.import_batch([org("a")])
    store.close()
    assert EmbeddedStore(tmp_path / "s").get_organisation("a").name == "Org a"


def test_a_killed_import_leaves_the_last_committed_state(tmp_path: Path) -> None:
    """SIGKILL a process in the middle of a large import: the store shows all of the first batch
    and nothing of the interrupted one."""
    path = tmp_path / "s"
    script = textwrap.dedent(
        f"""
        import sys
        from graph.embedded import EmbeddedStore
        from domain.models import Organisation
        store = EmbeddedStore({str(path)!r})
        store.import_batch([Organisation(org_id=f"first-{{i}}", name="x", stakeholder_type="sme") for i in range(100)])
        print("committed", flush=True)
        while True:  # big batches until killed
            store.import_batch([Organisation(org_id=f"second-{{i}}", name="y", stakeholder_type="sme") for i in range(200_000)])
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2]
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "committed"
    time.sleep(1.5)  # inside the first 200k-row transaction
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    store = EmbeddedStore(path)
    n = store.counts().organisations
    assert n in (100, 200_100), n  # never a partial batch
    assert store.get_organisation("first-99").name == "x"
