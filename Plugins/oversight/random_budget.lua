-- Random escalation: each item goes to the human with probability `rate` while budget remains
-- (`decide_batch`: each item in order with probability `rate`, at most `remaining` of them).
-- The baseline an informed policy (uncertainty, disagreement) has to beat at the same budget.
-- Draws use `math.random`, seeded by the engine.
-- Blind spot: it ignores the critic's confidence; it finds critic errors only at the rate they
-- occur.
local function remaining(budget)
  local r = type(budget) == "table" and tonumber(budget.remaining) or 0
  return r ~= r and 0 or math.max(0, math.floor(r))
end

return {
  kind = "oversight",
  name = "random_budget",
  -- rate: probability that an item is escalated
  params = { rate = 0.25 },

  decide = function(self, _, _, budget)
    if remaining(budget) <= 0 then return false end
    return math.random() < self.params.rate
  end,

  decide_batch = function(self, items, _, budget)
    local cap, picked = remaining(budget), {}
    for i = 1, #items do
      if #picked >= cap then break end
      if math.random() < self.params.rate then picked[#picked + 1] = i end
    end
    return picked
  end,
}
