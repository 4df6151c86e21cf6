#!/usr/bin/env bash
# Builds the TypeScript reference peer image FROM scratch out of this machine's deno and busybox
# (lib/scratch_image.sh):
#   /usr/bin/deno (+ the libraries ldd lists), /bin/busybox (+ applet links, /bin/sh),
#   /app/reference_peer.js (the peer bundled with ioredis), /app/entrypoint.sh (lib/entrypoint.sh)
#   ENTRYPOINT /bin/sh /app/entrypoint.sh /usr/bin/deno run -A /app/reference_peer.js
# Needs: deno, busybox (busybox-static), docker. Usage: lib/typescript/scratch-image.sh <tag>
set -euo pipefail

tag=${1:?usage: scratch-image.sh <tag>}
lib=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../scratch_image.sh
source "$lib/scratch_image.sh"

scratch_root
scratch_add_binary "$(command -v deno)" /usr/bin/deno
scratch_add_busybox
mkdir -p "$SCRATCH_ROOT/app"
deno bundle --quiet --platform=deno -o "$SCRATCH_ROOT/app/reference_peer.js" \
  "$lib/typescript/reference_peer.ts"
install -m 0755 "$lib/entrypoint.sh" "$SCRATCH_ROOT/app/entrypoint.sh"

scratch_import "$tag" \
  'ENV PATH=/bin:/usr/bin' 'ENV DENO_DIR=/tmp/deno' 'ENV DENO_NO_UPDATE_CHECK=1' 'ENV HOME=/tmp' \
  'WORKDIR /app' \
  'ENTRYPOINT ["/bin/sh", "/app/entrypoint.sh", "/usr/bin/deno", "run", "-A", "/app/reference_peer.js"]'
echo "$tag"
