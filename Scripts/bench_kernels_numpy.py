#!/usr/bin/env python3
"""numpy (OpenBLAS) side of `Scripts/bench_kernels.sh`: GFLOP/s of the same matrix shapes.

Usage: python3 Scripts/bench_kernels_numpy.py [--threads 1,2] [--repeats 7] [--shapes 512x512x512,...]
       python3 Scripts/bench_kernels_numpy.py --blas-info
Prints one JSON document {"rows": [{"m","k","n","threads","gflops","gflops_min","gflops_max"}, ...],
"blas": [lines]}; "blas" (and --blas-info, which measures nothing) says which BLAS numpy runs and,
for OpenBLAS, which kernel set it picked for this CPU ("architecture", e.g. SkylakeX or Zen), as
threadpoolctl reports it, or that threadpoolctl is not installed.

Thread counts: with threadpoolctl installed it limits OpenBLAS in-process; otherwise each thread
count runs in a child process started with OPENBLAS_NUM_THREADS set (OpenBLAS reads it once at
load). OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed from the child's environment so
OpenBLAS picks its own kernels for this CPU. In-process (with threadpoolctl) they cannot be
removed once OpenBLAS is loaded, so run it with them unset, as Scripts/bench_kernels.sh does:
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 Scripts/bench_kernels_numpy.py
(OPENBLAS_CORETYPE=Haswell, a safety setting for old OpenBLAS builds, holds an AVX-512 machine to
OpenBLAS's AVX2 kernels; an unfair baseline.) It warns on stderr when they are set.
"""
import json
import os
import subprocess
import sys
import time

STANDARD = [(256, 256, 256), (512, 512, 512), (1024, 1024, 1024), (2048, 128, 384), (2048, 512, 128),
            (128, 784, 256), (2048, 128, 16), (128, 256, 10)]


def parse(argv):
    opts = {"threads": [1, 2], "repeats": 7, "shapes": STANDARD, "child": False, "blas_info": False}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--threads":
            opts["threads"] = [int(x) for x in argv[i + 1].split(",")]; i += 1
        elif a == "--repeats":
            opts["repeats"] = int(argv[i + 1]); i += 1
        elif a == "--shapes":
            opts["shapes"] = [tuple(int(v) for v in s.split("x")) for s in argv[i + 1].split(",")]; i += 1
        elif a == "--child":
            opts["child"] = True
        elif a == "--blas-info":
            opts["blas_info"] = True
        elif a in ("-h", "--help"):
            print(__doc__.strip())
            sys.exit(0)
        else:
            sys.exit(f"unknown option {a} (see --help)")
        i += 1
    return opts


FORCING = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def blas_info():
    """Lines saying which BLAS library numpy runs and, for OpenBLAS, which kernels it picked."""
    import numpy  # noqa: F401  (loads the BLAS library that threadpoolctl inspects)
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        # Then the measurements run in child processes without FORCING's variables.
        return ["threadpoolctl is not installed (pip install threadpoolctl): cannot tell which"
                " BLAS library and kernels numpy uses"]
    lines = [f"{var}={os.environ[var]} is set: it overrides OpenBLAS's own choice for this CPU"
             for var in FORCING if var in os.environ]
    libs = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    if not libs:
        lines.append("threadpoolctl finds no BLAS library loaded by numpy")
    for i in libs:
        lines.append(f"{i.get('internal_api')} {i.get('version')}, kernels: {i.get('architecture') or 'n/a'},"
                     f" threads: {i.get('num_threads')} ({i.get('filepath')})")
    return lines


def measure(shapes, threads, repeats, min_seconds=0.05):
    import numpy as np
    rng = np.random.default_rng(1)
    rows = []
    for m, k, n in shapes:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        c = np.empty((m, n), dtype=np.float32)
        np.matmul(a, b, out=c)  # warm-up
        rates = []
        for _ in range(repeats):
            calls, t0 = 0, time.perf_counter()
            while True:
                np.matmul(a, b, out=c)
                calls += 1
                el = time.perf_counter() - t0
                if el >= min_seconds:
                    break
            rates.append(2.0 * m * n * k / (el / calls) / 1e9)
        rates.sort()
        rows.append({"m": m, "k": k, "n": n, "threads": threads, "gflops": rates[len(rates) // 2],
                     "gflops_min": rates[0], "gflops_max": rates[-1]})
    return rows


def main():
    opts = parse(sys.argv[1:])
    if opts["child"]:
        print(json.dumps(measure(opts["shapes"], opts["threads"][0], opts["repeats"])))
        return
    if opts["blas_info"]:
        print("\n".join(f"numpy BLAS: {line}" for line in blas_info()))
        return
    blas = blas_info()
    rows = []
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    forced = [v for v in FORCING if v in os.environ]
    if threadpool_limits is not None and forced:
        print(f"bench_kernels_numpy: warning: {', '.join(f'{v}={os.environ[v]}' for v in forced)} set:"
              " OpenBLAS runs the kernels it names, not its own choice for this CPU; run with"
              f" `env {' '.join('-u ' + v for v in FORCING)} python3 ...` for a fair baseline", file=sys.stderr)
    for t in opts["threads"]:
        if threadpool_limits is not None:
            with threadpool_limits(limits=t, user_api="blas"):
                rows += measure(opts["shapes"], t, opts["repeats"])
            continue
        env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
        env["OPENBLAS_NUM_THREADS"] = str(t)
        shapes = ",".join(f"{m}x{k}x{n}" for m, k, n in opts["shapes"])
        out = subprocess.run([sys.executable, __file__, "--child", "--threads", str(t), "--repeats",
                              str(opts["repeats"]), "--shapes", shapes], env=env, check=True,
                             capture_output=True, text=True).stdout
        rows += json.loads(out)
    print(json.dumps({"benchmark": "numpy-kernels", "blas": blas, "rows": rows}))


if __name__ == "__main__":
    main()
