#!/usr/bin/env bash
# Install (Debian's package) and start a PostgreSQL server on 127.0.0.1:5432 for the web app's
# tests, with a role that may create databases. Prints the URL for FACENERVE_TEST_PG_URL.
set -euo pipefail
if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi
VER=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | grep -q "^$VER main"; then
  pg_createcluster "$VER" main >&2
fi
if ! pg_lsclusters -h | grep -q "^$VER main .* online"; then
  pg_ctlcluster "$VER" main start >&2
fi
for _ in $(seq 30); do
  su postgres -c "psql -qtAc 'select 1'" >/dev/null 2>&1 && break
  sleep 1
done
su postgres -c "psql -qtAc \"DO \\\$\\\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='facenerve') THEN CREATE ROLE facenerve LOGIN CREATEDB PASSWORD 'facenerve'; END IF; END\\\$\\\$;\"" >&2
echo "postgresql+psycopg://facenerve:facenerve@127.0.0.1:5432/postgres"
