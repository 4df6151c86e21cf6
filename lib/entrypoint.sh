#!/bin/sh
# Restart protocol (docs/protocol.md, Restart) for a peer image: runs "$@"; when it exits 42 and
# left a delay file ($TM_DELAY_FILE, default /tmp/delay), sleeps that many seconds and runs it
# again. Any other exit code is this script's exit code. SIGTERM/SIGINT are forwarded to the peer
# (this script is PID 1 in a container, where an untrapped signal would be ignored) and end the
# loop.
# POSIX sh: runs under busybox sh in FROM-scratch images.
# One copy for every language's peer image (lib/<lang>/Dockerfile copies it, build context lib/).
# Usage: entrypoint.sh deno run -A /app/reference_peer.js   (or python3 peer.py, /app/peer, ...)
set -u

if [ "$#" -eq 0 ]; then
  echo "entrypoint: usage: entrypoint.sh <command> [args...]" >&2
  exit 2
fi

delay_file="${TM_DELAY_FILE:-/tmp/delay}"
# The exit code, written just before this script exits: a Docker engine under heavy load reports
# 255 for containers whose entrypoint exited 0 (docs/protocol.md, "Exit code"), and tm reads this
# file then. Removed at start: a container started again must not report its last run's code.
exit_file="${TM_EXIT_FILE:-/config/exit-code}"
rm -f "$exit_file" 2>/dev/null
child=""
stopping=""

# Exits with code $1, written to $exit_file first (where its directory exists: /config is
# mounted by tm).
finish() {
  { echo "$1" >"$exit_file"; } 2>/dev/null
  exit "$1"
}

forward() {
  stopping="$1"
  if [ -n "$child" ]; then kill "-$1" "$child" 2>/dev/null; fi
}
trap 'forward TERM' TERM
trap 'forward INT' INT

# Runs "$@" in the background and waits for it, surviving signal-interrupted waits; sets $code.
run_and_wait() {
  "$@" &
  child=$!
  while :; do
    wait "$child"
    code=$?
    # wait returns early (>128) when a trapped signal arrives while the child still runs, or is
    # an unreaped zombie: wait again for its real status.
    if kill -0 "$child" 2>/dev/null; then continue; fi
    break
  done
  child=""
}

while :; do
  code=0
  run_and_wait "$@"
  if [ "$code" -ne 42 ] || [ -n "$stopping" ] || [ ! -f "$delay_file" ]; then
    finish "$code"
  fi
  delay=$(cat "$delay_file")
  rm -f "$delay_file"
  case "$delay" in
    '' | *[!0-9.]* | *.*.*)
      echo "entrypoint: ignoring invalid restart delay '$delay', restarting now" >&2
      delay=0
      ;;
  esac
  echo "entrypoint: restarting in ${delay}s..." >&2
  run_and_wait sleep "$delay"
  case "$stopping" in
    TERM) finish 143 ;;
    INT) finish 130 ;;
  esac
done
