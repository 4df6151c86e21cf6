#!/usr/bin/env bash
# `deno task test [deno test options] [files...]`: the test suite (default: every file under
# tests/), test files run in parallel, DENO_JOBS at once (default 4: on a 2-core machine an
# end-to-end test spends most of its time waiting on Docker, SSH and Redis, not on a CPU; 4
# finished the suite in 439 s where 2 took 591 s, same machine, both under other load). Each file
# must leave alone what other tests use: see README.md, "Development".
set -euo pipefail
export DENO_JOBS=${DENO_JOBS:-4}
named_path=false
for arg in "$@"; do [[ -e $arg ]] && named_path=true; done
$named_path || set -- "$@" tests/
exec deno test --allow-all --trace-leaks=false --parallel "$@"
