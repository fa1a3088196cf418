"""The lock: every dependency of pyproject.toml is pinned in requirements.lock within its range, and
the environment the tests run in was installed from it (what scripts/setup.sh does)."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def locked() -> dict[str, Version]:
    pins = re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)", (ROOT / "requirements.lock").read_text(), re.MULTILINE)
    return {canonicalize_name(name): Version(version) for name, version in pins}


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in [*project["dependencies"], *project["optional-dependencies"]["dev"]]]


def test_every_dependency_is_locked_within_its_range() -> None:
    pins = locked()
    stale = [
        str(r) for r in declared()
        if canonicalize_name(r.name) not in pins or not r.specifier.contains(pins[canonicalize_name(r.name)], prereleases=True)
    ]  # fmt: skip
    assert not stale, f"requirements.lock is stale for {stale}: run scripts/lock.sh and commit the lock"
    assert pins["torch"].base_version == "2.13.0"  # the CPU wheel scripts/constraints.txt pins


def test_the_environment_was_installed_from_the_lock() -> None:
    drift = {}
    for name, version in locked().items():
        try:
            installed = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            drift[name] = f"locked {version}, not installed"
            continue
        if installed != version:
            drift[name] = f"locked {version}, installed {installed}"
    assert not drift, f"run scripts/setup.sh: {drift}"
