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

    swift build -c release --product pigplan --product executor-bench
    python3 Benchmarks/llama-side-by-side/side_by_side.py --model ~/.cache/pigplan/models/SmolLM2-135M-Instruct.Q4_1.gguf --threads 2

With `--shape llama-3.1-8b` it compares on GGUFs with that model's layer shapes instead (random Q4_0
and Q8_0 weights, SmolLM2's tokenizer; written once by shaped_gguf.py, which needs `pip install
gguf`), at 512 and 8192 prompt tokens by default, and adds the STREAM read bandwidth of the same run
(executor-bench --stream) with each side's decode speed as a fraction of the weight-streaming bound.
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


def weight_stream(model):
    """Bytes a decode step streams (every matrix but the embedding, whose one row per token is
    looked up) and multiply-adds per token, from the GGUF's tensor table."""
    try:
        import gguf
    except ImportError:
        return None
    r = gguf.GGUFReader(model)
    mats = [t for t in r.tensors if len(t.shape) == 2 and t.name != "token_embd.weight"]
    return {"bytes": sum(int(t.n_bytes) for t in mats), "fma": sum(int(t.n_elements) for t in mats)}


def stream_read(bench, threads):
    """All-thread read bandwidth (bytes/s) from executor-bench --stream, measured in this run."""
    if not os.path.exists(bench):
        return None
    out = subprocess.run([bench, "--stream", "--threads", str(threads)], check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("stream_read_bytes_per_second "):
            return float(line.split()[1])
    return None


def compare(a, llama_cpp, model, text_file, text, contexts, rounds):
    """Alternating rounds of both engines on one GGUF; prints each round and the best of each."""
    stream = weight_stream(model)
    bandwidth = stream_read(a.bench, a.threads)
    if stream and bandwidth:
        bound = bandwidth / stream["bytes"]
        print(f"{os.path.basename(model)}: {stream['bytes'] / 1e6:.0f} MB of matrices per decode step; STREAM read "
              f"{bandwidth / 1e9:.1f} GB/s with {a.threads} threads in this run, so at most {bound:.1f} decode tokens/s "
              "(the weight-streaming bound)")
    for ctx in contexts:
        side = LlamaSide(llama_cpp, model, ctx + a.steps + 8, a.threads)
        ids = side.llm.tokenize(text.encode("utf-8"), add_bos=False)[:ctx]
        if len(ids) < ctx:
            print(f"  context {ctx}: the text has only {len(ids)} tokens; skipped")
            continue
        best = {"ours": None, "llama": None}
        for r in range(rounds):
            o = ours(a.pigplan, model, text_file, ctx, a.steps, a.threads)
            l = side.run(ids, a.steps)
            print(f"  context {ctx} round {r + 1}: ours prompt {o['prompt_tps']:.1f} tok/s, decode {o['decode_tps']:.2f} tok/s "
                  f"({o['weights']} weights) | llama.cpp prompt {l['prompt_tps']:.1f} tok/s, decode {l['decode_tps']:.2f} tok/s",
                  flush=True)
            for k, v in (("ours", o), ("llama", l)):
                b = best[k]
                best[k] = v if b is None else {**b, "prompt_tps": max(b["prompt_tps"], v["prompt_tps"]),
                                               "decode_tps": max(b["decode_tps"], v["decode_tps"])}
        o, l = best["ours"], best["llama"]
        print(f"context {ctx}: prompt {o['prompt_tps']:.1f} vs {l['prompt_tps']:.1f} tok/s (ours/llama.cpp "
              f"{o['prompt_tps'] / l['prompt_tps']:.2f}), decode {o['decode_tps']:.2f} vs {l['decode_tps']:.2f} tok/s "
              f"(ours/llama.cpp {o['decode_tps'] / l['decode_tps']:.2f})")
        if stream and bandwidth:
            bound = bandwidth / stream["bytes"]
            print(f"  of the weight-streaming bound ({bound:.1f} tok/s): ours {o['decode_tps'] / bound:.2f}, llama.cpp "
                  f"{l['decode_tps'] / bound:.2f}; prompt multiply-adds: ours {o['prompt_tps'] * stream['fma'] / 1e9:.1f}, "
                  f"llama.cpp {l['prompt_tps'] * stream['fma'] / 1e9:.1f} G/s")
        del side


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default=os.path.expanduser("~/.cache/pigplan/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    p.add_argument("--shape", choices=["llama-3.1-8b", "llama-2-7b", "llama-3.1-70b"],
                   help="instead of --model: GGUFs with this model's layer shapes and random weights (shaped_gguf.py), "
                        "one per --types, cached in ~/.cache/pigplan/shaped")
    p.add_argument("--types", default="q4_0,q8_0", help="with --shape: the weight types compared (default q4_0,q8_0)")
    p.add_argument("--layers", type=int, default=2, help="with --shape: transformer blocks (default 2)")
    p.add_argument("--pigplan", default=".build/release/pigplan")
    p.add_argument("--bench", default=".build/release/executor-bench", help="measures STREAM in the same run")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--contexts", help="prompt lengths (default 512,4096; with --shape 512,8192)")
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
    contexts = [int(c) for c in (a.contexts or ("512,8192" if a.shape else "512,4096")).split(",")]
    models = [a.model]
    if a.shape:
        cache = os.path.expanduser("~/.cache/pigplan/shaped")
        os.makedirs(cache, exist_ok=True)
        models = []
        for t in a.types.split(","):
            path = os.path.join(cache, f"{a.shape}-{a.layers}l-{t}.gguf")
            if not os.path.exists(path):
                subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "shaped_gguf.py"),
                                "--shape", a.shape, "--layers", str(a.layers), "--type", t, "--out", path], check=True)
            models.append(path)
    text = prompt_text(max(contexts) * 8)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write(text)
        text_file = f.name
    print(f"side by side: {a.threads} threads, dense attention, {a.steps} decode steps (first untimed), best of "
          f"{a.rounds} alternating rounds; llama-cpp-python {llama_cpp.__version__}")
    try:
        for model in models:
            compare(a, llama_cpp, model, text_file, text, contexts, a.rounds)
    finally:
        os.unlink(text_file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
