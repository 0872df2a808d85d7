#!/usr/bin/env bash
# System packages for the web app's tests, from Debian: Chromium (driven by Playwright; never
# 'playwright install') and a PostgreSQL server, started on 127.0.0.1:5432. Prints the export
# lines for the tests. Needs root (or sudo); without it, those tests skip with a reason.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "setup_system: not root and no sudo: skipping Chromium and PostgreSQL" >&2; exit 0; fi
fi
if [ ! -x /usr/bin/chromium ] || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium postgresql >&2
fi
URL=$($SUDO bash scripts/start_postgres.sh)
echo "export FACENERVE_TEST_PG_URL=$URL"
