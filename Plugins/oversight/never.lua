-- Never escalate: every label comes from the critic (no human budget is spent).
return {
  kind = "oversight",
  name = "never",
  params = {},
  decide = function() return false end,
}
