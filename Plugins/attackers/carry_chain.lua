-- Carry-chain attacker (addition): builds operands whose digit pairs sum to 9 or more, so the
-- carry runs through as many positions as possible. Long carry chains are the classic failure
-- of small arithmetic learners: each digit depends on every digit to its right. The chain length
-- is read from the task's features (`sa.task.problem(prompt).features.longest_carry_chain`), so
-- no answer is needed; the attacker returns prompts only.
-- Blind spot: only addition-shaped prompts ("a+b="); on other tasks `sa.task.problem` refuses
-- them and the attacker proposes nothing useful. Failures without carries are not searched.
return {
  kind = "attacker",
  name = "carry_chain",
  -- min_chain: shortest carry chain a query must have (capped by the digit count)
  params = { min_chain = 2 },

  propose = function(self, _, n)
    local digits = tonumber(sa.task.options().digits) or 2
    local want = math.min(self.params.min_chain, digits)
    local prompts, tries = {}, 0
    while #prompts < n and tries < 50 * n do
      tries = tries + 1
      local width = sa.rng.int(math.max(1, want), digits)
      local a, b = 0, 0
      -- the lowest `width` positions carry: digit pairs summing to at least 10 at the bottom,
      -- then at least 9 (a carry coming in keeps the chain going)
      for pos = 1, width do
        local lo = pos == 1 and 10 or 9
        local x = sa.rng.int(lo - 9, 9)
        local y = sa.rng.int(math.max(0, lo - x), 9)
        if pos == width and width > 1 and (x == 0 or y == 0) then x, y = math.max(x, 1), math.max(y, 1) end
        a = a + x * 10 ^ (pos - 1)
        b = b + y * 10 ^ (pos - 1)
      end
      a, b = math.tointeger(a), math.tointeger(b)
      local p = a and b and sa.task.problem(("%d+%d="):format(a, b))
      local chain = p and p.features and p.features.longest_carry_chain
      if chain and chain >= want then prompts[#prompts + 1] = p.prompt end
    end
    return prompts
  end,
}
