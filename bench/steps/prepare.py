#!/usr/bin/env python3
"""Compiles the GPU check's functions (cases.py) here, where MLIR and the
CUDA toolkit are, into one x86-64 object per spec for the GPU machine.

    bench/steps/prepare.py OUTPUT_DIR [--chip sm_90] [--only NAME...]

Writes OUTPUT_DIR/<spec>.o and OUTPUT_DIR/manifest.json (the specs, function
names, compile times, tool versions), and the artifact cache OUTPUT_DIR/cache
that the GPU machine serves from disk: timing.py's decode steps, what
torch_check.py, accuracy.py --kernel-check (cases.accuracy_functions),
bench.py (cases.BENCH_SPECS: one module per spec) and e2e.py
(cases.e2e_functions) run. --no-bench leaves out the last two.
"""

import argparse
import dataclasses
import json
import os
import shutil
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, os.pardir, os.pardir, "python"))
sys.path.insert(0, here)

from adamas import compile as ac  # noqa: E402
import artifacts  # noqa: E402
import cases  # noqa: E402


def compile_functions(label, functions, chip, cache):
    """Compiles (kind, spec, name) triples as adamas.torch builds them (a
    decode step, or CodeCache.prefill's encode) into the artifact cache."""
    start = time.time()
    for kind, spec, fname in functions:
        make = ac.decode_step_ir if kind == "step" else ac.prefill_encode_ir
        f = ac.compile_cached(make(spec, fname), fname, spec, chip=chip, runtime=cache)
        print(f"{label} {kind} Hq {spec.q_heads} Hkv {spec.kv_heads} D {spec.dims} "
              f"{spec.dtype} k {spec.k} M {spec.rows} shared {spec.shared_group}: "
              f"{f.source} (key {f.key[:16]})")
    print(f"{label}: {len(functions)} functions in {time.time() - start:.1f} s")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--chip", default="sm_90")
    p.add_argument("--only", nargs="*")
    p.add_argument("--no-bench", action="store_true",
                   help="skip bench.py's and e2e.py's functions (the cache gets only what "
                        "timing.py and torch_check.py need)")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    manifest = {"chip": args.chip, "specs": {}}
    for name, spec in cases.SPECS.items():
        if args.only and name not in args.only:
            continue
        options = cases.PIPELINE_OPTIONS.get(name, {})
        seconds = artifacts.compile_object(cases.module_ir(name, spec), args.out, name,
                                           args.chip, **options)
        manifest["specs"][name] = {"spec": dataclasses.asdict(spec), "options": options,
                                   "compile_seconds": round(seconds, 3)}
        print(f"{name}: {len(cases.KINDS)} functions compiled in {seconds:.2f} s")
    # The steps timing.py runs, through the runtime's artifact cache: the GPU
    # machine (no compiler) serves them from this directory.
    from adamas import runtime
    cache_dir = os.path.join(args.out, "cache")
    shutil.rmtree(cache_dir, ignore_errors=True)   # carry only what is current
    cache = runtime.Runtime(cache_dir=cache_dir)
    for name in cases.CACHED:
        if args.only and name not in args.only:
            continue
        step = ac.decode_step(cases.SPECS[name], chip=args.chip, runtime=cache)
        print(f"{name}: decode_step {step.source} (key {step.key[:16]})")
        for options in cases.STEP_VARIANTS:
            step = ac.decode_step(cases.SPECS[name], chip=args.chip, runtime=cache,
                                  **options)
            print(f"{name} {cases.variant_label(options)}: decode_step {step.source}")
    # What torch_check.py runs through adamas.torch, hf_check.py /
    # examples/hf_generate.py through adamas.torch.hf and bench/accuracy.py
    # --kernel-check through adamas.torch ($ADAMAS_CACHE_DIR there).
    if not args.only:
        for label, functions in (("adamas.torch", cases.torch_functions()),
                                 ("adamas.torch.hf", cases.hf_functions()),
                                 ("accuracy.py --kernel-check", cases.accuracy_functions())):
            compile_functions(label, functions, args.chip, cache)
    if not args.only and not args.no_bench:
        # bench.py: one module per spec (step, encode, select, attend).
        start = time.time()
        for name, spec in cases.BENCH_SPECS.items():
            t = time.time()
            module = cases.bench_module_name(name)
            f = ac.compile_cached(cases.module_ir(module, spec, cases.BENCH_KINDS),
                                  cases.function_name(module, "step"), spec, chip=args.chip,
                                  runtime=cache)
            manifest.setdefault("bench", {})[name] = {
                "spec": dataclasses.asdict(spec), "key": f.key,
                "compile_seconds": round(time.time() - t, 3)}
            print(f"bench {name}: {f.source} in {time.time() - t:.2f} s (key {f.key[:16]})")
        print(f"bench functions: {time.time() - start:.1f} s")
        # e2e.py: what its adamas.torch calls build (steps, CodeCache.prefill's encode).
        compile_functions("e2e.py", cases.e2e_functions(), args.chip, cache)
    manifest["compiler"] = artifacts.compiler_identity()
    with open(os.path.join(args.out, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)


if __name__ == "__main__":
    main()
