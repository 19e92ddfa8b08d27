-- Mutate-failures attacker: an evolutionary search. Prompts whose final label was "rejected"
-- (`observe`: `label == false`) are kept in a pool; new prompts are mutations of pool members
-- (one digit changed to a different digit, operands swapped, a digit inserted), so the attack
-- climbs toward the learner's weak region. Human rejections are certain, critic rejections are
-- not: human-rejected prompts are kept in a pool of their own, chosen as parents with
-- probability `prefer_human` (when both pools have members) and evicted last. A prompt a human
-- accepted leaves the pools. Falls back to task samples while the pools are empty, and with
-- probability `explore`. Every proposal is checked with `sa.task.problem`; prompts only.
-- Blind spot: it follows the critic's rejections, so a critic that accepts wrong answers hides
-- those failures from it, and a critic that rejects right answers sends it chasing them.
local function mutate(prompt)
  local chars = {}
  for c in prompt:gmatch(".") do chars[#chars + 1] = c end
  local digit_positions = {}
  for i, c in ipairs(chars) do if c:match("%d") then digit_positions[#digit_positions + 1] = i end end
  if #digit_positions == 0 then return prompt end
  local kind = sa.rng.int(1, 3)
  if kind == 1 then
    -- one digit changed to a different one (edit distance 1)
    local i = sa.rng.choice(digit_positions)
    local old = tonumber(chars[i])
    chars[i] = tostring((old + sa.rng.int(1, 9)) % 10)
  elseif kind == 2 then
    local a, op, b = prompt:match("^(%d+)(%D)(%d+)=$")
    if a and a ~= b then return b .. op .. a .. "=" end
    -- not a plain binary prompt (or a symmetric one): insert a digit instead
    local i = sa.rng.choice(digit_positions)
    table.insert(chars, i, tostring(sa.rng.int(1, 9)))
  else
    -- a digit inserted (edit distance 1)
    local i = sa.rng.choice(digit_positions)
    table.insert(chars, i, tostring(sa.rng.int(1, 9)))
  end
  return table.concat(chars)
end

-- A field of a result, nil when absent. Read raw first; a field the engine keeps behind a
-- metatable is read through it, and an error for a missing field counts as absent.
local function field(t, key)
  if type(t) ~= "table" then return nil end
  local v = rawget(t, key)
  if v ~= nil then return v end
  local ok, got = pcall(function() return t[key] end)
  if ok then return got end
  return nil
end

local function remove_prompt(list, prompt)
  for i = #list, 1, -1 do
    if list[i] == prompt then table.remove(list, i) end
  end
end

return {
  kind = "attacker",
  name = "mutate_failures",
  -- pool_size: prompts kept (both pools together); explore: share of fresh task samples;
  -- prefer_human: probability of mutating a human-rejected prompt when both pools are non-empty
  params = { pool_size = 64, explore = 0.2, prefer_human = 0.75 },

  propose = function(self, _, n)
    self.pool = self.pool or {}
    self.human_pool = self.human_pool or {}
    local prompts, tries = {}, 0
    while #prompts < n and tries < 20 * n do
      tries = tries + 1
      local prompt
      local human, critic = self.human_pool, self.pool
      if (#human == 0 and #critic == 0) or sa.rng.uniform() < self.params.explore then
        prompt = sa.task.sample(1)[1].prompt
      elseif #critic == 0 or (#human > 0 and sa.rng.uniform() < self.params.prefer_human) then
        prompt = mutate(sa.rng.choice(human))
      else
        prompt = mutate(sa.rng.choice(critic))
      end
      local p = sa.task.problem(prompt)
      if p then prompts[#prompts + 1] = p.prompt end
    end
    return prompts
  end,

  observe = function(self, results)
    self.pool = self.pool or {}             -- rejected by the critic (newest first)
    self.human_pool = self.human_pool or {} -- rejected by a human: certain failures (newest first)
    for _, r in ipairs(results) do
      local prompt = field(r, "prompt")
      if type(prompt) == "string" then
        -- `human` is nil when no human label was bought
        local human_label = field(r, "human")
        if human_label == nil and field(r, "source") == "human" then human_label = field(r, "label") end
        local by_human = human_label ~= nil
        if by_human and human_label == false then
          remove_prompt(self.pool, prompt)
          remove_prompt(self.human_pool, prompt)
          table.insert(self.human_pool, 1, prompt)
        elseif by_human and human_label == true then
          -- a human said the answer was right: not a failure, whatever the critic thought
          remove_prompt(self.pool, prompt)
          remove_prompt(self.human_pool, prompt)
        elseif field(r, "label") == false then
          remove_prompt(self.pool, prompt)
          table.insert(self.pool, 1, prompt)
        end
      end
    end
    -- evict critic rejections first (oldest first), then the oldest human rejections
    while #self.pool + #self.human_pool > self.params.pool_size do
      if #self.pool > 0 then table.remove(self.pool) else table.remove(self.human_pool) end
    end
  end,
}
