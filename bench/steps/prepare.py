#!/usr/bin/env python3
"""Compiles the GPU check's functions (cases.py) here, where MLIR and the
CUDA toolkit are, into one x86-64 object per spec for the GPU machine.

    bench/steps/prepare.py OUTPUT_DIR [--chip sm_90] [--only NAME...]

Writes OUTPUT_DIR/<spec>.o and OUTPUT_DIR/manifest.json (the specs, function
names, compile times, tool versions).
"""

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, os.pardir, os.pardir, "python"))
sys.path.insert(0, here)

from adamas import compile as ac  # noqa: E402
import cases  # noqa: E402


def module_ir(name, spec):
    """The spec's functions (cases.KINDS) in one module."""
    rows_shape = [None, spec.kv_heads, spec.rows]
    return "\n".join([
        ac.decode_step_ir(spec, cases.function_name(name, "step")),
        ac.encode_ir(spec, rows_shape, cases.function_name(name, "encode"),
                     per_head=spec.per_head_thresholds),
        ac.select_ir(spec, cases.function_name(name, "select")),
        ac.attend_ir(spec, cases.function_name(name, "attend")),
        ac.hadamard_ir(spec, rows_shape, cases.function_name(name, "hadamard")),
    ])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--chip", default="sm_90")
    p.add_argument("--only", nargs="*")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    manifest = {"chip": args.chip, "specs": {}}
    for name, spec in cases.SPECS.items():
        if args.only and name not in args.only:
            continue
        ir = module_ir(name, spec)
        with open(os.path.join(args.out, f"{name}.mlir"), "w") as fh:
            fh.write(ir)
        start = time.time()
        obj = ac.compile_ir(ir, chip=args.chip, format="bin")
        seconds = time.time() - start
        with open(os.path.join(args.out, f"{name}.o"), "wb") as fh:
            fh.write(obj)
        manifest["specs"][name] = {"spec": dataclasses.asdict(spec),
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
    # What torch_check.py runs through adamas.torch and hf_check.py /
    # examples/hf_generate.py through adamas.torch.hf ($ADAMAS_CACHE_DIR there).
    if not args.only:
        for label, functions in (("adamas.torch", cases.torch_functions()),
                                 ("adamas.torch.hf", cases.hf_functions())):
            start = time.time()
            for kind, spec, fname in functions:
                make = ac.decode_step_ir if kind == "step" else ac.prefill_encode_ir
                f = ac.compile_cached(make(spec, fname), fname, spec, chip=args.chip,
                                      runtime=cache)
                print(f"{label} {kind} Hq {spec.q_heads} Hkv {spec.kv_heads} D {spec.dims} "
                      f"{spec.dtype} k {spec.k} M {spec.rows}: {f.source} (key {f.key[:16]})")
            print(f"{label}: {len(functions)} functions in {time.time() - start:.1f} s")
    version = subprocess.run([ac.find_tool("adamas-opt"), "--version"],
                             capture_output=True, text=True).stdout
    manifest["compiler"] = " ".join(version.split())
    with open(os.path.join(args.out, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)


if __name__ == "__main__":
    main()
