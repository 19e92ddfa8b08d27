#!/usr/bin/env bash
# The whole test suite: set up (with the test extras), lint the Lua code, test the build-flag
# choice on recorded CPUs, check the C shim under sanitizers, and run every Swift test, optimized
# for this CPU (numeric tests train small models; debug builds are 10-100x slower).
#   bash Scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh --test
bash Scripts/lint.sh
bash Scripts/tests/build-flags-test.sh
bash Scripts/tests/shim-sanitizers.sh
flag_line=$(bash Scripts/build-flags.sh)   # its own line, so that an error stops here
read -r -a flags <<< "$flag_line"
swift build -c release --build-tests -Xswiftc -enable-testing "${flags[@]}" --scratch-path .build-test
swift test -c release -Xswiftc -enable-testing "${flags[@]}" --scratch-path .build-test --skip-build --disable-swift-testing "$@"
