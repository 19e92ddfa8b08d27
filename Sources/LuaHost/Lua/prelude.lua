-- The plugin sandbox's prelude: builds a plugin state's globals from the allow-lists in
-- Sources/LuaHost/Sandbox.swift (passed in as __sandbox_spec) and the host primitives
-- (__sandbox_host), once per state, before any plugin code runs. Its frames are hidden from
-- error locations (chunk name "(sandbox)").
--
-- Compiled into LuaHost as a Swift string: after editing, run python3 Scripts/embed-lua.py
-- (a test fails while Sources/LuaHost/EmbeddedLua.swift differs from this file).
local G = _G
local host, spec = __sandbox_host, __sandbox_spec
__sandbox_host, __sandbox_spec = nil, nil
local forbid, raise, nomem, log, pmatch, pfind_plain, guard, cowrap =
  host.forbid, host.raise, host.nomem, host.log, host.pmatch, host.pfind_plain, host.guard, host.cowrap
local rawget, type, select, tostring, pairs, ipairs, tointeger, concat, pack, unpack =
  rawget, type, select, tostring, pairs, ipairs, math.tointeger, table.concat, table.pack, table.unpack
-- The originals, called as fields so their error messages name them as plugins know them.
local raw = { setmetatable = setmetatable, load = load, collectgarbage = collectgarbage, rep = string.rep,
              randomseed = math.randomseed }
local raw_sub = string.sub
local raw_find = string.find
local loaded = {}
for name in pairs(spec.libraries) do loaded[name] = G[name] end

-- Keep only allowed base entries.
local keep = {}
for _, name in ipairs(spec.base) do keep[name] = true end
local drop = {}
for k in pairs(G) do if not keep[k] then drop[#drop + 1] = k end end
for _, k in ipairs(drop) do G[k] = nil end
G._G = G

-- Libraries: fresh tables with the allowed entries only.
local libs = {}
for name, entries in pairs(spec.libraries) do
  local src, lib = loaded[name], {}
  for _, e in ipairs(entries) do lib[e] = src[e] end
  libs[name] = lib
  G[name] = lib
end
local string_lib = libs.string

G.setmetatable = function(t, mt)
  if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
    forbid("setmetatable: __gc metamethods are not allowed in the plugin sandbox")
  end
  return raw.setmetatable(t, mt)
end

G.load = function(chunk, chunkname, mode, env)
  if mode ~= nil and mode ~= "t" then
    forbid("load: only text chunks (mode 't') are allowed in the plugin sandbox")
  end
  if type(env) ~= "table" then env = G end
  return raw.load(chunk, chunkname, "t", env)
end

G.collectgarbage = function(opt)
  if opt == "count" then return raw.collectgarbage("count") end
  forbid("collectgarbage: only the \"count\" option is allowed in the plugin sandbox")
end

local function joined(...)
  local parts = {}
  for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
  return concat(parts, "\t")
end
G.print = function(...) log("info", joined(...)) end
G.warn = function(first, ...)
  if type(first) ~= "string" then raise("bad argument #1 to 'warn' (string expected)") end
  if select("#", ...) == 0 and raw_sub(first, 1, 1) == "@" then return end -- control message
  log("warning", concat({first, ...}))
end

-- Bounded string.rep: the result may not exceed the memory budget.
local max_string = spec.max_string
string_lib.rep = function(s, n, sep)
  local ts, tn = type(s), tointeger(n)
  if (ts == "string" or ts == "number") and tn then
    if tn <= 0 then return "" end
    local ls = #tostring(s)
    local lsep = sep ~= nil and #tostring(sep) or 0
    if ls + lsep == 0 then return "" end
    if (tn + 0.0) * (ls + lsep) > max_string then
      nomem(("string.rep: a result of %.0f bytes exceeds the limit of %d"):format((tn + 0.0) * (ls + lsep), max_string))
    end
  end
  return raw.rep(s, n, sep)
end

-- table.move as Lua code, so the budget applies however large the range.
libs.table.move = function(a1, f, e, t, a2)
  if a2 == nil then a2 = a1 end
  f, e, t = tointeger(f), tointeger(e), tointeger(t)
  if not (f and e and t) then raise("bad argument to 'move' (number has no integer representation)") end
  if e >= f then
    if t > e or t <= f or a1 ~= a2 then
      for i = 0, e - f do a2[t + i] = a1[f + i] end
    else
      for i = e - f, 0, -1 do a2[t + i] = a1[f + i] end
    end
  end
  return a2
end

-- The other table functions loop in C over whatever length and fields a metatable supplies
-- (a __len of 1e15 with a C function as __index would hold the host for hours, out of the
-- count hook's reach). On tables with a metatable they run as Lua code, under the budget; on
-- plain tables, whose size the memory cap bounds, the C versions run as they are.
do
  local insert, remove, sort = table.insert, table.remove, table.sort
  local getmetatable = getmetatable
  local function plain(t) return type(t) ~= "table" or getmetatable(t) == nil end
  local function length(t)
    local n = tointeger(#t)
    if n == nil then raise("object length is not an integer") end
    return n
  end
  local function int_arg(v, i, fname)
    local n = tointeger(v)
    if n == nil then
      raise(("bad argument #%d to '%s' (number%s)"):format(i, fname,
        type(v) == "number" and " has no integer representation"
          or " expected, got " .. (v == nil and "no value" or type(v))))
    end
    return n
  end
  libs.table.insert = function(t, ...)
    if plain(t) then return insert(t, ...) end
    local nargs = select("#", ...)
    local e = length(t) + 1
    if nargs == 1 then t[e] = ...; return end
    if nargs ~= 2 then raise("wrong number of arguments to 'insert'") end
    local pos, v = ...
    pos = int_arg(pos, 2, "insert")
    if pos < 1 or pos > e then raise("bad argument #2 to 'insert' (position out of bounds)") end
    for i = e, pos + 1, -1 do t[i] = t[i - 1] end
    t[pos] = v
  end
  libs.table.remove = function(t, pos)
    if plain(t) then return remove(t, pos) end
    local size = length(t)
    if pos == nil then pos = size else pos = int_arg(pos, 2, "remove") end
    if pos ~= size and (pos < 1 or pos > size + 1) then
      raise("bad argument #2 to 'remove' (position out of bounds)")
    end
    local v = t[pos]
    while pos < size do t[pos] = t[pos + 1]; pos = pos + 1 end
    t[pos] = nil
    return v
  end
  libs.table.concat = function(t, sep, i, j)
    if plain(t) then return concat(t, sep, i, j) end
    local last = length(t)
    if sep == nil then sep = "" elseif type(sep) ~= "string" and type(sep) ~= "number" then
      raise(("bad argument #2 to 'concat' (string expected, got %s)"):format(type(sep)))
    end
    i = i == nil and 1 or int_arg(i, 3, "concat")
    last = j == nil and last or int_arg(j, 4, "concat")
    local parts, n = {}, 0
    for k = i, last do
      local v = t[k]
      if type(v) ~= "string" and type(v) ~= "number" then
        raise(("invalid value (at index %d) in table for 'concat'"):format(k))
      end
      n = n + 1
      parts[n] = v
    end
    return concat(parts, sep)
  end
  local function less(a, b) return a < b end
  libs.table.sort = function(t, comp)
    if plain(t) then return sort(t, comp) end
    local n = length(t)
    if n > 1 then
      if n >= 0x7fffffff then raise("bad argument #1 to 'sort' (array too big)") end
      if comp ~= nil and type(comp) ~= "function" then
        raise(("bad argument #2 to 'sort' (function expected, got %s)"):format(type(comp)))
      end
      local lt = comp or less
      -- heap sort, reading and writing through the table's metamethods as the C sort does
      local function sift(root, stop)
        while true do
          local child = root * 2
          if child > stop then return end
          if child < stop and lt(t[child], t[child + 1]) then child = child + 1 end
          if not lt(t[root], t[child]) then return end
          t[root], t[child] = t[child], t[root]
          root = child
        end
      end
      for start = n // 2, 1, -1 do sift(start, n) end
      for stop = n, 2, -1 do
        t[1], t[stop] = t[stop], t[1]
        sift(1, stop - 1)
      end
    end
  end
end

-- Once the budget is exceeded, no coroutine is entered and no message handler runs; a
-- coroutine the budget stopped keeps its __close handlers (see "Coroutines" in Sources/CLuaShim/shim.c).
do
  local co = libs.coroutine
  co.resume = guard(co.resume)
  co.close = guard(co.close, 1)
  co.wrap = cowrap
  local raw_xpcall = xpcall
  G.xpcall = function(f, msgh, ...)
    if type(msgh) ~= "function" then
      raise(("bad argument #2 to 'xpcall' (function expected, got %s)")
        :format(msgh == nil and "no value" or type(msgh)))
    end
    return raw_xpcall(f, guard(msgh), ...)
  end
end

-- math.random is seeded by the host; reseeding needs an explicit seed (no clock seeding).
raw.randomseed(spec.seed)
libs.math.randomseed = function(x, y)
  if x == nil then forbid("math.randomseed: an explicit seed is required in the plugin sandbox") end
  return raw.randomseed(x, y)
end

-- Pattern functions on the budgeted matcher (Swift). pmatch(s, p, init, anchored, mode)
-- returns nil, or: mode 0 start, end, captures...; mode 1 the captures (or the whole match);
-- mode 2 start, end, captures... with no whole-match stand-in; mode 3 as mode 2, with false
-- for a capture left open (gsub fails on one only when the replacement reads it).
-- `nargs` tells an absent argument ("no value") from a nil one.
local function checkstr(v, i, fname, nargs)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" then return tostring(v) end
  raise(("bad argument #%d to '%s' (string expected, got %s)"):format(i, fname,
    (v == nil and i > nargs) and "no value" or t))
end
local function start_of(init, len, fname)
  if init == nil then return 1 end
  local i = tointeger(init)
  if i == nil then
    raise(("bad argument #3 to '%s' (number%s)"):format(fname,
      type(init) == "number" and " has no integer representation" or " expected, got " .. type(init)))
  end
  if i > 0 then return i end
  if i == 0 or -i > len then return 1 end
  return len + i + 1
end
-- Plain when no magic character occurs (a linear scan with a fixed pattern: safe in C).
local function is_plain(p) return raw_find(p, "[%^%$%*%+%?%.%(%[%%%-]") == nil end

string_lib.find = function(...)
  local s, p, init, plain = ...
  local nargs = select("#", ...)
  s, p = checkstr(s, 1, "find", nargs), checkstr(p, 2, "find", nargs)
  local start = start_of(init, #s, "find")
  if start > #s + 1 then return nil end
  if plain or is_plain(p) then return pfind_plain(s, p, start) end
  if raw_sub(p, 1, 1) == "^" then return pmatch(s, raw_sub(p, 2), start, true, 0) end
  return pmatch(s, p, start, false, 0)
end

string_lib.match = function(...)
  local s, p, init = ...
  local nargs = select("#", ...)
  s, p = checkstr(s, 1, "match", nargs), checkstr(p, 2, "match", nargs)
  local start = start_of(init, #s, "match")
  if start > #s + 1 then return nil end
  if raw_sub(p, 1, 1) == "^" then return pmatch(s, raw_sub(p, 2), start, true, 1) end
  return pmatch(s, p, start, false, 1)
end

string_lib.gmatch = function(...)
  local s, p, init = ...
  local nargs = select("#", ...)
  s, p = checkstr(s, 1, "gmatch", nargs), checkstr(p, 2, "gmatch", nargs)
  local pos = start_of(init, #s, "gmatch")
  local lastmatch = nil
  return function()
    while pos <= #s + 1 do
      local r = pack(pmatch(s, p, pos, false, 2))
      local b, e = r[1], r[2]
      if b == nil then pos = #s + 2; return nil end
      if e ~= lastmatch then
        pos, lastmatch = e + 1, e
        if r.n == 2 then return raw_sub(s, b, e) end
        return unpack(r, 3, r.n)
      end
      pos = b + 1
    end
    return nil
  end
end

local function add_string(out, repl, s, b, e, r)
  local ncap = r.n - 2
  local i, n = 1, #repl
  while i <= n do
    local j = raw_find(repl, "%", i, true)
    if j == nil then out[#out + 1] = raw_sub(repl, i); return end
    if j > i then out[#out + 1] = raw_sub(repl, i, j - 1) end
    local d = repl:byte(j + 1)
    if d == 37 then
      out[#out + 1] = "%"
    elseif d and d >= 48 and d <= 57 then
      local k = d - 48
      if k == 0 or (k == 1 and ncap == 0) then out[#out + 1] = raw_sub(s, b, e)
      elseif k > ncap then raise(("invalid capture index %%%d"):format(k))
      elseif r[k + 2] == false then raise("unfinished capture")
      else out[#out + 1] = tostring(r[k + 2]) end
    else
      raise("invalid use of '%' in replacement string")
    end
    i = j + 2
  end
end

string_lib.gsub = function(...)
  local s, p, repl, max_n = ...
  local nargs = select("#", ...)
  s, p = checkstr(s, 1, "gsub", nargs), checkstr(p, 2, "gsub", nargs)
  local tr = type(repl)
  if tr == "number" then repl, tr = tostring(repl), "string" end
  if tr ~= "string" and tr ~= "table" and tr ~= "function" then
    raise(("bad argument #3 to 'gsub' (string/function/table expected, got %s)"):format(
      (repl == nil and nargs < 3) and "no value" or tr))
  end
  if max_n ~= nil then
    local m = tointeger(max_n)
    if m == nil then raise("bad argument #4 to 'gsub' (number has no integer representation)") end
    max_n = m
  else
    max_n = #s + 1
  end
  local anchored = false
  if raw_sub(p, 1, 1) == "^" then anchored, p = true, raw_sub(p, 2) end
  local out, pos, count, lastmatch = {}, 1, 0, nil
  while count < max_n do
    local r = pack(pmatch(s, p, pos, anchored, 3))
    local b, e = r[1], r[2]
    if b == nil then break end
    if e == lastmatch then
      -- an empty match right after the previous one: keep one character and go on
      if b > #s then break end
      out[#out + 1] = raw_sub(s, b, b)
      pos = b + 1
    else
      if b > pos then out[#out + 1] = raw_sub(s, pos, b - 1) end
      if tr == "string" then
        add_string(out, repl, s, b, e, r)
      else
        local whole = raw_sub(s, b, e)
        for k = 3, (tr == "table" and r.n > 3) and 3 or r.n do
          if r[k] == false then raise("unfinished capture") end
        end
        local value
        if tr == "table" then value = repl[r.n > 2 and r[3] or whole]
        elseif r.n > 2 then value = repl(unpack(r, 3, r.n))
        else value = repl(whole) end
        if not value then
          out[#out + 1] = whole
        elseif type(value) == "string" or type(value) == "number" then
          out[#out + 1] = tostring(value)
        else
          raise(("invalid replacement value (a %s)"):format(type(value)))
        end
      end
      count = count + 1
      pos, lastmatch = e + 1, e
    end
    if anchored then break end
  end
  out[#out + 1] = raw_sub(s, pos)
  return concat(out), count
end

-- The string metatable indexes the sandbox's string table and cannot be replaced.
local string_mt = getmetatable("")
string_mt.__index = string_lib
string_mt.__metatable = "string"

-- Forbidden library entries (string.dump) say so too.
local forbidden_entries = {}
for _, e in ipairs(spec.forbidden_entries) do
  forbidden_entries[e[1]] = forbidden_entries[e[1]] or {}
  forbidden_entries[e[1]][e[2]] = true
end
for lib, names in pairs(forbidden_entries) do
  raw.setmetatable(libs[lib], {
    __index = function(_, k)
      if names[k] then
        forbid(("'%s.%s' is not available in the plugin sandbox"):format(lib, tostring(k)))
      end
      return nil
    end,
    __metatable = lib,
  })
end

-- Forbidden globals say so instead of reading as nil.
local forbidden = {}
for _, name in ipairs(spec.forbidden) do forbidden[name] = true end
raw.setmetatable(G, {
  __index = function(_, k)
    if forbidden[k] then
      forbid(("'%s' is not available in the plugin sandbox"):format(tostring(k)))
    end
    return nil
  end,
  __metatable = "globals",
})
