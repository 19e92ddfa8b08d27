#!/usr/bin/env bash
# Matrix-multiply speed of the Swift engine against numpy/OpenBLAS on the same machine, in the
# same run: builds the release binary with this CPU's flags, runs `superalign bench kernels
# --json` and Scripts/bench_kernels_numpy.py on identical shapes and thread counts, and prints
# GFLOP/s (median [min … max] over the repetitions) and the Swift/OpenBLAS ratio of medians.
#   bash Scripts/bench_kernels.sh [--threads 1,2] [--repeats 7]
# For numbers worth quoting, run it on an otherwise idle machine.
# The two sides alternate per thread count so slow drifts in machine load hit both alike.
set -euo pipefail
cd "$(dirname "$0")/.."
threads="1,2"; repeats=7
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --repeats) repeats="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
read -r -a flags <<< "$(bash Scripts/build-flags.sh)"
lock=(); if command -v flock >/dev/null; then lock=(flock /tmp/swift-build.lock); fi
# SUPERALIGN_BIN=path skips the build (e.g. a binary already built with the same flags).
bin="${SUPERALIGN_BIN:-}"
if [ -z "$bin" ]; then
  "${lock[@]}" swift build -c release --product superalign "${flags[@]}" >&2
  bin="$(swift build -c release --product superalign "${flags[@]}" --show-bin-path)/superalign"
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
IFS=',' read -r -a tlist <<< "$threads"
for t in "${tlist[@]}"; do
  "$bin" bench kernels --json --threads "$t" --repeats "$repeats" > "$tmp/swift-$t.json"
  python3 Scripts/bench_kernels_numpy.py --threads "$t" --repeats "$repeats" > "$tmp/numpy-$t.json"
done
python3 - "$tmp" <<'PY'
import glob, json, sys
tmp = sys.argv[1]
swift, numpy, attn = {}, {}, []
for f in sorted(glob.glob(f"{tmp}/swift-*.json")):
    for r in json.load(open(f))["rows"]:
        if "gflops" in r: swift[(r["m"], r["k"], r["n"], r["threads"])] = r
        else: attn.append(r)
for f in sorted(glob.glob(f"{tmp}/numpy-*.json")):
    for r in json.load(open(f))["rows"]:
        numpy[(r["m"], r["k"], r["n"], r["threads"])] = r
fmt = lambda r: f"{r['gflops']:6.1f} [{r['gflops_min']:5.1f} … {r['gflops_max']:5.1f}]"
print(f"{'m×k×n':<16}{'thr':>4}   {'Swift GFLOP/s':<24}{'OpenBLAS GFLOP/s':<24}{'ratio':>6}")
for key in sorted(swift, key=lambda k: (k[3], list(swift).index(k))):
    s = swift[key]; n = numpy.get(key)
    shape = f"{key[0]}×{key[1]}×{key[2]}"
    ratio = f"{s['gflops'] / n['gflops']:6.2f}" if n else "   n/a"
    print(f"{shape:<16}{key[3]:>4}   {fmt(s):<24}{fmt(n) if n else 'n/a':<24}{ratio}")
for r in attn:
    print(f"attention {r['phase']:<17} threads {r['threads']}: {r['ms']:.3f} ms [{r['ms_min']:.3f} … {r['ms_max']:.3f}]"
          f" (B={r['batch']}, T={r['seq']}, C={r['width']}, heads={r['heads']})")
PY
