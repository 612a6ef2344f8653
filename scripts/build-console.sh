#!/usr/bin/env bash
# Builds the UI (Vite) and the desktop console with the UI embedded (custom-protocol).
set -euo pipefail
cd "$(dirname "$0")/.."
(cd ui && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run build)
cargo build -p switchboard-console
