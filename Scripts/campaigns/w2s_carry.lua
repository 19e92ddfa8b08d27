-- Weak-to-strong generalization on the built-in `carry` task ("047+815=": does the addition
-- carry anywhere?). A linear model trained on 300 true labels supervises two strong students:
-- a wide MLP and a small GPT classifier, both first pretrained self-supervised on unlabelled
-- inputs (the MLP predicts the written-out column addition, the GPT models the text "a+b=" followed
-- by the reversed sum), never on labels. Each student learns from the weak labels with plain
-- cross-entropy and with the auxiliary confidence loss; the ceiling is the same student trained
-- on the true labels. PGR = (student − weak) / (ceiling − weak) on test accuracy.
--
--   superalign run Scripts/campaigns/w2s_carry.lua --out runs/w2s-carry
--   superalign status runs/w2s-carry        # the table again, from run.sqlite
--
-- Kept small (about half a minute on 2 cores); `superalign w2s --task carry` runs larger defaults.
return w2s{
  name = "w2s-carry",
  task = "carry",
  examples = 1200,
  weak = "linear",
  strong = { "mlp:128,128+pretrain", "gpt:1x32+pretrain" },
  loss = { "xent", "logconf" },
  seeds = 2,
  weak_steps = 200,
  strong_steps = 60,
  pretrain_steps = 300,
  batch = 32,
  eval_every = 10,
}
