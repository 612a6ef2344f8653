#!/usr/bin/env bash
# Screenshot of a desktop app on a private, headless X display.
#
#   scripts/screenshot.sh OUT.png [WAIT_SECONDS] [--] COMMAND [ARGS...]
#
# Starts Xvfb on a free display (:99 upwards, 1280x800x24 or $SCREEN, -nolisten tcp), runs
# COMMAND under `dbus-run-session --` with DISPLAY set, waits WAIT_SECONDS (default 8), saves the
# whole screen with ImageMagick's `import -window root`, then stops the app and Xvfb by process
# group so nothing is left behind. The app's output goes to OUT.png.log.
# Optional: SCREENSHOT_BEFORE='xdotool ...' is run (bash -c, DISPLAY set) after the wait and
# before the capture, to click or type into the app first.
# Exit status: 0 when the PNG was written, 1 otherwise (2 for usage errors).
#
# Example:
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/sb_ui_probe \
#     scripts/screenshot.sh artifacts/console.png 8 -- target/debug/switchboard-console
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

[ $# -ge 2 ] || usage
OUT=$1
shift
WAIT=8
if [[ $1 =~ ^[0-9]+([.][0-9]+)?$ ]]; then
  WAIT=$1
  shift
fi
[ "${1:-}" = "--" ] && shift
[ $# -ge 1 ] || usage
SCREEN=${SCREEN:-1280x800x24}

for tool in Xvfb import dbus-run-session setsid; do
  command -v "$tool" >/dev/null || { echo "screenshot.sh: '$tool' is not installed" >&2; exit 1; }
done

mkdir -p "$(dirname "$OUT")"
LOG="$OUT.log"
: >"$LOG"

XVFB_PID=""
APP_PID=""

# Stops a process group: TERM, up to 3 s of grace, then KILL.
stop_group() {
  local pgid=$1
  kill -TERM -- "-$pgid" 2>/dev/null || return 0
  for _ in $(seq 30); do
    kill -0 -- "-$pgid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL -- "-$pgid" 2>/dev/null || true
}

cleanup() {
  [ -n "$APP_PID" ] && stop_group "$APP_PID"
  [ -n "$XVFB_PID" ] && stop_group "$XVFB_PID"
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# A free display: no lock file and no socket.
DISPLAY_NUM=""
for n in $(seq 99 160); do
  if [ ! -e "/tmp/.X$n-lock" ] && [ ! -e "/tmp/.X11-unix/X$n" ]; then
    DISPLAY_NUM=$n
    break
  fi
done
[ -n "$DISPLAY_NUM" ] || { echo "screenshot.sh: no free X display in :99..:160" >&2; exit 1; }
DISP=":$DISPLAY_NUM"

# Each child is a session (and process-group) leader, so its whole tree can be stopped.
setsid Xvfb "$DISP" -screen 0 "$SCREEN" -nolisten tcp >>"$LOG.xvfb" 2>&1 </dev/null &
XVFB_PID=$!
for _ in $(seq 50); do
  [ -e "/tmp/.X11-unix/X$DISPLAY_NUM" ] && break
  kill -0 "$XVFB_PID" 2>/dev/null || break
  sleep 0.1
done
if ! [ -e "/tmp/.X11-unix/X$DISPLAY_NUM" ] || ! kill -0 "$XVFB_PID" 2>/dev/null; then
  echo "screenshot.sh: Xvfb did not start on $DISP:" >&2
  cat "$LOG.xvfb" >&2 || true
  exit 1
fi
rm -f "$LOG.xvfb"

echo "screenshot.sh: display $DISP ($SCREEN), running: $*" >&2
DISPLAY=$DISP setsid dbus-run-session -- "$@" >>"$LOG" 2>&1 </dev/null &
APP_PID=$!

sleep "$WAIT"
if ! kill -0 "$APP_PID" 2>/dev/null; then
  echo "screenshot.sh: the app exited before the screenshot; its output ($LOG):" >&2
  tail -n 40 "$LOG" >&2 || true
  exit 1
fi

if [ -n "${SCREENSHOT_BEFORE:-}" ]; then
  DISPLAY=$DISP bash -c "$SCREENSHOT_BEFORE" >>"$LOG" 2>&1 || echo "screenshot.sh: SCREENSHOT_BEFORE failed (see $LOG)" >&2
  kill -0 "$APP_PID" 2>/dev/null || { echo "screenshot.sh: the app exited during SCREENSHOT_BEFORE" >&2; exit 1; }
fi
import -display "$DISP" -window root "$OUT"
echo "screenshot.sh: wrote $OUT ($(identify -format '%wx%h' "$OUT" 2>/dev/null || echo '?'))" >&2
