#!/usr/bin/env python3
"""Write a GGUF with a real model's layer shapes, random weights and a real tokenizer (not a test).

Small real models have small matrices; a decode step of an 8B model is a stream of large ones.
This writes a llama-architecture GGUF that both llama.cpp and `pigplan run --gguf` load, with the
layer shapes of a named model (Llama-3.1-8B: hidden 4096, 32 query heads over 8 KV heads of 128,
FFN 14336, RoPE base 500000), a few layers of them, every matrix in one quantised type (Q4_0 or
Q8_0, random blocks: uniform codes, scales drawn around the value that gives weights a standard
deviation of 0.02), RMSNorm weights of 1, and the tokenizer copied from a source GGUF (SmolLM2's
by default). The vocabulary is therefore the source's (49152 for SmolLM2), not the named model's
(128256): the embedding and output matrices are 4096 x 49152. The output matrix is untied, in the
same type as the rest, so that both engines stream it every step.

    pip install gguf        # the GGUF reader and writer of the llama.cpp project, from PyPI
    python3 Benchmarks/llama-side-by-side/shaped_gguf.py --shape llama-3.1-8b --layers 2 \
        --type q4_0 --out /tmp/llama-3.1-8b-2l-q4_0.gguf

The values are random, so perplexity and generated text mean nothing; the file is for speed.
"""
import argparse
import os
import sys
import tempfile

SHAPES = {
    # name: hidden, ffn, query heads, KV heads, head dim, RoPE base (from the models' config.json files)
    "llama-3.1-8b": dict(hidden=4096, ffn=14336, heads=32, kv_heads=8, head_dim=128, rope_base=500000.0),
    "llama-2-7b": dict(hidden=4096, ffn=11008, heads=32, kv_heads=32, head_dim=128, rope_base=10000.0),
    "llama-3.1-70b": dict(hidden=8192, ffn=28672, heads=64, kv_heads=8, head_dim=128, rope_base=500000.0),
}

# Bytes per block of 32 weights: a binary16 scale and the codes.
BLOCK_BYTES = {"q4_0": 18, "q8_0": 34}
WEIGHT_STD = 0.02


def random_blocks(np, rng, rows, cols, kind):
    """rows x cols weights as GGUF blocks of 32 (row-major, a row's blocks contiguous), uint8 bytes."""
    blocks = rows * cols // 32
    out = np.empty((blocks, BLOCK_BYTES[kind]), dtype=np.uint8)
    if kind == "q4_0":
        # w = (q - 8) d, q uniform in 0..15: standard deviation about 4.6 d.
        scale = WEIGHT_STD / 4.61
        out[:, 2:] = rng.integers(0, 256, size=(blocks, 16), dtype=np.uint8)
    else:
        # w = q d, q uniform in -127..127: standard deviation about 73.6 d.
        scale = WEIGHT_STD / 73.6
        out[:, 2:] = rng.integers(-127, 128, size=(blocks, 32), dtype=np.int8).view(np.uint8)
    d = (scale * rng.uniform(0.5, 1.5, size=blocks)).astype(np.float16)
    out[:, 0:2] = d.view(np.uint8).reshape(blocks, 2)
    return out.reshape(rows, cols // 32 * BLOCK_BYTES[kind])


def copy_tokenizer(gguf, reader, writer):
    """Every tokenizer.* field of the source, with its value type; the vocabulary size."""
    for key, field in reader.fields.items():
        if not key.startswith("tokenizer."):
            continue
        vtype = field.types[0]
        if vtype == gguf.GGUFValueType.ARRAY:
            writer.add_key_value(key, field.contents(), vtype, sub_type=field.types[-1])
        else:
            writer.add_key_value(key, field.contents(), vtype)
    return len(reader.fields["tokenizer.ggml.tokens"].contents())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shape", default="llama-3.1-8b", choices=sorted(SHAPES))
    ap.add_argument("--layers", type=int, default=2, help="transformer blocks (1-8; default 2)")
    ap.add_argument("--type", default="q4_0", choices=sorted(BLOCK_BYTES), help="weight type of every matrix")
    ap.add_argument("--tokenizer-from", default=os.path.expanduser("~/.cache/pigplan/models/SmolLM2-135M-Instruct.Q4_1.gguf"),
                    help="a GGUF whose tokenizer is copied (default: the SmolLM2 file pigplan downloads)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True, help="the GGUF to write (a regular file or a new path)")
    a = ap.parse_args()
    if not 1 <= a.layers <= 8:
        sys.exit(f"error: --layers {a.layers} is outside 1...8; the file is for speed, a few layers are enough")
    if not os.path.isfile(a.tokenizer_from):
        sys.exit(f"error: --tokenizer-from {a.tokenizer_from} is not a file; run `pigplan run --gguf` once to "
                 "download SmolLM2, or pass another GGUF with a tokenizer")
    if os.path.exists(a.out) and not os.path.isfile(a.out):
        sys.exit(f"error: --out {a.out} exists and is not a regular file; choose another path")
    try:
        import gguf
        import numpy as np
    except ImportError:
        sys.exit("error: the gguf package is missing; install it with `pip install gguf`")

    s = SHAPES[a.shape]
    h, f, hd = s["hidden"], s["ffn"], s["head_dim"]
    qw, kw = s["heads"] * hd, s["kv_heads"] * hd
    reader = gguf.GGUFReader(a.tokenizer_from)
    if "tokenizer.ggml.tokens" not in reader.fields:
        sys.exit(f"error: --tokenizer-from {a.tokenizer_from} has no tokenizer.ggml.tokens; pass a GGUF that "
                 "carries a tokenizer")
    rng = np.random.default_rng(a.seed)
    qtype = {"q4_0": gguf.GGMLQuantizationType.Q4_0, "q8_0": gguf.GGMLQuantizationType.Q8_0}[a.type]

    # Written beside the target and renamed at the end: no partial file is left at --out.
    fd, tmp = tempfile.mkstemp(prefix=".shaped-", suffix=".gguf", dir=os.path.dirname(os.path.abspath(a.out)))
    os.close(fd)
    try:
        w = gguf.GGUFWriter(tmp, "llama")
        w.add_name(f"{a.shape} shapes, {a.layers} layers, random {a.type.upper()} (pigplan benchmark)")
        w.add_file_type({"q4_0": 2, "q8_0": 7}[a.type])
        vocab = copy_tokenizer(gguf, reader, w)
        w.add_block_count(a.layers)
        w.add_context_length(131072)
        w.add_embedding_length(h)
        w.add_feed_forward_length(f)
        w.add_head_count(s["heads"])
        w.add_head_count_kv(s["kv_heads"])
        w.add_rope_dimension_count(hd)
        w.add_rope_freq_base(s["rope_base"])
        w.add_layer_norm_rms_eps(1e-5)
        w.add_vocab_size(vocab)

        def matrix(name, rows, cols):
            w.add_tensor(name, random_blocks(np, rng, rows, cols, a.type), raw_dtype=qtype)

        ones = np.ones(h, dtype=np.float32)
        matrix("token_embd.weight", vocab, h)
        for i in range(a.layers):
            p = f"blk.{i}."
            w.add_tensor(p + "attn_norm.weight", ones)
            matrix(p + "attn_q.weight", qw, h)
            matrix(p + "attn_k.weight", kw, h)
            matrix(p + "attn_v.weight", kw, h)
            matrix(p + "attn_output.weight", h, qw)
            w.add_tensor(p + "ffn_norm.weight", ones)
            matrix(p + "ffn_gate.weight", f, h)
            matrix(p + "ffn_up.weight", f, h)
            matrix(p + "ffn_down.weight", h, f)
        w.add_tensor("output_norm.weight", ones)
        matrix("output.weight", vocab, h)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        os.replace(tmp, a.out)
    except BaseException:
        os.unlink(tmp)
        raise
    per_layer = 2 * qw * h + 2 * kw * h + 3 * f * h
    print(f"wrote {a.out}: {a.shape} shapes, {a.layers} layers, {a.type.upper()}, vocabulary {vocab}, "
          f"{(a.layers * per_layer + 2 * vocab * h) / 1e6:.0f} M weights, {os.path.getsize(a.out) / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
