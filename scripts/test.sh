#!/usr/bin/env bash
# Quick start (2): set up, lint, then run the whole test suite. Real-data tests use ../shared/data
# when it is there and skip with a reason when it is not. The web tests also run on PostgreSQL
# and in Chromium, which scripts/setup_system.sh installs from Debian (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
eval "$(bash scripts/setup_system.sh)"
.venv/bin/ruff check src tests scripts
# the browser tests save screenshots of every page at 1280 and 390 px here (an artefact of the run)
export FACENERVE_SCREENSHOTS=${FACENERVE_SCREENSHOTS:-out/screenshots}
.venv/bin/python -m pytest -q -rs "$@"
