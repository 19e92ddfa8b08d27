-- Magnitude: a REFERENCE-FREE critic, the weakest of the bundled checks. It never sees the
-- answer; it parses the prompt and checks only the size of the response:
--   * "a+b=": the sum has max(len a, len b) or one more digits;
--   * "a*b=": the product has len a + len b - 1 or len a + len b digits ("0" when an operand is 0);
--   * modular "a+b%p=" (also "-", "*"): the result is a residue, so it must lie in 0 .. p - 1.
--
-- Verdict (score = the probability that the response is correct, P(correct)):
--   * response not a plain non-negative integer (empty, letters, a leading zero other than "0"):
--     wrong for certain: label = false, confidence = 1, score = 0;
--   * the size check fails: the response is certainly wrong: label = false, confidence = 1, score = 0;
--   * it passes: Bayes, P(correct | pass) = p / (p + (1 - p) * q), where q is the probability
--     that a wrong answer passes:
--       q = 2/3 for "a+b=" and "a*b=": a wrong answer's length taken as the true length or one
--           off, each of the three equally likely; the window holds two consecutive lengths, the
--           true one and one neighbour, so one of the three cases is caught;
--       q = 1/2 for modular prompts: a wrong result taken as equally likely to be unreduced (at
--           least p: caught) or a wrong residue (below p: passes);
--     p = the prior that the learner is right: the learner's own `item.confidence` when the
--     engine supplies it, else `params.prior`; clamped to [0.01, 0.99].
--     score = P(correct | pass); label = (score >= 0.5); confidence = the probability that the
--     label is right (score when the label is true, 1 - score when it is false).
--   * prompts it cannot check (anything else): a neutral verdict, score = p, label = (p >= 0.5),
--     confidence = max(p, 1 - p), critique "cannot check this prompt".
-- Blind spot: every error with a plausible size: any wrong digit, missed carry or transposition
-- that keeps the length (or keeps a residue below p) passes.
local NAME = "magnitude"
local Q_LENGTH = 2 / 3
local Q_RESIDUE = 1 / 2

-- A field of the item, nil when absent. Read raw first; a field the engine keeps behind a
-- metatable is read through it, and an error for a hidden field counts as absent.
local function field(item, key)
  local v = rawget(item, key)
  if v ~= nil then return v end
  local ok, got = pcall(function() return item[key] end)
  if ok then return got end
  return nil
end

-- The prior that the learner is right: its own confidence, else params.prior, clamped.
local function prior(self, item)
  local p = field(item, "confidence")
  if type(p) ~= "number" or p ~= p then p = self.params.prior end
  if type(p) ~= "number" or p ~= p then p = 0.5 end
  return math.max(0.01, math.min(0.99, p))
end

local function plain_integer(s)
  return s:match("^%d+$") ~= nil and (s == "0" or s:sub(1, 1) ~= "0")
end

-- Digits without leading zeros ("007" -> "7", "000" -> "0").
local function strip(s)
  return (s:gsub("^0+(%d)", "%1"))
end

local function neutral(p, why)
  return { score = p, label = p >= 0.5, confidence = math.max(p, 1 - p),
           critique = "cannot check this prompt: " .. why }
end

local function certainly_wrong(critique)
  return { score = 0, label = false, confidence = 1, critique = critique }
end

local function passed(p, q, critique)
  local post = p / (p + (1 - p) * q)
  local label = post >= 0.5
  if not label then
    critique = critique .. ("; with a prior of %.2f that the learner is right, still more likely wrong"):format(p)
  end
  return { score = post, label = label, confidence = label and post or 1 - post, critique = critique }
end

return {
  kind = "critic",
  name = NAME,
  -- prior: P(the learner is right) when the item carries no learner confidence
  params = { prior = 0.5 },

  score = function(self, item)
    local p = prior(self, item)
    local prompt = tostring(field(item, "prompt") or "")
    local response = sa.text.trim(tostring(field(item, "response") or ""))
    local modulus = prompt:match("^%d+[%+%-%*]%d+%%(%d+)=$")
    local a, op, b = prompt:match("^(%d+)([%+%*])(%d+)=$")
    if not a and not modulus then
      return neutral(p, "the size check covers only \"a+b=\", \"a*b=\" and \"a+b%p=\"")
    end
    if not plain_integer(response) then
      return certainly_wrong(("response %q is not a plain non-negative integer"):format(response))
    end
    if modulus then
      local m = strip(modulus)
      -- compare as strings first: a long response must not overflow tonumber
      local below = #response < #m or (#response == #m and tonumber(response) < tonumber(m))
      if not below then
        return certainly_wrong(("%s is not below the modulus %s: wrong"):format(response, m))
      end
      return passed(p, Q_RESIDUE, ("%s is a residue below %s: consistent; any wrong residue passes this check")
        :format(response, m))
    end
    a, b = strip(a), strip(b)
    local lo, hi
    if op == "+" then
      lo = math.max(#a, #b); hi = lo + 1
    elseif a == "0" or b == "0" then
      lo, hi = 1, 1
    else
      lo, hi = #a + #b - 1, #a + #b
    end
    local size = ("%d digit%s"):format(#response, #response == 1 and "" or "s")
    local range = lo == hi and ("%d digit"):format(lo) or ("%d to %d digits"):format(lo, hi)
    if #response < lo or #response > hi then
      return certainly_wrong(("%s, but a%sb has %s: wrong"):format(size, op, range))
    end
    return passed(p, Q_LENGTH, ("%s is possible (a%sb has %s): consistent; any error of the right length"
      .. " passes this check"):format(size, op, range))
  end,
}
