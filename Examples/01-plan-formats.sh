#!/usr/bin/env bash
# The main question in three formats: Llama-3.1-8B at a 96k context on an RTX 4090 host.
# Shows: the table (what a person reads), JSON (one object; read a field with python3, or
# `jq .plan.batch`), and CSV (the plan, then the best plan of every other kind).
# Expect: the plan is an LSH plan (GPU-only does not fit 24 GB at 96k), predicted for the MagicPIG
# reference implementation, with pigplan's own kernels as a what-if row.
# expect: predicted for the MagicPIG reference implementation
# expect: plan                 MagicPIG LSH
# expect: winning kind: lsh
# expect: name,kind,feasible,batch,k,l,tokensPerSecond,stepSeconds,gpuBytes,cpuBytes
set -euo pipefail
pigplan=${PIGPLAN:-pigplan}

"$pigplan" --hw rtx4090 --ctx 96k

"$pigplan" --hw rtx4090 --ctx 96k --format json > /tmp/pigplan-example-plan.json
python3 - /tmp/pigplan-example-plan.json <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
plan = report["plan"]
print(f"winning kind: {plan['kind']}, batch {plan['batch']}, (K, L) = ({plan['k']}, {plan['l']}), "
      f"{report['prediction']['tokensPerSecond']:.3g} tokens/s")
for kind in report["bestByKind"]:
    print(f"  {kind['name']}: " + (f"{kind['tokensPerSecond']:.3g} tokens/s" if kind["feasible"] else "infeasible"))
PY
rm -f /tmp/pigplan-example-plan.json

"$pigplan" --hw rtx4090 --ctx 96k --format csv
