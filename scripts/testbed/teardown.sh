#!/usr/bin/env bash
# Removes everything setup.sh created (idempotent; run as root): host B's containers, dockerd,
# containerd and sshd, every process left in its namespace, its mounts and state, the namespace
# and veth; host A's testbed sshd; .testbed/. Host A's Docker engine keeps running (it is the
# machine's). Option --keep-images keeps the testbed images on host A (faster next setup).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=config.sh
source "$(dirname "${BASH_SOURCE[0]}")/config.sh"

keep_images=false
for arg in "$@"; do
  case "$arg" in
    --keep-images) keep_images=true ;;
    -h | --help)
      sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) die "unknown option $arg (see --help)" ;;
  esac
done
[[ $EUID -eq 0 ]] || die "run as root"
for dir in "$TESTBED_VAR" "$TESTBED_RUN" "$TESTBED_DIR"; do
  [[ $dir == *tm-testbed* || $dir == *.testbed* ]] || die "refusing to remove $dir (not a testbed path)"
done
mkdir -p "$TESTBED_RUN"
take_lock

# Whether pid $1 still runs: gone, or a zombie (it has exited; only its parent can reap it, and a
# shim whose engine died is parented to init, which on some machines never reaps: waiting on
# `kill -0` for each of them took teardown 10 s per zombie, minutes after a 1,000-peer run).
running() {
  local state
  # The state follows the command name in parentheses, which may itself hold spaces.
  state=$(sed -n 's/^.*) \([A-Za-z]\) .*$/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z ]]
}
stopped() { ! running "$1"; }

# Sends TERM to pid $1, waits up to $2 seconds, then KILL.
stop_pid() {
  local pid=$1 seconds=$2
  running "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  wait_for "$seconds" stopped "$pid" && return 0
  kill -KILL "$pid" 2>/dev/null || true
  wait_for 5 stopped "$pid" || log "process $pid survived SIGKILL"
}

# --- Host B: containers, then dockerd (which stops its own containerd) ---------------------------
hostb_docker() { timeout 20 docker -H "$HOSTB_DOCKER_HOST" "$@"; }
if [[ -S $HOSTB_SOCKET ]] && hostb_docker info >/dev/null 2>&1; then
  mapfile -t ids < <(hostb_docker ps -aq)
  ((${#ids[@]} == 0)) || hostb_docker rm -f "${ids[@]}" >/dev/null || true
fi
if pid_matches "$HOSTB_DOCKERD_PID" "$HOSTB_DATA_ROOT"; then
  log "hostb: stopping dockerd"
  stop_pid "$(cat "$HOSTB_DOCKERD_PID")" 30
fi

# --- Host B: sshd, its sessions and anything else still in the namespace ------------------------
if ip netns list | grep -qw "$NETNS"; then
  mapfile -t pids < <(ip netns pids "$NETNS")
  for pid in "${pids[@]}"; do stop_pid "$pid" 5; done
fi
# containerd shims live outside the namespace's process list when containers had their own netns.
mapfile -t shims < <(pgrep -f "containerd-shim.*-namespace tm-hostb " || true)
for pid in "${shims[@]}"; do stop_pid "$pid" 5; done

# --- Host B: mounts, namespace, veth, state -----------------------------------------------------
mapfile -t mounts < <(findmnt -rn -o TARGET | grep -E "^($TESTBED_VAR|$TESTBED_RUN)/" | sort -r || true)
for mount in "${mounts[@]}"; do umount "$mount" 2>/dev/null || umount -l "$mount" || true; done
if ip netns list | grep -qw "$NETNS"; then
  log "hostb: deleting network namespace $NETNS"
  ip netns del "$NETNS"
fi
ip link del "$VETH_HOST" 2>/dev/null || true
rm -rf "$TESTBED_VAR" "${TESTBED_RUN:?}/hostb" "$TESTBED_RUN/owner"
rmdir "$TESTBED_RUN" 2>/dev/null || true

# --- Host A: the testbed sshd (never the machine's own) and its sessions ------------------------
hosta_config="$TESTBED_DIR/hosta/sshd_config"
if pid_matches "$TESTBED_DIR/hosta/sshd.pid" "$hosta_config"; then
  log "hosta: stopping sshd"
  listener=$(cat "$TESTBED_DIR/hosta/sshd.pid")
  # Open sessions are the listener's children; they would outlive it.
  mapfile -t sessions < <(pgrep -P "$listener" || true)
  stop_pid "$listener" 5
  for pid in "${sessions[@]}"; do stop_pid "$pid" 5; done
fi

if ! $keep_images; then
  for image in "$REDIS_IMAGE" "$PEER_IMAGE"; do
    if docker image inspect "$image" >/dev/null 2>&1; then
      docker rmi "$image" >/dev/null 2>&1 || log "image $image is in use; left in place"
    fi
  done
fi
rm -rf "$TESTBED_DIR"
log "torn down"
