#!/usr/bin/env bash
# Quick start (2): set up, lint, then run the whole test suite. Real-data tests use ../shared/data
# when it is there and skip with a reason when it is not. The web tests also run on PostgreSQL
# and in Chromium, which scripts/setup_system.sh installs from Debian (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
eval "$(bash scripts/setup_system.sh)"
.venv/bin/ruff check src tests scripts
.venv/bin/python -m pytest -q -rs "$@"
