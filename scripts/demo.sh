#!/usr/bin/env bash
# Quick start (1): set up, then analyse the bundled example video into demo-out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/facenerve demo --out demo-out
echo "open demo-out/report.html; tables: demo-out/signals.parquet, demo-out/events.csv, demo-out/summary.json"
