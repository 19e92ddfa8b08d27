-- Random attacker: queries drawn from the task's own distribution. The baseline every other
-- attacker must beat on attack success rate. It returns prompts only: the task computes the
-- truth (the attacker never sees an answer).
-- Blind spot: none by design and no aim either; it finds the learner's failures only at the rate
-- they occur in the distribution it samples.
return {
  kind = "attacker",
  name = "random",
  -- distribution: "standard" (the task's own) or "ood" (its out-of-distribution variant)
  params = { distribution = "standard" },

  propose = function(self, _, n)
    local prompts = {}
    for i, p in ipairs(sa.task.sample(n, { distribution = self.params.distribution })) do
      prompts[i] = p.prompt
    end
    return prompts
  end,
}
