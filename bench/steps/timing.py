#!/usr/bin/env python3
"""Times the generated decode step against dense SDPA (DESIGN.md section 8).

    timing.py LIB_DIR [--reps 30]

For each case, in the same run and the same way for both sides: one CUDA
graph holds one step per input set, rotating through enough sets that one
round reads past the 60 MB L2; the time per step is the median replay time
over the number of sets. Dense is PyTorch's scaled_dot_product_attention with
its fastest backend here (each backend is timed, the best kept). The method
lives in measure.py, shared with bench.py. The adamas
step runs on PyTorch's stream (adamas.runtime.current_stream). Also timed:
each kernel family alone (the encode, select and attend functions), a
read-only pass over the code cache (torch sum of the same bytes, a lower
bound for select), and the eager host overhead of one step called from
Python. Prints a table last.
"""

import argparse
import math
import os
import sys
import time

import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, os.pardir, os.pardir, "python"))
sys.path.insert(0, here)

from adamas import compile as ac  # noqa: E402
from adamas import runtime as art  # noqa: E402
import cases  # noqa: E402
from measure import (COPY_TBPS, L2_BYTES, dense_time_us, graph_time_us,  # noqa: E402
                     kernel_breakdown)

# (label, spec name, B, N): DESIGN.md section 8, and B = 4 per head (between
# the cluster and long attention forms).
CASES = [
    ("B=1 32/32 N=32K", "mha_d128_k256", 1, 32768),
    ("B=1 32/32 N=128K", "mha_d128_k256", 1, 131072),
    ("B=1 32/8 N=32K per head", "gqa_d128_k256", 1, 32768),
    ("B=1 32/8 N=32K shared", "gqa_shared_d128_k256", 1, 32768),
    ("B=4 32/8 N=32K per head", "gqa_d128_k256", 4, 32768),
    ("B=16 32/8 N=32K per head", "gqa_d128_k256", 16, 32768),
    ("B=16 32/8 N=32K shared", "gqa_shared_d128_k256", 16, 32768),
]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("libdir")
    p.add_argument("--reps", type=int, default=30)
    p.add_argument("--cache", help="artifact cache with the decode steps (prepare.py)")
    args = p.parse_args()
    rt = art.Runtime(cache_dir=args.cache) if args.cache else None
    torch.manual_seed(0)
    print(f"GPU {torch.cuda.get_device_name()}, torch {torch.__version__}", flush=True)
    rows = []
    for label, spec_name, B, N in CASES:
        spec = cases.SPECS[spec_name]
        lib = os.path.join(args.libdir, f"{spec_name}.so")
        fn = {kind: ac.Function(lib, cases.function_name(spec_name, kind))
              for kind in cases.KINDS}
        if rt is not None:
            # The step as a user gets it: adamas.compile.decode_step, served
            # from the carried cache (this machine has no compiler).
            cached = ac.decode_step(spec, runtime=rt)
            print(f"{label}: decode_step from the {cached.source} cache", flush=True)
            fn["step"] = cached
        T = {"f16": torch.float16, "bf16": torch.bfloat16}[spec.dtype]
        code_bytes = B * spec.kv_heads * N * spec.words * 4
        sets = max(2, math.ceil(4 * L2_BYTES / code_bytes))
        dev = "cuda"
        q = [torch.randn(B, spec.q_heads, 1, spec.dims, device=dev, dtype=T) for _ in range(sets)]
        nk = [torch.randn(B, spec.kv_heads, 1, spec.dims, device=dev, dtype=T) for _ in range(sets)]
        keys = [torch.randn(B, spec.kv_heads, N, spec.dims, device=dev, dtype=T) for _ in range(sets)]
        values = [torch.randn(B, spec.kv_heads, N, spec.dims, device=dev, dtype=T) for _ in range(sets)]
        codes = [torch.randint(-2**31, 2**31 - 1, (B, spec.kv_heads, N, spec.words),
                               device=dev, dtype=torch.int32) for _ in range(sets)]
        lengths = torch.full((B,), N, device=dev, dtype=torch.int32)
        out = torch.empty(B, spec.q_heads, 1, spec.dims, device=dev, dtype=T)
        qc = [torch.randint(-2**31, 2**31 - 1, (B, spec.q_heads, 1, spec.words), device=dev,
                            dtype=torch.int32) for _ in range(sets)]
        idx = torch.empty(B, spec.index_heads, 1, spec.k, device=dev, dtype=torch.int32)
        new_codes = torch.empty(B, spec.kv_heads, 1, spec.words, device=dev, dtype=torch.int32)
        reps = args.reps

        step_us = graph_time_us(
            lambda s: fn["step"](q[s], nk[s], keys[s], values[s], codes[s], lengths, out), sets, reps)
        # The step compiled with other options (cases.STEP_VARIANTS).
        variants = []
        for options in (cases.STEP_VARIANTS if rt is not None else ()):
            other = ac.decode_step(spec, runtime=rt, **options)
            us = graph_time_us(
                lambda s: other(q[s], nk[s], keys[s], values[s], codes[s], lengths, out),
                sets, reps)
            variants.append(f"{cases.variant_label(options)}: {us:.1f}")
            print(f"{label}: step with {cases.variant_label(options)} {us:.1f} us", flush=True)
        select_us = graph_time_us(lambda s: fn["select"](qc[s], codes[s], lengths, idx), sets, reps)
        # Indices from a real selection, so attend gathers what a step would.
        with art.current_stream(torch.cuda.current_stream()):
            fn["select"](qc[0], codes[0], lengths, idx)
        attend_us = graph_time_us(lambda s: fn["attend"](q[s], keys[s], values[s], idx, out),
                                  sets, reps)
        encode_us = graph_time_us(lambda s: fn["encode"](nk[s], new_codes), sets, reps)
        read_us = graph_time_us(lambda s: codes[s].sum(dtype=torch.int64), sets, reps)
        dense = dense_time_us(q, keys, values, sets, reps)

        # Eager: host time of one step called from Python (PyTorch's stream).
        with art.current_stream(torch.cuda.current_stream()):
            for _ in range(10):
                fn["step"](q[0], nk[0], keys[0], values[0], codes[0], lengths, out)
            torch.cuda.synchronize()
            calls = 200
            start = time.perf_counter()
            for _ in range(calls):
                fn["step"](q[0], nk[0], keys[0], values[0], codes[0], lengths, out)
            host_us = (time.perf_counter() - start) / calls * 1e6
            torch.cuda.synchronize()

        # Per kernel (torch.profiler's CUDA activity): where the step's time goes.
        kernels = kernel_breakdown(
            lambda: fn["step"](q[0], nk[0], keys[0], values[0], codes[0], lengths, out))
        print(f"{label}: kernels " + ", ".join(f"{n} {t:.1f} us" for n, t, _ in kernels),
              flush=True)

        kv_row = 2 * spec.dims * 2
        floor = (code_bytes + B * spec.index_heads * spec.k * kv_row) / (COPY_TBPS * 1e12) * 1e6
        rows.append((label, dense, step_us, encode_us, select_us, attend_us, read_us, host_us,
                     floor, sets, ", ".join(variants) or "-"))
        print(f"{label}: dense {dense[0]:.1f} us ({dense[1]}), step {step_us:.1f} us", flush=True)
        del q, nk, keys, values, codes, qc
        torch.cuda.empty_cache()

    print("\n| case | dense SDPA (graph) | adamas step (graph) | speedup | encode | select "
          "| attend | read-only codes | select / read-only | byte floor | eager host/step | sets "
          "| step with other options |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for (label, dense, step, enc, sel, att, read, host, floor, sets, variants) in rows:
        print(f"| {label} | {dense[0]:.1f} us ({dense[1].lower()}) | {step:.1f} us "
              f"| {dense[0] / step:.1f}x | {enc:.1f} | {sel:.1f} | {att:.1f} | {read:.1f} "
              f"| {read / sel:.0%} | {floor:.1f} | {host:.1f} us | {sets} | {variants} |")


if __name__ == "__main__":
    main()
