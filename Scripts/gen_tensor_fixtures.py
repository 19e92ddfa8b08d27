#!/usr/bin/env python3
"""Golden forward/backward values for the Tensor engine, computed independently with numpy
in float64 from fixed inputs, written to Tests/TensorTests/Fixtures/tensor_fixtures.json.

Regenerate (only when a case is added or changed; the JSON is committed):
    python3 Scripts/gen_tensor_fixtures.py
Needs numpy only. The Swift tests (FixtureTests) read the same inputs from the JSON, run the
engine in float32 and compare within tolerance.

Each case stores flat row-major arrays with their shapes: {"name": {"x": {"shape": [...],
"data": [...]}, ...}}. Gradients are for the loss L = sum(output * g) with the stored `g`.
"""
import json
import math
import os

import numpy as np

rng = np.random.default_rng(20240611)
cases = {}


def arr(a):
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "data": [float(v) for v in a.reshape(-1)]}


def ints(a):
    a = np.asarray(a, dtype=np.int64)
    return {"shape": list(a.shape), "data": [int(v) for v in a.reshape(-1)]}


def f32(a):
    # Inputs are rounded to float32 first, so both sides start from identical numbers.
    return np.asarray(a, dtype=np.float32).astype(np.float64)


erf = np.vectorize(math.erf)


def gelu(x):
    return 0.5 * x * (1 + erf(x / math.sqrt(2)))


def gelu_grad(x):
    return 0.5 * (1 + erf(x / math.sqrt(2))) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


# --- matmul in all three layouts ---------------------------------------------------------
a = f32(rng.standard_normal((7, 13)))
b = f32(rng.standard_normal((13, 37)))
bt = f32(rng.standard_normal((37, 13)))
at = f32(rng.standard_normal((13, 7)))
cases["matmul"] = {"a": arr(a), "b": arr(b), "bt": arr(bt), "at": arr(at),
                   "ab": arr(a @ b), "abt": arr(a @ bt.T), "atb": arr(at.T @ b)}

# --- GELU --------------------------------------------------------------------------------
x = f32(np.concatenate([np.linspace(-8, 8, 41), rng.standard_normal(23) * 3]))
g = f32(rng.standard_normal(x.shape))
cases["gelu"] = {"x": arr(x), "g": arr(g), "y": arr(gelu(x)), "dx": arr(g * gelu_grad(x))}

# --- linear with GELU: y = gelu(x W^T + b) -----------------------------------------------
x = f32(rng.standard_normal((5, 6)))
w = f32(rng.standard_normal((7, 6)) * 0.5)
bias = f32(rng.standard_normal(7))
g = f32(rng.standard_normal((5, 7)))
pre = x @ w.T + bias
gp = g * gelu_grad(pre)
cases["linear_gelu"] = {"x": arr(x), "w": arr(w), "b": arr(bias), "g": arr(g), "y": arr(gelu(pre)),
                        "dx": arr(gp @ w), "dw": arr(gp.T @ x), "db": arr(gp.sum(0))}

# --- layer norm --------------------------------------------------------------------------
x = f32(rng.standard_normal((4, 9)) * 2 + 0.5)
w = f32(rng.standard_normal(9))
bias = f32(rng.standard_normal(9))
g = f32(rng.standard_normal((4, 9)))
eps = 1e-5
mu = x.mean(1, keepdims=True)
var = ((x - mu) ** 2).mean(1, keepdims=True)
rstd = 1 / np.sqrt(var + eps)
xh = (x - mu) * rstd
gh = g * w
dx = rstd * (gh - gh.mean(1, keepdims=True) - xh * (gh * xh).mean(1, keepdims=True))
cases["layer_norm"] = {"x": arr(x), "w": arr(w), "b": arr(bias), "g": arr(g), "y": arr(xh * w + bias),
                       "dx": arr(dx), "dw": arr((g * xh).sum(0)), "db": arr(g.sum(0))}

# --- softmax / log-softmax ---------------------------------------------------------------
x = f32(rng.standard_normal((3, 19)) * 3)
g = f32(rng.standard_normal((3, 19)))
e = np.exp(x - x.max(1, keepdims=True))
sm = e / e.sum(1, keepdims=True)
lsm = np.log(sm)
cases["softmax"] = {"x": arr(x), "g": arr(g), "y": arr(sm),
                    "dx": arr(sm * (g - (g * sm).sum(1, keepdims=True))),
                    "log_y": arr(lsm), "log_dx": arr(g - sm * g.sum(1, keepdims=True))}

# --- cross-entropy with ignore index and per-position weights ----------------------------
logits = f32(rng.standard_normal((6, 11)) * 2)
targets = np.array([3, 0, -100, 10, 7, 3])
weights = f32(np.array([1.0, 0.5, 2.0, 1.5, 0.25, 1.0]))
lse = np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1)) + logits.max(1)
valid = targets != -100
per_row = np.where(valid, (lse - logits[np.arange(6), np.where(valid, targets, 0)]) * weights, 0.0)
loss = per_row.sum() / valid.sum()
sm = np.exp(logits - lse[:, None])
onehot = np.zeros_like(logits)
onehot[np.arange(6)[valid], targets[valid]] = 1
dlogits = (sm - onehot) * (weights * valid / valid.sum())[:, None]
cases["cross_entropy"] = {"logits": arr(logits), "targets": ints(targets), "weights": arr(weights),
                          "ignore_index": -100, "loss": arr(loss), "per_row": arr(per_row), "dlogits": arr(dlogits)}

# --- embedding ---------------------------------------------------------------------------
table = f32(rng.standard_normal((5, 4)))
ids = np.array([[1, 4, 1], [0, 1, 3]])
g = f32(rng.standard_normal((2, 3, 4)))
dtable = np.zeros_like(table)
np.add.at(dtable, ids.reshape(-1), g.reshape(-1, 4))
cases["embedding"] = {"table": arr(table), "ids": ints(ids), "g": arr(g), "y": arr(table[ids]), "dtable": arr(dtable)}

# --- causal multi-head self-attention ----------------------------------------------------
B, T, C, H = 2, 5, 8, 2
D = C // H
qkv = f32(rng.standard_normal((B, T, 3 * C)))
g = f32(rng.standard_normal((B, T, C)))
q = qkv[:, :, :C].reshape(B, T, H, D).transpose(0, 2, 1, 3)
k = qkv[:, :, C:2 * C].reshape(B, T, H, D).transpose(0, 2, 1, 3)
v = qkv[:, :, 2 * C:].reshape(B, T, H, D).transpose(0, 2, 1, 3)
s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(D)
mask = np.tril(np.ones((T, T), dtype=bool))
s = np.where(mask, s, -np.inf)
p = np.exp(s - s.max(-1, keepdims=True))
p = p / p.sum(-1, keepdims=True)
yh = p @ v
y = yh.transpose(0, 2, 1, 3).reshape(B, T, C)
gy = g.reshape(B, T, H, D).transpose(0, 2, 1, 3)
dv = p.transpose(0, 1, 3, 2) @ gy
dp = gy @ v.transpose(0, 1, 3, 2)
ds = p * (dp - (dp * p).sum(-1, keepdims=True)) / math.sqrt(D)
dq = ds @ k
dk = ds.transpose(0, 1, 3, 2) @ q
merge = lambda t: t.transpose(0, 2, 1, 3).reshape(B, T, C)
dqkv = np.concatenate([merge(dq), merge(dk), merge(dv)], axis=2)
cases["attention"] = {"qkv": arr(qkv), "g": arr(g), "heads": H, "y": arr(y), "dqkv": arr(dqkv)}

# --- log-sigmoid (DPO) -------------------------------------------------------------------
x = f32(np.array([-30.0, -5.0, -1.0, -0.1, 0.0, 0.3, 2.0, 9.0, 40.0]))
g = f32(rng.standard_normal(x.shape))
cases["log_sigmoid"] = {"x": arr(x), "g": arr(g), "y": arr(-np.logaddexp(0, -x)),
                        "dx": arr(g / (1 + np.exp(x)))}

# --- AdamW (torch.optim.AdamW semantics) and SGD with momentum ---------------------------
p0 = f32(rng.standard_normal(6))
grads = [f32(rng.standard_normal(6)) for _ in range(4)]
lr, b1, b2, eps, wd = 1e-2, 0.9, 0.999, 1e-8, 0.1
p, m, v = p0.copy(), np.zeros(6), np.zeros(6)
adam_traj = []
for t, gr in enumerate(grads, start=1):
    p = p * (1 - lr * wd)
    m = b1 * m + (1 - b1) * gr
    v = b2 * v + (1 - b2) * gr * gr
    denom = np.sqrt(v) / math.sqrt(1 - b2 ** t) + eps
    p = p - (lr / (1 - b1 ** t)) * m / denom
    adam_traj.append(p.copy())
lr_s, mu, wd_s = 0.1, 0.9, 0.01
p, buf = p0.copy(), None
sgd_traj = []
for gr in grads:
    d = gr + wd_s * p
    buf = d if buf is None else mu * buf + d
    p = p - lr_s * buf
    sgd_traj.append(p.copy())
cases["optimizers"] = {"p0": arr(p0), "grads": arr(np.stack(grads)),
                       "adamw": {"lr": lr, "beta1": b1, "beta2": b2, "eps": eps, "weight_decay": wd},
                       "adamw_traj": arr(np.stack(adam_traj)),
                       "sgd": {"lr": lr_s, "momentum": mu, "weight_decay": wd_s},
                       "sgd_traj": arr(np.stack(sgd_traj))}

# --- warm-up + cosine schedule (nanoGPT's get_lr) -----------------------------------------
peak, warm, total, lo = 6e-4, 10, 100, 6e-5
sched = []
for it in [0, 1, 5, 9, 10, 11, 50, 99, 100, 150]:
    if it < warm:
        sched.append(peak * (it + 1) / warm)
    elif it >= total:
        sched.append(lo)
    else:
        r = (it - warm) / (total - warm)
        sched.append(lo + 0.5 * (1 + math.cos(math.pi * r)) * (peak - lo))
cases["schedule"] = {"peak": peak, "warmup": warm, "total": total, "minimum": lo,
                     "steps": [0, 1, 5, 9, 10, 11, 50, 99, 100, 150], "lr": sched}

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "TensorTests", "Fixtures",
                   "tensor_fixtures.json")
with open(out, "w") as fh:
    json.dump(cases, fh, indent=None, separators=(",", ":"))
    fh.write("\n")
print(f"wrote {os.path.normpath(out)} ({len(cases)} cases)")
