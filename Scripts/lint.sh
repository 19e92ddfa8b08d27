#!/usr/bin/env bash
# luacheck over the bundled plugins, the scripts and the sandbox's own Lua (Sources/LuaHost/Lua);
# any warning fails.
set -euo pipefail
cd "$(dirname "$0")/.."
luacheck --no-color --codes Plugins Scripts Sources/LuaHost/Lua
