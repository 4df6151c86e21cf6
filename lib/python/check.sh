#!/usr/bin/env bash
# Checks the Python client library: lint, format, types (mypy --strict), tests. Idempotent; for CI on a fresh machine.
# Needs python3 (>= 3.10) with pip, PyPI and redis-server (the tests start their own servers).
# The tests run twice, on the two redis-py lines peers use: the newest 8.x in lib/python/.venv
# (redis-py 8 gives clients a 5 s socket timeout by default) and the newest 5.x, the oldest the
# package supports, in lib/python/.venv-redis5. Each venv is created on first use and reinstalled
# into only when pyproject.toml or this script changed (the package is installed editable, so
# source changes need no reinstall).
# Usage: lib/python/check.sh [pytest arguments...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

python=${PYTHON:-python3}

# venv <dir> <redis-py requirement>: creates or updates the venv in <dir>, the package installed
# editable with its test extras and redis-py pinned to the requirement.
venv() {
  local dir=$1 redis=$2 stamp="$1/.installed" pip want
  if [[ ! -x $dir/bin/python ]]; then
    # Debian's python3 lacks ensurepip unless python3-venv is installed: then make the venv
    # without pip and drive it with the system pip (--python needs pip >= 22.3).
    "$python" -m venv "$dir" 2>/dev/null || {
      rm -rf "$dir"
      "$python" -m venv --without-pip "$dir"
    }
  fi
  if [[ -x $dir/bin/pip ]]; then
    pip=("$dir/bin/pip")
  else
    pip=("$python" -m pip --python "$dir/bin/python")
  fi
  want=$(cat pyproject.toml <("$dir/bin/python" --version) <(echo "$redis") | sha256sum | cut -c1-32)
  if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
    "${pip[@]}" install --quiet --disable-pip-version-check -e '.[test]' "$redis"
    echo "$want" >"$stamp"
  fi
}

venv .venv 'redis>=8,<9'
venv .venv-redis5 'redis>=5.0.1,<6'

".venv/bin/ruff" check .
".venv/bin/ruff" format --check .
".venv/bin/mypy"
for dir in .venv .venv-redis5; do
  echo "== pytest on redis-py $("$dir/bin/python" -c 'import redis; print(redis.__version__)')"
  "$dir/bin/python" -m pytest -q "$@"
done
