#!/usr/bin/env bash
# Resolve every dependency (the project's and the dev extra's) once into requirements.lock, which
# scripts/setup.sh installs from, so two fresh machines get the same versions. Run it after
# changing dependencies in pyproject.toml (tests/test_lock.py fails until the lock agrees), and
# commit the lock. Needs the set-up venv (pip-tools is in the dev extra).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/pip-compile --quiet --extra dev --strip-extras --no-emit-index-url --no-emit-find-links \
  --constraint scripts/constraints.txt --output-file requirements.lock pyproject.toml
echo "requirements.lock: $(grep -c '==' requirements.lock) packages pinned"
