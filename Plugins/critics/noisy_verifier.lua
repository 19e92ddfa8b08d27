-- Noisy verifier: a REFERENCE-BASED critic that simulates a weak supervisor: an exact verifier
-- (response == `item.reference`, whitespace ignored) whose verdict is sometimes flipped. The
-- campaign must declare it reference-based:
--   critic = { plugin = "noisy_verifier", reference = true }
-- (without the declaration there is no reference and every call fails with an error saying so).
--
-- The noise is per item and the confidence is honest about it. Each item draws its own flip
-- probability r from a uniform distribution centred on `flip_rate`:
--   r ~ Uniform[flip_rate - h, flip_rate + h],  h = spread * min(flip_rate, 0.5 - flip_rate)
-- (so r stays in [0, 0.5] and its mean is `flip_rate`); the verdict is flipped with probability r,
-- and the confidence is 1 - r: the probability that this label is right, calibrated by
-- construction. An oversight policy that escalates the least confident items therefore finds
-- more flipped labels than a random one. `spread = 0` gives every item r = flip_rate (the old,
-- constant confidence). The score is the probability that the response is correct given the
-- label: confidence when the label is "correct", 1 - confidence when it is "wrong".
-- Both draws use `math.random`, seeded by the engine (same seed, same verdicts).
-- Blind spot: a flipped label looks like any other label; only its confidence hints at it.
local NAME = "noisy_verifier"

-- A field of the item, nil when absent. Read raw first; a field the engine keeps behind a
-- metatable is read through it, and an error for a hidden field counts as absent.
local function field(item, key)
  local v = rawget(item, key)
  if v ~= nil then return v end
  local ok, got = pcall(function() return item[key] end)
  if ok then return got end
  return nil
end

local function trim(s)
  return sa.text.trim(tostring(s or ""))
end

return {
  kind = "critic",
  name = NAME,
  -- flip_rate: mean probability that a verdict is flipped; spread: in [0, 1], how widely the
  -- per-item flip probability varies around it (0: constant)
  params = { flip_rate = 0.2, spread = 1 },

  score = function(self, item)
    local reference = field(item, "reference")
    if reference == nil then
      error(NAME .. " is a reference-based critic: declare critic = { plugin = \"" .. NAME .. "\", reference = true }")
    end
    local rate = math.max(0, math.min(1, self.params.flip_rate))
    local spread = math.max(0, math.min(1, self.params.spread or 0))
    local h = spread * math.max(0, math.min(rate, 0.5 - rate))
    local r = rate + h * (2 * math.random() - 1)
    local correct = trim(field(item, "response")) == trim(reference)
    local flipped = math.random() < r
    local label = correct ~= flipped
    local confidence = math.max(0, math.min(1, 1 - r))
    return {
      score = label and confidence or 1 - confidence,
      label = label,
      confidence = confidence,
      critique = ("%s (this verdict is flipped with probability %.2f)"):format(
        label and "looks right" or "looks wrong", r),
    }
  end,
}
