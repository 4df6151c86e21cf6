# shellcheck shell=bash
# Building a Docker image FROM scratch out of this machine's own binaries (no registry, no
# Dockerfile): an image root directory, tarred into `docker import`. Sourced by every
# lib/<language>/scratch-image.sh and by scripts/testbed/images.sh, so the way a binary and the
# libraries `ldd` lists are copied, and the root's base layout, have one owner.
#
#   scratch_root               a fresh, empty image root in $SCRATCH_ROOT (removes the last one):
#                              /etc/passwd and /etc/group for root, /tmp (1777), /bin, /proc,
#                              /sys, /dev. Removed when the shell exits (this file's EXIT trap:
#                              a sourcing script must not set its own).
#   scratch_libraries ELF      the absolute paths of the shared libraries (and the loader) ELF
#                              loads; none for a static binary
#   scratch_add_libraries ELF  copies those into the root at their own paths
#   scratch_add_binary SRC DEST  copies binary SRC (links resolved) to DEST in the root, with
#                              its libraries
#   scratch_add_busybox        /bin/busybox and a link for each applet (/bin/sh among them)
#   scratch_import TAG [CHANGE...]  imports the root as image TAG, each CHANGE a Dockerfile
#                              instruction (`ENV PATH=/bin`, `ENTRYPOINT [...]`)

SCRATCH_ROOT=""

scratch_cleanup() {
  if [[ -n $SCRATCH_ROOT ]]; then rm -rf "$SCRATCH_ROOT"; fi
  SCRATCH_ROOT=""
}
trap scratch_cleanup EXIT

scratch_root() {
  scratch_cleanup
  SCRATCH_ROOT=$(mktemp -d /tmp/tm-scratch-image.XXXXXX)
  mkdir -p "$SCRATCH_ROOT"/{bin,etc,tmp,proc,sys,dev}
  chmod 1777 "$SCRATCH_ROOT/tmp"
  echo 'root:x:0:0:root:/root:/bin/sh' >"$SCRATCH_ROOT/etc/passwd"
  echo 'root:x:0:' >"$SCRATCH_ROOT/etc/group"
}

scratch_libraries() {
  { ldd "$1" 2>/dev/null || true; } |
    awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
}

scratch_add_libraries() {
  local lib_path
  while read -r lib_path; do
    [[ -e $SCRATCH_ROOT$lib_path ]] && continue
    mkdir -p "$SCRATCH_ROOT$(dirname "$lib_path")"
    cp -L "$lib_path" "$SCRATCH_ROOT$lib_path"
  done < <(scratch_libraries "$1")
}

scratch_add_binary() {
  local bin
  bin=$(readlink -f "$1")
  install -D -m 0755 "$bin" "$SCRATCH_ROOT$2"
  scratch_add_libraries "$bin"
}

scratch_add_busybox() {
  local busybox applet
  busybox=$(command -v busybox) || {
    echo "busybox not found (apt-get install busybox-static)" >&2
    return 1
  }
  scratch_add_binary "$busybox" /bin/busybox
  for applet in $("$busybox" --list); do
    [[ -e $SCRATCH_ROOT/bin/$applet ]] || ln -s busybox "$SCRATCH_ROOT/bin/$applet"
  done
}

scratch_import() {
  local tag=$1 change
  shift
  local changes=()
  for change in "$@"; do changes+=(--change "$change"); done
  tar -C "$SCRATCH_ROOT" --numeric-owner --owner=0 --group=0 -c . |
    docker import "${changes[@]}" - "$tag" >/dev/null
}
