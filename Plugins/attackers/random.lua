-- Random attacker: queries drawn from the task's own distribution. The baseline every other
-- attacker must beat on attack success rate.
return {
  kind = "attacker",
  name = "random",
  params = { distribution = "standard" },

  propose = function(self, _, n)
    local queries = {}
    for i, p in ipairs(sa.task.sample(n, { distribution = self.params.distribution })) do
      queries[i] = { prompt = p.prompt, answer = p.answer }
    end
    return queries
  end,
}
