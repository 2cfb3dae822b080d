#!/usr/bin/env python3
"""Prompt and decode speed of pigplan's executor against llama.cpp, side by side (not a test).

The same GGUF, the same thread count and the same prompt (the first N tokens of one text, as
each side tokenises it), dense attention, greedy decoding. For each context (512 and 4096 prompt
tokens by default) the two engines run alternately, `--rounds` times each, in this one
invocation, and the best round of each is compared: prompt tokens/s and decode tokens/s, with
our / llama.cpp ratios.

llama.cpp runs through llama-cpp-python built from its PyPI source distribution:

    pip install --no-binary llama-cpp-python llama-cpp-python

(skipped with a message when it is absent). Ours runs `pigplan run --format json` from a
release build:

    swift build -c release --product pigplan
    python3 Benchmarks/llama-side-by-side/side_by_side.py --model ~/.cache/pigplan/models/SmolLM2-135M-Instruct.Q4_1.gguf --threads 2
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time


def prompt_text(min_chars):
    """A long English text: the Jargon File when installed (dict-jargon), else numbered sentences."""
    path = "/usr/share/dictd/jargon.dict.dz"
    if os.path.exists(path):
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
            text = f.read(min_chars * 2)
        if len(text) >= min_chars:
            return text
    words = ["the", "model", "reads", "each", "weight", "once", "per", "step", "and", "keys", "are", "sampled"]
    parts = []
    i = 0
    while sum(len(p) for p in parts) < min_chars:
        parts.append(" ".join(words[(i * 7 + j) % len(words)] for j in range(9)) + f" ({i}).")
        i += 1
    return " ".join(parts)


def ours(pigplan, model, text_file, tokens, steps, threads):
    cmd = [pigplan, "run", "--gguf", model, "--text", text_file, "--ctx", str(tokens), "--steps", str(steps),
           "--attention", "dense", "--threads", str(threads), "--format", "json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    report = json.loads(out)
    report = report.get("report", report)
    m = report["measured"]
    return {"prompt_tokens": report["promptTokens"], "prompt_tps": report["promptTokens"] / m["prefillSeconds"],
            "decode_tps": m["tokensPerSecond"], "weights": report.get("weightPrecision")}


class LlamaSide:
    def __init__(self, llama_cpp, model, ctx, threads):
        self.lib = llama_cpp
        self.llm = llama_cpp.Llama(model_path=model, n_ctx=ctx, n_threads=threads, n_threads_batch=threads,
                                   n_batch=512, n_ubatch=512, logits_all=False, verbose=False)
        self.vocab = self.llm.n_vocab()

    def last_argmax(self):
        import numpy as np  # a dependency of llama-cpp-python
        logits = self.lib.llama_get_logits_ith(self.llm.ctx, -1)
        return int(np.ctypeslib.as_array(logits, shape=(self.vocab,)).argmax())

    def run(self, prompt_ids, steps):
        self.llm.reset()
        t0 = time.perf_counter()
        self.llm.eval(prompt_ids)
        prompt_s = time.perf_counter() - t0
        tok = self.last_argmax()
        # As ours: the first step is a warm-up, the rest are timed.
        self.llm.eval([tok])
        tok = self.last_argmax()
        t1 = time.perf_counter()
        for _ in range(steps - 1):
            self.llm.eval([tok])
            tok = self.last_argmax()
        decode_s = time.perf_counter() - t1
        return {"prompt_tokens": len(prompt_ids), "prompt_tps": len(prompt_ids) / prompt_s,
                "decode_tps": (steps - 1) / decode_s}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default=os.path.expanduser("~/.cache/pigplan/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    p.add_argument("--pigplan", default=".build/release/pigplan")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--contexts", default="512,4096")
    p.add_argument("--steps", type=int, default=32)
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    try:
        import llama_cpp
    except ImportError:
        print("llama.cpp side skipped: llama_cpp is not importable; install it from the source distribution with\n"
              "  pip install --no-binary llama-cpp-python llama-cpp-python")
        return 0
    if not os.path.exists(a.pigplan):
        print(f"{a.pigplan} not found: swift build -c release --product pigplan")
        return 1
    contexts = [int(c) for c in a.contexts.split(",")]
    text = prompt_text(max(contexts) * 8)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write(text)
        text_file = f.name
    print(f"side by side: {os.path.basename(a.model)}, {a.threads} threads, dense attention, {a.steps} decode steps "
          f"(first untimed), best of {a.rounds} alternating rounds; llama-cpp-python {llama_cpp.__version__}")
    for ctx in contexts:
        side = LlamaSide(llama_cpp, a.model, ctx + a.steps + 8, a.threads)
        ids = side.llm.tokenize(text.encode("utf-8"), add_bos=False)[:ctx]
        if len(ids) < ctx:
            print(f"  context {ctx}: the text has only {len(ids)} tokens; skipped")
            continue
        best = {"ours": None, "llama": None}
        for r in range(a.rounds):
            o = ours(a.pigplan, a.model, text_file, ctx, a.steps, a.threads)
            l = side.run(ids, a.steps)
            print(f"  context {ctx} round {r + 1}: ours prompt {o['prompt_tps']:.1f} tok/s, decode {o['decode_tps']:.1f} tok/s "
                  f"({o['weights']} weights) | llama.cpp prompt {l['prompt_tps']:.1f} tok/s, decode {l['decode_tps']:.1f} tok/s")
            for k, v in (("ours", o), ("llama", l)):
                b = best[k]
                best[k] = v if b is None else {**b, "prompt_tps": max(b["prompt_tps"], v["prompt_tps"]),
                                               "decode_tps": max(b["decode_tps"], v["decode_tps"])}
        o, l = best["ours"], best["llama"]
        print(f"context {ctx}: prompt {o['prompt_tps']:.1f} vs {l['prompt_tps']:.1f} tok/s (ours/llama.cpp "
              f"{o['prompt_tps'] / l['prompt_tps']:.2f}), decode {o['decode_tps']:.1f} vs {l['decode_tps']:.1f} tok/s "
              f"(ours/llama.cpp {o['decode_tps'] / l['decode_tps']:.2f})")
        del side
    os.unlink(text_file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
