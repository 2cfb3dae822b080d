#!/usr/bin/env python3
"""Measure the GPU-host kernel tables pigplan's cost model interpolates, on a CUDA machine.

    python3 scripts/measure-gpu-kernels.py --out my-host.json
    pigplan calibrate --import my-host.json --into SYSTEM --profiles-dir DIR

Writes the JSON schema of Profiles/README.md ("GPU calibration import"): decode linear layers vs
batch (one transformer layer's four projections and the LM head, each timed on fresh weights so no
cache reuse), decode attention vs batch and context (torch SDPA over a bf16 KV cache), pinned
PCIe copies vs size, and host read bandwidth (1 thread and all threads). Shapes default to
Llama-3.1-8B; pass --hidden/--ffn/... for another model and --reference-model to name its profile.
`--device cpu --quick` runs the same code on the CPU with tiny shapes (a smoke test; the numbers
mean nothing).
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time

import torch


def timer(device):
    """Median seconds of fn() after warm-up, with CUDA events on a GPU."""
    def measure(fn, repeats=20, warmup=3):
        for _ in range(warmup):
            fn()
        samples = []
        for _ in range(repeats):
            if device.type == "cuda":
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                fn()
                end.record()
                torch.cuda.synchronize()
                samples.append(start.elapsed_time(end) / 1e3)
            else:
                t0 = time.perf_counter()
                fn()
                samples.append(time.perf_counter() - t0)
        return statistics.median(samples)
    return measure


def linear_rows(args, device, dtype, measure):
    h, f, q, kv, d, vocab = args.hidden, args.ffn, args.heads, args.kv_heads, args.head_dim, args.vocab
    shapes = {"qkv": (h, (q + 2 * kv) * d), "o": (q * d, h), "gateUp": (h, 2 * f), "down": (f, h)}
    # Distinct weights per projection and repeat (rotating through `copies`) so no cache reuse.
    copies = 2 if args.quick else 4
    weights = {name: [torch.randn(n_out, n_in, device=device, dtype=dtype) for _ in range(copies)]
               for name, (n_in, n_out) in shapes.items()}
    head = torch.randn(vocab, h, device=device, dtype=dtype)
    rows = []
    for batch in args.batches:
        row = {"batch": batch}
        total = 0.0
        for name, (n_in, _) in shapes.items():
            x = torch.randn(batch, n_in, device=device, dtype=dtype)
            counter = [0]

            def run(name=name, x=x):
                w = weights[name][counter[0] % copies]
                counter[0] += 1
                return torch.nn.functional.linear(x, w)
            seconds = measure(run)
            row[name + "Seconds"] = seconds
            total += seconds
        row["layerSeconds"] = total
        x = torch.randn(batch, h, device=device, dtype=dtype)
        row["lmHeadSeconds"] = measure(lambda: torch.nn.functional.linear(x, head))
        rows.append(row)
        print(f"linear batch {batch}: layer {total * 1e3:.3f} ms", file=sys.stderr)
    return rows


def attention_rows(args, device, dtype, measure):
    q_heads, kv, d = args.heads, args.kv_heads, args.head_dim
    group = q_heads // kv
    rows = []
    for batch, context in args.attention_points:
        k = torch.randn(batch, kv, context, d, device=device, dtype=dtype)
        v = torch.randn(batch, kv, context, d, device=device, dtype=dtype)
        # The G query heads of a group folded into query rows of their KV head.
        q = torch.randn(batch, kv, group, d, device=device, dtype=dtype)
        seconds = measure(lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v))
        rows.append({"batch": batch, "contextTokens": context, "seconds": seconds})
        print(f"attention batch {batch} context {context}: {seconds * 1e3:.3f} ms", file=sys.stderr)
        del k, v
    return rows


def pcie_rows(args, device, measure):
    rows = []
    for size in args.copy_sizes:
        host = torch.empty(size, dtype=torch.uint8).pin_memory() if device.type == "cuda" else torch.empty(size, dtype=torch.uint8)
        dev = torch.empty(size, dtype=torch.uint8, device=device)
        h2d = measure(lambda: dev.copy_(host, non_blocking=False), repeats=10)
        d2h = measure(lambda: host.copy_(dev, non_blocking=False), repeats=10)
        rows.append({"bytes": size, "hostToDeviceSeconds": h2d, "deviceToHostSeconds": d2h})
    return rows


def host_read(threads, size):
    torch.set_num_threads(threads)
    data = torch.ones(size // 4, dtype=torch.float32)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        data.sum()
        best = min(best, time.perf_counter() - t0)
    return size / best


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="JSON file to write")
    p.add_argument("--device", default="cuda")
    p.add_argument("--quick", action="store_true", help="tiny shapes and few points (smoke test)")
    p.add_argument("--reference-model", default="llama-3.1-8b", help="pigplan model profile of the shapes")
    p.add_argument("--hidden", type=int, default=4096)
    p.add_argument("--ffn", type=int, default=14336)
    p.add_argument("--heads", type=int, default=32)
    p.add_argument("--kv-heads", type=int, default=8)
    p.add_argument("--head-dim", type=int, default=128)
    p.add_argument("--vocab", type=int, default=128256)
    args = p.parse_args()
    device = torch.device(args.device)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    if args.quick:
        args.hidden, args.ffn, args.heads, args.kv_heads, args.head_dim, args.vocab = 256, 512, 4, 2, 64, 1000
        args.batches = [1, 4]
        args.attention_points = [(1, 512), (4, 512)]
        args.copy_sizes = [4096, 1 << 20]
        read_size = 64 << 20
    else:
        args.batches = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
        args.attention_points = [(1, 4096), (1, 32768), (1, 98304), (1, 131072), (4, 32768), (4, 98304),
                                 (16, 32768), (16, 98304), (64, 8192), (128, 4096), (256, 2048)]
        args.copy_sizes = [4096, 65536, 1 << 20, 16 << 20, 256 << 20, 1 << 30]
        read_size = 2 << 30
    measure = timer(device)
    cores = os.cpu_count() or 1
    result = {
        "description": f"Kernel tables measured by pigplan's scripts/measure-gpu-kernels.py with PyTorch {torch.__version__}.",
        "measuredOn": datetime.date.today().isoformat(),
        "referenceModel": args.reference_model,
        "gpu": {"name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu (smoke test)",
                "memoryGiB": (torch.cuda.get_device_properties(device).total_memory / 2**30) if device.type == "cuda" else 0},
        "host": {"cpuCores": cores, "cpu": platform.processor() or platform.machine()},
        "ceilings": {f"hostReadBytesPerSecond{cores}Threads": host_read(cores, read_size),
                     "hostReadBytesPerSecond1Thread": host_read(1, read_size)},
        "decodeLinearLayers": {"rows": linear_rows(args, device, dtype, measure)},
        "gpuDecodeAttention": {"rows": attention_rows(args, device, dtype, measure)},
        "pcie": {"rows": pcie_rows(args, device, measure)},
    }
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=1)
    os.replace(tmp, args.out)
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
