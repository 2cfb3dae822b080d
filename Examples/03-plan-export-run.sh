#!/usr/bin/env bash
# Plan -> export -> run on this machine's CPU: the plan file carries the model shape, context,
# batch, attention and threads, and `pigplan run --plan` executes exactly that (here with
# synthetic weights of SmolLM2-135M's shape, 2 layers, a few steps, so it takes seconds).
# For predictions of this machine itself, run `pigplan calibrate --quick` first and plan with
# `--hw local`; `pigplan validate` then compares predictions and measurements over a grid.
# Expect: the run reports the plan's batch and (K, L) and a measured throughput.
# expect: wrote
# expect: lsh (K, L) = (8, 75), batch 2
# expect: throughput
set -euo pipefail
pigplan=${PIGPLAN:-pigplan}
plan=$(mktemp -d)/plan.json

"$pigplan" export --hw h200 --model smollm2-135m --ctx 2k --batch 2 --k 8 --l 75 --out "$plan"
"$pigplan" run --plan "$plan" --layers 2 --steps 4 --threads 1
rm -rf "$(dirname "$plan")"
