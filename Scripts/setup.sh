#!/usr/bin/env bash
# Installs what Superalign needs on a fresh Debian/Ubuntu machine with the Swift toolchain:
# Lua 5.4 headers, SQLite headers and luacheck. Safe to run again: it installs only what is missing.
set -euo pipefail

need=()
pkg-config --exists lua5.4 2>/dev/null || need+=(liblua5.4-dev)
pkg-config --exists sqlite3 2>/dev/null || need+=(libsqlite3-dev)
command -v luacheck >/dev/null 2>&1 || need+=(lua-check)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)

if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >&2
  $sudo apt-get install -y -qq "${need[@]}" >&2
fi

if ! command -v swift >/dev/null 2>&1; then
  echo "setup: the Swift toolchain (swift) is not on PATH; install it from swift.org first." >&2
  exit 1
fi
