-- Quick start: a small learner pretrained on 2-digit addition meets a carry-chain attacker.
-- The digit rubric critiques every answer; a human oracle labels the items the critic is least
-- sure of, within a budget. Watch the attack success rate fall as the learner refines itself.
return campaign{
  name = "quickstart",
  seed = 1,
  iterations = 4,
  queries = 64,
  task = { name = "addition", digits = 2 },
  learner = { layers = 2, width = 64, heads = 4, pretrain_steps = 300, pretrain_batch = 64, lr = 3e-3 },
  attacker = { plugin = "carry_chain", params = { min_chain = 2 } },
  critic = { plugin = "digit_rubric" },
  oversight = { plugin = "uncertainty_budget", budget = 96, params = { target_rate = 0.4 } },
  refine = { method = "sft", steps = 80, batch = 32, lr = 1e-3, replay = 64 },
  eval_clean = 200,
  eval_ood = 100,
}
