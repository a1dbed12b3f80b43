#!/usr/bin/env python3
"""The attention's second floor (issue 10, METHOD.md: two floors first): what
reading the selected K and V rows costs when they are scattered, measured
with a read-only Triton gather (gather.py) beside a read-only stream over the
same number of bytes (readonly.py), for the attention shapes of DESIGN 8
(D = 128, f16, k = 256, N = 32K). Needs only torch and Triton (no adamas
runtime): the numbers to put beside the attention kernels' times.

    gather_floor.py [--out DIR] [--reps 50]

Indices: per selection row k distinct positions drawn uniformly from [0, N),
sorted (the compaction writes them in position order); per-head GQA rows of
one KV head draw independently (real heads of a group overlap more, which
only helps the real kernel through L2). Each timing is measure.py's
graph_time_us (a CUDA graph running every rotation set once, its host
launch hidden behind a spin kernel; sets: one round reads >= 4x the L2),
median of `reps` replays, per set. The gather is timed in each (block, warps)
configuration and the fastest kept: the yardstick is the best gather, not
one configuration.
"""

import argparse
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)

# (label, batch, query heads, KV heads, shared_group)
CASES = [
    ("B=1 32/32", 1, 32, 32, False),
    ("B=16 32/8 per head", 16, 32, 8, False),
    ("B=16 32/8 shared", 16, 32, 8, True),
    ("B=64 32/8 per head", 64, 32, 8, False),
    ("B=64 32/8 shared", 64, 32, 8, True),
]
N, D, K = 32768, 128, 256
CONFIGS = ((16, 4), (32, 4), (32, 8), (64, 8))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.environ.get("OUT") or ".")
    p.add_argument("--reps", type=int, default=50)
    args = p.parse_args()
    import torch
    from gather import Gather
    from measure import L2_BYTES, graph_time_us
    from readonly import ReadOnly
    torch.manual_seed(0)
    reader = ReadOnly()
    lines = [f"GPU {torch.cuda.get_device_name()}, torch {torch.__version__}; "
             f"`bench/steps/gather_floor.py`: D = {D}, f16, k = {K}, N = {N // 1024}K; "
             f"median of {args.reps} graph replays per set; TB/s = bytes / time.", "",
             "| case | K/V bytes read | gather (best config) | gather TB/s | stream over the "
             "same bytes | stream TB/s | gather / stream |", "|---|---|---|---|---|---|---|"]
    for label, batch, hq, hkv, shared in CASES:
        rows = batch * (hkv if shared else hq)
        group = 1 if shared else hq // hkv
        keys = torch.randn(batch * hkv, N, D, device="cuda", dtype=torch.float16)
        values = torch.randn_like(keys)
        nbytes = rows * K * D * 2 * 2
        sets = max(1, -(-4 * L2_BYTES // nbytes))
        indices = [torch.rand(rows, N, device="cuda").topk(K, dim=1).indices.sort(dim=1)
                   .values.to(torch.int32).contiguous() for _ in range(sets)]
        best = None
        for block, warps in CONFIGS:
            gather = Gather(block, warps)
            us = graph_time_us(lambda s: gather(keys, values, indices[s], group), sets,
                               args.reps, adamas_stream=False)
            print(f"{label}: gather block {block} warps {warps}: {us:.1f} us", flush=True)
            if best is None or us < best[0]:
                best = (us, block, warps)
        streams = [torch.empty(nbytes // 4, device="cuda", dtype=torch.int32).random_(0, 100)
                   for _ in range(sets)]
        stream_us = graph_time_us(lambda s: reader(streams[s]), sets, args.reps,
                                  adamas_stream=False)
        us, block, warps = best
        row = (f"| {label} | {nbytes / 1e6:.1f} MB | {us:.1f} us (block {block}, {warps} warps) "
               f"| {nbytes / us / 1e6:.2f} | {stream_us:.1f} us | {nbytes / stream_us / 1e6:.2f} "
               f"| {stream_us / us:.0%} |")
        print(row, flush=True)
        lines.append(row)
        keys = values = indices = streams = None
        torch.cuda.empty_cache()
    text = "\n".join(lines) + "\n"
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "gather_floor.md"), "w") as fh:
        fh.write(text)
    print("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
