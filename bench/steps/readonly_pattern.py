#!/usr/bin/env python3
"""Does the histogram pass's access pattern cost bandwidth? (issue 10, a
study for bench/NOTES.md item 58). The pass gives each CTA one contiguous
chunk of a row's key codes (512 CTAs at 32K and 128K MHA: 64 KB or 256 KB
each, in one wave), where the read-only yardstick (readonly.py) walks the
whole buffer grid-stride (at any moment every program reads a neighbour of
the others' blocks). This times both patterns with the same grid (4
programs of 8 warps per SM, 16 KB per program per iteration: the pass's
256 threads x 2 keys x 32 bytes) over the code bytes of 32K and 128K MHA
(32 heads x N x 32 bytes), and the chunked one with 512 programs (the
pass's grid). Needs only torch and Triton.

    readonly_pattern.py [--out DIR] [--reps 50]

Each timing is measure.py's graph_time_us (inputs rotated past the L2,
median of `reps` replays per set).
"""

import argparse
import os
import sys

import triton
import triton.language as tl

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)

# The yardstick's own kernel (readonly.py): grid-stride blocks.
from readonly import _read_only as _grid_stride  # noqa: E402

BLOCK = 4096          # int32 per program per iteration: 16 KB
WARPS = 8


@triton.jit
def _chunked(src, out, blocks_per_program, BLOCK: tl.constexpr):
    pid = tl.program_id(0)
    offs = tl.arange(0, BLOCK)
    acc = tl.zeros([BLOCK], dtype=tl.int32)
    first = pid * blocks_per_program
    for blk in range(first, first + blocks_per_program):
        acc += tl.load(src + blk * BLOCK + offs)
    tl.store(out + pid, tl.sum(acc, axis=0))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.environ.get("OUT") or ".")
    p.add_argument("--reps", type=int, default=50)
    args = p.parse_args()
    import torch
    from measure import L2_BYTES, graph_time_us
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    out = torch.zeros(8 * sms, dtype=torch.int32, device="cuda")
    lines = [f"GPU {torch.cuda.get_device_name()} ({sms} SMs), torch {torch.__version__}; "
             f"`bench/steps/readonly_pattern.py`: {BLOCK * 4 // 1024} KB per program per "
             f"iteration, {WARPS} warps; median of {args.reps} graph replays per set; "
             "TB/s = bytes / time.", "",
             "| bytes (32 heads x N x 32 B) | pattern | programs | us | TB/s |",
             "|---|---|---|---|---|"]
    for n_keys in (32768, 131072):
        nbytes = 32 * n_keys * 32
        n_blocks = nbytes // 4 // BLOCK
        sets = max(1, -(-4 * L2_BYTES // nbytes))
        bufs = [torch.empty(nbytes // 4, device="cuda", dtype=torch.int32).random_(0, 100)
                for _ in range(sets)]
        runs = [("grid-stride", 4 * sms,
                 lambda s, g=4 * sms: _grid_stride[(g,)](bufs[s], out, n_blocks, BLOCK=BLOCK,
                                                         num_warps=WARPS)),
                ("chunked", 512,
                 lambda s: _chunked[(512,)](bufs[s], out, n_blocks // 512, BLOCK=BLOCK,
                                            num_warps=WARPS)),
                ("grid-stride", 512,
                 lambda s: _grid_stride[(512,)](bufs[s], out, n_blocks, BLOCK=BLOCK,
                                                num_warps=WARPS))]
        for pattern, programs, call in runs:
            us = graph_time_us(call, sets, args.reps, adamas_stream=False)
            row = (f"| {nbytes / 2**20:.0f} MiB (N = {n_keys // 1024}K) | {pattern} | "
                   f"{programs} | {us:.1f} | {nbytes / us / 1e6:.2f} |")
            print(row, flush=True)
            lines.append(row)
        bufs = None
        torch.cuda.empty_cache()
    text = "\n".join(lines) + "\n"
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "readonly_pattern.md"), "w") as fh:
        fh.write(text)
    print("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
