#!/usr/bin/env bash
# luacheck over the bundled plugins and scripts; any warning fails.
set -euo pipefail
cd "$(dirname "$0")/.."
luacheck --no-color --codes Plugins Scripts
