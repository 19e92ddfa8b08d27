-- Always escalate while budget remains: the human labels as many items as the budget allows,
-- in the order they arrive.
return {
  kind = "oversight",
  name = "always",
  params = {},
  decide = function(_, _, _, budget)
    return (budget and budget.remaining or 0) > 0
  end,
}
