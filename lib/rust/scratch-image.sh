#!/usr/bin/env bash
# Builds the Rust reference peer image FROM scratch out of this machine's toolchain (no registry,
# no Dockerfile: a root filesystem tarball into `docker import`):
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
# The shared entrypoint; lib/typescript/ held it before it moved to lib/.
entrypoint=$lib/entrypoint.sh
[[ -f $entrypoint ]] || entrypoint=$lib/typescript/entrypoint.sh
[[ -f $entrypoint ]] || { echo "scratch-image.sh: no $lib/entrypoint.sh" >&2; exit 1; }

(cd "$here" && cargo build --quiet --locked -p reference-peer)
peer=$here/target/debug/reference-peer

root=$(mktemp -d /tmp/mule-rust-image.XXXXXX)
trap 'rm -rf "$root"' EXIT

# Copies binary $1 to $2 inside the image root, with the shared libraries it loads.
add_binary() {
  local bin lib_path
  bin=$(readlink -f "$1")
  install -D -m 0755 "$bin" "$root$2"
  { ldd "$bin" 2>/dev/null || true; } | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
    while read -r lib_path; do
      mkdir -p "$root$(dirname "$lib_path")"
      cp -L "$lib_path" "$root$lib_path"
    done
}

mkdir -p "$root"/{bin,etc,tmp,proc,sys,dev,app}
chmod 1777 "$root/tmp"
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
add_binary "$peer" /app/reference-peer
add_binary "$(command -v busybox)" /bin/busybox
for applet in $(busybox --list); do
  [[ -e $root/bin/$applet ]] || ln -s busybox "$root/bin/$applet"
done
install -m 0755 "$entrypoint" "$root/app/entrypoint.sh"

tar -C "$root" --numeric-owner --owner=0 --group=0 -c . |
  docker import \
    --change 'ENV PATH=/bin:/usr/bin' --change 'ENV HOME=/tmp' --change 'WORKDIR /app' \
    --change 'ENTRYPOINT ["/bin/sh", "/app/entrypoint.sh", "/app/reference-peer"]' \
    - "$tag" >/dev/null
echo "$tag"
