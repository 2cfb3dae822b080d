#!/usr/bin/env bash
# Plans held to a quality budget. Three steps:
#  1. `pigplan quality` measures what each setting costs in accuracy on a real model and text:
#     SmolLM2-135M (scripts/fetch-smollm2) reading the Jargon File (apt-get install dict-jargon),
#     teacher-forced, perplexity and next-token agreement against dense attention, with exact
#     activations. Here a small grid at a 1k context so that it takes seconds; the default grid
#     at 4k (`pigplan quality --gguf MODEL --text TEXT`) takes about 3 minutes on 2 cores.
#  2. A plan for that model under `--max-quality-loss` (percent of perplexity for this metric)
#     considers only the (K, L) measured within the budget, uses their measured sampled
#     fractions, and prints the quality of the setting it chose.
#  3. The speed/quality front for Llama-3.1-8B on an RTX 4090 at 96k, from the paper's published
#     RULER results (Profiles/quality/llama-3.1-8b.json): every setting at its best batch.
# Expect: the measured table, a plan line with its perplexity loss, and the front.
# needs: smollm2 jargon
# expect: quality profile written to
# expect: lsh (10, 150)
# expect: quality              perplexity 1k:
# expect: pigplan sweep --pareto: llama-3.1-8b on rtx4090 at 96k
# expect: *  cpu-kv-dense
# expect: *  lsh (10, 150)
set -euo pipefail
pigplan=${PIGPLAN:-pigplan}
model=$(ls "${PIGPLAN_MODEL_CACHE:-$HOME/.cache/pigplan/models}"/[Ss]mol[Ll][Mm]2*.gguf 2>/dev/null | head -1 || true)
if [ -z "$model" ] || ! [ -f /usr/share/dictd/jargon.dict.dz ]; then
    echo "skipped: needs the SmolLM2 GGUF (scripts/fetch-smollm2) and dict-jargon"
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(gzip -dc /usr/share/dictd/jargon.dict.dz || true) | head -c 12000 > "$work/jargon.txt"  # head closes the pipe early

# 1. Measure (the profile goes to $work/quality/smollm2-135m.json).
"$pigplan" quality --gguf "$model" --text "$work/jargon.txt" --ctx 1k --positions 48 --kl 8x75,10x150,11x300 \
    --no-baselines --profiles-dir "$work" 2>/dev/null

# 2. Plan under a budget of 25% perplexity (a loose one: 48 positions at 1k are a small sample).
"$pigplan" --profiles-dir "$work" --hw xeon-6338 --model smollm2-135m --ctx 1k --attention lsh --max-quality-loss 25 \
    | sed -n '4,6p'

# 3. The speed/quality front from the published tables.
"$pigplan" sweep --pareto --hw rtx4090 --ctx 96k
