#!/usr/bin/env python3
"""Runs one benchmark case's decode step a few times, for a profiler
(ncu / nsys) wrapped around it:

    ADAMAS_PROGRAMMATIC_LAUNCH=0 ncu -k regex:select0 --launch-skip 10 \\
        --launch-count 2 --section SpeedOfLight ... \\
        python3 bench/steps/profile_step.py --cache DIR mha_d128_k256 1 32768

Inputs as bench.py makes them (fp16, lengths = N, rotated sets); the step
comes from the carried artifact cache. Prints nothing but what it ran.
"""

import argparse
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, os.pardir, os.pardir, "python"))
sys.path.insert(0, here)

import bench  # noqa: E402
import cases  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("spec", choices=sorted(cases.BENCH_SPECS))
    p.add_argument("B", type=int)
    p.add_argument("N", type=int)
    p.add_argument("--cache", required=True)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--max-cluster-size", type=int, default=None,
                   help="the decode step compiled with this adamas-gpu-pipeline option "
                        "(from the cache: prepare.py makes cases.STEP_VARIANTS)")
    p.add_argument("--cluster-select", action="store_true",
                   help="the decode step compiled with cluster-select=true")
    p.add_argument("--no-attend-long-splits", action="store_true",
                   help="the decode step compiled with attend-long-splits=false")
    p.add_argument("--off", action="append", default=[], metavar="OPTION",
                   help="the decode step compiled with this boolean codegen option "
                        "(adamas.compile's keyword, e.g. select_grid_sync) false; "
                        "repeatable (from the cache: cases.STEP_VARIANTS)")
    p.add_argument("--on", action="append", default=[], metavar="OPTION",
                   help="the same with the option true (e.g. select_async_key_copies)")
    args = p.parse_args()
    import torch
    from adamas import runtime as art
    spec = cases.BENCH_SPECS[args.spec]
    rt = art.Runtime(cache_dir=args.cache)
    codegen = {}
    if args.max_cluster_size is not None:
        codegen["max_cluster_size"] = args.max_cluster_size
    if args.cluster_select:
        codegen["cluster_select"] = True
    if args.no_attend_long_splits:
        codegen["attend_long_splits"] = False
    for option in args.off:
        codegen[option] = False
    for option in args.on:
        codegen[option] = True
    if not codegen:
        functions = bench.Functions(args.spec, rt)
        step, source = functions.fn["step"], functions.source
    else:
        from adamas import compile as ac
        step = ac.decode_step(spec, runtime=rt, **codegen)
        source = step.source
    x = bench.Inputs(spec.q_heads, spec.kv_heads, args.B, args.N, spec.words)
    with art.current_stream(torch.cuda.current_stream()):
        for i in range(args.steps):
            s = i % x.sets
            step(x.q[s], x.nk[s], x.keys[s], x.values[s], x.codes[s], x.lengths, x.out)
    torch.cuda.synchronize()
    print(f"{args.spec} B={args.B} N={args.N}: {args.steps} steps ({source})")


if __name__ == "__main__":
    main()
