#!/usr/bin/env bash
# Llama-3.1-70B on multi-GPU nodes: one A100 cannot hold it in bf16 (the message says how many
# GPUs or which precision would), a node of four can; tensor parallelism and the weight format
# are the optimizer's decisions, and the plan is exported as a vLLM launch command.
# Shows: the infeasibility wording, the GPUs row of a node plan, --weights auto with an fp8 KV
# cache, and `export --target vllm` (the command on stdout, notes on stderr).
# expect: bf16 weights need at least 2 x a100-80g
# expect: GPUs                 tensor parallel 4
# expect: precision            int4 weights, fp8 KV cache
# expect: vllm serve meta-llama/Llama-3.1-70B-Instruct --tensor-parallel-size 4
set -euo pipefail
pigplan=${PIGPLAN:-pigplan}

# One A100 80GB: refused, with what would fit (the command exits 1; the script goes on).
"$pigplan" --hw a100-80g --model llama-3.1-70b --ctx 64k 2>&1 || true

# Four A100s (NVLink 3, two sockets): the plan and its tensor-parallel degree.
"$pigplan" --hw 4xa100-80g --model llama-3.1-70b --ctx 64k

# The optimizer may also store weights in fewer bytes; the KV cache in fp8.
"$pigplan" --hw 4xa100-80g --model llama-3.1-70b --ctx 64k --weights auto --kv-dtype fp8

# The bf16 plan as vLLM's launch command.
"$pigplan" export --target vllm --hw 4xa100-80g --model llama-3.1-70b --ctx 64k
