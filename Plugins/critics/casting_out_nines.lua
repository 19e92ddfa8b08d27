-- Casting out nines: a REFERENCE-FREE critic for arithmetic prompts "a+b=" and "a*b=". It never
-- sees the answer; it parses the prompt and checks the response the way a bookkeeper does: a
-- number is congruent to its digit sum modulo 9, so the response's digit sum mod 9 must equal
-- (a + b) mod 9, resp. (a * b) mod 9, computed from the operands' digit sums.
--
-- Verdict (score = the probability that the response is correct, P(correct)):
--   * response not a plain non-negative integer (empty, letters, a leading zero other than "0"):
--     wrong for certain: label = false, confidence = 1, score = 0;
--   * check fails: the response is certainly wrong: label = false, confidence = 1, score = 0;
--   * check passes: Bayes, P(correct | pass) = p / (p + (1 - p) * q), where
--       q = 1/9, the probability that a wrong answer passes (its residue mod 9 taken as uniform:
--           one wrong answer in nine has the right residue), and
--       p = the prior that the learner is right: the learner's own `item.confidence` when the
--           engine supplies it, else `params.prior`; clamped to [0.01, 0.99].
--     score = P(correct | pass); label = (score >= 0.5); confidence = the probability that the
--     label is right (score when the label is true, 1 - score when it is false).
--   * prompts it cannot check (modular "a+b%p=", subtraction, anything else): a neutral verdict,
--     score = p, label = (p >= 0.5), confidence = max(p, 1 - p), critique "cannot check this
--     prompt" (with the default prior: label true, confidence 0.5, score 0.5). On arithmetic
--     prompts a response that is not a plain integer is still rejected.
-- Blind spot: errors that keep the residue mod 9: transposed digits ("132" for "123"), errors by
-- a multiple of 9 (an answer off by 9, 18, ...), a 0 and a 9 swapped. A single wrong digit
-- (off by 1 to 8 in one place) is always caught.
local NAME = "casting_out_nines"
local Q = 1 / 9

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

local function digit_sum(s)
  local total = 0
  for c in s:gmatch("%d") do total = total + tonumber(c) end
  return total
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
      return neutral(p, "casting out nines checks only \"a+b=\" and \"a*b=\"")
    end
    if not plain_integer(response) then
      return certainly_wrong(("response %q is not a plain non-negative integer"):format(response))
    end
    local ra, rb = digit_sum(a) % 9, digit_sum(b) % 9
    local want = op == "+" and (ra + rb) % 9 or (ra * rb) % 9
    local sum = digit_sum(response)
    local got = sum % 9
    local head = ("casting out nines: response digit sum %d ≡ %d (mod 9), operand digit sums give"
      .. " %d %s %d ≡ %d (mod 9)"):format(sum, got, ra, op, rb, want)
    if got ~= want then return certainly_wrong(head .. ": wrong") end
    return passed(p, head .. ": consistent; transposed digits and errors by a multiple of 9 pass this check")
  end,
}
