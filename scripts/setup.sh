#!/usr/bin/env bash
# Set up pactmatch on a fresh machine: a virtual environment at .venv with everything installed,
# and the Node.js Cypher linter the tests use (tools/cypher-lint).
# Every Python dependency comes from requirements.lock (exact versions, made by scripts/lock.sh),
# torch first (the CPU wheel) so that sentence-transformers never pulls a multi-GB CUDA build.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check "$(grep -m1 '^torch==' requirements.lock)"
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.lock
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
# Neo4j's Cypher linter for the tests (tools/cypher-lint): CI must run those tests, so no npm is a
# failure, not a skip. The lockfile copied into node_modules marks an install that is current.
LINT=tools/cypher-lint
if ! command -v npm >/dev/null; then
  echo "setup: npm (Node.js) is required for the Cypher linter in $LINT: install Node.js 20+" >&2
  exit 1
fi
if ! cmp -s "$LINT/package-lock.json" "$LINT/node_modules/.pactmatch-lock.json"; then
  npm ci --prefix "$LINT" --no-audit --no-fund --loglevel=error
  cp "$LINT/package-lock.json" "$LINT/node_modules/.pactmatch-lock.json"
fi
# Debian's Chromium for the browser tests (Playwright drives it; its own browser download cannot
# work on these machines). Installed when missing, so CI runs those tests on a fresh machine.
if [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get install -y -q chromium >/dev/null || (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null)
  else
    echo "setup: the browser tests need Chromium at /usr/bin/chromium (apt-get install chromium, as root)" >&2
    exit 1
  fi
fi
echo "pactmatch is set up in .venv ($(.venv/bin/python --version)), Cypher linter with Node.js $(node --version)"
