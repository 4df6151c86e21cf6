#!/usr/bin/env bash
# Builds the Rust reference peer image FROM scratch out of this machine's toolchain
# (lib/scratch_image.sh):
#   /app/reference-peer (cargo's dev build, + the shared libraries ldd lists),
#   /bin/busybox (+ applet links, /bin/sh), /app/entrypoint.sh (lib/entrypoint.sh)
#   ENTRYPOINT /bin/sh /app/entrypoint.sh /app/reference-peer
# The dev build is the one lib/rust/check.sh and the conformance runner use: no second build in
# another profile. Needs: cargo, busybox (busybox-static), docker.
# Usage: lib/rust/scratch-image.sh <tag>
set -euo pipefail

tag=${1:?usage: scratch-image.sh <tag>}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lib=$(dirname "$here")
# shellcheck source-path=SCRIPTDIR source=../scratch_image.sh
source "$lib/scratch_image.sh"

(cd "$here" && cargo build --quiet --locked -p reference-peer)

scratch_root
scratch_add_binary "$here/target/debug/reference-peer" /app/reference-peer
scratch_add_busybox
install -m 0755 "$lib/entrypoint.sh" "$SCRATCH_ROOT/app/entrypoint.sh"

scratch_import "$tag" \
  'ENV PATH=/bin:/usr/bin' 'ENV HOME=/tmp' 'WORKDIR /app' \
  'ENTRYPOINT ["/bin/sh", "/app/entrypoint.sh", "/app/reference-peer"]'
echo "$tag"
