#!/usr/bin/env bash
# Checks lib/rust for CI on a fresh machine (only crates.io reachable): fetches the locked
# dependencies, then rustfmt, clippy (warnings are errors), the tests (against a real
# redis-server the tests start) and the reference peer build. Idempotent; exits non-zero on the
# first failure.
#
# One target directory (lib/rust/target) and one profile (dev) for everything: `cargo test`
# builds the reference peer as its integration tests need it, so the last step only confirms it
# is there (target/debug/reference-peer, the command the conformance runner is given).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

step() { printf '\n== lib/rust: %s\n' "$*"; }
die() {
  printf 'lib/rust/check.sh: %s\n' "$*" >&2
  exit 1
}

command -v cargo >/dev/null || die "cargo is not installed (install Rust with rustup)"
command -v redis-server >/dev/null || die "redis-server is not installed (apt-get install redis-server)"
# rustfmt and clippy are rustup components; try to add them if this toolchain lacks them.
for tool in fmt clippy; do
  if ! cargo "$tool" --version >/dev/null 2>&1; then
    component=$([[ $tool == fmt ]] && echo rustfmt || echo clippy)
    rustup component add "$component" >/dev/null 2>&1 ||
      die "cargo $tool is missing and 'rustup component add $component' failed"
  fi
done

step "fetch (Cargo.lock)"
cargo fetch --locked

step "rustfmt"
cargo fmt --all --check

step "clippy"
cargo clippy --locked --offline --all-targets -- -D warnings

step "tests"
cargo test --locked --offline

step "reference peer"
cargo build --locked --offline -p reference-peer
[[ -x target/debug/reference-peer ]] || die "target/debug/reference-peer was not built"
echo "lib/rust: reference peer at lib/rust/target/debug/reference-peer"
