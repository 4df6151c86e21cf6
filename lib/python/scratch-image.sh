#!/usr/bin/env bash
# Builds the Python reference peer image FROM scratch out of this machine's python3 and busybox
# (lib/scratch_image.sh):
#   /usr/local/bin/python3 (the real interpreter behind any pyenv shim or venv, + the libraries
#   ldd lists for it and its extension modules), /usr/local/lib/python3.X (the standard library
#   without tests, idlelib, tkinter, turtledemo, ensurepip, site-packages), /app/lib (the_mule and
#   redis, installed by pip for this interpreter), /bin/busybox (+ applet links, /bin/sh),
#   /entrypoint.sh (lib/entrypoint.sh, the restart loop)
#   ENTRYPOINT /bin/sh /entrypoint.sh /usr/local/bin/python3 -m the_mule.reference_peer
# Needs: python3 >= 3.10 with pip (PyPI reachable, or redis in pip's cache), busybox
# (busybox-static), docker. The interpreter: $PYTHON, else lib/python/.venv's (lib/python/check.sh
# makes it), else python3.
# Usage: lib/python/scratch-image.sh <tag>
set -euo pipefail

tag=${1:?usage: scratch-image.sh <tag>}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lib=$(dirname "$here")
if [[ -n ${PYTHON:-} ]]; then
  python=$PYTHON
elif [[ -x $here/.venv/bin/python ]]; then
  python=$here/.venv/bin/python
else
  python=python3
fi
# shellcheck source-path=SCRIPTDIR source=../scratch_image.sh
source "$lib/scratch_image.sh"

# Where this interpreter really lives (sys.base_prefix: a venv's python is its base's).
read -r version stdlib dynload base_exe < <("$python" - <<'PY'
import os, sys, sysconfig
version = f"{sys.version_info[0]}.{sys.version_info[1]}"
stdlib = os.path.dirname(os.__file__)
dynload = sysconfig.get_config_var("DESTSHARED")
exe = os.path.join(sys.base_prefix, "bin", f"python{version}")
print(version, stdlib, dynload, os.path.realpath(exe))
PY
)

scratch_root
root=$SCRATCH_ROOT
mkdir -p "$root"/{app/lib,usr/local/bin,usr/local/lib}

# The interpreter, its standard library and extension modules, and what they link against.
install -m 0755 "$base_exe" "$root/usr/local/bin/python$version"
ln -s "python$version" "$root/usr/local/bin/python3"
scratch_add_libraries "$base_exe"
dest=$root/usr/local/lib/python$version
tar -C "$stdlib" -c \
  --exclude=./site-packages --exclude=./dist-packages --exclude=./lib-dynload \
  --exclude=./test --exclude=./idlelib --exclude=./tkinter --exclude=./turtledemo \
  --exclude=./ensurepip --exclude=./lib2to3/tests --exclude=./unittest/test \
  --exclude=./ctypes/test --exclude='./config-*' --exclude='*.opt-1.pyc' --exclude='*.opt-2.pyc' \
  . | { mkdir -p "$dest" && tar -C "$dest" -x; }
mkdir -p "$dest/lib-dynload"
for module in "$dynload"/*.so; do
  case $(basename "$module") in _tkinter* | _test* | xxlimited* | _xx*) continue ;; esac
  cp "$module" "$dest/lib-dynload/"
  scratch_add_libraries "$module"
done

# the_mule and its dependencies (redis), as pip installs them for this interpreter, compiled:
# without .pyc files every start would compile redis-py again.
"$python" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
  --target "$root/app/lib" "$here"
rm -rf "$root"/app/lib/bin

# busybox for /bin/sh (the entrypoint) and the usual applets.
scratch_add_busybox
install -m 0755 "$lib/entrypoint.sh" "$root/entrypoint.sh"

scratch_import "$tag" \
  'ENV PATH=/usr/local/bin:/bin' 'ENV PYTHONHOME=/usr/local' 'ENV PYTHONPATH=/app/lib' \
  'ENV PYTHONDONTWRITEBYTECODE=1' 'ENV PYTHONUNBUFFERED=1' 'ENV LANG=C.UTF-8' 'ENV HOME=/tmp' \
  'WORKDIR /app' \
  'ENTRYPOINT ["/bin/sh", "/entrypoint.sh", "/usr/local/bin/python3", "-m", "the_mule.reference_peer"]'
echo "$tag"
