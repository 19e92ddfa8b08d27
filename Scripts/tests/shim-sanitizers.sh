#!/usr/bin/env bash
# Builds the CLuaShim C (Sources/CLuaShim/shim.c) with every warning an error and under
# AddressSanitizer + UndefinedBehaviorSanitizer (leak checks included), together with the C
# driver Scripts/tests/shim_driver.c, links it against the system liblua5.4 and runs it: the
# budget hook, the allocator's accounting and cap, the host-function trampoline (results,
# errors, refusals, nesting, memory overdrafts), the coroutine guards, the message handler and
# the proxy iterator. SwiftPM builds the same file with the compiler's default warnings (a
# manifest cannot ask for more without unsafeFlags), so this is where -Wall -Wextra is enforced.
#   bash Scripts/tests/shim-sanitizers.sh
# Uses the clang next to `swift` (the toolchain ships the sanitizer runtimes), else clang on PATH.
set -euo pipefail
cd "$(dirname "$0")/../.."

clang=""
swift_path=$(command -v swift 2>/dev/null || true)
if [ -n "$swift_path" ]; then
  swift_dir=$(dirname "$(readlink -f "$swift_path" 2>/dev/null || echo "$swift_path")")
  if [ -x "$swift_dir/clang" ]; then clang="$swift_dir/clang"; fi
fi
if [ -z "$clang" ]; then clang=$(command -v clang 2>/dev/null || true); fi
if [ -z "$clang" ]; then
  echo "shim-sanitizers: no clang next to swift or on PATH" >&2
  exit 1
fi
# The toolchain's lld when it has one (GNU gold warns about every sanitizer symbol).
linker=()
if [ -x "$(dirname "$clang")/ld.lld" ]; then linker=(-fuse-ld=lld); fi

read -r -a lua_cflags <<< "$(pkg-config --cflags lua5.4)"
read -r -a lua_libs <<< "$(pkg-config --libs lua5.4)"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

warnings=(-std=c11 -Wall -Wextra -Wpedantic -Werror)
sanitizers=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
"$clang" "${warnings[@]}" "${sanitizers[@]}" -g -O1 -ISources/CLuaShim/include "${lua_cflags[@]}" \
  Sources/CLuaShim/shim.c Scripts/tests/shim_driver.c "${linker[@]}" "${lua_libs[@]}" -o "$tmp/shim_driver"

if ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1 UBSAN_OPTIONS=print_stacktrace=1 "$tmp/shim_driver"; then
  echo "shim-sanitizers: passed (-Wall -Wextra -Wpedantic -Werror, ASan, UBSan, LSan)"
else
  echo "shim-sanitizers: FAILED" >&2
  exit 1
fi
