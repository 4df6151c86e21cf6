# shellcheck shell=bash disable=SC2034 # (variables used by the scripts that source this file)
# Testbed names, addresses and paths shared by setup.sh, teardown.sh and images.sh (sourced).
# Override any TM_TESTBED_* variable in the environment; the defaults avoid common subnets/ports.

TESTBED_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# Keys, sshd configs, host keys, logs and the env file (git-ignored).
TESTBED_DIR="${TM_TESTBED_DIR:-$TESTBED_REPO/.testbed}"
# Host B's engine state (data root, exec root, socket) lives outside the repo: overlay mounts and
# root-owned layers must never end up under a source tree that tools walk.
TESTBED_VAR="${TM_TESTBED_VAR:-/var/lib/tm-testbed}"
TESTBED_RUN="${TM_TESTBED_RUN:-/run/tm-testbed}"
TESTBED_LOCK="/run/tm-testbed.lock"

HOSTA_ADDRESS=127.0.0.1
HOSTA_PORT="${TM_TESTBED_SSH_PORT:-2232}"

NETNS="${TM_TESTBED_NETNS:-tm-hostb}"
VETH_HOST="${TM_TESTBED_VETH:-tmhb0}"
VETH_PEER="${VETH_HOST%0}1"
HOSTB_GATEWAY="${TM_TESTBED_GATEWAY:-10.231.7.1}"
HOSTB_ADDRESS="${TM_TESTBED_HOSTB_ADDRESS:-10.231.7.2}"
HOSTB_PREFIX=30
HOSTB_PORT=22
# A /22: room for 1,021 containers (a /24 held 253; the scale bench puts 500 there).
HOSTB_BIP="${TM_TESTBED_HOSTB_BIP:-10.231.8.1/22}"
HOSTB_DATA_ROOT="$TESTBED_VAR/hostb/docker"
HOSTB_EXEC_ROOT="$TESTBED_RUN/hostb/exec"
HOSTB_SOCKET="$TESTBED_RUN/hostb/docker.sock"
HOSTB_DOCKER_HOST="unix://$HOSTB_SOCKET"
HOSTB_DOCKERD_PID="$TESTBED_RUN/hostb/dockerd.pid"

REDIS_IMAGE="${TM_TESTBED_REDIS_IMAGE:-tm-redis:test}"
PEER_IMAGE="${TM_TESTBED_PEER_IMAGE:-tm-ref-peer:test}"
# Label carrying the hash of an image's inputs: images are rebuilt only when it changes.
IMAGE_HASH_LABEL=tm.testbed.inputs

log() { printf 'testbed: %s\n' "$*" >&2; }
die() {
  printf 'testbed: error: %s\n' "$*" >&2
  exit 1
}

# Polls "$@" every 50 ms until it succeeds or $1 seconds pass (no fixed sleeps).
wait_for() {
  local seconds=$1
  shift
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}

# True when the pid in file $1 is alive and its command line contains $2.
pid_matches() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  [[ -n $pid && -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$2"
}

# Takes the machine-wide testbed lock (setup and teardown never run concurrently).
take_lock() {
  exec 9>"$TESTBED_LOCK"
  flock -w 300 9 || die "another testbed setup/teardown holds $TESTBED_LOCK"
}
