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
# shellcheck source-path=SCRIPTDIR/../.. source=lib/scratch_image.sh
source "$TESTBED_REPO/lib/scratch_image.sh"

# Prints "<path> <size> <mtime>" of a binary and every library it loads (cheap input identity).
binary_identity() {
  local bin
  bin=$(readlink -f "$1")
  { echo "$bin"; scratch_libraries "$bin"; } | xargs stat -L -c '%n %s %Y'
}

# Current inputs label of image $1 (empty when the image does not exist).
image_label() {
  docker image inspect -f "{{index .Config.Labels \"$IMAGE_HASH_LABEL\"}}" "$1" 2>/dev/null || true
}

# Imports the image root as image $1 with label hash $2 and the --change options that follow.
import_root() {
  local image=$1 hash=$2
  shift 2
  scratch_import "$image" "$@" "LABEL $IMAGE_HASH_LABEL=$hash"
  log "built $image ($(docker image inspect -f '{{.Size}}' "$image" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
}

# --- Redis --------------------------------------------------------------------------------------
redis_bin=$(command -v redis-server)
redis_hash=$({
  echo "recipe $RECIPE"
  binary_identity "$redis_bin"
} | sha256sum | cut -c1-32)
if $force || [[ $(image_label "$REDIS_IMAGE") != "$redis_hash" ]]; then
  scratch_root
  scratch_add_binary "$redis_bin" /usr/bin/redis-server
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
  cd "$TESTBED_REPO" && find lib/typescript lib/entrypoint.sh lib/scratch_image.sh deno.json deno.lock -type f -print0 | sort -z |
    xargs -0 sha256sum
} | sha256sum | cut -c1-32)
if $force || [[ $(image_label "$PEER_IMAGE") != "$peer_hash" ]]; then
  scratch_root
  scratch_add_binary "$deno_bin" /usr/bin/deno
  scratch_add_busybox
  mkdir -p "$SCRATCH_ROOT/app"
  (cd "$TESTBED_REPO" && deno bundle --quiet --platform=deno \
    -o "$SCRATCH_ROOT/app/reference_peer.js" lib/typescript/reference_peer.ts) ||
    die "deno bundle of lib/typescript/reference_peer.ts failed"
  install -m 0755 "$entrypoint" "$SCRATCH_ROOT/app/entrypoint.sh"
  import_root "$PEER_IMAGE" "$peer_hash" \
    'ENV PATH=/bin:/usr/bin' 'ENV DENO_DIR=/tmp/deno' 'ENV DENO_NO_UPDATE_CHECK=1' \
    'ENV HOME=/tmp' 'WORKDIR /app' \
    'ENTRYPOINT ["/bin/sh", "/app/entrypoint.sh", "/usr/bin/deno", "run", "-A", "/app/reference_peer.js"]'
fi
