#!/usr/bin/env bash
# The whole test suite: set up, lint the Lua code, and run every Swift test, optimized for this
# CPU (numeric tests train small models; debug builds are 10-100x slower).
#   bash Scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh
bash Scripts/lint.sh
read -r -a flags <<< "$(bash Scripts/build-flags.sh)"
swift build -c release --build-tests -Xswiftc -enable-testing "${flags[@]}" --scratch-path .build-test
swift test -c release -Xswiftc -enable-testing "${flags[@]}" --scratch-path .build-test --skip-build --disable-swift-testing "$@"
