#!/usr/bin/env bash
# Prints the swift build flags for this machine's CPU on one line: a -target-cpu for code
# generation (for the generic levels x86-64-v3/v4, `-Xcc -march=` instead, since swiftc's
# -target-cpu rejects them), the define that picks the matrix-multiply micro-kernels (see
# Sources/Tensor), and a define naming the target so the binary can report what it was built for.
#   SUPERALIGN_AVX512  x86-64 with AVX-512 F/BW/DQ/VL + FMA (8x32 kernels on SIMD16)
#   SUPERALIGN_AVX2    x86-64 with AVX2 + FMA (6x16 kernels on SIMD8)
#   SUPERALIGN_NEON    arm64 (FMA is always present)
#   (none)             portable baseline, a*b + c without fused multiply-add
#   SUPERALIGN_TARGET_<cpu>  the -target-cpu with '-' and '.' as '_' (e.g. SUPERALIGN_TARGET_znver5,
#                      SUPERALIGN_TARGET_x86_64_v4); absent when no -target-cpu is passed (arm64
#                      on a CPU missing from the table below: the compiler's default)
# e.g. `-Xswiftc -target-cpu -Xswiftc znver5 -Xswiftc -DSUPERALIGN_AVX512 -Xswiftc -DSUPERALIGN_FMA
#       -Xswiftc -DSUPERALIGN_TARGET_znver5`
#
# The kernels are chosen from /proc/cpuinfo's flags. The target CPU is the one the Swift
# toolchain's own clang (same LLVM as swiftc) picks for -march=native, never gcc's (Debian's gcc
# 12 calls Zen 4/5 "znver3", which has no AVX-512). The CPU must be in the table below and have
# every feature the kernels assume; when clang does not know the CPU (an older LLVM than the
# CPU), names one with fewer features, or names one the table lacks, this prints a warning on
# stderr and uses the generic level instead: x86-64-v4 for avx512, x86-64-v3 for avx2, x86-64
# for the baseline. Never a named CPU with fewer features than the kernels need.
#
# Overrides:
#   SUPERALIGN_ISA=avx512|avx2|neon|baseline  the kernels, instead of /proc/cpuinfo's answer
#   SUPERALIGN_CPU=<llvm cpu name>  the target CPU; an error when the table knows it lacks the
#                      kernels' features or the compiler does not know it
# Injected inputs, for tests on recorded machines (Scripts/tests/build-flags-test.sh):
#   SUPERALIGN_CPUINFO=FILE  a recorded /proc/cpuinfo, its "flags : ..." line, or a bare list of
#                      flags (x86-64 only; arm64 needs none)
#   SUPERALIGN_ARCH=x86_64|aarch64  instead of `uname -m`
#   SUPERALIGN_CLANG=PATH  the clang to ask (an executable; tests pass a script that prints a
#                      recorded `-###` answer and supported-CPU list), instead of the clang next
#                      to `swift`, else `clang` on PATH
# `bash Scripts/build-flags.sh --list-cpus` prints the table ("name kernels" per line).
set -euo pipefail

# The CPUs this script names as targets, with the widest kernels each one can run: every avx512
# CPU has AVX-512 F/BW/DQ/VL, AVX2 and FMA (and runs the avx2 kernels too); every avx2 CPU has
# AVX2 and FMA but no AVX-512; base is plain x86-64; neon is arm64. Adding a CPU here also needs
# its SUPERALIGN_TARGET_ define on the Swift side. build-flags-test.sh checks the table against
# the installed clang's own feature macros.
TABLE="
x86-64-v4 avx512
skylake-avx512 avx512
cascadelake avx512
cooperlake avx512
cannonlake avx512
icelake-client avx512
icelake-server avx512
tigerlake avx512
rocketlake avx512
sapphirerapids avx512
emeraldrapids avx512
graniterapids avx512
graniterapids-d avx512
diamondrapids avx512
znver4 avx512
znver5 avx512
x86-64-v3 avx2
haswell avx2
broadwell avx2
skylake avx2
alderlake avx2
raptorlake avx2
meteorlake avx2
arrowlake avx2
arrowlake-s avx2
lunarlake avx2
pantherlake avx2
gracemont avx2
sierraforest avx2
grandridge avx2
clearwaterforest avx2
znver1 avx2
znver2 avx2
znver3 avx2
x86-64 base
neoverse-n1 neon
neoverse-n2 neon
neoverse-n3 neon
neoverse-v1 neon
neoverse-v2 neon
neoverse-v3 neon
grace neon
cortex-a72 neon
cortex-a76 neon
ampere1 neon
ampere1a neon
ampere1b neon
apple-m1 neon
apple-m2 neon
apple-m3 neon
apple-m4 neon
"

warn() { echo "build-flags: warning: $*" >&2; }
die() { echo "build-flags: error: $*" >&2; exit 1; }

if [ "${1:-}" = "--list-cpus" ]; then
  echo "$TABLE" | awk 'NF == 2'
  exit 0
elif [ $# -gt 0 ]; then
  die "unknown argument $1 (the only option is --list-cpus; see the header of $0)"
fi

# The table's kernels for a CPU name: avx512, avx2, base, neon, or unknown.
cpu_class() {
  local name class
  while read -r name class; do
    if [ "$name" = "$1" ]; then echo "$class"; return; fi
  done <<< "$TABLE"
  echo unknown
}
# Rank of a class or kernel set on x86-64: what it can run.
rank() {
  case "$1" in avx512) echo 2 ;; avx2) echo 1 ;; *) echo 0 ;; esac
}
isa_features() {
  case "$1" in avx512) echo "AVX-512 (F, BW, DQ, VL)" ;; avx2) echo "AVX2 and FMA" ;; *) echo "nothing" ;; esac
}

# --- the machine -------------------------------------------------------------------------------
arch="${SUPERALIGN_ARCH:-$(uname -m)}"
case "$arch" in
  x86_64|amd64) arch=x86_64 ;;
  aarch64|arm64) arch=aarch64 ;;
esac

flags=""
if [ "$arch" = x86_64 ]; then
  if [ -n "${SUPERALIGN_CPUINFO:-}" ]; then
    [ -r "$SUPERALIGN_CPUINFO" ] || die "SUPERALIGN_CPUINFO=$SUPERALIGN_CPUINFO: no readable file there"
    flags=$(grep -m1 '^flags' "$SUPERALIGN_CPUINFO" || true)
    if [ -z "$flags" ]; then flags=$(tr '\n' ' ' < "$SUPERALIGN_CPUINFO"); fi   # a bare flag list
  else
    flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
  fi
  flags="${flags#*:}"
fi
read -r -a flag_list <<< "$flags"
flags=" ${flag_list[*]-} "   # one space between flags and one at each end, for has()
has() {
  local f
  for f in "$@"; do [[ "$flags" == *" $f "* ]] || return 1; done
}
# Everything the generic levels assume (lzcnt is "abm" in /proc/cpuinfo); checked before falling
# back to one of them.
V3_FLAGS="avx avx2 bmi1 bmi2 f16c fma abm movbe xsave"
V4_FLAGS="$V3_FLAGS avx512f avx512bw avx512cd avx512dq avx512vl"

machine=""   # what this machine can run, from /proc/cpuinfo; empty when unknown
if [ "$arch" = x86_64 ] && [ "$flags" != "  " ]; then
  if has avx512f avx512bw avx512dq avx512vl fma; then machine=avx512
  elif has avx2 fma; then machine=avx2
  else machine=base; fi
fi

isa_auto=yes
isa="${SUPERALIGN_ISA:-}"
if [ -n "$isa" ]; then
  isa_auto=no
else
  case "$arch" in
    x86_64)
      case "$machine" in avx512) isa=avx512 ;; avx2) isa=avx2 ;; *) isa=baseline ;; esac ;;
    aarch64) isa=neon ;;
    *) isa=baseline ;;
  esac
fi
case "$isa" in
  avx512|avx2) [ "$arch" = x86_64 ] || die "SUPERALIGN_ISA=$isa needs an x86_64 machine (this is $arch)" ;;
  neon) [ "$arch" = aarch64 ] || die "SUPERALIGN_ISA=neon needs an arm64 machine (this is $arch)" ;;
  baseline) ;;
  *) die "SUPERALIGN_ISA=$isa: not one of avx512, avx2, neon, baseline" ;;
esac
if [ "$isa_auto" = no ] && [ -n "$machine" ] && [ "$(rank "$isa")" -gt "$(rank "$machine")" ]; then
  warn "SUPERALIGN_ISA=$isa, but /proc/cpuinfo lacks $(isa_features "$isa"): the binary will not run on this machine"
fi

# --- the compiler ------------------------------------------------------------------------------
clang=""
if [ -n "${SUPERALIGN_CLANG:-}" ]; then
  clang="$SUPERALIGN_CLANG"
else
  swift_path=$(command -v swift 2>/dev/null || true)
  if [ -n "$swift_path" ]; then
    swift_dir=$(dirname "$(readlink -f "$swift_path" 2>/dev/null || echo "$swift_path")")
    if [ -x "$swift_dir/clang" ]; then clang="$swift_dir/clang"; fi
  fi
  if [ -z "$clang" ]; then clang=$(command -v clang 2>/dev/null || true); fi
fi
clang_problem=""
if [ -z "$clang" ]; then
  clang_problem="no clang next to swift or on PATH to ask for this CPU's name"
elif ! [ -x "$clang" ] && ! command -v "$clang" >/dev/null 2>&1; then
  clang_problem="clang $clang is not an executable"
  clang=""
fi

native=""
supported=""
case "$arch" in
  x86_64) triple=x86_64-unknown-linux-gnu; native_flag=-march=native ;;
  aarch64) triple=aarch64-unknown-linux-gnu; native_flag=-mcpu=native ;;
  *) triple=""; native_flag="" ;;
esac
if [ -n "$clang" ] && [ -n "$triple" ]; then
  answer=$("$clang" "$native_flag" -### -x c /dev/null -c -o /dev/null 2>&1 || true)
  native=$(printf '%s\n' "$answer" | grep -o '"-target-cpu" "[^"]*"' | head -n 1 | sed 's/^"-target-cpu" "//; s/"$//' || true)
  # One CPU a line, each indented with a tab; -mcpu=help on compilers without -print-supported-cpus.
  list_cpus() {
    "$clang" --target="$triple" "$@" 2>&1 | awk '/^\t[^ \t]/ {print $1}' || true
  }
  supported=$(list_cpus -print-supported-cpus)
  if [ -z "$supported" ]; then supported=$(list_cpus -mcpu=help); fi
fi
# Whether the compiler lists a CPU; yes when its list could not be read (the check is skipped).
compiler_knows() {
  [ -z "$supported" ] || grep -qxF -- "$1" <<< "$supported"
}

# --- the target CPU ----------------------------------------------------------------------------
cpu=""
need=$(rank "$isa")
if [ -n "${SUPERALIGN_CPU:-}" ]; then
  cpu="$SUPERALIGN_CPU"
  [[ "$cpu" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || die "SUPERALIGN_CPU=$cpu: not a CPU name"
  if [ -n "$clang" ] && ! compiler_knows "$cpu"; then
    die "SUPERALIGN_CPU=$cpu: not a CPU that $clang knows for $triple (see \`$clang --target=$triple -print-supported-cpus\`)"
  fi
  class=$(cpu_class "$cpu")
  case "$class" in
    unknown)
      warn "SUPERALIGN_CPU=$cpu is not in build-flags.sh's table: not checked for $(isa_features "$isa")" ;;
    neon)
      [ "$arch" = aarch64 ] || die "SUPERALIGN_CPU=$cpu is an arm64 CPU; this is $arch" ;;
    *)
      [ "$arch" = x86_64 ] || die "SUPERALIGN_CPU=$cpu is an x86-64 CPU; this is $arch"
      if [ "$(rank "$class")" -lt "$need" ]; then
        case "$class" in avx2) fits=avx2 ;; *) fits=baseline ;; esac
        die "SUPERALIGN_CPU=$cpu lacks $(isa_features "$isa"), which the $isa kernels assume (their vectors would compile to several narrower instructions each, several times slower): pick a CPU that has them (e.g. $(case "$isa" in avx512) echo x86-64-v4 ;; *) echo x86-64-v3 ;; esac)), or set SUPERALIGN_ISA=$fits"
      fi ;;
  esac
elif [ "$arch" = x86_64 ]; then
  case "$isa" in avx512) generic=x86-64-v4 ;; avx2) generic=x86-64-v3 ;; *) generic=x86-64 ;; esac
  class=$(cpu_class "$native")
  problem="$clang_problem"
  if [ -n "$problem" ]; then :
  elif [ -z "$native" ]; then problem="$clang printed no -target-cpu for $native_flag"
  elif [ "$native" = x86-64 ] || [ "$native" = x86-64-v2 ] || [ "$native" = generic ]; then
    problem="$clang does not know this CPU (it answers $native for $native_flag)"
  elif ! compiler_knows "$native"; then
    problem="$clang answers $native for $native_flag, which is not in its own list of supported CPUs"
  elif [ "$class" = unknown ]; then
    problem="$clang answers $native, which is not in build-flags.sh's table of CPUs (add it there and on the Swift side)"
  elif [ "$(rank "$class")" -lt "$need" ] && [ "$isa_auto" = yes ]; then
    problem="$clang answers $native, which lacks the $(isa_features "$isa") that /proc/cpuinfo reports (a compiler older than this CPU?)"
  elif [ "$(rank "$class")" -lt "$need" ]; then
    problem="$clang answers $native, which lacks the $(isa_features "$isa") that SUPERALIGN_ISA=$isa needs"
  elif [ -n "$machine" ] && [ "$(rank "$class")" -gt "$(rank "$machine")" ]; then
    problem="$clang answers $native, but /proc/cpuinfo lacks its $(isa_features "$class") (turned off by a hypervisor?)"
  fi
  if [ -z "$problem" ]; then
    cpu="$native"
  else
    cpu="$generic"
    # An x86-64-vN the machine cannot fully run (a hypervisor hiding some flags): fall back to a
    # level it can, with the kernels that level supports. Only when the kernels were not forced.
    if [ "$isa_auto" = yes ] && [ "$cpu" = x86-64-v4 ] && ! has $V4_FLAGS; then
      if has $V3_FLAGS; then
        warn "/proc/cpuinfo lacks some of x86-64-v4's flags ($V4_FLAGS); using the avx2 kernels"
        isa=avx2; cpu=x86-64-v3
      else
        warn "/proc/cpuinfo lacks some of x86-64-v3's flags ($V3_FLAGS); using the baseline kernels"
        isa=baseline; cpu=x86-64
      fi
    elif [ "$isa_auto" = yes ] && [ "$cpu" = x86-64-v3 ] && ! has $V3_FLAGS; then
      warn "/proc/cpuinfo lacks some of x86-64-v3's flags ($V3_FLAGS); using the baseline kernels"
      isa=baseline; cpu=x86-64
    fi
    # The baseline kernels assume nothing: plain x86-64 needs no warning.
    if [ "$isa" != baseline ]; then warn "$problem; using $cpu"; fi
  fi
elif [ "$arch" = aarch64 ]; then
  # Every arm64 CPU has NEON and FMA: pass clang's name when the table knows it, else nothing
  # (the compiler's default, as before).
  if [ -n "$native" ] && [ "$(cpu_class "$native")" = neon ] && compiler_knows "$native"; then
    cpu="$native"
  fi
fi

out=()
case "$cpu" in
  "") ;;
  # swiftc's -target-cpu also sets the tuning CPU, and the generic levels are not tuning CPUs:
  # `-target-cpu x86-64-v4` fails ("unknown target CPU"). Through clang's -march they give the
  # same code as a named CPU of that level.
  x86-64-v2|x86-64-v3|x86-64-v4) out+=(-Xswiftc -Xcc -Xswiftc "-march=$cpu") ;;
  *) out+=(-Xswiftc -target-cpu -Xswiftc "$cpu") ;;
esac
case "$isa" in
  avx512) out+=(-Xswiftc -DSUPERALIGN_AVX512 -Xswiftc -DSUPERALIGN_FMA) ;;
  avx2) out+=(-Xswiftc -DSUPERALIGN_AVX2 -Xswiftc -DSUPERALIGN_FMA) ;;
  neon) out+=(-Xswiftc -DSUPERALIGN_NEON -Xswiftc -DSUPERALIGN_FMA) ;;
esac
if [ -n "$cpu" ]; then out+=(-Xswiftc "-DSUPERALIGN_TARGET_${cpu//[-.]/_}"); fi
echo ${out[@]+"${out[@]}"}
