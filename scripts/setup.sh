#!/usr/bin/env bash
# Set up pactmatch on a fresh machine: a virtual environment at .venv with everything installed.
# torch is pinned and installed first (CPU wheel) so that sentence-transformers never pulls a
# multi-GB CUDA build. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check "torch==2.13.0"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]"
echo "pactmatch is set up in .venv ($(.venv/bin/python --version))"
