#!/usr/bin/env bash
# Builds the TypeScript reference peer image FROM scratch out of this machine's deno and busybox
# (no registry, no Dockerfile: a root filesystem tarball into `docker import`):
#   /usr/bin/deno (+ the libraries ldd lists), /bin/busybox (+ applet links, /bin/sh),
#   /app/reference_peer.js (the peer bundled with ioredis), /app/entrypoint.sh (lib/entrypoint.sh)
#   ENTRYPOINT /bin/sh /app/entrypoint.sh /usr/bin/deno run -A /app/reference_peer.js
# Needs: deno, busybox (busybox-static), docker. Usage: lib/typescript/scratch-image.sh <tag>
set -euo pipefail

tag=${1:?usage: scratch-image.sh <tag>}
lib=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
root=$(mktemp -d /tmp/mule-ts-image.XXXXXX)
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
add_binary "$(command -v deno)" /usr/bin/deno
add_binary "$(command -v busybox)" /bin/busybox
for applet in $(busybox --list); do
  [[ -e $root/bin/$applet ]] || ln -s busybox "$root/bin/$applet"
done
deno bundle --quiet --platform=deno -o "$root/app/reference_peer.js" \
  "$lib/typescript/reference_peer.ts"
install -m 0755 "$lib/entrypoint.sh" "$root/app/entrypoint.sh"

tar -C "$root" --numeric-owner --owner=0 --group=0 -c . |
  docker import \
    --change 'ENV PATH=/bin:/usr/bin' --change 'ENV DENO_DIR=/tmp/deno' \
    --change 'ENV DENO_NO_UPDATE_CHECK=1' --change 'ENV HOME=/tmp' --change 'WORKDIR /app' \
    --change 'ENTRYPOINT ["/bin/sh", "/app/entrypoint.sh", "/usr/bin/deno", "run", "-A", "/app/reference_peer.js"]' \
    - "$tag" >/dev/null
echo "$tag"
