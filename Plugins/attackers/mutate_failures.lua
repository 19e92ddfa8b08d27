-- Mutate-failures attacker: an evolutionary search. Queries the learner got wrong are kept in
-- a pool; new queries are mutations of pool members (one digit changed, operands swapped, a
-- digit inserted), so the attack climbs toward the learner's weak region. Falls back to task
-- samples while the pool is empty.
local function mutate(prompt)
  local chars = {}
  for c in prompt:gmatch(".") do chars[#chars + 1] = c end
  local digit_positions = {}
  for i, c in ipairs(chars) do if c:match("%d") then digit_positions[#digit_positions + 1] = i end end
  if #digit_positions == 0 then return prompt end
  local kind = sa.rng.int(1, 3)
  if kind == 1 then
    local i = sa.rng.choice(digit_positions)
    chars[i] = tostring(sa.rng.int(0, 9))
  elseif kind == 2 then
    local a, op, b = prompt:match("^(%d+)(%D)(%d+)=$")
    if a then return b .. op .. a .. "=" end
  else
    local i = sa.rng.choice(digit_positions)
    table.insert(chars, i, tostring(sa.rng.int(1, 9)))
  end
  return table.concat(chars)
end

return {
  kind = "attacker",
  name = "mutate_failures",
  params = { pool_size = 64, explore = 0.2 },

  propose = function(self, _, n)
    self.pool = self.pool or {}
    local queries, tries = {}, 0
    while #queries < n and tries < 20 * n do
      tries = tries + 1
      local prompt
      if #self.pool == 0 or sa.rng.uniform() < self.params.explore then
        prompt = sa.task.sample(1)[1].prompt
      else
        prompt = mutate(sa.rng.choice(self.pool))
      end
      local p = sa.task.problem(prompt)
      if p then queries[#queries + 1] = { prompt = p.prompt, answer = p.answer } end
    end
    return queries
  end,

  observe = function(self, results)
    self.pool = self.pool or {}
    for _, r in ipairs(results) do
      if not r.correct then
        table.insert(self.pool, 1, r.prompt)
      end
    end
    while #self.pool > self.params.pool_size do table.remove(self.pool) end
  end,
}
