-- luacheck configuration for bundled plugins and campaign scripts (Lua 5.4).
std = "lua54"
max_line_length = 120
-- `sa` is the read-only host API table every plugin sees.
read_globals = { "sa" }
-- Generated LuaLS stubs declare the API; they are not plugin code.
exclude_files = { "Plugins/meta/*" }
-- Campaign scripts declare campaigns with these host functions.
files["Scripts/campaigns"] = { read_globals = { "campaign", "w2s", "read_text" } }
-- The sandbox's own Lua (compiled into LuaHost by Scripts/embed-lua.py): the prelude takes its
-- inputs from two globals the host sets and it clears.
files["Sources/LuaHost/Lua/prelude.lua"] = { globals = { "__sandbox_host", "__sandbox_spec" } }
