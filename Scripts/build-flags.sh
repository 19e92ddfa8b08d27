#!/usr/bin/env bash
# Prints the swift build flags for this machine's CPU: a -target-cpu for code generation and
# the define that picks the matrix-multiply micro-kernels (see Sources/Tensor).
#   SUPERALIGN_AVX512  x86-64 with AVX-512F (8x32 kernels on SIMD16)
#   SUPERALIGN_AVX2    x86-64 with AVX2 + FMA (6x16 kernels on SIMD8)
#   SUPERALIGN_NEON    arm64 (FMA is always present)
#   (none)             portable baseline, a*b + c without fused multiply-add
# Override with SUPERALIGN_CPU=<llvm cpu name> and SUPERALIGN_ISA=avx512|avx2|neon|baseline.
set -euo pipefail

arch=$(uname -m)
cpu="${SUPERALIGN_CPU:-}"
isa="${SUPERALIGN_ISA:-}"

if [ -z "$isa" ]; then
  case "$arch" in
    x86_64)
      flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
      if [[ " $flags " == *" avx512f "* && " $flags " == *" fma "* ]]; then isa=avx512
      elif [[ " $flags " == *" avx2 "* && " $flags " == *" fma "* ]]; then isa=avx2
      else isa=baseline; fi ;;
    aarch64|arm64) isa=neon ;;
    *) isa=baseline ;;
  esac
fi

if [ -z "$cpu" ]; then
  # The compiler's own name for this CPU when gcc knows it; otherwise a safe family name.
  native=$(gcc -march=native -Q --help=target 2>/dev/null | awk '$1=="-march=" {print $2; exit}' || true)
  case "$native" in
    znver4|znver5|sapphirerapids|emeraldrapids|graniterapids|icelake-server|icelake-client|tigerlake|cascadelake|cooperlake|skylake-avx512|rocketlake|znver3|znver2|znver1|haswell|broadwell|skylake|alderlake|raptorlake)
      cpu="$native" ;;
    *)
      case "$isa" in
        avx512) cpu=skylake-avx512 ;;
        avx2) cpu=haswell ;;
        *) cpu="" ;;
      esac ;;
  esac
fi

out=()
if [ -n "$cpu" ]; then out+=(-Xswiftc -target-cpu -Xswiftc "$cpu"); fi
case "$isa" in
  avx512) out+=(-Xswiftc -DSUPERALIGN_AVX512 -Xswiftc -DSUPERALIGN_FMA) ;;
  avx2) out+=(-Xswiftc -DSUPERALIGN_AVX2 -Xswiftc -DSUPERALIGN_FMA) ;;
  neon) out+=(-Xswiftc -DSUPERALIGN_NEON -Xswiftc -DSUPERALIGN_FMA) ;;
esac
echo "${out[@]}"
