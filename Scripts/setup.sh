#!/usr/bin/env bash
# Installs what Superalign needs on a fresh Debian/Ubuntu machine with the Swift toolchain:
# Lua 5.4 headers, SQLite headers and luacheck. Safe to run again: it installs only what is missing.
#   bash Scripts/setup.sh           # what building and running need
#   bash Scripts/setup.sh --test    # also what the test suite needs: python3 with numpy and
#                                   # safetensors (the reference implementation the checkpoint
#                                   # interop tests compare against). PyTorch stays optional.
set -euo pipefail

for_tests=0
case "${1:-}" in
  "") ;;
  --test) for_tests=1 ;;
  *) echo "setup: unknown option '$1' (usage: setup.sh [--test])" >&2; exit 64 ;;
esac

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
apt_updated=0
apt_install() {
  echo "setup: installing $*" >&2
  export DEBIAN_FRONTEND=noninteractive
  if [ "$apt_updated" -eq 0 ]; then $sudo apt-get update -qq >&2; apt_updated=1; fi
  $sudo apt-get install -y -qq "$@" >&2
}

need=()
pkg-config --exists lua5.4 2>/dev/null || need+=(liblua5.4-dev)
pkg-config --exists sqlite3 2>/dev/null || need+=(libsqlite3-dev)
command -v luacheck >/dev/null 2>&1 || need+=(lua-check)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)

if [ ${#need[@]} -gt 0 ]; then apt_install "${need[@]}"; fi

# A Debian package when the archive has one (bookworm has python3-numpy, not python3-safetensors),
# else pip (--break-system-packages where pip knows it: Debian's python is "externally managed").
python_module() {
  local module=$1 package=$2 pip_name=$3
  python3 -c "import $module" 2>/dev/null && return 0
  if [ "$(command -v python3)" = /usr/bin/python3 ] && command -v apt-get >/dev/null 2>&1; then
    # A fresh image's package lists may be empty: update once before deciding.
    if [ "$apt_updated" -eq 0 ]; then $sudo apt-get update -qq >&2; apt_updated=1; fi
    if apt-cache policy "$package" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
      apt_install "$package"
      python3 -c "import $module" 2>/dev/null && return 0
    fi
  fi
  if ! python3 -m pip --version >/dev/null 2>&1; then apt_install python3-pip; fi
  local flags=(--quiet --disable-pip-version-check)
  if python3 -m pip install --help 2>/dev/null | grep -q -- --break-system-packages; then
    flags+=(--break-system-packages)
  fi
  echo "setup: pip install $pip_name" >&2
  python3 -m pip install "${flags[@]}" "$pip_name" >&2
  python3 -c "import $module" 2>/dev/null || { echo "setup: python3 still cannot import $module" >&2; exit 1; }
}

export PIP_ROOT_USER_ACTION=ignore   # root in CI containers: no warning
if [ "$for_tests" -eq 1 ] && ! python3 -c 'import numpy, safetensors' 2>/dev/null; then
  command -v python3 >/dev/null 2>&1 || apt_install python3
  python_module numpy python3-numpy numpy
  python_module safetensors python3-safetensors safetensors
fi

if ! command -v swift >/dev/null 2>&1; then
  echo "setup: the Swift toolchain (swift) is not on PATH; install it from swift.org first." >&2
  exit 1
fi
