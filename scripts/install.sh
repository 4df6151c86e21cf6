#!/bin/sh
# Installs the `tm` executable from a GitHub release: picks the binary for this OS and CPU,
# checks it against the release's SHA256SUMS, and puts it in $TM_INSTALL_DIR (default
# ~/.local/bin). POSIX sh; needs curl (or wget) and sha256sum (or shasum).
#
#   curl -fsSL https://github.com/OWNER/REPO/releases/latest/download/install.sh | sh
#   sh install.sh --version v0.2.0 --dir /usr/local/bin
#
# Options (or environment): --repo OWNER/REPO (TM_REPO), --version vX.Y.Z or latest (TM_VERSION),
# --dir DIR (TM_INSTALL_DIR), --base-url URL (TM_BASE_URL: where the release files are, e.g. a
# mirror or a file:// directory; overrides --repo and --version).
set -eu

# The release workflow writes the repository here in the copy it publishes.
DEFAULT_REPO=""

repo=${TM_REPO:-$DEFAULT_REPO}
version=${TM_VERSION:-latest}
dir=${TM_INSTALL_DIR:-$HOME/.local/bin}
base_url=${TM_BASE_URL:-}

die() {
  echo "install.sh: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case $1 in
    --repo) repo=${2:?--repo needs OWNER/REPO}; shift 2 ;;
    --version) version=${2:?--version needs a tag or latest}; shift 2 ;;
    --dir) dir=${2:?--dir needs a directory}; shift 2 ;;
    --base-url) base_url=${2:?--base-url needs a URL}; shift 2 ;;
    -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

case "$(uname -s)" in
  Linux) os=unknown-linux-gnu ;;
  Darwin) os=apple-darwin ;;
  *) die "no tm build for $(uname -s); build it from source: deno task compile" ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) arch=x86_64 ;;
  aarch64 | arm64) arch=aarch64 ;;
  *) die "no tm build for CPU $(uname -m); build it from source: deno task compile" ;;
esac
asset="tm-$arch-$os"

if [ -z "$base_url" ]; then
  [ -n "$repo" ] || die "which repository? give --repo OWNER/REPO (or TM_REPO)"
  if [ "$version" = latest ]; then
    base_url="https://github.com/$repo/releases/latest/download"
  else
    base_url="https://github.com/$repo/releases/download/$version"
  fi
fi

fetch() { # URL FILE
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL "$1" -o "$2"
  elif command -v wget >/dev/null 2>&1; then
    wget -q "$1" -O "$2"
  else
    die "needs curl or wget"
  fi
}

sha256() { # FILE -> hex digest
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d' ' -f1
  else
    die "needs sha256sum or shasum to check the download"
  fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tm-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

fetch "$base_url/$asset" "$tmp/$asset" || die "could not download $base_url/$asset"
fetch "$base_url/SHA256SUMS" "$tmp/SHA256SUMS" || die "could not download $base_url/SHA256SUMS"
expected=$(awk -v name="$asset" '$2 == name || $2 == "*" name { print $1 }' "$tmp/SHA256SUMS")
[ -n "$expected" ] || die "SHA256SUMS lists no $asset"
actual=$(sha256 "$tmp/$asset")
[ "$actual" = "$expected" ] ||
  die "checksum mismatch for $asset: expected $expected, got $actual (download corrupted or tampered with); nothing was installed"

mkdir -p "$dir"
chmod +x "$tmp/$asset"
mv "$tmp/$asset" "$dir/tm"
echo "installed $("$dir/tm" --version 2>/dev/null || echo tm) to $dir/tm"
case ":$PATH:" in
  *":$dir:"*) ;;
  *) echo "note: $dir is not on your PATH" ;;
esac
