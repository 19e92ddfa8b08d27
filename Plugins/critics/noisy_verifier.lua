-- Noisy verifier: an exact verifier whose verdict is flipped at a seeded rate. It simulates a
-- weak supervisor: cheap, scalable feedback that is sometimes wrong. Its confidence is the
-- probability that its label is right (1 - flip_rate), the same for every item.
local function trim(s)
  return sa.text.trim(tostring(s or ""))
end

return {
  kind = "critic",
  name = "noisy_verifier",
  params = { flip_rate = 0.2 },

  score = function(self, item)
    local rate = self.params.flip_rate
    local correct = trim(item.response) == trim(item.answer)
    local flipped = math.random() < rate
    local label = correct ~= flipped
    return {
      score = label and 1 or 0,
      label = label,
      confidence = 1 - rate,
      critique = label and "looks right" or "looks wrong",
    }
  end,
}
