-- Always escalate while budget remains: the human labels as many items as the budget allows,
-- in the order they arrive (`decide_batch`: indices 1 .. min(#items, remaining)).
-- Blind spot: no selection at all; the budget is spent on the first items of the first
-- iterations, whether or not the critic was sure of them.
local function remaining(budget)
  local r = type(budget) == "table" and tonumber(budget.remaining) or 0
  return r ~= r and 0 or math.max(0, math.floor(r))
end

return {
  kind = "oversight",
  name = "always",
  params = {},

  decide = function(_, _, _, budget)
    return remaining(budget) > 0
  end,

  decide_batch = function(_, items, _, budget)
    local picked = {}
    for i = 1, math.min(#items, remaining(budget)) do picked[i] = i end
    return picked
  end,
}
