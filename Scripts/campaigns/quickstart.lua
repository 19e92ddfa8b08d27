-- Quick start: can a weak critic, helped by a small human budget, make a learner better?
--
-- A small learner pretrained on 2-digit addition (from the task's pretrain partition only)
-- meets the boundary attacker (zeros, nines, the largest operands). The critic is `last_digit`,
-- a reference-free check that never sees the answer: it verifies the last digit and the length
-- of each response, so it is blind to wrong middle digits (the missed carries a small learner
-- makes). Two arms share the pretrained learner and the attack stream per seed:
--   never        refinement trusts the critic alone;
--   uncertainty  a simulated human labels the items the critic is least sure of, 120 labels
--                for the whole campaign, and supplies the right answer when it says "wrong"
--                (a correction costs one more label).
-- Five seeds; the summary gives each arm's mean with a Student-t 95% interval and the paired
-- difference between the arms. Whatever it shows is the result: seeds are not tuned.
return campaign{
  name = "quickstart",
  seeds = { 1, 2, 3, 4, 5 },
  iterations = 4,
  queries = 96,
  task = { name = "addition", digits = 2 },
  learner = { layers = 2, width = 64, heads = 4, pretrain_steps = 1000, pretrain_batch = 64, lr = 3e-3 },
  attacker = { plugin = "boundary" },
  critic = { plugin = "last_digit" },
  refine = { method = "sft", steps = 150, batch = 32, lr = 5e-4, rehearsal = 128 },
  arms = {
    { name = "never", oversight = { plugin = "never" } },
    { name = "uncertainty", oversight = { plugin = "uncertainty_budget", budget = 120, corrections = true } },
  },
  eval_clean = 200,
  eval_ood = 100,
}
