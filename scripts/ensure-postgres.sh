#!/usr/bin/env bash
# Prints a DATABASE_URL for tests: a Postgres role that may create databases (sqlx::test makes one
# per test). Uses $DATABASE_URL when set; else 127.0.0.1:5432 as `postgres` (trust auth, as on
# this project's machines); else starts the Debian cluster and creates a password role.
set -euo pipefail
if [ -n "${DATABASE_URL:-}" ]; then echo "$DATABASE_URL"; exit 0; fi
try() { psql "$1" -Atqc 'select 1' >/dev/null 2>&1; }
if try "postgres://postgres@127.0.0.1:5432/postgres"; then
  echo "postgres://postgres@127.0.0.1:5432/postgres"; exit 0
fi
URL="postgres://switchboard:switchboard@127.0.0.1:5432/postgres"
if try "$URL"; then echo "$URL"; exit 0; fi
ver=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
[ -n "$ver" ] || { echo "ensure-postgres: no Postgres server installed (apt-get install postgresql)" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }
if ! pg_lsclusters -h 2>/dev/null | grep -q "^$ver main"; then
  as_pg true 2>/dev/null || true
  if [ "$(id -u)" = 0 ]; then pg_createcluster "$ver" main >&2; else sudo pg_createcluster "$ver" main >&2; fi
fi
if [ "$(id -u)" = 0 ]; then pg_ctlcluster --skip-systemctl-redirect "$ver" main start >&2 || true
else sudo pg_ctlcluster --skip-systemctl-redirect "$ver" main start >&2 || true; fi
for _ in $(seq 1 30); do as_pg psql -Atqc 'select 1' >/dev/null 2>&1 && break; sleep 1; done
as_pg psql -v ON_ERROR_STOP=1 -qc "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='switchboard') THEN CREATE ROLE switchboard LOGIN SUPERUSER PASSWORD 'switchboard'; END IF; END\$\$;" >&2
for _ in $(seq 1 10); do try "$URL" && { echo "$URL"; exit 0; }; sleep 1; done
echo "ensure-postgres: could not reach Postgres on 127.0.0.1:5432" >&2; exit 1
