-- Quick start: a small learner pretrained on 2-digit addition meets the boundary attacker
-- (zeros, nines, the largest operands: where a learner trained on the bulk of the distribution
-- fails). The digit rubric critiques every answer; a human oracle labels the items the critic is
-- least sure of, within a budget. Watch the attack success rate fall as the learner refines
-- itself, while its clean accuracy holds.
return campaign{
  name = "quickstart",
  seed = 1,
  iterations = 4,
  queries = 96,
  task = { name = "addition", digits = 2 },
  learner = { layers = 2, width = 64, heads = 4, pretrain_steps = 1000, pretrain_batch = 64, lr = 3e-3 },
  attacker = { plugin = "boundary" },
  critic = { plugin = "digit_rubric" },
  oversight = { plugin = "uncertainty_budget", budget = 240, params = { target_rate = 0.5 } },
  refine = { method = "sft", steps = 150, batch = 32, lr = 5e-4, replay = 128 },
  eval_clean = 200,
  eval_ood = 100,
}
