#!/usr/bin/env bash
# Builds a Docker image of the Go reference peer FROM scratch, out of this machine's toolchain
# (no registry): the statically linked peer (CGO_ENABLED=0) at /usr/bin/reference-peer,
# busybox-static for /bin/sh (the entrypoint's shell) and the shared restart-aware entrypoint at
# /entrypoint.sh (lib/entrypoint.sh; lib/typescript/entrypoint.sh where that does not exist yet).
# The root filesystem goes into `docker import`, as scripts/testbed/images.sh does for the
# TypeScript peer.
# Usage: lib/go/scratch-image.sh <tag>      e.g. lib/go/scratch-image.sh tm-go-peer:test
set -euo pipefail

if [[ $# -ne 1 || -z $1 ]]; then
  echo "usage: $0 <tag>" >&2
  exit 2
fi
tag=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lib=$(dirname "$here")

entrypoint=$lib/entrypoint.sh
[[ -f $entrypoint ]] || entrypoint=$lib/typescript/entrypoint.sh
[[ -f $entrypoint ]] || { echo "$0: no entrypoint.sh in $lib or $lib/typescript" >&2; exit 1; }
busybox=$(command -v busybox) || { echo "$0: busybox not found (apt-get install busybox-static)" >&2; exit 1; }
if ! file -L "$busybox" | grep -q 'statically linked'; then
  echo "$0: $busybox is not statically linked (apt-get install busybox-static)" >&2
  exit 1
fi

root=$(mktemp -d /tmp/tm-go-peer-image.XXXXXX)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,usr/bin,etc,tmp,proc,sys,dev}
chmod 1777 "$root/tmp"
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"

(cd "$here" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$root/usr/bin/reference-peer" ./cmd/reference-peer)
install -m 0755 "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [[ -e $root/bin/$applet ]] || ln -s busybox "$root/bin/$applet"
done
install -m 0755 "$entrypoint" "$root/entrypoint.sh"

tar -C "$root" --numeric-owner --owner=0 --group=0 -c . |
  docker import \
    --change 'ENV PATH=/bin:/usr/bin' \
    --change 'WORKDIR /tmp' \
    --change 'ENTRYPOINT ["/bin/sh", "/entrypoint.sh", "/usr/bin/reference-peer"]' \
    - "$tag" >/dev/null
echo "built $tag" >&2
