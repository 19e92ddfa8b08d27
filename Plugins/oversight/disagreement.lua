-- Disagreement escalation: ask the human when two critics disagree on the label. The verdict's
-- `others` list carries the second critic's verdicts (the campaign configures it); with no
-- second opinion, low confidence stands in for disagreement.
return {
  kind = "oversight",
  name = "disagreement",
  params = { fallback_confidence = 0.6 },

  decide = function(self, _, verdict, budget)
    if (budget and budget.remaining or 0) <= 0 then return false end
    local others = verdict and verdict.others
    if others and #others > 0 then
      for _, other in ipairs(others) do
        if other.label ~= verdict.label then return true end
      end
      return false
    end
    return (verdict and verdict.confidence or 0) < self.params.fallback_confidence
  end,
}
