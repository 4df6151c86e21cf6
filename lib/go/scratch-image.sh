#!/usr/bin/env bash
# Builds a Docker image of the Go reference peer FROM scratch, out of this machine's toolchain
# (lib/scratch_image.sh): the statically linked peer (CGO_ENABLED=0) at /usr/bin/reference-peer,
# busybox for /bin/sh (the entrypoint's shell) and the shared restart-aware entrypoint at
# /entrypoint.sh (lib/entrypoint.sh).
# Usage: lib/go/scratch-image.sh <tag>      e.g. lib/go/scratch-image.sh tm-go-peer:test
set -euo pipefail

if [[ $# -ne 1 || -z $1 ]]; then
  echo "usage: $0 <tag>" >&2
  exit 2
fi
tag=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lib=$(dirname "$here")
# shellcheck source-path=SCRIPTDIR source=../scratch_image.sh
source "$lib/scratch_image.sh"

scratch_root
mkdir -p "$SCRATCH_ROOT/usr/bin"
(cd "$here" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' \
  -o "$SCRATCH_ROOT/usr/bin/reference-peer" ./cmd/reference-peer)
scratch_add_busybox
install -m 0755 "$lib/entrypoint.sh" "$SCRATCH_ROOT/entrypoint.sh"

scratch_import "$tag" \
  'ENV PATH=/bin:/usr/bin' 'WORKDIR /tmp' \
  'ENTRYPOINT ["/bin/sh", "/entrypoint.sh", "/usr/bin/reference-peer"]'
echo "built $tag" >&2
