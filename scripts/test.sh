#!/usr/bin/env bash
# README command 2: every test. Rust (Postgres-backed on a real server), UI unit tests, and the
# end-to-end tests that drive the real desktop binary through tauri-driver + WebKitWebDriver
# under Xvfb against a real Postgres.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
DATABASE_URL=$(scripts/ensure-postgres.sh)
export DATABASE_URL
echo "test.sh: database for tests: ${DATABASE_URL%%@*}@… (role shown only)" | sed 's#//[^:]*:[^@]*@#//***@#'

echo "== UI unit tests =="
(cd ui && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm test)

echo "== console build (UI embedded) =="
scripts/build-console.sh

echo "== Rust tests (nextest) =="
cargo nextest run --workspace --no-fail-fast
