#!/usr/bin/env bash
# The main job: set up, build an optimized binary for this CPU, and run the quick start.
#   bash Scripts/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh
read -r -a flags <<< "$(bash Scripts/build-flags.sh)"
swift build -c release --product superalign "${flags[@]}" >&2
bin="$(swift build -c release --product superalign "${flags[@]}" --show-bin-path)/superalign"
mapfile -t plugins < <(find Plugins -name '*.lua' -not -path 'Plugins/meta/*' | sort)
"$bin" plugins check "${plugins[@]}"
