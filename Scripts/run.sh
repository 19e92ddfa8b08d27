#!/usr/bin/env bash
# The main job: set up, build an optimized binary for this CPU, check the bundled plugins and
# run the quick-start campaign (Scripts/campaigns/quickstart.lua) into runs/quickstart.
#   bash Scripts/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh
read -r -a flags <<< "$(bash Scripts/build-flags.sh)"
swift build -c release --product superalign "${flags[@]}" >&2
bin="$(swift build -c release --product superalign "${flags[@]}" --show-bin-path)/superalign"
mapfile -t plugins < <(find Plugins -name '*.lua' -not -path 'Plugins/meta/*' | sort)
"$bin" plugins check "${plugins[@]}" >&2
rm -rf runs/quickstart
"$bin" run Scripts/campaigns/quickstart.lua --out runs/quickstart "$@"
