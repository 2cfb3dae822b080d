#!/usr/bin/env bash
# The same plan on each runtime, and the reference implementation's command line for it.
# Shows: `--compare-engines` predicts the chosen configuration with every engine profile
# (magicpig: the reference implementation; pigplan: this package's CPU kernels), and
# `export --target magicpig` prints the MagicPIG benchmark command (numactl pinning, batch,
# prompt length, K, L) with its predicted rate on standard error.
# Expect: the reference command names the planned batch and (K, L).
# expect: the same configuration on other engines
# expect: cd MagicPIG/models && numactl -C 0-31 -m 0 python bench.py --model meta-llama/Llama-3.1-8B-Instruct
# expect: Predicted with the magicpig engine
set -euo pipefail
pigplan=${PIGPLAN:-pigplan}

"$pigplan" --hw rtx4090 --ctx 96k --compare-engines
"$pigplan" export --hw rtx4090 --ctx 96k --target magicpig 2>&1
