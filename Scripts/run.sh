#!/usr/bin/env bash
# The main job: set up, build an optimized binary for this CPU, check the bundled plugins and
# run the quick-start campaign (Scripts/campaigns/quickstart.lua) into runs/quickstart.
#   bash Scripts/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh
# A build-flags error (say, a SUPERALIGN_CPU without the kernels' features) stops here rather
# than building slower code with no flags.
flag_line="$(bash Scripts/build-flags.sh)"
read -r -a flags <<< "$flag_line"
swift build -c release --product superalign "${flags[@]}" >&2
bin="$(swift build -c release --product superalign "${flags[@]}" --show-bin-path)/superalign"
mapfile -t plugins < <(find Plugins -name '*.lua' -not -path 'Plugins/meta/*' | sort)
"$bin" plugins check "${plugins[@]}" >&2
rm -rf runs/quickstart
"$bin" run Scripts/campaigns/quickstart.lua --out runs/quickstart "$@"
