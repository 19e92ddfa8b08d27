-- Random escalation: each item goes to the human with probability `rate` while budget remains.
-- The baseline an informed policy (uncertainty, disagreement) has to beat at the same budget.
return {
  kind = "oversight",
  name = "random_budget",
  params = { rate = 0.25 },
  decide = function(self, _, _, budget)
    if (budget and budget.remaining or 0) <= 0 then return false end
    return math.random() < self.params.rate
  end,
}
