-- Digit rubric: a REFERENCE-BASED critic giving partial credit for arithmetic answers. The
-- score is the share of reference digits the response gets right (right-aligned); the critique
-- names the wrong digit positions and, for addition, the carries the response missed. The label
-- is strict (all digits right); the confidence grows with how far the score is from the 0.5
-- boundary. It reads `item.reference`, which the engine supplies only to a critic the campaign
-- declares reference-based:
--   critic = { plugin = "digit_rubric", reference = true }
-- Without that declaration there is no reference and every call fails with an error saying so.
-- Blind spot: its label is exact against the reference; its score and confidence are a rubric
-- (a response with most digits right scores high and is reported with less than full
-- confidence, although the reference settles it).
local NAME = "digit_rubric"

-- A field of the item, nil when absent. Read raw first; a field the engine keeps behind a
-- metatable is read through it, and an error for a hidden field counts as absent.
local function field(item, key)
  local v = rawget(item, key)
  if v ~= nil then return v end
  local ok, got = pcall(function() return item[key] end)
  if ok then return got end
  return nil
end

local function carries_into(a, b)
  -- positions (from the right, 1-based) that receive a carry when adding a and b
  local out, carry, pos = {}, 0, 1
  while a > 0 or b > 0 or carry > 0 do
    local s = a % 10 + b % 10 + carry
    carry = s >= 10 and 1 or 0
    if carry == 1 then out[#out + 1] = pos + 1 end
    a, b, pos = a // 10, b // 10, pos + 1
  end
  return out
end

return {
  kind = "critic",
  name = NAME,
  params = {},

  score = function(_, item)
    local reference = field(item, "reference")
    if reference == nil then
      error(NAME .. " is a reference-based critic: declare critic = { plugin = \"" .. NAME .. "\", reference = true }")
    end
    local answer = sa.text.trim(tostring(reference))
    local response = sa.text.trim(tostring(field(item, "response") or ""))
    local wrong = sa.text.digit_diff(answer, response)
    local width = math.max(#answer, #response, 1)
    local score = (width - #wrong) / width
    local label = #wrong == 0
    local critique
    if label then
      critique = "all digits correct"
    else
      local parts = { ("wrong digit%s at position%s %s of %s"):format(#wrong == 1 and "" or "s",
        #wrong == 1 and "" or "s", table.concat(wrong, ", "), answer) }
      local a, b = tostring(field(item, "prompt") or ""):match("^(%d+)%+(%d+)=$")
      if a then
        local missed = {}
        local wrong_set = {}
        for _, w in ipairs(wrong) do wrong_set[width - w + 1] = true end -- from the right
        for _, c in ipairs(carries_into(tonumber(a), tonumber(b))) do
          if wrong_set[c] then missed[#missed + 1] = c end
        end
        if #missed > 0 then
          parts[#parts + 1] = ("missed the carry into digit%s %s (from the right)"):format(
            #missed == 1 and "" or "s", table.concat(missed, ", "))
        end
      end
      critique = table.concat(parts, "; ")
    end
    return { score = score, label = label, confidence = math.min(1, 0.5 + math.abs(score - 0.5)), critique = critique }
  end,
}
