#!/usr/bin/env bash
# Quality of the approximations on a real model and real text: SmolLM2-135M (scripts/fetch-smollm2
# fetches it) reading the start of the Jargon File (Debian: apt-get install dict-jargon), dense
# attention against LSH sampling, oracle TopK and Quest at the key budget LSH measured. Columns:
# share of keys attended, perplexity, next-token agreement with dense, attention error, keys and
# KB read per query head.
# Expect: one row per mode; dense agrees with itself (100%), the others at a few percent of the keys.
# needs: smollm2 jargon
# expect: dense        100%
# expect: lsh (8, 75)
# expect: topk
# expect: quest
set -euo pipefail
pigplan=${PIGPLAN:-pigplan}
model=$(ls "${PIGPLAN_MODEL_CACHE:-$HOME/.cache/pigplan/models}"/[Ss]mol[Ll][Mm]2*.gguf 2>/dev/null | head -1 || true)
if [ -z "$model" ] || ! [ -f /usr/share/dictd/jargon.dict.dz ]; then
    echo "skipped: needs the SmolLM2 GGUF (scripts/fetch-smollm2) and dict-jargon"
    exit 0
fi
text=$(mktemp)
trap 'rm -f "$text"' EXIT
(gzip -dc /usr/share/dictd/jargon.dict.dz || true) | head -c 6000 > "$text"  # head closes the pipe early

"$pigplan" run --gguf "$model" --text "$text" --ctx 512 --steps 6 --compare --k 8 --l 75 --threads 2
