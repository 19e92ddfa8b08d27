-- Boundary attacker: the edges of the input space, where learners trained on the bulk of the
-- distribution fail: zeros, all nines, the largest operands, one-digit against full-width.
return {
  kind = "attacker",
  name = "boundary",
  params = {},

  propose = function(_, _, n)
    local opts = sa.task.options()
    local digits = tonumber(opts.digits) or 2
    local op = ({ addition = "+", multiplication = "*" })[sa.task.name()]
    if op == nil then
      -- not a digit-operand task: fall back to the task's own out-of-distribution samples
      local out = {}
      for i, p in ipairs(sa.task.sample(n, { distribution = "ood" })) do
        out[i] = { prompt = p.prompt, answer = p.answer }
      end
      return out
    end
    local max = math.tointeger(10 ^ digits - 1)
    local edges = { 0, 1, 9, max, max - 1, math.tointeger(10 ^ (digits - 1)) }
    local queries = {}
    while #queries < n do
      local a, b
      local shape = sa.rng.int(1, 4)
      if shape == 1 then a, b = sa.rng.choice(edges), sa.rng.choice(edges)
      elseif shape == 2 then a, b = max, sa.rng.int(0, max)
      elseif shape == 3 then a, b = sa.rng.int(0, 9), max
      else a, b = sa.rng.int(0, max), 0 end
      if sa.rng.uniform() < 0.5 then a, b = b, a end
      local p = sa.task.problem(("%d%s%d="):format(a, op, b))
      if p then queries[#queries + 1] = { prompt = p.prompt, answer = p.answer } end
    end
    return queries
  end,
}
