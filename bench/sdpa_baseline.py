#!/usr/bin/env python3
"""Baseline for DESIGN.md section 8, measured on the GPU machine.

Times PyTorch's dense scaled_dot_product_attention for one fp16 decode step
(M = 1, D = 128) in the four target cases, with CUDA events (median of many
after warm-up), next to the two floors the sparse kernels are judged by:
the measured device-to-device copy bandwidth, the byte floor of dense
attention (K and V read once) and the byte floor of a sparse step (the
2-bit key codes read once, plus k rows of K and V per query head, or per KV
head with shared_group). Every case's
KV cache is several times the 50 MB L2, so each dense call streams from
HBM; inputs are random normal, never zeros. Prints a table last.

Usage (on the GPU machine): python3 bench/sdpa_baseline.py
"""

import statistics

import torch
import torch.nn.functional as F

CASES = [  # (B, Hq, Hkv, N, k): DESIGN.md section 8
    (1, 32, 32, 32 * 1024, 256),
    (1, 32, 32, 128 * 1024, 256),
    (1, 32, 8, 32 * 1024, 256),
    (16, 32, 8, 32 * 1024, 256),
]
D = 128
BYTES = 2  # fp16


def median_ms(fn, warmup=10, reps=100):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times), min(times), max(times)


def copy_bandwidth():
    """Bytes read + written per second of a 2 GiB device-to-device copy."""
    n = 1 << 30  # fp16 elements, 2 GiB
    src = torch.randn(n, dtype=torch.float16, device="cuda")
    dst = torch.empty_like(src)
    ms, _, _ = median_ms(lambda: dst.copy_(src), warmup=3, reps=20)
    del src, dst
    return 2 * n * BYTES / (ms * 1e-3)


def main():
    torch.manual_seed(0)
    props = torch.cuda.get_device_properties(0)
    bw = copy_bandwidth()
    print(f"GPU: {props.name}, {props.multi_processor_count} SMs, "
          f"torch {torch.__version__}, CUDA {torch.version.cuda}")
    print(f"device-to-device copy: {bw / 1e12:.2f} TB/s (read + write)")
    rows = []
    for B, Hq, Hkv, N, k in CASES:
        q = torch.randn(B, Hq, 1, D, dtype=torch.float16, device="cuda")
        kk = torch.randn(B, Hkv, N, D, dtype=torch.float16, device="cuda")
        v = torch.randn(B, Hkv, N, D, dtype=torch.float16, device="cuda")
        gqa = Hq != Hkv
        fn = lambda: F.scaled_dot_product_attention(q, kk, v, enable_gqa=gqa)
        out = fn()
        # Correctness of the baseline itself against float64 math, on batch
        # row 0 (a float64 copy of a whole B = 16 cache would not fit).
        g = Hq // Hkv
        k0 = kk[0].double().repeat_interleave(g, 0)
        v0 = v[0].double().repeat_interleave(g, 0)
        ref = torch.softmax(q[0].double() @ k0.transpose(-1, -2) / D ** 0.5,
                            -1) @ v0
        err = ((out[0].double() - ref).norm() / ref.norm()).item()
        del k0, v0
        med, lo, hi = median_ms(fn)
        kv_bytes = 2 * B * Hkv * N * D * BYTES
        code_bytes = B * Hkv * N * D * 2 // 8
        # k rows of K and V gathered per query head, or per KV head when the
        # GQA group shares one selection (shared_group).
        per_head = code_bytes + 2 * B * Hq * k * D * BYTES
        shared = code_bytes + 2 * B * Hkv * k * D * BYTES
        rows.append((B, Hq, Hkv, N, k, med * 1e3, lo * 1e3, hi * 1e3, err,
                     kv_bytes / bw * 1e6, per_head / bw * 1e6, shared / bw * 1e6,
                     kv_bytes / (med * 1e-3) / 1e12))
        del q, kk, v, out, ref
        torch.cuda.empty_cache()
    print()
    print("| B | Hq/Hkv | N | k | dense SDPA median us (min-max) | rel err vs f64 "
          "| dense byte floor us | achieved TB/s "
          "| sparse byte floor us (per head / shared_group) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (B, Hq, Hkv, N, k, med, lo, hi, err, dense_floor, per_head, shared,
         achieved) in rows:
        print(f"| {B} | {Hq}/{Hkv} | {N // 1024}K | {k} | {med:.1f} ({lo:.1f}-{hi:.1f}) "
              f"| {err:.1e} | {dense_floor:.1f} | {achieved:.2f} "
              f"| {per_head:.1f} / {shared:.1f} |")


if __name__ == "__main__":
    main()
