-- Disagreement escalation: ask the human when critics disagree on the label. The verdict's
-- `others` list carries the verdicts of the campaign's other critics (an empty list with one
-- critic).
-- `decide_batch` (preferred by the engine): first every item where another critic's label
-- differs from the verdict's (least confident first, ties by index), up to what remains of the
-- budget; then, until this iteration's share of the budget,
-- ceil(remaining / (iterations - iteration + 1)), is used: with `fill_with_uncertain`, the least
-- confident of the other items whose confidence is below 1; without it, items that have no
-- second opinion and a confidence below `fallback_confidence`. Never more than remains.
-- `decide` (per item): escalate while budget remains when another critic disagrees or, with no
-- second opinion, when the confidence is below `fallback_confidence`.
-- Blind spot: errors all critics share (agreeing and wrong) are never escalated unless the fill
-- happens to pick them; with one critic it is an uncertainty policy.
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

-- True when the verdict has other critics' verdicts.
local function has_others(verdict)
  return type(verdict) == "table" and type(verdict.others) == "table" and #verdict.others > 0
end

-- True when another critic's label differs from this verdict's label.
local function split(verdict)
  if not has_others(verdict) then return false end
  for _, other in ipairs(verdict.others) do
    if type(other) == "table" and other.label ~= verdict.label then return true end
  end
  return false
end

local function by_confidence(verdicts)
  return function(a, b)
    local ca, cb = confidence(verdicts[a]), confidence(verdicts[b])
    if ca ~= cb then return ca < cb end
    return a < b
  end
end

return {
  kind = "oversight",
  name = "disagreement",
  -- fallback_confidence: with no other critic, escalate below this confidence;
  -- fill_with_uncertain: after the disagreements, spend the rest of this iteration's share on
  -- the least confident items
  params = { fallback_confidence = 0.6, fill_with_uncertain = true },

  decide = function(self, _, verdict, budget)
    if remaining(budget) <= 0 then return false end
    if has_others(verdict) then return split(verdict) end
    return confidence(verdict) < self.params.fallback_confidence
  end,

  decide_batch = function(self, items, verdicts, budget)
    local left = remaining(budget)
    if left <= 0 then return {} end
    local first, second = {}, {}
    for i = 1, #items do
      local v = verdicts[i]
      if split(v) then
        first[#first + 1] = i
      elseif self.params.fill_with_uncertain then
        if confidence(v) < 1 then second[#second + 1] = i end
      elseif not has_others(v) and confidence(v) < self.params.fallback_confidence then
        second[#second + 1] = i
      end
    end
    table.sort(first, by_confidence(verdicts))
    table.sort(second, by_confidence(verdicts))
    local picked = {}
    for k = 1, math.min(left, #first) do picked[k] = first[k] end
    local cap = math.max(#picked, share(budget))
    for _, i in ipairs(second) do
      if #picked >= cap then break end
      picked[#picked + 1] = i
    end
    return picked
  end,
}
