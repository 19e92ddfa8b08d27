-- Learner-guided attacker: draws a larger candidate set, asks the learner (one batched call)
-- how likely it finds each true answer, and keeps the candidates where that log-probability is
-- lowest: the learner's own uncertainty points at its weaknesses.
return {
  kind = "attacker",
  name = "learner_guided",
  -- candidates: how many to draw per query kept; distribution: where candidates come from
  params = { candidates = 4, distribution = "standard" },

  propose = function(self, _, n)
    local pool = sa.task.sample(n * self.params.candidates, { distribution = self.params.distribution })
    local prompts, answers = {}, {}
    for i, p in ipairs(pool) do prompts[i], answers[i] = p.prompt, p.answer end
    local scores = sa.learner.logprob(prompts, answers)
    local order = {}
    for i = 1, #pool do order[i] = i end
    table.sort(order, function(a, b)
      if scores[a] ~= scores[b] then return scores[a] < scores[b] end
      return a < b
    end)
    local queries = {}
    for k = 1, math.min(n, #order) do
      local p = pool[order[k]]
      queries[k] = { prompt = p.prompt, answer = p.answer }
    end
    return queries
  end,
}
