#!/usr/bin/env bash
# Checks the Go client library as CI does, on a fresh machine that reaches only the Go module
# proxy: downloads the modules, runs go vet, the gofmt check and staticcheck, the tests with the
# race detector (they start their own redis-server: it must be on PATH; -race needs cgo and gcc),
# then go vet and the tests again on the oldest Go release the library supports (go.mod's go
# line; its toolchain comes from the module proxy as golang.org/toolchain), and builds the
# reference peer into lib/go/bin/reference-peer (the conformance runner's --peer-cmd).
# Idempotent; exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

step() { printf '== %s\n' "$*" >&2; }

step "go mod download"
go mod download

step "go vet"
go vet ./...

step "gofmt"
unformatted=$(gofmt -l .)
if [[ -n $unformatted ]]; then
  printf 'gofmt: these files need `gofmt -w`:\n%s\n' "$unformatted" >&2
  exit 1
fi

# Pinned, run from the module proxy: not a dependency of the module.
step "staticcheck"
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

step "go test -race"
command -v redis-server >/dev/null || { echo "redis-server is not on PATH (apt-get install redis-server)" >&2; exit 1; }
CGO_ENABLED=1 go test -race -count=1 ./...

# The maintained Go releases are 1.25 and 1.26: the machine's go (1.26) ran the checks above,
# this one is 1.25's latest patch release when this line was written.
oldest=go1.25.14
step "go vet, go test on $oldest"
GOTOOLCHAIN=$oldest go vet ./...
GOTOOLCHAIN=$oldest go test -count=1 ./...

step "go build reference-peer"
go build -o bin/reference-peer ./cmd/reference-peer
step "ok: lib/go/bin/reference-peer"
