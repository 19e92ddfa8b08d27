#!/usr/bin/env bash
# Tests Scripts/build-flags.sh on recorded machines: /proc/cpuinfo flags and the answers of the
# Swift toolchain's clang (`-march=native -###` and the supported-CPU list) from
# Scripts/tests/fixtures/build-flags/, injected through SUPERALIGN_CPUINFO, SUPERALIGN_ARCH and
# SUPERALIGN_CLANG (a stand-in clang that prints the recorded answers). Each case checks the exact
# output line, the exit status and whether a warning was printed. Then it checks the script's CPU
# table against the installed clang's own feature macros, and runs the script on this machine.
#   bash Scripts/tests/build-flags-test.sh
# Prints one line per case and "build-flags: N passed, M failed"; exits 1 on any failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
script=Scripts/build-flags.sh
fx=Scripts/tests/fixtures/build-flags
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# The stand-in clang: the recorded supported-CPU list for -print-supported-cpus / -mcpu=help
# (FAKE_CPUS), the recorded `-###` answer on stderr for anything with -### (FAKE_NATIVE).
# FAKE_NO_PRINT_SUPPORTED=1 plays a compiler that only knows -mcpu=help.
cat > "$tmp/clang" <<'EOF'
#!/usr/bin/env bash
for a in "$@"; do
  case "$a" in
    -print-supported-cpus)
      if [ "${FAKE_NO_PRINT_SUPPORTED:-}" = 1 ]; then
        echo "clang: error: unknown argument: '-print-supported-cpus'" >&2; exit 1
      fi
      cat "$FAKE_CPUS"; exit 0 ;;
    -mcpu=help) cat "$FAKE_CPUS"; exit 0 ;;
    -###) cat "$FAKE_NATIVE" >&2; exit 0 ;;
  esac
done
echo "fake clang: unexpected arguments: $*" >&2
exit 1
EOF
chmod +x "$tmp/clang"

passed=0; failed=0
pass() { passed=$((passed + 1)); echo "ok    $1"; }
fail() { failed=$((failed + 1)); echo "FAIL  $1"; shift; for line in "$@"; do echo "      $line"; done; }

# X86 FLAGS CPU: the expected line for a named target (-target-cpu) or a generic level (-march).
target() {
  case "$1" in
    x86-64-v*) echo "-Xswiftc -Xcc -Xswiftc -march=$1" ;;
    *) echo "-Xswiftc -target-cpu -Xswiftc $1" ;;
  esac
}
define() { local n="${1//-/_}"; echo "-Xswiftc -DSUPERALIGN_TARGET_${n//./_}"; }
AVX512="-Xswiftc -DSUPERALIGN_AVX512 -Xswiftc -DSUPERALIGN_FMA"
AVX2="-Xswiftc -DSUPERALIGN_AVX2 -Xswiftc -DSUPERALIGN_FMA"
NEON="-Xswiftc -DSUPERALIGN_NEON -Xswiftc -DSUPERALIGN_FMA"
line() { echo "$(target "$1") $2 $(define "$1")"; }   # CPU, ISA defines

# check NAME RC EXPECTED_STDOUT WARNING(yes|no) [VAR=VALUE...]: run build-flags.sh with only the
# given SUPERALIGN_*/FAKE_* variables set and compare.
check() {
  local name="$1" want_rc="$2" want_out="$3" want_warn="$4"; shift 4
  local rc=0 out err warned=no
  env -u SUPERALIGN_CPU -u SUPERALIGN_ISA -u SUPERALIGN_CPUINFO -u SUPERALIGN_ARCH -u SUPERALIGN_CLANG \
    "$@" bash "$script" > "$tmp/out" 2> "$tmp/err" || rc=$?
  out=$(cat "$tmp/out"); err=$(cat "$tmp/err")
  if grep -q '^build-flags: warning: ' "$tmp/err"; then warned=yes; fi
  local problems=()
  [ "$rc" = "$want_rc" ] || problems+=("exit status $rc, expected $want_rc")
  [ "$out" = "$want_out" ] || problems+=("stdout:   '$out'" "expected: '$want_out'")
  [ "$warned" = "$want_warn" ] || problems+=("warning printed: $warned, expected $want_warn")
  if [ "$want_rc" != 0 ] && ! grep -q '^build-flags: error: ' "$tmp/err"; then
    problems+=("no 'build-flags: error:' message")
  fi
  if [ "$want_rc" = 0 ] && grep -q '^build-flags: error: ' "$tmp/err"; then
    problems+=("an error message on success")
  fi
  if [ ${#problems[@]} -eq 0 ]; then
    pass "$name"
  else
    fail "$name" "${problems[@]}" ${err:+"stderr: $err"}
  fi
}

# x86 CPUINFO NATIVE CPUS: the variables (in array M) for an x86-64 machine with these recordings.
x86() {
  M=(SUPERALIGN_ARCH=x86_64 "SUPERALIGN_CLANG=$tmp/clang" "SUPERALIGN_CPUINFO=$fx/$1"
     "FAKE_NATIVE=$fx/$2" "FAKE_CPUS=$fx/$3")
}
x86 flags-zen3-epyc7763.txt native-clang21-znver3.txt cpus-clang21-x86_64.txt
check "Zen 3 (avx2; clang says znver3)" 0 "$(line znver3 "$AVX2")" no \
  "${M[@]}"
x86 flags-zen4-epyc9654.txt native-clang21-znver4.txt cpus-clang21-x86_64.txt
check "Zen 4 (avx512; clang says znver4)" 0 "$(line znver4 "$AVX512")" no \
  "${M[@]}"
x86 cpuinfo-zen5-epyc.txt native-clang21-znver5.txt cpus-clang21-x86_64.txt
check "Zen 5, new clang (znver5; a whole recorded /proc/cpuinfo)" 0 "$(line znver5 "$AVX512")" no \
  "${M[@]}"
x86 cpuinfo-zen5-epyc.txt native-clang15-znver3.txt cpus-clang15-x86_64.txt
check "Zen 5, old compiler says znver3 -> x86-64-v4 + warning" 0 "$(line x86-64-v4 "$AVX512")" yes \
  "${M[@]}" FAKE_NO_PRINT_SUPPORTED=1
x86 flags-cascadelake-xeon8259cl.txt native-clang21-cascadelake.txt cpus-clang21-x86_64.txt
check "Cascade Lake (cascadelake)" 0 "$(line cascadelake "$AVX512")" no \
  "${M[@]}"
x86 flags-sapphirerapids-xeon8488c.txt native-clang21-sapphirerapids.txt cpus-clang21-x86_64.txt
check "Sapphire Rapids (sapphirerapids)" 0 "$(line sapphirerapids "$AVX512")" no \
  "${M[@]}"
x86 flags-haswell-xeon-e5-2676v3.txt native-clang21-haswell.txt cpus-clang21-x86_64.txt
check "Haswell (haswell, avx2)" 0 "$(line haswell "$AVX2")" no \
  "${M[@]}"
check "arm64 Neoverse N1 (neon; clang says neoverse-n1)" 0 "$(line neoverse-n1 "$NEON")" no \
  SUPERALIGN_ARCH=aarch64 "SUPERALIGN_CLANG=$tmp/clang" "SUPERALIGN_CPUINFO=$fx/cpuinfo-arm64-neoverse-n1.txt" \
  "FAKE_NATIVE=$fx/native-clang21-aarch64-neoverse-n1.txt" "FAKE_CPUS=$fx/cpus-clang21-aarch64.txt"
check "arm64, clang says generic (no -target-cpu, as before)" 0 "$NEON" no \
  SUPERALIGN_ARCH=aarch64 "SUPERALIGN_CLANG=$tmp/clang" \
  "FAKE_NATIVE=$fx/native-clang21-aarch64-generic.txt" "FAKE_CPUS=$fx/cpus-clang21-aarch64.txt"
x86 flags-unknown-avx512-bare.txt native-clang21-x86-64.txt cpus-clang21-x86_64.txt
check "x86 CPU no compiler knows (x86-64), avx512 flags -> x86-64-v4 + warning" 0 "$(line x86-64-v4 "$AVX512")" yes \
  "${M[@]}"
x86 flags-haswell-xeon-e5-2676v3.txt native-clang21-x86-64.txt cpus-clang21-x86_64.txt
check "x86 CPU no compiler knows (x86-64), avx2 flags -> x86-64-v3 + warning" 0 "$(line x86-64-v3 "$AVX2")" yes \
  "${M[@]}"
x86 flags-westmere-no-avx.txt native-clang21-westmere.txt cpus-clang21-x86_64.txt
check "no AVX at all (baseline, x86-64)" 0 "$(target x86-64) $(define x86-64)" no \
  "${M[@]}"
check "no clang at all, Zen 4 flags -> x86-64-v4 + warning" 0 "$(line x86-64-v4 "$AVX512")" yes \
  SUPERALIGN_ARCH=x86_64 SUPERALIGN_CLANG=/nonexistent/clang "SUPERALIGN_CPUINFO=$fx/flags-zen4-epyc9654.txt"
x86 cpuinfo-zen5-epyc.txt native-future-znver6.txt cpus-future-x86_64.txt
check "clang names a CPU missing from the table (znver6) -> x86-64-v4 + warning" 0 "$(line x86-64-v4 "$AVX512")" yes \
  "${M[@]}"
x86 flags-zen4-avx512-hidden.txt native-clang21-znver4.txt cpus-clang21-x86_64.txt
check "hypervisor hides AVX-512, clang says znver4 -> x86-64-v3 + warning" 0 "$(line x86-64-v3 "$AVX2")" yes \
  "${M[@]}"
x86 cpuinfo-zen5-epyc.txt native-clang21-znver5.txt cpus-clang21-x86_64.txt
check "SUPERALIGN_ISA=avx2 on Zen 5 (znver5 runs the avx2 kernels)" 0 "$(line znver5 "$AVX2")" no \
  "${M[@]}" SUPERALIGN_ISA=avx2
x86 flags-zen4-epyc9654.txt native-clang21-znver4.txt cpus-clang21-x86_64.txt
check "SUPERALIGN_CPU=icelake-server on Zen 4 (has the features)" 0 "$(line icelake-server "$AVX512")" no \
  "${M[@]}" SUPERALIGN_CPU=icelake-server
x86 flags-zen4-epyc9654.txt native-clang21-znver4.txt cpus-clang21-x86_64.txt
check "SUPERALIGN_CPU=haswell lacks AVX-512 on Zen 4 -> error" 1 "" no \
  "${M[@]}" SUPERALIGN_CPU=haswell
x86 cpuinfo-zen5-epyc.txt native-clang15-znver3.txt cpus-clang15-x86_64.txt
check "SUPERALIGN_CPU=znver5 unknown to an old compiler -> error" 1 "" no \
  "${M[@]}" SUPERALIGN_CPU=znver5
x86 flags-haswell-xeon-e5-2676v3.txt native-clang21-haswell.txt cpus-clang21-x86_64.txt
check "SUPERALIGN_ISA=sse (not a kernel set) -> error" 1 "" no \
  "${M[@]}" SUPERALIGN_ISA=sse

# The table against the installed clang: every avx512 CPU defines AVX-512 F/BW/DQ/VL and FMA,
# every avx2 CPU AVX2 and FMA but not AVX512F, plain x86-64 no AVX2, every neon CPU NEON and FMA.
# CPUs this clang does not know are skipped (the table may be newer than the compiler).
swift_path=$(command -v swift 2>/dev/null || true)
clang=""
if [ -n "$swift_path" ] && [ -x "$(dirname "$(readlink -f "$swift_path")")/clang" ]; then
  clang="$(dirname "$(readlink -f "$swift_path")")/clang"
else
  clang=$(command -v clang 2>/dev/null || true)
fi
if [ -z "$clang" ]; then
  pass "CPU table matches the compiler (no clang here: skipped)"
else
  x86_cpus=$("$clang" --target=x86_64-unknown-linux-gnu -print-supported-cpus 2>&1 | awk '/^\t/ {print $1}' || true)
  arm_cpus=$("$clang" --target=aarch64-unknown-linux-gnu -print-supported-cpus 2>&1 | awk '/^\t/ {print $1}' || true)
  problems=(); checked=0; skipped=0
  while read -r name class; do
    case "$class" in
      neon) known="$arm_cpus"; args=(--target=aarch64-unknown-linux-gnu "-mcpu=$name") ;;
      *) known="$x86_cpus"; args=(--target=x86_64-unknown-linux-gnu "-march=$name") ;;
    esac
    if ! grep -qxF -- "$name" <<< "$known"; then skipped=$((skipped + 1)); continue; fi
    macros=" $("$clang" "${args[@]}" -dM -E -x c /dev/null 2>/dev/null | awk '{print $2}' | tr '\n' ' ') "
    need=(); deny=()
    case "$class" in
      avx512) need=(__AVX512F__ __AVX512BW__ __AVX512DQ__ __AVX512VL__ __FMA__) ;;
      avx2) need=(__AVX2__ __FMA__); deny=(__AVX512F__) ;;
      base) deny=(__AVX2__) ;;
      neon) need=(__ARM_NEON __ARM_FEATURE_FMA) ;;
      *) problems+=("$name: unknown class $class") ;;
    esac
    for m in ${need[@]+"${need[@]}"}; do [[ "$macros" == *" $m "* ]] || problems+=("$name ($class) lacks $m"); done
    for m in ${deny[@]+"${deny[@]}"}; do [[ "$macros" != *" $m "* ]] || problems+=("$name ($class) has $m"); done
    checked=$((checked + 1))
  done < <(bash "$script" --list-cpus)
  if [ ${#problems[@]} -eq 0 ] && [ "$checked" -gt 0 ]; then
    pass "CPU table matches $clang ($checked CPUs checked, $skipped unknown to it)"
  else
    fail "CPU table matches $clang ($checked checked)" ${problems[@]+"${problems[@]}"}
  fi
fi

# This machine, whatever it is: exits 0 and, on x86-64 and arm64, prints flags.
rc=0
out=$(env -u SUPERALIGN_CPU -u SUPERALIGN_ISA -u SUPERALIGN_CPUINFO -u SUPERALIGN_ARCH -u SUPERALIGN_CLANG \
  bash "$script" 2> "$tmp/err") || rc=$?
case "$(uname -m)" in x86_64|amd64|aarch64|arm64) want_output=yes ;; *) want_output=no ;; esac
if [ "$rc" = 0 ] && { [ "$want_output" = no ] || [ -n "$out" ]; }; then
  pass "this machine ($(uname -m)): $out"
else
  fail "this machine ($(uname -m))" "exit status $rc, stdout '$out'" "stderr: $(cat "$tmp/err")"
fi

echo "build-flags: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
