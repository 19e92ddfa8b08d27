-- Uncertainty-budget escalation: spend the human budget on the items the critic is least sure
-- of. Items whose critic confidence is below `threshold` go to the human while budget remains;
-- the threshold adapts so that roughly `target_rate` of items are escalated, which spreads the
-- budget over the campaign instead of spending it all on the first batch.
return {
  kind = "oversight",
  name = "uncertainty_budget",
  params = { threshold = 0.75, target_rate = 0.2, adapt = 0.05 },

  decide = function(self, _, verdict, budget)
    self.threshold = self.threshold or self.params.threshold
    if (budget and budget.remaining or 0) <= 0 then return false end
    local confidence = verdict and verdict.confidence or 0
    local ask = confidence < self.threshold
    -- move the threshold toward escalating `target_rate` of items
    local step = self.params.adapt
    if ask then
      self.threshold = self.threshold - step * (1 - self.params.target_rate)
    else
      self.threshold = self.threshold + step * self.params.target_rate
    end
    return ask
  end,
}
