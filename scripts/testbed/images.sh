#!/usr/bin/env bash
# Builds the testbed images FROM scratch on host A's engine, out of host binaries plus the shared
# libraries `ldd` lists (no registry, no Dockerfile: a root filesystem tarball into `docker import`):
#   $TM_TESTBED_REDIS_IMAGE (tm-redis:test)    /usr/bin/redis-server --protected-mode no
#   $TM_TESTBED_PEER_IMAGE  (tm-ref-peer:test) deno + busybox + the bundled reference peer,
#                                              lib/entrypoint.sh as ENTRYPOINT
# Each image carries a label with the hash of its inputs and is rebuilt only when they change.
# Option --force rebuilds both.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=config.sh
source "$(dirname "${BASH_SOURCE[0]}")/config.sh"

force=false
[[ ${1:-} == --force ]] && force=true

# The recipe version: bump when this script changes how an image is assembled.
RECIPE=3
root=""
cleanup() { [[ -z $root ]] || rm -rf "$root"; }
trap cleanup EXIT

# Prints "<path> <size> <mtime>" of a binary and every library it loads (cheap input identity).
binary_identity() {
  local bin
  bin=$(readlink -f "$1")
  { echo "$bin"; libraries "$bin"; } | xargs stat -L -c '%n %s %Y'
}

# Prints the absolute paths of the shared libraries (and loader) binary $1 needs; none if static.
libraries() {
  ldd "$1" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' || true
}

# Copies binary $1 to $2 inside the image root, with its libraries at their own paths.
add_binary() {
  local bin lib
  bin=$(readlink -f "$1")
  install -D -m 0755 "$bin" "$root$2"
  while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done < <(libraries "$bin")
}

# A fresh image root with the directories every image needs.
new_root() {
  cleanup
  root=$(mktemp -d /tmp/tm-testbed-image.XXXXXX)
  mkdir -p "$root"/{etc,tmp,proc,sys,dev}
  chmod 1777 "$root/tmp"
  echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
  echo 'root:x:0:' >"$root/etc/group"
}

# Current inputs label of image $1 (empty when the image does not exist).
image_label() {
  docker image inspect -f "{{index .Config.Labels \"$IMAGE_HASH_LABEL\"}}" "$1" 2>/dev/null || true
}

# Imports the image root as image $1 with label hash $2 and the --change options that follow.
import_root() {
  local image=$1 hash=$2
  shift 2
  local changes=()
  for change in "$@"; do changes+=(--change "$change"); done
  tar -C "$root" --numeric-owner --owner=0 --group=0 -c . |
    docker import "${changes[@]}" --change "LABEL $IMAGE_HASH_LABEL=$hash" - "$image" >/dev/null
  log "built $image ($(docker image inspect -f '{{.Size}}' "$image" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
}

# --- Redis --------------------------------------------------------------------------------------
redis_bin=$(command -v redis-server)
redis_hash=$({
  echo "recipe $RECIPE"
  binary_identity "$redis_bin"
} | sha256sum | cut -c1-32)
if $force || [[ $(image_label "$REDIS_IMAGE") != "$redis_hash" ]]; then
  new_root
  add_binary "$redis_bin" /usr/bin/redis-server
  import_root "$REDIS_IMAGE" "$redis_hash" \
    'ENTRYPOINT ["/usr/bin/redis-server", "--protected-mode", "no", "--save", "", "--appendonly", "no"]' \
    'EXPOSE 6379' 'WORKDIR /tmp'
fi

# --- Reference peer -----------------------------------------------------------------------------
peer_src="$TESTBED_REPO/lib/typescript"
entrypoint="$TESTBED_REPO/lib/entrypoint.sh"
[[ -f $peer_src/reference_peer.ts && -f $entrypoint ]] ||
  die "$peer_src/reference_peer.ts and $entrypoint are needed for $PEER_IMAGE"
deno_bin=$(command -v deno)
busybox_bin=$(command -v busybox)
peer_hash=$({
  echo "recipe $RECIPE"
  binary_identity "$deno_bin"
  binary_identity "$busybox_bin"
  cd "$TESTBED_REPO" && find lib/typescript lib/entrypoint.sh deno.json deno.lock -type f -print0 | sort -z |
    xargs -0 sha256sum
} | sha256sum | cut -c1-32)
if $force || [[ $(image_label "$PEER_IMAGE") != "$peer_hash" ]]; then
  new_root
  add_binary "$deno_bin" /usr/bin/deno
  add_binary "$busybox_bin" /bin/busybox
  for applet in $("$busybox_bin" --list); do
    [[ -e $root/bin/$applet ]] || ln -s busybox "$root/bin/$applet"
  done
  mkdir -p "$root/app"
  (cd "$TESTBED_REPO" && deno bundle --quiet --platform=deno \
    -o "$root/app/reference_peer.js" lib/typescript/reference_peer.ts) ||
    die "deno bundle of lib/typescript/reference_peer.ts failed"
  install -m 0755 "$entrypoint" "$root/app/entrypoint.sh"
  import_root "$PEER_IMAGE" "$peer_hash" \
    'ENV PATH=/bin:/usr/bin' 'ENV DENO_DIR=/tmp/deno' 'ENV DENO_NO_UPDATE_CHECK=1' \
    'ENV HOME=/tmp' 'WORKDIR /app' \
    'ENTRYPOINT ["/bin/sh", "/app/entrypoint.sh", "/usr/bin/deno", "run", "-A", "/app/reference_peer.js"]'
fi
