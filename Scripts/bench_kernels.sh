#!/usr/bin/env bash
# Matrix-multiply speed of the Swift engine against numpy/OpenBLAS on the same machine, in the
# same run: builds the release binary with this CPU's flags, runs `superalign bench kernels
# --json` and Scripts/bench_kernels_numpy.py on identical shapes and thread counts, and prints
# GFLOP/s and the Swift/OpenBLAS ratio.
#   bash Scripts/bench_kernels.sh [--threads 1,2] [--repeats 7] [--pairs 3]
# The two sides alternate (Swift, then numpy, per thread count) `--pairs` times, and each ratio
# is taken within one pair, because a shared machine's speed drifts over minutes. Printed: the
# median over pairs of each side's median GFLOP/s [min … max over pairs], and the median ratio
# [min … max]. For numbers worth quoting, run it on an otherwise idle machine.
# numpy runs without OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, so OpenBLAS picks its own kernels
# for this CPU; the table's first lines say which (through threadpoolctl, when installed) and
# which -target-cpu the Swift side was built for.
set -euo pipefail
cd "$(dirname "$0")/.."
threads="1,2"; repeats=7; pairs=3
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --repeats) repeats="$2"; shift 2 ;;
    --pairs) pairs="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
flag_line=$(bash Scripts/build-flags.sh)   # its own line, so that an error stops here
read -r -a flags <<< "$flag_line"
lock=(); if command -v flock >/dev/null; then lock=(flock /tmp/swift-build.lock); fi
# SUPERALIGN_BIN=path skips the build (e.g. a binary already built with the same flags).
bin="${SUPERALIGN_BIN:-}"
if [ -z "$bin" ]; then
  "${lock[@]}" swift build -c release --product superalign "${flags[@]}" >&2
  bin="$(swift build -c release --product superalign "${flags[@]}" --show-bin-path)/superalign"
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
IFS=',' read -r -a tlist <<< "$threads"
for p in $(seq 1 "$pairs"); do
  for t in "${tlist[@]}"; do
    "$bin" bench kernels --json --threads "$t" --repeats "$repeats" > "$tmp/swift-$t-$p.json"
    # Unset for numpy only: OPENBLAS_CORETYPE=Haswell (a safety setting for old OpenBLAS builds)
    # would hold OpenBLAS to its AVX2 kernels on an AVX-512 machine, an unfair baseline.
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
      python3 Scripts/bench_kernels_numpy.py --threads "$t" --repeats "$repeats" > "$tmp/numpy-$t-$p.json"
  done
done
if [ -n "${SUPERALIGN_BIN:-}" ]; then
  echo "Swift: $bin (SUPERALIGN_BIN; build-flags.sh here says: $flag_line)"
else
  echo "Swift built with: $flag_line"
fi
python3 - "$tmp" <<'PY'
import glob, json, re, sys
tmp = sys.argv[1]
def med(xs):
    xs = sorted(xs); n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])
swift, numpy, attn, order = {}, {}, {}, []
for f in sorted(glob.glob(f"{tmp}/swift-*.json")):
    pair = int(re.search(r"-(\d+)\.json$", f).group(1))
    for r in json.load(open(f))["rows"]:
        if "gflops" in r:
            key = (r["m"], r["k"], r["n"], r["threads"])
            if key not in order: order.append(key)
            swift.setdefault(key, {})[pair] = r["gflops"]
        else:
            attn.setdefault((r["phase"], r["threads"], r["batch"], r["seq"], r["width"], r["heads"]), []).append(r["ms"])
blas = None
for f in sorted(glob.glob(f"{tmp}/numpy-*.json")):
    pair = int(re.search(r"-(\d+)\.json$", f).group(1))
    doc = json.load(open(f))
    if blas is None:
        blas = doc.get("blas", [])
        for line in blas:
            print(f"numpy BLAS: {line}")
    for r in doc["rows"]:
        numpy.setdefault((r["m"], r["k"], r["n"], r["threads"]), {})[pair] = r["gflops"]
cell = lambda v: f"{med(v):6.1f} [{min(v):5.1f} … {max(v):5.1f}]"
print(f"{'m×k×n':<16}{'thr':>4}   {'Swift GFLOP/s':<24}{'OpenBLAS GFLOP/s':<24}{'ratio':>22}")
for key in sorted(order, key=lambda k: (k[3], order.index(k))):
    s = swift[key]; n = numpy.get(key, {})
    ratios = [s[p] / n[p] for p in s if p in n]
    shape = f"{key[0]}×{key[1]}×{key[2]}"
    ratio = f"{med(ratios):6.2f} [{min(ratios):.2f} … {max(ratios):.2f}]" if ratios else "   n/a"
    print(f"{shape:<16}{key[3]:>4}   {cell(list(s.values())):<24}{cell(list(n.values())) if n else 'n/a':<24}{ratio:>22}")
for (phase, t, b, seq, c, h), ms in attn.items():
    print(f"attention {phase:<17} threads {t}: {med(ms):.3f} ms [{min(ms):.3f} … {max(ms):.3f}] over pairs"
          f" (B={b}, T={seq}, C={c}, heads={h})")
PY
