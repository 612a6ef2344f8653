#!/usr/bin/env bash
# Installs everything a fresh Debian/Ubuntu machine lacks to build, run and test Switchboard:
# system packages (Tauri/WebKitGTK, Xvfb, WebKitWebDriver, keyring, Postgres), tauri-driver, npm packages.
# Idempotent: skips what is already there. Needs root (or sudo) for apt.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(build-essential pkg-config file curl ca-certificates
  libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev libssl-dev libxdo-dev
  libdbus-1-dev libfontconfig1-dev libfreetype6-dev fontconfig fonts-dejavu-core
  xvfb xauth x11-utils imagemagick xdotool webkit2gtk-driver
  dbus dbus-x11 gnome-keyring libsecret-tools keyutils
  postgresql postgresql-client sudo)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: apt packages missing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -q
  ok=0
  for i in 1 2 3 4 5; do
    if $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"; then ok=1; break; fi
    echo "install-deps: apt-get install failed (try $i), repairing and retrying"
    $SUDO dpkg --configure -a || true
    sleep 3
  done
  [ "$ok" = 1 ] || { echo "install-deps: apt-get install failed 5 times" >&2; exit 1; }
fi

if ! command -v tauri-driver >/dev/null 2>&1; then
  echo "install-deps: installing tauri-driver"
  cargo install tauri-driver --version '^2' --locked
fi
if ! command -v cargo-nextest >/dev/null 2>&1; then
  cargo install cargo-nextest --locked
fi

if [ -f ui/package-lock.json ] && [ ! -d ui/node_modules ]; then
  (cd ui && npm ci --no-audit --no-fund)
fi
echo "install-deps: done"
