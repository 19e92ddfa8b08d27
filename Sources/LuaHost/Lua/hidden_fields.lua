-- The metatable of records passed to a plugin that hides fields (Plugin.hideFields): reading
-- an absent field named in `messages` is an error with its message, reported at the plugin's
-- line; `getmetatable` returns false. Called with the messages table; returns the metatable.
-- Compiled into LuaHost by python3 Scripts/embed-lua.py.
local messages = ...
return { __metatable = false, __index = function(_, key)
  local message = messages[key]
  if message then error(message, 2) end
end }
