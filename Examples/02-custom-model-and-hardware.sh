#!/usr/bin/env bash
# Your own model and your own machine, without touching pigplan's built-in profiles.
# Shows: a model read from its Hugging Face config.json (models/qwen2.5-7b: Qwen2.5-7B's shape,
# 28 query and 4 KV heads), and a profile folder (profiles/) adding a GPU pigplan does not ship
# and a system pairing it with a built-in CPU profile. `profiles list` shows them beside the
# built-in ones.
# Expect: on a 48 GB GPU at 64k, GPU-only and LSH are within a few percent of each other, so
# the plan names the winner and shows the best LSH plan beside it.
# expect: qwen2.5-7b on ada-epyc (rtx6000ada + 1 x epyc-9654
# expect: best LSH plan
# expect: rtx6000ada
set -euo pipefail
pigplan=${PIGPLAN:-pigplan}
here=$(cd "$(dirname "$0")" && pwd)

"$pigplan" --hw ada-epyc --profiles-dir "$here/profiles" --model-config "$here/models/qwen2.5-7b/config.json" --ctx 64k
"$pigplan" profiles list --profiles-dir "$here/profiles" | grep -E "rtx6000ada|ada-epyc"
