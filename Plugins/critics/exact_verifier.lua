-- Exact verifier: a REFERENCE-BASED critic. The response is correct when it equals the
-- reference answer (surrounding whitespace ignored). A perfect, fully confident critic: the
-- ceiling other critics are compared against, not a weak supervisor. It reads `item.reference`,
-- which the engine supplies only to a critic the campaign declares reference-based:
--   critic = { plugin = "exact_verifier", reference = true }
-- Without that declaration there is no reference and every call fails with an error saying so.
-- Blind spot: none against the reference; it is only as right as the reference is.
local NAME = "exact_verifier"

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
  params = {},

  score = function(_, item)
    local reference = field(item, "reference")
    if reference == nil then
      error(NAME .. " is a reference-based critic: declare critic = { plugin = \"" .. NAME .. "\", reference = true }")
    end
    local response, answer = trim(field(item, "response")), trim(reference)
    local ok = response == answer
    return {
      score = ok and 1 or 0,
      label = ok,
      confidence = 1,
      critique = ok and "matches the reference answer"
        or ("expected %q, got %q"):format(answer, response),
    }
  end,
}
