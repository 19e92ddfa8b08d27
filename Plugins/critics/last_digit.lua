-- Last digit: a REFERENCE-FREE critic for arithmetic prompts "a+b=" and "a*b=". It never sees
-- the answer; it parses the prompt and checks two things the operands fix cheaply:
--   * the last digit: the response's last digit must equal the last digit of (last digit of a)
--     op (last digit of b);
--   * the length: a+b has max(len a, len b) or one more digits; a*b has len a + len b - 1 or
--     len a + len b digits, and exactly one ("0") when an operand is 0.
--
-- Verdict (score = the probability that the response is correct, P(correct)):
--   * response not a plain non-negative integer (empty, letters, a leading zero other than "0"):
--     wrong for certain: label = false, confidence = 1, score = 0;
--   * a check fails: the response is certainly wrong: label = false, confidence = 1, score = 0;
--   * both pass: Bayes, P(correct | pass) = p / (p + (1 - p) * q), where
--       q = 1/10, the probability that a wrong answer passes: its last digit taken as uniform
--           (one in ten matches); the length check is counted as passed by every wrong answer
--           (a learner's wrong answers mostly have a plausible length), so it does not lower q;
--       p = the prior that the learner is right: the learner's own `item.confidence` when the
--           engine supplies it, else `params.prior`; clamped to [0.01, 0.99].
--     score = P(correct | pass); label = (score >= 0.5); confidence = the probability that the
--     label is right (score when the label is true, 1 - score when it is false).
--   * prompts it cannot check (modular "a+b%p=", subtraction, anything else): a neutral verdict,
--     score = p, label = (p >= 0.5), confidence = max(p, 1 - p), critique "cannot check this
--     prompt". On arithmetic prompts a response that is not a plain integer is still rejected.
-- Blind spot: wrong middle (and leading) digits: any error that keeps the last digit and a
-- plausible length passes, e.g. a missed carry in the tens ("122" for "132").
local NAME = "last_digit"
local Q = 1 / 10

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

local function passed(p, critique)
  local post = p / (p + (1 - p) * Q)
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
    local a, op, b = prompt:match("^(%d+)([%+%*])(%d+)=$")
    if not a then
      if prompt:match("^%d+[%+%-%*]%d+%%?%d*=$") and not plain_integer(response) then
        return certainly_wrong(("response %q is not a plain non-negative integer"):format(response))
      end
      return neutral(p, "the last-digit check covers only \"a+b=\" and \"a*b=\"")
    end
    if not plain_integer(response) then
      return certainly_wrong(("response %q is not a plain non-negative integer"):format(response))
    end
    a, b = strip(a), strip(b)
    local da, db = tonumber(a:sub(-1)), tonumber(b:sub(-1))
    local want = op == "+" and (da + db) % 10 or (da * db) % 10
    local lo, hi
    if op == "+" then
      lo = math.max(#a, #b); hi = lo + 1
    elseif a == "0" or b == "0" then
      lo, hi = 1, 1
    else
      lo, hi = #a + #b - 1, #a + #b
    end
    local got = tonumber(response:sub(-1))
    if got ~= want then
      return certainly_wrong(("last digit %d, but %d %s %d ends in %d: wrong"):format(got, da, op, db, want))
    end
    local size = ("%d digit%s"):format(#response, #response == 1 and "" or "s")
    local range = lo == hi and ("%d digit"):format(lo) or ("%d to %d digits"):format(lo, hi)
    if #response < lo or #response > hi then
      return certainly_wrong(("%s, but a%sb has %s: wrong"):format(size, op, range))
    end
    return passed(p, ("last digit %d matches %d %s %d ending in %d, and %s is possible (a%sb has %s): consistent;"
      .. " wrong middle digits pass this check"):format(got, da, op, db, want, size, op, range))
  end,
}
