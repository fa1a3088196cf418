"""The demo: bundled data is what its generator produces, and ``pactmatch demo`` runs end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from domain.accounts import Role
from graph.embedded import EmbeddedStore
from pactmatch.accounts import AccountService
from pactmatch.cli import app
from pactmatch.service import PactmatchService

ROOT = Path(__file__).resolve().parents[2]


def test_bundled_demo_data_matches_its_generator() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_demo_data.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_demo_imports_and_explains(tmp_path: Path) -> None:
    env = {"PACTMATCH_CACHE_DIR": str(tmp_path / "cache"), "COLUMNS": "200"}
    args = ["demo", "--store", str(tmp_path / "demo"), "--encoder", "hashing", "--no-serve"]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    assert "fictional" in result.output
    assert "392" in result.output and "rejected 0 row(s)" in result.output
    assert result.output.count("ranker: heuristic-v1") == 3
    again = CliRunner().invoke(app, args, env=env)  # idempotent: nothing new, nothing re-embedded
    assert again.exit_code == 0 and "imported 0 new" in again.output and "0 text(s) embedded" in again.output


def test_demo_prints_a_sign_in_for_each_journey_that_works(tmp_path: Path) -> None:
    env = {"PACTMATCH_CACHE_DIR": str(tmp_path / "cache"), "COLUMNS": "200"}
    args = ["demo", "--store", str(tmp_path / "demo"), "--encoder", "hashing", "--no-serve"]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    printed = {
        cells[0]: cells[1]
        for line in result.output.splitlines()
        if len(cells := [c.strip() for c in line.split("│") if c.strip()]) == 3
        and cells[0].startswith("demo-")
    }
    assert set(printed) == {"demo-admin", "demo-coordinator", "demo-organiser", "demo-member"}
    service = PactmatchService(EmbeddedStore(tmp_path / "demo"), encoder="hashing")
    accounts = AccountService(service.store)
    for name, password in printed.items():
        assert accounts.authenticate(name, password).name == name  # the printed password signs in
    member = accounts.get_user("demo-member").grants[0]
    assert member.role == Role.MEMBER and service.memberships_of(str(member.scope)) == []  # a newcomer
    service.close()
