#!/usr/bin/env bash
# `deno task demo`: builds the TypeScript reference peer image on this machine and runs
# examples/one-peer.yaml against it, with this machine as the only host (`connection: local`:
# its own Docker engine, no SSH). Needs: Docker.
# Images are built FROM scratch out of this machine's deno, busybox and redis-server (no registry
# needed) by scripts/testbed/images.sh; with registry access, `docker build -t tm-ref-peer:latest
# -f lib/typescript/Dockerfile lib` works too.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

peer_image=tm-ref-peer:latest
redis_image=redis:7-alpine
if [[ -f scripts/testbed/images.sh ]] && command -v busybox >/dev/null &&
  command -v redis-server >/dev/null; then
  TM_TESTBED_PEER_IMAGE=$peer_image TM_TESTBED_REDIS_IMAGE=tm-redis:latest \
    bash scripts/testbed/images.sh
  docker image inspect "$redis_image" >/dev/null 2>&1 || redis_image=tm-redis:latest
else
  docker build -t "$peer_image" -f lib/typescript/Dockerfile lib
fi

config=$(mktemp "${TMPDIR:-/tmp}/tm-demo.XXXXXX.yaml")
trap 'rm -f "$config"' EXIT
sed -e "s|image: redis:7-alpine|image: $redis_image|" examples/one-peer.yaml >"$config"
echo "demo: running examples/one-peer.yaml (redis image $redis_image, this machine's Docker)" >&2
deno run --allow-all main.ts "$config" "$@"
