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

Sections the cost model's unit models read (new keys; the ones above are unchanged):
  gpuDecodeAttentionByHeads  decode attention over kv heads x batch x context (head dim 128, group 4),
                             plus gpuDecodeAttention.kernel (SDPA backend and whether it splits the KV
                             sequence, detected at run time) and gpu.streamingMultiprocessors;
  decodeLinearShapes         single bf16 GEMMs x @ W^T, 4096x4096 .. 8192x57344, batch 1..256, each
                             timed back to back inside a CUDA graph and eagerly;
  eagerDispatch              one Llama-3.1-8B-shaped decoder layer x 32 at batch 1: eager, CUDA graph,
                             host issue time, kernels per layer.
On a GPU, `--quick` keeps the old sections tiny and runs the new ones on real shapes over a reduced
grid (meant to take under 2 minutes on an H200). The JSON is rewritten after each new section, so
a run cut short keeps what it finished.
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


# ---------------------------------------------------------------------------------------------
# Helpers shared by the sections below.

def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def free_device_bytes(device):
    """Free device memory after returning cached blocks (a fixed 8 GiB stand-in on the CPU)."""
    if device.type != "cuda":
        return 8 << 30
    torch.cuda.empty_cache()
    free, _ = torch.cuda.mem_get_info(device)
    return free


def l2_bytes(device):
    if device.type != "cuda":
        return 32 << 20
    return getattr(torch.cuda.get_device_properties(device), "L2_cache_size", 0) or (50 << 20)


def capture_graph(fn):
    """fn() captured into a CUDA graph, after warm-up on a side stream (lazy cuBLAS/cuDNN set-up
    must not happen during capture)."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            fn()
    torch.cuda.current_stream().wait_stream(side)
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        fn()
    torch.cuda.synchronize()
    return graph


LAUNCH_CALLS = ("cudaLaunchKernel", "cudaLaunchKernelExC", "cuLaunchKernel", "cuLaunchKernelEx",
                "cudaLaunchCooperativeKernel")


def profile_launches(fn, device):
    """What one fn() puts on the GPU, from torch.profiler: {"kernels": [device kernel names],
    "memOps": memset/memcpy count, "launchCalls": CUDA runtime launch calls}; None where the
    profiler is unavailable (or on the CPU)."""
    if device.type != "cuda":
        return None
    try:
        from torch.profiler import ProfilerActivity, profile
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            fn()
            torch.cuda.synchronize()
        kernels, mem_ops, launches = [], 0, 0
        for event in prof.events():
            name = event.name
            if str(getattr(event, "device_type", "")).endswith("CUDA"):
                if name.startswith("Memset") or name.startswith("Memcpy"):
                    mem_ops += 1
                else:
                    kernels.append(name)
            elif name in LAUNCH_CALLS:
                launches += 1
        return {"kernels": kernels, "memOps": mem_ops, "launchCalls": launches}
    except Exception as error:  # profiler/CUPTI missing: the caller falls back
        print(f"torch.profiler unavailable ({error})", file=sys.stderr)
        return None


def count_aten_ops(fn):
    """Non-view ATen ops one fn() dispatches (an estimate of kernel launches where the profiler
    is unavailable; cuBLAS or SDPA may launch more than one kernel per op)."""
    try:
        from torch.utils._python_dispatch import TorchDispatchMode
    except ImportError:
        return None

    class Counter(TorchDispatchMode):
        count = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if not getattr(func, "is_view", False):
                Counter.count += 1
            return func(*args, **(kwargs or {}))
    try:
        with Counter():
            fn()
    except Exception as error:
        print(f"op counting failed ({error})", file=sys.stderr)
        return None
    return Counter.count


def write_json(result, path):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=1)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# gpuDecodeAttentionByHeads feeds:
#   GPUAttentionTiming (thread blocks = batch x KV heads x splits over SMs, per-block rate, bandwidth cap)
# Few (batch x kv head) blocks leave SMs idle unless the kernel splits the KV sequence; the grid
# varies blocks and bytes independently.

SDPA_BACKENDS = {0: "math", 1: "flash", 2: "efficient", 3: "cudnn", 4: "overrideable"}


def backend_from_kernels(names):
    joined = " ".join(names).lower()
    if "cudnn" in joined or "sdpa" in joined:
        return "cudnn"
    if "flash" in joined:
        return "flash"
    if "fmha" in joined or "memeffattention" in joined or "attentionkernel" in joined:
        return "efficient"
    return "math" if names else None


def attention_by_heads(grid, device, dtype, measure):
    """Rows {kvHeads, queryHeads, headDim, batch, contextTokens, seconds} and the kernel
    description (backend, splitsKV, evidence) for gpuDecodeAttention.kernel."""
    kv_list, batches, contexts, d, group = grid["kvHeads"], grid["batches"], grid["contexts"], grid["headDim"], grid["group"]
    elem = torch.tensor([], dtype=dtype).element_size()
    budget = int(0.4 * free_device_bytes(device))
    # Rotate through copies of a small KV cache so that repeats read HBM, not L2 (in a real
    # decode step the other layers' weights evict it).
    target = max(256 << 20, 4 * l2_bytes(device))

    def cache_bytes(b, kv, ctx):
        return 2 * b * kv * ctx * d * elem

    def copies_for(nbytes):
        return max(1, min(16, -(-target // nbytes)))
    combos, skipped = [], []
    for ctx in contexts:
        for kv in kv_list:
            for b in batches:
                nbytes = cache_bytes(b, kv, ctx)
                if nbytes > budget:
                    skipped.append({"kvHeads": kv, "batch": b, "contextTokens": ctx, "kvCacheBytes": nbytes})
                else:
                    combos.append((kv, b, ctx))
    if not combos:
        return [], skipped, {"backend": None, "splitsKV": False, "evidence": "nothing fitted in memory"}
    pool_bytes = min(budget, max(cache_bytes(b, kv, ctx) * copies_for(cache_bytes(b, kv, ctx)) for kv, b, ctx in combos))
    pool = torch.empty(pool_bytes // elem, device=device, dtype=dtype)
    pool.normal_()

    def views(kv, b, ctx):
        n = b * kv * ctx * d
        copies = max(1, min(copies_for(2 * n * elem), pool.numel() // (2 * n)))
        return [(pool[2 * i * n:(2 * i + 1) * n].view(b, kv, ctx, d), pool[(2 * i + 1) * n:(2 * i + 2) * n].view(b, kv, ctx, d))
                for i in range(copies)]

    rows = []
    for kv, b, ctx in combos:
        caches = views(kv, b, ctx)
        # The G query heads of a group folded into query rows of their KV head, as gpuDecodeAttention.
        q = torch.randn(b, kv, group, d, device=device, dtype=dtype)
        counter = [0]

        def run(q=q, caches=caches):
            k, v = caches[counter[0] % len(caches)]
            counter[0] += 1
            return torch.nn.functional.scaled_dot_product_attention(q, k, v)
        seconds = measure(run)
        rows.append({"kvHeads": kv, "queryHeads": group * kv, "headDim": d, "batch": b, "contextTokens": ctx,
                     "seconds": seconds, "kvCacheBytes": cache_bytes(b, kv, ctx)})
        print(f"attention kv {kv} batch {b} context {ctx}: {seconds * 1e3:.3f} ms "
              f"({cache_bytes(b, kv, ctx) / seconds / 1e9:.0f} GB/s)", file=sys.stderr)

    # Which kernel ran: SDPA's own choice, the kernels the profiler saw at a few-blocks point
    # (where a split-KV kernel would split) and at a many-blocks point.
    kernel = {"backend": None, "splitsKV": False}
    probes = []
    small = min(combos, key=lambda c: (c[0] * c[1], -c[2]))
    large = max(combos, key=lambda c: (c[0] * c[1], -c[2]))
    names_all = []
    for kv, b, ctx in dict.fromkeys([small, large]):
        k, v = views(kv, b, ctx)[0]
        q = torch.randn(b, kv, group, d, device=device, dtype=dtype)
        probe = {"kvHeads": kv, "batch": b, "contextTokens": ctx}
        try:
            probe["sdpaChoice"] = SDPA_BACKENDS.get(int(torch._fused_sdp_choice(q, k, v)), "unknown")
        except Exception:
            pass
        seen = profile_launches(lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v), device)
        if seen is not None:
            probe["kernels"] = sorted(set(seen["kernels"]))
            names_all += seen["kernels"]
        probes.append(probe)
    choices = [p["sdpaChoice"] for p in probes if "sdpaChoice" in p]
    kernel["backend"] = choices[0] if choices else backend_from_kernels(names_all)
    if names_all:
        kernel["backendFromKernelNames"] = backend_from_kernels(names_all)
    named_split = any("splitkv" in n.lower() or "split_kv" in n.lower() for n in names_all)
    # Timing evidence, whatever the backend: at batch 1 and one context, 8 kv heads read 8x the
    # bytes of 1; without a KV split each head is one block, so both take about the same time.
    by_key = {(r["kvHeads"], r["batch"], r["contextTokens"]): r["seconds"] for r in rows}
    ratio = None
    for ctx in sorted(contexts, reverse=True):
        if (1, 1, ctx) in by_key and (8, 1, ctx) in by_key:
            ratio = by_key[(8, 1, ctx)] / by_key[(1, 1, ctx)]
            kernel["timingProbe"] = {"batch": 1, "contextTokens": ctx, "seconds1KvHead": by_key[(1, 1, ctx)],
                                     "seconds8KvHeads": by_key[(8, 1, ctx)], "ratio": ratio}
            break
    if named_split:
        kernel["splitsKV"], kernel["evidence"] = True, "a split-KV kernel in the profiler trace"
    elif names_all and kernel["backend"] == "flash":
        kernel["splitsKV"], kernel["evidence"] = False, "flash kernels without split-KV in the profiler trace"
    elif device.type != "cuda":
        kernel["evidence"] = "CPU smoke test: not determined"
    elif ratio is not None:
        kernel["splitsKV"] = ratio > 3.0
        kernel["evidence"] = ("timing: at batch 1, 8 kv heads take %.1fx the time of 1 (about 1x: one block per "
                              "(sequence, kv head), no split; several x: split over the KV sequence)" % ratio)
    else:
        kernel["evidence"] = "no kernel names or timing probe; assumed no split"
    kernel["probes"] = probes
    kernel["torch"] = torch.__version__
    if device.type == "cuda":
        kernel["cuda"] = torch.version.cuda
        kernel["cudnn"] = torch.backends.cudnn.version()
    kernel["note"] = ("Detected at run time, not assumed. PyTorch's SDPA picks the backend by version and GPU: "
                      "flash (FlashAttention-2, whose mha_fwd in recent PyTorch applies the split-KV heuristic "
                      "when batch x heads is well under 2 x SMs), efficient (no KV split), or cuDNN (preferred "
                      "on sm90/sm100 by recent builds). splitsKV describes the backend used at these shapes.")
    del pool
    return rows, skipped, kernel


# ---------------------------------------------------------------------------------------------
# decodeLinearShapes feeds:
#   GPULinearTiming (per-call fixed cost + bytes/bandwidth or FLOPs/matmul rate)
# Inside a CUDA graph the launch cost is nearly gone, so secondsPerCall is the kernel's own time;
# eagerSecondsPerCall adds the per-call host launch cost of an eager step.

def linear_shape_rows(shapes, batches, calls, device, dtype, measure):
    elem = torch.tensor([], dtype=dtype).element_size()
    largest = max(i * o for i, o in shapes)
    # N distinct weight matrices per shape, so no call finds its weights in L2.
    calls = max(2, min(calls, int(0.5 * free_device_bytes(device)) // (largest * elem)))
    pool = torch.empty(calls * largest, device=device, dtype=dtype)
    pool.normal_(std=0.02)
    rows = []
    for n_in, n_out in shapes:
        n = n_in * n_out
        weights = [pool[j * n:(j + 1) * n].view(n_out, n_in) for j in range(calls)]
        for batch in batches:
            x = torch.randn(batch, n_in, device=device, dtype=dtype)

            def run_all(x=x, weights=weights):
                for w in weights:
                    torch.nn.functional.linear(x, w)
            eager = measure(run_all) / calls
            graph_seconds = None
            if device.type == "cuda":
                graph = capture_graph(run_all)
                graph_seconds = measure(graph.replay) / calls
                del graph
            nbytes = (n + batch * n_in + batch * n_out) * elem
            rows.append({"inFeatures": n_in, "outFeatures": n_out, "batch": batch, "bytes": nbytes,
                         "flops": 2 * batch * n, "secondsPerCall": graph_seconds, "eagerSecondsPerCall": eager})
            shown, how = (graph_seconds, "graph") if graph_seconds is not None else (eager, "eager (no graph)")
            print(f"linear {n_in}x{n_out} batch {batch}: {how} {shown * 1e6:.1f} us "
                  f"({nbytes / shown / 1e9:.0f} GB/s, {2 * batch * n / shown / 1e12:.2f} TFLOP/s), eager {eager * 1e6:.1f} us",
                  file=sys.stderr)
    del pool
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return rows, calls


# ---------------------------------------------------------------------------------------------
# eagerDispatch feeds:
#   host dispatch per layer (runs alongside GPU work; the step takes the larger)
# One decoder layer written the way an eager implementation issues it, op by op.

def rms_norm(x, weight, eps=1e-5):
    xf = x.float()
    xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)
    return weight * xf.to(x.dtype)


def rope(x, cos, sin):
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rotated * sin


class DecoderLayer:
    def __init__(self, shape, batch, context, device, dtype):
        h, f, heads, kv, d = shape["hidden"], shape["ffn"], shape["heads"], shape["kvHeads"], shape["headDim"]
        self.heads, self.kv, self.d, self.group = heads, kv, d, heads // kv

        def weight(n_out, n_in):
            return torch.empty(n_out, n_in, device=device, dtype=dtype).normal_(std=n_in ** -0.5)
        self.norm1 = torch.ones(h, device=device, dtype=dtype)
        self.norm2 = torch.ones(h, device=device, dtype=dtype)
        self.w_qkv = weight((heads + 2 * kv) * d, h)
        self.w_o = weight(h, heads * d)
        self.w_gate_up = weight(2 * f, h)
        self.w_down = weight(h, f)
        self.k_cache = torch.randn(batch, kv, context, d, device=device, dtype=dtype)
        self.v_cache = torch.randn(batch, kv, context, d, device=device, dtype=dtype)
        self.position = context - 1
        angles = torch.arange(d, device=device, dtype=torch.float32) * 1e-3
        self.cos, self.sin = angles.cos().to(dtype), angles.sin().to(dtype)

    def __call__(self, x):
        b, heads, kv, d = x.shape[0], self.heads, self.kv, self.d
        hidden = rms_norm(x, self.norm1)
        q, k, v = torch.nn.functional.linear(hidden, self.w_qkv).split([heads * d, kv * d, kv * d], dim=-1)
        q = rope(q.view(b, heads, d), self.cos, self.sin)
        k = rope(k.view(b, kv, d), self.cos, self.sin)
        self.k_cache[:, :, self.position] = k
        self.v_cache[:, :, self.position] = v.view(b, kv, d)
        attended = torch.nn.functional.scaled_dot_product_attention(
            q.view(b, kv, self.group, d), self.k_cache, self.v_cache)
        x = x + torch.nn.functional.linear(attended.reshape(b, heads * d), self.w_o)
        hidden = rms_norm(x, self.norm2)
        gate, up = torch.nn.functional.linear(hidden, self.w_gate_up).chunk(2, dim=-1)
        return x + torch.nn.functional.linear(torch.nn.functional.silu(gate) * up, self.w_down)


def host_issue_seconds(fn, device, repeats=20, warmup=3):
    """Median CPU time to issue fn() without waiting for the GPU (the queue drained before each)."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        sync(device)
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    sync(device)
    return statistics.median(samples)


def eager_dispatch(shape, layers_count, batch, context, device, dtype, measure):
    layers = [DecoderLayer(shape, batch, context, device, dtype) for _ in range(layers_count)]
    x = torch.randn(batch, shape["hidden"], device=device, dtype=dtype)

    def step():
        y = x
        for layer in layers:
            y = layer(y)
        return y
    result = {"layers": layers_count, "batch": batch, "contextTokens": context, "model": dict(shape)}
    eager = measure(step, repeats=20, warmup=5)
    issue = host_issue_seconds(step, device)
    result["secondsPerLayerEager"] = eager / layers_count
    result["secondsPerLayerGraph"] = None
    if device.type == "cuda":
        try:
            graph = capture_graph(step)
            result["secondsPerLayerGraph"] = measure(graph.replay, repeats=20, warmup=5) / layers_count
            del graph
        except Exception as error:
            result["graphError"] = str(error)
            print(f"eager dispatch: graph capture failed ({error})", file=sys.stderr)
    result["hostIssueSecondsPerLayer"] = issue / layers_count
    ops = count_aten_ops(step)
    seen = profile_launches(step, device)
    if seen is not None and seen["kernels"]:
        result["kernelsPerLayer"] = len(seen["kernels"]) / layers_count
        result["kernelCountSource"] = "torch.profiler device kernels (memsets/copies not counted)"
        result["memOpsPerLayer"] = seen["memOps"] / layers_count
        if seen["launchCalls"]:
            result["launchCallsPerLayer"] = seen["launchCalls"] / layers_count
    else:
        result["kernelsPerLayer"] = ops / layers_count if ops is not None else None
        result["kernelCountSource"] = "non-view ATen ops dispatched (estimate)"
    if ops is not None:
        result["atenOpsPerLayer"] = ops / layers_count
    result["stepSecondsEager"] = eager
    if result["secondsPerLayerGraph"] is not None:
        result["stepSecondsGraph"] = result["secondsPerLayerGraph"] * layers_count
    result["hostIssueSecondsPerStep"] = issue
    graph_text = "n/a" if result["secondsPerLayerGraph"] is None else f"{result['secondsPerLayerGraph'] * 1e6:.1f}"
    print(f"eager dispatch per layer: eager {result['secondsPerLayerEager'] * 1e6:.1f} us, graph {graph_text} us, "
          f"host issue {result['hostIssueSecondsPerLayer'] * 1e6:.1f} us, kernels {result['kernelsPerLayer']}", file=sys.stderr)
    del layers
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return result


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="JSON file to write")
    p.add_argument("--device", default="cuda")
    p.add_argument("--quick", action="store_true",
                   help="tiny shapes for the original tables, a reduced grid for the new sections (under 2 min on an H200)")
    p.add_argument("--reference-model", default="llama-3.1-8b", help="pigplan model profile of the shapes")
    p.add_argument("--hidden", type=int, default=4096)
    p.add_argument("--ffn", type=int, default=14336)
    p.add_argument("--heads", type=int, default=32)
    p.add_argument("--kv-heads", type=int, default=8)
    p.add_argument("--head-dim", type=int, default=128)
    p.add_argument("--vocab", type=int, default=128256)
    p.add_argument("--graph-calls", type=int, default=20,
                   help="distinct weight matrices per shape captured back to back in decodeLinearShapes")
    args = p.parse_args()
    device = torch.device(args.device)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    # The model shape of eagerDispatch, taken before --quick shrinks the original tables' shapes.
    model_shape = {"hidden": args.hidden, "ffn": args.ffn, "heads": args.heads, "kvHeads": args.kv_heads,
                   "headDim": args.head_dim}
    tiny = device.type != "cuda"  # the CPU smoke test: the new sections on toy shapes
    if tiny:
        heads_grid = {"kvHeads": [1, 2, 8], "batches": [1, 2], "contexts": [256, 1024], "headDim": 128, "group": 4}
        linear_shapes, linear_batches = [(64, 64), (64, 256), (256, 64)], [1, 8]
        model_shape = {"hidden": 256, "ffn": 512, "heads": 8, "kvHeads": 2, "headDim": 32}
        dispatch_layers, dispatch_context = 4, 64
    elif args.quick:
        heads_grid = {"kvHeads": [1, 8, 32], "batches": [1, 8], "contexts": [4096, 32768], "headDim": 128, "group": 4}
        linear_shapes = [(4096, 4096), (4096, 28672), (14336, 4096), (8192, 57344)]
        linear_batches = [1, 64]
        dispatch_layers, dispatch_context = 32, 1024
    else:
        heads_grid = {"kvHeads": [1, 2, 4, 8, 16, 32, 64], "batches": [1, 2, 4, 8, 16, 32],
                      "contexts": [4096, 32768, 98304], "headDim": 128, "group": 4}
        linear_shapes = [(4096, 4096), (4096, 6144), (4096, 14336), (4096, 28672), (14336, 4096), (8192, 8192),
                         (8192, 10240), (8192, 28672), (28672, 8192), (8192, 57344)]
        linear_batches = [1, 8, 64, 256]
        dispatch_layers, dispatch_context = 32, 1024
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
    gpu = {"name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu (smoke test)",
           "memoryGiB": (torch.cuda.get_device_properties(device).total_memory / 2**30) if device.type == "cuda" else 0}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        gpu["streamingMultiprocessors"] = props.multi_processor_count
        gpu["computeCapability"] = f"{props.major}.{props.minor}"
        if getattr(props, "L2_cache_size", 0):
            gpu["l2CacheBytes"] = props.L2_cache_size
    result = {
        "description": f"Kernel tables measured by pigplan's scripts/measure-gpu-kernels.py with PyTorch {torch.__version__}.",
        "measuredOn": datetime.date.today().isoformat(),
        "referenceModel": args.reference_model,
        "gpu": gpu,
        "host": {"cpuCores": cores, "cpu": platform.processor() or platform.machine()},
        "ceilings": {f"hostReadBytesPerSecond{cores}Threads": host_read(cores, read_size),
                     "hostReadBytesPerSecond1Thread": host_read(1, read_size)},
        "decodeLinearLayers": {"rows": linear_rows(args, device, dtype, measure)},
        "gpuDecodeAttention": {"rows": attention_rows(args, device, dtype, measure)},
        "pcie": {"rows": pcie_rows(args, device, measure)},
    }
    write_json(result, args.out)

    # New sections (new keys only). Each is written as soon as it is done; one that fails records
    # its error and the run goes on.
    def section(key, build):
        started = time.perf_counter()
        try:
            result[key] = build()
        except Exception as error:
            result[key] = {"error": f"{type(error).__name__}: {error}"}
            print(f"{key} failed: {error}", file=sys.stderr)
        if device.type == "cuda":
            torch.cuda.empty_cache()
        write_json(result, args.out)
        print(f"{key}: {time.perf_counter() - started:.1f} s", file=sys.stderr)

    def by_heads():
        rows, skipped, kernel = attention_by_heads(heads_grid, device, dtype, measure)
        result["gpuDecodeAttention"]["kernel"] = kernel
        return {
            "note": ("Decode attention, one query token per sequence: torch scaled_dot_product_attention over a bf16 "
                     f"KV cache of contextTokens per sequence, head dim {heads_grid['headDim']}, {heads_grid['group']} "
                     "query heads per kv head folded into query rows of their kv head (queryHeads = group x kvHeads). "
                     "Small caches rotate through copies so repeats read HBM, not L2. Combinations whose KV cache "
                     "exceeds 40% of free GPU memory are listed in skipped. Backend and KV split: "
                     "gpuDecodeAttention.kernel; SM count: gpu.streamingMultiprocessors."),
            "grid": heads_grid, "rows": rows, "skipped": skipped}
    section("gpuDecodeAttentionByHeads", by_heads)

    def linear_shapes_section():
        rows, calls = linear_shape_rows(linear_shapes, linear_batches, args.graph_calls, device, dtype, measure)
        return {
            "note": (f"One bf16 GEMM x @ W^T, x of shape [batch, inFeatures]. secondsPerCall: {calls} calls on "
                     f"{calls} different weight matrices captured back to back in one CUDA graph, replayed, divided "
                     f"by {calls} (no weights left in L2, launch cost nearly gone). eagerSecondsPerCall: the same "
                     "calls launched eagerly from Python (includes the host launch cost when it exceeds the "
                     "kernel). bytes = weights + input + output; flops = 2 x batch x in x out."),
            "graphCalls": calls, "rows": rows}
    section("decodeLinearShapes", linear_shapes_section)

    def dispatch_section():
        measured = eager_dispatch(model_shape, dispatch_layers, 1, dispatch_context, device, dtype, measure)
        return {
            "note": (f"{dispatch_layers} decoder layers shaped like {args.reference_model if not tiny else 'a toy model'}, "
                     f"each with its own weights, batch 1, one token over a {dispatch_context}-token KV cache: "
                     "RMSNorm (fp32, op by op), fused qkv, rotary on q and k, KV-cache write, SDPA, o, residual, "
                     "RMSNorm, gate/up, SiLU x up, down, residual. secondsPerLayerEager: the eager step timed with "
                     "CUDA events and a synchronize at the end; secondsPerLayerGraph: the same step as one CUDA "
                     "graph replay (GPU time alone); hostIssueSecondsPerLayer: perf_counter around the eager Python "
                     "loop without synchronising (the CPU cost of issuing the launches while the GPU works). "
                     "All divided by the layer count."),
            **measured}
    section("eagerDispatch", dispatch_section)
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
