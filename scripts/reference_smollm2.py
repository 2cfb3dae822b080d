#!/usr/bin/env python3
"""Independent reference for the executor's SmolLM2 tests.

Runs SmolLM2-135M-Instruct (GGUF) in plain numpy, with the pure-python `gguf` package for
reading and dequantising tensors and Hugging Face `tokenizers` (built from the GGUF vocabulary
and merges with SmolLM2's pre-tokenizer: individual digits, then GPT-2 byte-level) for
tokenisation, and writes Tests/ExecutorTests/Golden/smollm2.json:
  - token ids of several texts,
  - greedy dense decoding of fixed prompts (tokens and the top logits of the first step).

Conventions that must match any Llama GGUF runtime: q/k weights in GGUF are permuted so that RoPE
rotates adjacent pairs (x[2i], x[2i+1]); K and V are rounded to float16 as the executor's cache
stores them (everything else float32/float64).

Usage: pip install numpy gguf tokenizers; scripts/reference_smollm2.py [path.gguf] [out.json]
"""
import json
import os
import sys

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize


def find_model():
    cache = os.environ.get("PIGPLAN_MODEL_CACHE", os.path.expanduser("~/.cache/pigplan/models"))
    for name in sorted(os.listdir(cache)):
        if name.lower().startswith("smollm2") and name.lower().endswith(".gguf"):
            return os.path.join(cache, name)
    sys.exit("no SmolLM2 GGUF in %s; run scripts/fetch-smollm2" % cache)


def field(reader, key):
    f = reader.fields[key]
    return f.contents()


class Model:
    def __init__(self, path):
        r = GGUFReader(path)
        self.reader = r
        self.n_layer = int(field(r, "llama.block_count"))
        self.h = int(field(r, "llama.embedding_length"))
        self.n_head = int(field(r, "llama.attention.head_count"))
        self.n_kv = int(field(r, "llama.attention.head_count_kv"))
        self.d = self.h // self.n_head
        self.theta = float(field(r, "llama.rope.freq_base"))
        self.eps = float(field(r, "llama.attention.layer_norm_rms_epsilon"))
        self.t = {}
        for t in r.tensors:
            w = dequantize(t.data, t.tensor_type).astype(np.float32)
            shape = [int(x) for x in reversed(t.shape.tolist())]  # slowest first
            self.t[t.name] = w.reshape(shape)
        self.out = self.t.get("output.weight", self.t["token_embd.weight"])

    def rms(self, x, w):
        x64 = x.astype(np.float64)
        return (x64 / np.sqrt(np.mean(x64 * x64) + self.eps)).astype(np.float32) * w

    def rope(self, x, pos):
        d = self.d
        i = np.arange(d // 2, dtype=np.float64)
        ang = pos * self.theta ** (-2.0 * i / d)
        c, s = np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)
        x = x.reshape(-1, d // 2, 2)
        a, b = x[..., 0].copy(), x[..., 1].copy()
        return np.stack([a * c - b * s, a * s + b * c], axis=-1).reshape(-1, d)

    def generate(self, tokens, steps):
        """Greedy dense decoding, one token at a time (prompt included)."""
        K = [[] for _ in range(self.n_layer)]
        V = [[] for _ in range(self.n_layer)]
        G = self.n_head // self.n_kv
        out, first_logits = [], None
        seq = list(tokens)
        for pos in range(len(tokens) + steps - 1):
            x = self.t["token_embd.weight"][seq[pos]].astype(np.float32)
            for l in range(self.n_layer):
                p = "blk.%d." % l
                a = self.rms(x, self.t[p + "attn_norm.weight"])
                q = self.rope((self.t[p + "attn_q.weight"] @ a).reshape(self.n_head, self.d), pos)
                k = self.rope((self.t[p + "attn_k.weight"] @ a).reshape(self.n_kv, self.d), pos)
                v = (self.t[p + "attn_v.weight"] @ a).reshape(self.n_kv, self.d)
                K[l].append(k.astype(np.float16).astype(np.float32))
                V[l].append(v.astype(np.float16).astype(np.float32))
                Ks, Vs = np.stack(K[l]), np.stack(V[l])  # pos x kv x d
                o = np.zeros((self.n_head, self.d), dtype=np.float32)
                for hq in range(self.n_head):
                    hk = hq // G
                    s = (Ks[:, hk, :] @ q[hq]).astype(np.float64) / np.sqrt(self.d)
                    w = np.exp(s - s.max())
                    w /= w.sum()
                    o[hq] = (w @ Vs[:, hk, :].astype(np.float64)).astype(np.float32)
                x = x + self.t[p + "attn_output.weight"] @ o.reshape(-1)
                m = self.rms(x, self.t[p + "ffn_norm.weight"])
                g = self.t[p + "ffn_gate.weight"] @ m
                u = self.t[p + "ffn_up.weight"] @ m
                x = x + self.t[p + "ffn_down.weight"] @ ((g / (1 + np.exp(-g))) * u)
            if pos >= len(tokens) - 1:
                logits = self.out @ self.rms(x, self.t["output_norm.weight"])
                nxt = int(np.argmax(logits))
                if first_logits is None:
                    top = np.argsort(-logits)[:5]
                    first_logits = [[int(i), float(logits[i])] for i in top]
                out.append(nxt)
                if len(seq) <= pos + 1:
                    seq.append(nxt)
        return out, first_logits


def tokenizer_from_gguf(reader):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    tokens = [str(bytes(reader.fields["tokenizer.ggml.tokens"].parts[i]), "utf-8")
              for i in reader.fields["tokenizer.ggml.tokens"].data]
    merges = [str(bytes(reader.fields["tokenizer.ggml.merges"].parts[i]), "utf-8")
              for i in reader.fields["tokenizer.ggml.merges"].data]
    vocab = {t: i for i, t in enumerate(tokens)}
    pairs = [tuple(m.split(" ", 1)) for m in merges]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=pairs, fuse_unk=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    tok.decoder = decoders.ByteLevel()
    return tok


TEXTS = [
    "The capital of France is",
    "Hello, world! It's 2024 and we'll see 12345 apples.",
    "  leading spaces,\ttabs\nand\n\nnewlines   end ",
    "Unicode: café, naïve, Ελληνικά, 日本語, emoji 🙂 and math ∑x².",
    "def f(x):\n    return x**2  # square\n",
    "I'm sure they've done it; you'd say we're OK, he's 'quoted' LLM's.",
]
PROMPTS = [
    ("The capital of France is", 16),
    ("Once upon a time, there was a little robot who", 16),
]


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else find_model()
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        os.path.dirname(__file__), "..", "Tests", "ExecutorTests", "Golden", "smollm2.json")
    model = Model(path)
    tok = tokenizer_from_gguf(model.reader)
    golden = {
        "model": os.path.basename(path),
        "generator": "scripts/reference_smollm2.py (numpy + gguf + tokenizers)",
        "tokenization": [{"text": t, "ids": tok.encode(t).ids} for t in TEXTS],
        "greedy": [],
    }
    for text, steps in PROMPTS:
        ids = tok.encode(text).ids
        gen, top = model.generate(ids, steps)
        golden["greedy"].append({"prompt": text, "promptIds": ids, "steps": steps, "tokens": gen,
                                 "text": tok.decode(gen), "firstTopLogits": top})
        print(repr(text), "->", repr(tok.decode(gen)), file=sys.stderr)
    with open(out, "w") as f:
        json.dump(golden, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(out)


if __name__ == "__main__":
    main()
