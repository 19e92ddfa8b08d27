-- Learner-guided attacker: draws `candidates * n` prompts, asks the learner in ONE batched call
-- (`sa.learner.confidence`) how sure it is of its own answer to each, and keeps the n prompts
-- where it is least sure (ties broken by draw order): the learner's own uncertainty points at
-- its weaknesses. No answer is involved; the attacker returns prompts, least confident first.
-- Blind spot: confidently wrong answers. A learner that is sure of a systematic mistake is never
-- probed there; the attack only finds errors the learner itself suspects.
return {
  kind = "attacker",
  name = "learner_guided",
  -- candidates: how many to draw per query kept; distribution: where candidates come from
  params = { candidates = 4, distribution = "standard" },

  propose = function(self, _, n)
    local pool = sa.task.sample(n * self.params.candidates, { distribution = self.params.distribution })
    local prompts = {}
    for i, p in ipairs(pool) do prompts[i] = p.prompt end
    if #prompts == 0 then return {} end
    local confidence = sa.learner.confidence(prompts)
    local function sure(i)
      local c = confidence[i]
      if type(c) ~= "number" or c ~= c then return 0 end -- missing or NaN: treat as unsure
      return c
    end
    local order = {}
    for i = 1, #prompts do order[i] = i end
    table.sort(order, function(a, b)
      local ca, cb = sure(a), sure(b)
      if ca ~= cb then return ca < cb end
      return a < b
    end)
    local kept = {}
    for k = 1, math.min(n, #order) do kept[k] = prompts[order[k]] end
    return kept
  end,
}
