#!/usr/bin/env bash
# Set everything up on a fresh machine: a virtual environment in .venv with facenerve and its
# test tools. Safe to run again. Needs Python >= 3.11; no network beyond PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[dev]"
# axe-core for the browser tests' accessibility checks (npm registry; skipped without npm)
if command -v npm >/dev/null 2>&1; then
  npm ci --prefix tests/web/js --no-audit --no-fund --silent
fi
