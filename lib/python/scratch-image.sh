#!/usr/bin/env bash
# Builds the Python reference peer image FROM scratch out of this machine's python3 and busybox
# (no registry, no Dockerfile: a root filesystem tarball into `docker import`):
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
root=$(mktemp -d /tmp/mule-python-image.XXXXXX)
trap 'rm -rf "$root"' EXIT

# The shared lib/entrypoint.sh is preferred; lib/typescript/entrypoint.sh (where it lived before
# it was shared) serves in a tree that predates the move.
entrypoint=$lib/entrypoint.sh
[[ -f $entrypoint ]] || entrypoint=$lib/typescript/entrypoint.sh

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

# Prints the absolute paths of the shared libraries (and loader) that ELF file $1 needs.
libraries() {
  { ldd "$1" 2>/dev/null || true; } | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
}

# Copies the libraries ELF file $1 needs to their own paths inside the image root.
add_libraries() {
  local lib_path
  libraries "$1" | while read -r lib_path; do
    [[ -e $root$lib_path ]] && continue
    mkdir -p "$root$(dirname "$lib_path")"
    cp -L "$lib_path" "$root$lib_path"
  done
}

mkdir -p "$root"/{bin,etc,tmp,proc,sys,dev,app/lib,usr/local/bin,usr/local/lib}
chmod 1777 "$root/tmp"
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"

# The interpreter, its standard library and extension modules, and what they link against.
install -m 0755 "$base_exe" "$root/usr/local/bin/python$version"
ln -s "python$version" "$root/usr/local/bin/python3"
add_libraries "$base_exe"
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
  add_libraries "$module"
done

# the_mule and its dependencies (redis), as pip installs them for this interpreter, compiled:
# without .pyc files every start would compile redis-py again.
"$python" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
  --target "$root/app/lib" "$here"
rm -rf "$root"/app/lib/bin

# busybox for /bin/sh (the entrypoint) and the usual applets.
busybox_bin=$(command -v busybox)
install -m 0755 "$(readlink -f "$busybox_bin")" "$root/bin/busybox"
add_libraries "$root/bin/busybox"
for applet in $("$busybox_bin" --list); do
  [[ -e $root/bin/$applet ]] || ln -s busybox "$root/bin/$applet"
done
install -m 0755 "$entrypoint" "$root/entrypoint.sh"

tar -C "$root" --numeric-owner --owner=0 --group=0 -c . |
  docker import \
    --change 'ENV PATH=/usr/local/bin:/bin' --change 'ENV PYTHONHOME=/usr/local' \
    --change 'ENV PYTHONPATH=/app/lib' --change 'ENV PYTHONDONTWRITEBYTECODE=1' \
    --change 'ENV PYTHONUNBUFFERED=1' --change 'ENV LANG=C.UTF-8' --change 'ENV HOME=/tmp' \
    --change 'WORKDIR /app' \
    --change 'ENTRYPOINT ["/bin/sh", "/entrypoint.sh", "/usr/local/bin/python3", "-m", "the_mule.reference_peer"]' \
    - "$tag" >/dev/null
echo "$tag"
