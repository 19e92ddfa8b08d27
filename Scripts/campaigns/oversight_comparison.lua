-- Oversight policies at the same human budget. The critic is a noisy verifier (the simulated
-- weak supervisor: 25% of its labels flipped); each policy decides which items the human oracle
-- labels, with 60 labels for the whole campaign. Same seed, same learner, same attacker: only
-- the oversight policy differs. `superalign run` prints the final accuracies side by side.
local function with_policy(policy, params)
  return campaign{
    name = "oversight-" .. policy,
    seed = 7,
    iterations = 3,
    queries = 64,
    task = { name = "addition", digits = 2 },
    learner = { layers = 2, width = 64, heads = 4, pretrain_steps = 600, pretrain_batch = 64, lr = 3e-3 },
    attacker = { plugin = "boundary" },
    critic = { plugin = "noisy_verifier", params = { flip_rate = 0.25 } },
    oversight = { plugin = policy, budget = 60, params = params or {} },
    refine = { method = "sft", steps = 120, batch = 32, lr = 5e-4, replay = 128 },
    eval_clean = 200,
    eval_ood = 50,
  }
end

return {
  with_policy("never"),
  with_policy("random_budget", { rate = 0.35 }),
  with_policy("uncertainty_budget", { target_rate = 0.35 }),
}
