#!/usr/bin/env python3
"""The reference training workloads in PyTorch, side by side with `superalign bench train`.

Usage:
    python3 Scripts/bench_train_torch.py [--threads 1,2] [--binary PATH] [--pairs 3] [--json]

Runs, for each thread count, the same two workloads as `superalign bench train`:
  gpt: nanoGPT architecture, vocab 16, context 32, width 128, 4 heads, 4 layers, batch 64,
       exact-erf GELU, tied LM head, biases on, cross-entropy over all positions,
       torch.optim.AdamW(lr=3e-4) (weight decay 0.01, betas 0.9/0.999).
  mlp: 784-256-256-10, ReLU, batch 128, cross-entropy, AdamW lr 3e-4.
Timing: 5 warm-up steps, then 5 rounds of 20 (gpt) or 200 (mlp) steps; the median round.
Swift (`superalign bench train`, release binary; build it with
`swift build -c release $(bash Scripts/build-flags.sh)`) and PyTorch alternate `--pairs` times
(default 3), and Swift / PyTorch is taken within each pair, because a shared machine's speed
drifts over minutes; the table shows the median and range over pairs.
Without torch it says so and exits 0 (nothing to compare).

Run it with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, so that a BLAS library that reads them
(OpenBLAS: numpy's, and PyTorch's on arm64) picks its own kernels for this CPU:
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 Scripts/bench_train_torch.py
(OPENBLAS_CORETYPE=Haswell, a safety setting for old OpenBLAS builds, holds an AVX-512 machine to
AVX2 kernels: an unfair baseline.) It warns when they are set, and prints first the threading
and BLAS libraries loaded in the process as threadpoolctl reports them (for OpenBLAS, the kernel
set it picked: "architecture"), or that threadpoolctl is not installed.

For gpt it also times the step's matrix multiplies alone in PyTorch (the same shapes, forward
and backward: four linear layers and the attention products per block, and the LM head) and
prints that as "matmul-only steps/s": an upper bound for any implementation whose multiplies
are as fast as PyTorch's BLAS (MKL in the pip wheels), whatever it does with the rest.
"""
import argparse
import json
import os
import subprocess
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    print("torch is not installed (pip install torch); skipping the PyTorch comparison")
    sys.exit(0)


class Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(width)
        self.c_attn = nn.Linear(width, 3 * width)
        self.attn_proj = nn.Linear(width, width)
        self.ln_2 = nn.LayerNorm(width)
        self.c_fc = nn.Linear(width, 4 * width)
        self.mlp_proj = nn.Linear(4 * width, width)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(c, dim=2)
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.attn_proj(y.transpose(1, 2).contiguous().view(b, t, c))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x))))


class TinyGPT(nn.Module):
    def __init__(self, vocab=16, context=32, width=128, heads=4, layers=4):
        super().__init__()
        self.wte = nn.Embedding(vocab, width)
        self.wpe = nn.Embedding(context, width)
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(width)
        self.lm_head = nn.Linear(width, vocab, bias=False)
        self.lm_head.weight = self.wte.weight  # tied

    def forward(self, idx):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for block in self.blocks:
            x = block(x)
        return self.lm_head(self.ln_f(x))


FORCING = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def blas_info():
    """Lines naming the BLAS and threading libraries loaded (after `import torch`), from threadpoolctl."""
    lines = [f"{var}={os.environ[var]} is set: it overrides OpenBLAS's own choice for this CPU"
             " (run with `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE` for a fair baseline)"
             for var in FORCING if var in os.environ]
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return lines + ["threadpoolctl is not installed (pip install threadpoolctl): cannot tell which"
                        " BLAS library and kernels PyTorch uses"]
    libs = threadpool_info()
    if not libs:
        lines.append("threadpoolctl finds no BLAS or OpenMP library loaded")
    for i in libs:
        kernels = f", kernels: {i['architecture']}" if i.get("architecture") else ""
        lines.append(f"{i.get('user_api')}: {i.get('internal_api')} {i.get('version')}{kernels},"
                     f" threads: {i.get('num_threads')} ({i.get('filepath')})")
    return lines


def timed(step, steps, rounds=5, warmup=5):
    """Sorted steps/s of `rounds` rounds of `steps` calls, after `warmup` calls."""
    for _ in range(warmup):
        step()
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        out.append(steps / (time.perf_counter() - start))
    return sorted(out)


def rates(model, inputs, targets, loss_fn, steps):
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)

    def step():
        loss = loss_fn(model(inputs), targets)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return timed(step, steps)


def gpt_matmul_only_rate(steps=20):
    """Steps/s of the gpt step's matrix multiplies alone (forward and backward)."""
    rows, width = 64 * 32, 128
    ops = []
    for (i, o) in [(width, 3 * width), (width, width), (width, 4 * width), (4 * width, width)]:
        x, w, dy = torch.randn(rows, i), torch.randn(o, i), torch.randn(rows, o)
        # y = x·Wᵀ, dx = dy·W, dW = dyᵀ·x
        ops += [lambda x=x, w=w: x @ w.t(), lambda dy=dy, w=w: dy @ w, lambda dy=dy, x=x: dy.t() @ x]
    q, k = torch.randn(64 * 4, 32, 32), torch.randn(64 * 4, 32, 32)
    ops += [lambda: torch.bmm(q, k.transpose(1, 2))] * 6   # QKᵀ and PV, then four in backward
    ops *= 4   # layers
    x, w, dy = torch.randn(rows, width), torch.randn(16, width), torch.randn(rows, 16)
    ops += [lambda: x @ w.t(), lambda: dy @ w, lambda: dy.t() @ x]   # tied LM head

    def step():
        for f in ops:
            f()

    return timed(step, steps)[2]


def torch_rows(threads):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    rows = []
    vocab, context = 16, 32
    data = torch.randint(0, vocab, (64, context + 1))
    r = rates(TinyGPT(), data[:, :context], data[:, 1:],
              lambda logits, y: F.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1)), 20)
    rows.append({"workload": "gpt", "threads": threads, "steps_per_s": r[2], "min": r[0], "max": r[-1],
                 "matmul_only_steps_per_s": gpt_matmul_only_rate()})
    x, y = torch.randn(128, 784), torch.randint(0, 10, (128,))
    mlp = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    r = rates(mlp, x, y, F.cross_entropy, 200)
    rows.append({"workload": "mlp", "threads": threads, "steps_per_s": r[2], "min": r[0], "max": r[-1]})
    return rows


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else 0.5 * (xs[len(xs) // 2 - 1] + xs[len(xs) // 2])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--binary", default=None, help="superalign release binary (default: search .build*/release)")
    ap.add_argument("--pairs", type=int, default=3,
                    help="alternate Swift and PyTorch this many times; the ratio is taken within each pair")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    blas = blas_info()
    if any(v in os.environ for v in FORCING):
        print(f"bench_train_torch: warning: {blas[0]}", file=sys.stderr)
    if not args.json:
        for line in blas:
            print(f"BLAS: {line}")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    binary = args.binary
    if binary is not None and not os.access(binary, os.X_OK):
        sys.exit(f"--binary {binary}: no executable file there (build it with"
                 " `swift build -c release $(bash Scripts/build-flags.sh)`)")
    if binary is None:
        for scratch in (".build", ".build-test"):
            candidate = os.path.join(root, scratch, "release", "superalign")
            if os.path.exists(candidate):
                binary = candidate
                break
    if not binary:
        print("no superalign release binary found; showing PyTorch only", file=sys.stderr)
    # A shared machine changes speed over minutes, so Swift and PyTorch alternate and each
    # ratio compares measurements taken back to back.
    keys, torch_runs, swift_runs, ratios, floors = [], {}, {}, {}, {}
    for _ in range(max(1, args.pairs)):
        swift = {}
        if binary:
            out = subprocess.run([binary, "bench", "train", "--json", "--threads", args.threads],
                                 check=True, capture_output=True, text=True).stdout
            for row in json.loads(out)["rows"]:
                swift[(row["workload"], row["threads"])] = row["steps_per_s"]
        for t in threads:
            for row in torch_rows(t):
                key = (row["workload"], t)
                if key not in keys:
                    keys.append(key)
                torch_runs.setdefault(key, []).append(row["steps_per_s"])
                if "matmul_only_steps_per_s" in row:
                    floors.setdefault(key, []).append(row["matmul_only_steps_per_s"])
                if key in swift:
                    swift_runs.setdefault(key, []).append(swift[key])
                    ratios.setdefault(key, []).append(swift[key] / row["steps_per_s"])
    table = []
    for key in keys:
        tr, sr, rr = torch_runs[key], swift_runs.get(key, []), ratios.get(key, [])
        table.append({
            "workload": key[0], "threads": key[1],
            "torch_steps_per_s": median(tr), "torch_min": min(tr), "torch_max": max(tr),
            "swift_steps_per_s": median(sr) if sr else None,
            "swift_min": min(sr) if sr else None, "swift_max": max(sr) if sr else None,
            "ratio": median(rr) if rr else None,
            "ratio_min": min(rr) if rr else None, "ratio_max": max(rr) if rr else None,
            "torch_matmul_only_steps_per_s": median(floors[key]) if key in floors else None,
        })
    if args.json:
        print(json.dumps({"torch": torch.__version__, "blas": blas, "pairs": args.pairs, "rows": table}))
        return
    print(f"torch {torch.__version__}; {args.pairs} alternating pairs, each the median of 5 rounds;"
          " median [min–max] over pairs")
    print(f"{'workload':8} {'threads':>7} {'PyTorch steps/s':>24} {'Swift steps/s':>24} {'Swift/PyTorch':>22}")
    for r in table:
        torch_cell = f"{r['torch_steps_per_s']:.1f} [{r['torch_min']:.1f}–{r['torch_max']:.1f}]"
        if r["swift_steps_per_s"] is None:
            swift_cell, ratio = "—", "—"
        else:
            swift_cell = f"{r['swift_steps_per_s']:.1f} [{r['swift_min']:.1f}–{r['swift_max']:.1f}]"
            ratio = f"{r['ratio']:.2f}× [{r['ratio_min']:.2f}–{r['ratio_max']:.2f}]"
        print(f"{r['workload']:8} {r['threads']:>7} {torch_cell:>24} {swift_cell:>24} {ratio:>22}")
    for r in table:
        if r["torch_matmul_only_steps_per_s"]:
            print(f"{r['workload']} with {r['threads']} thread(s): PyTorch's matrix multiplies alone run at"
                  f" {r['torch_matmul_only_steps_per_s']:.1f} steps/s (median over pairs); 1.5× PyTorch's"
                  f" whole step would be {1.5 * r['torch_steps_per_s']:.1f}")


if __name__ == "__main__":
    main()
