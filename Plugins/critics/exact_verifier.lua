-- Exact verifier: the response is correct when it equals the reference answer (surrounding
-- whitespace ignored). A perfect, fully confident critic: the ceiling other critics are
-- compared against.
local function trim(s)
  return sa.text.trim(tostring(s or ""))
end

return {
  kind = "critic",
  name = "exact_verifier",
  params = {},

  score = function(_, item)
    local response, answer = trim(item.response), trim(item.answer)
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
