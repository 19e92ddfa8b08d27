-- Boundary attacker: the edges of the input space, where learners trained on the bulk of the
-- distribution fail: zeros, all nines, the largest operands, one-digit against full-width.
-- Every prompt is checked with `sa.task.problem` (a prompt the task does not accept is never
-- proposed); the attacker returns prompts only and never sees an answer. For tasks without
-- digit operands (modular, jsonl) it falls back to the task's out-of-distribution samples.
-- Blind spot: failures in the interior of the input space (long carry chains between ordinary
-- operands) are left to other attackers.
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
      local prompts = {}
      for i, p in ipairs(sa.task.sample(n, { distribution = "ood" })) do prompts[i] = p.prompt end
      return prompts
    end
    local max = math.tointeger(10 ^ digits - 1)
    local edges = { 0, 1, 9, max, max - 1, math.tointeger(10 ^ (digits - 1)) }
    local prompts, tries = {}, 0
    while #prompts < n and tries < 50 * n do
      tries = tries + 1
      local a, b
      local shape = sa.rng.int(1, 4)
      if shape == 1 then a, b = sa.rng.choice(edges), sa.rng.choice(edges)
      elseif shape == 2 then a, b = max, sa.rng.int(0, max)
      elseif shape == 3 then a, b = sa.rng.int(0, 9), max
      else a, b = sa.rng.int(0, max), 0 end
      if sa.rng.uniform() < 0.5 then a, b = b, a end
      local p = sa.task.problem(("%d%s%d="):format(a, op, b))
      if p then prompts[#prompts + 1] = p.prompt end
    end
    return prompts
  end,
}
