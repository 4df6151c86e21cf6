#!/usr/bin/env bash
# Checks the Python client library: lint, format, types (mypy --strict), tests. Idempotent; for CI on a fresh machine.
# Needs python3 (>= 3.10) with pip, PyPI and redis-server (the tests start their own servers).
# Creates lib/python/.venv on first use and reinstalls into it only when pyproject.toml changed
# (the package is installed editable, so source changes need no reinstall).
# Usage: lib/python/check.sh [pytest arguments...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

venv=.venv
python=${PYTHON:-python3}
stamp="$venv/.installed"

if [[ ! -x $venv/bin/python ]]; then
  # Debian's python3 lacks ensurepip unless python3-venv is installed: then make the venv
  # without pip and drive it with the system pip (--python needs pip >= 22.3).
  "$python" -m venv "$venv" 2>/dev/null || {
    rm -rf "$venv"
    "$python" -m venv --without-pip "$venv"
  }
fi
if [[ -x $venv/bin/pip ]]; then
  pip=("$venv/bin/pip")
else
  pip=("$python" -m pip --python "$venv/bin/python")
fi

want=$(cat pyproject.toml <("$venv/bin/python" --version) | sha256sum | cut -c1-32)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  "${pip[@]}" install --quiet --disable-pip-version-check -e '.[test]'
  echo "$want" >"$stamp"
fi

"$venv/bin/ruff" check .
"$venv/bin/ruff" format --check .
"$venv/bin/mypy"
"$venv/bin/python" -m pytest -q "$@"
