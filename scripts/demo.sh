#!/usr/bin/env bash
# README command 1: the main job. Installs what is missing, builds, then runs the live demo
# (embedded Postgres unless DATABASE_URL is set; emulator; gateway; 2,400 checkouts with a Stripe
# US outage; summary) and opens the console on that data (or screenshots it under Xvfb when
# there is no display). Extra arguments go to switchboard-demo (e.g. --payments 5000).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build-console.sh
cargo build -p demo --bins
exec target/debug/switchboard-demo "$@"
