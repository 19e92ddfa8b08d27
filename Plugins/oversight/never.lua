-- Never escalate: every label comes from the critic (no human budget is spent). The floor an
-- oversight policy is compared against.
-- Blind spot: every critic error stands.
return {
  kind = "oversight",
  name = "never",
  params = {},
  decide = function() return false end,
  decide_batch = function() return {} end,
}
