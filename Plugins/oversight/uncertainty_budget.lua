-- Uncertainty-budget escalation: spend the human budget on the items the critic is least sure
-- of, spread over the campaign.
-- `decide_batch` (preferred by the engine): the items whose critic confidence is below
-- `threshold`, least confident first (ties by index), at most this iteration's share of the
-- budget: ceil(remaining / (iterations - iteration + 1)), so every iteration left gets its part
-- (all of what remains in the last one). Without iteration numbers in the budget the share is
-- everything that remains.
-- `decide` (per item, the approximation): escalate when confidence < `threshold` while budget
-- remains and fewer than this iteration's share have been escalated in the iteration; items
-- arrive in order, so it takes the first uncertain items rather than the least confident.
-- The default threshold 1.0 means: any item the critic is not fully certain of; lower it to
-- keep budget for later iterations when the critic is mostly sure.
-- Blind spot: confidently wrong critic verdicts are never escalated; the policy is only as good
-- as the critic's calibration (a critic with constant confidence makes it a first-come policy).
local function remaining(budget)
  local r = type(budget) == "table" and tonumber(budget.remaining) or 0
  return r ~= r and 0 or math.max(0, math.floor(r))
end

-- This iteration's share of what remains.
local function share(budget)
  local left = remaining(budget)
  if left <= 0 then return 0 end
  local it, total = tonumber(budget.iteration), tonumber(budget.iterations)
  if it and total and it >= 1 and total >= it then
    return math.min(left, math.ceil(left / (total - it + 1)))
  end
  return left
end

local function confidence(verdict)
  local c = type(verdict) == "table" and tonumber(verdict.confidence) or nil
  if c == nil or c ~= c then return 0 end -- no confidence: treat as unsure
  return c
end

return {
  kind = "oversight",
  name = "uncertainty_budget",
  -- threshold: escalate only items whose critic confidence is below it (1.0: any item that is
  -- not fully certain)
  params = { threshold = 1.0 },

  decide = function(self, _, verdict, budget)
    if remaining(budget) <= 0 then return false end
    if confidence(verdict) >= self.params.threshold then return false end
    local it = budget.iteration
    if it ~= nil then
      if self.decide_iteration ~= it then
        self.decide_iteration, self.decide_share, self.decide_asked = it, share(budget), 0
      end
      if self.decide_asked >= self.decide_share then return false end
      self.decide_asked = self.decide_asked + 1
    end
    return true
  end,

  decide_batch = function(self, items, verdicts, budget)
    local cap = share(budget)
    if cap <= 0 then return {} end
    local candidates = {}
    for i = 1, #items do
      if confidence(verdicts[i]) < self.params.threshold then candidates[#candidates + 1] = i end
    end
    table.sort(candidates, function(a, b)
      local ca, cb = confidence(verdicts[a]), confidence(verdicts[b])
      if ca ~= cb then return ca < cb end
      return a < b
    end)
    local picked = {}
    for k = 1, math.min(cap, #candidates) do picked[k] = candidates[k] end
    return picked
  end,
}
