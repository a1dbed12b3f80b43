#!/usr/bin/env python3
"""The example decoder layers (examples/llama_decode_layer_{mha,gqa,tosa}.mlir)
compiled whole by adamas-gpu-pipeline, run and checked against numpy.

    examples.py prepare OUT_DIR [--chip sm_90] [--only VARIANT...]
        (here, with MLIR and the CUDA toolkit) --adamas-sparsify, then
        adamas-gpu-pipeline{format=bin}: OUT_DIR/<variant>.o (host code with
        the cubins embedded) and OUT_DIR/manifest.json.
    examples.py check LIB_DIR [--seed S] [--only VARIANT...]
        (on the GPU machine) runs LIB_DIR/<variant>.so (the object linked
        against libadamas_runtime.so by gpu_check.sh) with torch CUDA buffers.
    examples.py fake OBJ_DIR [--only VARIANT...]
        (here) the host code of the prepared objects on the runtime's fake
        CUDA driver (build/runtime/test/libadamas_fake_cuda.so, "device"
        memory is host memory, launches are recorded, not run): every module
        loads, every kernel launches, every allocation is freed, no stream
        is left, nothing is synchronized on a current stream.
    examples.py cpu [--seed S] [--only VARIANT...] [--keep DIR]
        (here) the same check through the CPU reference lowering of the same
        outlined program (adamas-outline-decode-steps, adamas-lower-to-linalg)
        with the GPU pipeline's calling convention: validates the reference,
        the inputs and the argument order without a GPU.

The check: random weights, input and KV cache (test/Integration/CPU/Inputs/
llama_layer.py, the numpy layer written from its definition, not from the
IR), past key codes from adamas.reference; every output poisoned first; the
layer output within f32 tolerance of the numpy layer whose attention is
adamas.reference's sparse attention (budget 8 of 64 or 128 tokens, so a wrong
selection shows), the grown K and V caches and the grown key-code cache
exact (codes) or within rounding. One PASS/FAIL line per check; exit status
0 iff all passed.

Calling convention (what the pipeline makes of `@decode_layer`): the C
interface `_mlir_ciface_decode_layer` takes a memref descriptor per argument
(x, past_k, past_v, cos, sin, the nine weights, past key codes), then one per
result, written by the call (layer output, keys, values, key codes; the
grown caches hold N = past + 1 tokens).
"""

import argparse
import ctypes
import json
import os
import sys
import tempfile
import time

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.abspath(os.path.join(here, os.pardir, os.pardir))
sys.path.insert(0, os.path.join(root, "python"))
sys.path.insert(0, os.path.join(root, "test", "Integration", "CPU", "Inputs"))

from adamas import compile as ac  # noqa: E402
from adamas import reference as ref  # noqa: E402
import artifacts  # noqa: E402  (bench/steps: this script's directory)
import llama_layer as ll  # noqa: E402

VARIANTS = ("mha", "gqa", "tosa")
BUDGET = 8
SPARSIFY = f"budget={BUDGET} thresholds={','.join(str(t) for t in ll.THRESHOLDS)}"
FUNCTION = "decode_layer"

results = []


def record(check, passed, detail):
    results.append((check, passed, detail))
    print(f"{'PASS' if passed else 'FAIL'}  {check}: {detail}", flush=True)


def example(variant):
    return os.path.join(root, "examples", f"llama_decode_layer_{variant}.mlir")


def sparsified(variant):
    return ac._run([ac.find_tool("adamas-opt"), example(variant),
                    f"--adamas-sparsify={SPARSIFY}"], "adamas-sparsify").decode()


# --- the problem and its reference ----------------------------------------------

def problem(variant, seed):
    """Inputs (in argument order) and expected outputs (in result order)."""
    v = ll.VARIANTS[variant]
    for attempt in range(50):
        rng = np.random.default_rng(seed + attempt)
        w = ll.draw(v, rng)
        dense = lambda q, k, vv: ref.dense_attn(q, k, vv, scale=ll.SCALE, dtype="f32")  # noqa: E731
        _, q, k, vv = ll.layer(v, w, dense)
        qr, kr = ref.hadamard(q, dtype="f32"), ref.hadamard(k, dtype="f32")
        # Codes must not hinge on the last bits of f32 arithmetic.
        if ll.far_from_thresholds(qr) and ll.far_from_thresholds(kr):
            break
    else:
        raise SystemExit("no seed gave q and K away from the thresholds")
    N = v["past"] + 1
    lengths = np.array([N], np.int32)
    codes = ref.bucketize(kr, ll.THRESHOLDS)

    def sparse(q, k, vv):
        idx = ref.l1_topk(ref.bucketize(ref.hadamard(q, dtype="f32"), ll.THRESHOLDS), codes,
                          lengths, BUDGET)
        return ref.sparse_attn(q, k, vv, idx, scale=ll.SCALE, dtype="f32")

    out = ll.layer(v, w, sparse)[0]
    args = []
    for name in ll.ARGS:
        value = w[name]
        if v["tosa"] and name.startswith("w"):
            value = value.reshape((1,) * (3 - value.ndim) + value.shape)
        args.append((name, np.ascontiguousarray(value, np.float32)))
    past_codes = ref.bucketize(ref.hadamard(w["past_k"], dtype="f32"), ll.THRESHOLDS)
    args.append(("past key codes", np.ascontiguousarray(past_codes, np.int32)))
    expected = [
        ("layer output", np.asarray(out, np.float32), 1e-4, 1e-4 * np.abs(out).max()),
        ("keys", np.asarray(k, np.float32), 1e-5, 1e-5 * np.abs(k).max()),
        ("values", np.asarray(vv, np.float32), 1e-5, 1e-5 * np.abs(vv).max()),
        ("key codes", np.asarray(codes, np.int32), None, None),
    ]
    return args, expected


def compare(variant, expected, got):
    ok = True
    for (name, want, rtol, atol), have in zip(expected, got):
        if have.shape != want.shape:
            record(f"{variant} {name}", False, f"shape {have.shape}, expected {want.shape}")
            ok = False
            continue
        if rtol is None:
            bad = int((have != want).sum())
            record(f"{variant} {name}", bad == 0, f"{bad} of {want.size} differ")
        else:
            err = np.abs(have.astype(np.float64) - want)
            bad = int((~(err <= atol + rtol * np.abs(want))).sum())  # NaN counts
            record(f"{variant} {name}", bad == 0,
                   f"max |err| {np.nanmax(err):.2e} (atol {atol:.1e}), {bad} outside")
        ok = ok and bad == 0
    return ok


# --- calling the compiled function ----------------------------------------------

class _Buffer:
    """What ac.descriptor needs of a buffer: data_ptr() and shape."""

    def __init__(self, pointer, shape):
        self.pointer, self.shape = pointer, shape

    def data_ptr(self):
        return self.pointer


def call(library, buffers):
    fn = getattr(library, f"_mlir_ciface_{FUNCTION}")
    fn.restype = None
    descs = [ac.descriptor(b) for b in buffers]
    fn(*[ctypes.byref(d) for d in descs])


# --- prepare (here) -------------------------------------------------------------

def prepare(args):
    os.makedirs(args.out, exist_ok=True)
    manifest = {"chip": args.chip, "sparsify": SPARSIFY, "variants": {}}
    for variant in args.only or VARIANTS:
        seconds = artifacts.compile_object(sparsified(variant), args.out, variant, args.chip)
        manifest["variants"][variant] = {"compile_seconds": round(seconds, 3)}
        print(f"{variant}: compiled in {seconds:.2f} s")
    manifest["compiler"] = artifacts.compiler_identity()
    with open(os.path.join(args.out, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)


# --- check on the GPU -------------------------------------------------------------

def check_gpu(args):
    import torch
    from adamas import runtime
    runtime.load_library()   # before the library, which needs its mgpu* symbols
    print(f"seed {args.seed}", flush=True)
    for variant in args.only or VARIANTS:
        library = ctypes.CDLL(os.path.join(args.lib_dir, f"{variant}.so"))
        inputs, expected = problem(variant, args.seed)
        dev = [torch.from_numpy(a).cuda() for _, a in inputs]
        outs = []
        for _, want, _, _ in expected:
            t = torch.empty(want.shape, dtype=torch.int32 if want.dtype == np.int32
                            else torch.float32, device="cuda")
            t.fill_(-7 if want.dtype == np.int32 else float("nan"))   # poisoned
            outs.append(t)
        torch.cuda.synchronize()
        call(library, dev + outs)
        torch.cuda.synchronize()
        compare(variant, expected, [t.cpu().numpy() for t in outs])
        # Again on a side stream set as the runtime's current stream: the
        # layer's kernels must follow it (no host sync needed in between).
        stream = torch.cuda.Stream()
        for t in outs:
            t.fill_(float("nan") if t.dtype == torch.float32 else -7)
        torch.cuda.synchronize()
        with torch.cuda.stream(stream), runtime.current_stream(stream):
            call(library, dev + outs)
        stream.synchronize()
        ok = compare(f"{variant} (current stream)", expected, [t.cpu().numpy() for t in outs])
        del ok


# --- the host code on the fake driver (here) ----------------------------------------

def check_fake(args):
    build = os.environ.get("ADAMAS_BUILD_DIR") or os.path.join(root, "build")
    driver = os.path.join(build, "runtime", "test", "libadamas_fake_cuda.so")
    os.environ["ADAMAS_CUDA_DRIVER"] = driver
    fake = ctypes.CDLL(driver)
    fake.fakecuda_call_count.restype = ctypes.c_uint64
    fake.fakecuda_live_allocations.restype = ctypes.c_size_t
    fake.fakecuda_live_streams.restype = ctypes.c_size_t
    from adamas import runtime
    runtime.load_library(os.path.join(build, "lib", "libadamas_runtime.so"))
    tmp = tempfile.mkdtemp()
    for variant in args.only or VARIANTS:
        so = os.path.join(tmp, f"{variant}.so")
        ac.link_shared(os.path.join(args.obj_dir, f"{variant}.o"), so,
                       runtime_dir=os.path.join(build, "lib"))
        with open(os.path.join(args.obj_dir, f"{variant}.mlir")) as fh:
            # Launches in the host code: the layer's and its steps'.
            launches = sum(line.count("gpu.launch_func") for line in
                           ac.lower_ir(fh.read(), format="isa").splitlines())
        library = ctypes.CDLL(so)
        inputs, expected = problem(variant, 0)
        outs = [np.zeros(want.shape, want.dtype) for _, want, _, _ in expected]
        buffers = [_Buffer(a.ctypes.data, a.shape) for a in [a for _, a in inputs] + outs]
        for current in (None, 0x1):   # no current stream; the legacy default stream
            fake.fakecuda_reset()
            runtime.set_current_stream(current)
            call(library, buffers)
            runtime.set_current_stream(None)
            count = {n: fake.fakecuda_call_count(n.encode()) for n in (
                "cuLaunchKernel", "cuStreamSynchronize", "cuMemAllocAsync", "cuMemFreeAsync")}
            where = "current stream" if current else "own streams"
            record(f"{variant} ({where}) launches", count["cuLaunchKernel"] == launches,
                   f"{count['cuLaunchKernel']} of {launches}")
            record(f"{variant} ({where}) memory", fake.fakecuda_live_allocations() == 0 and
                   count["cuMemAllocAsync"] == count["cuMemFreeAsync"],
                   f"{count['cuMemAllocAsync']} stream-ordered allocations, "
                   f"{fake.fakecuda_live_allocations()} live after the call")
            syncs_ok = count["cuStreamSynchronize"] == 0 if current else True
            record(f"{variant} ({where}) streams", fake.fakecuda_live_streams() == 0 and syncs_ok,
                   f"{fake.fakecuda_live_streams()} left, "
                   f"{count['cuStreamSynchronize']} synchronizations")


# --- the same on the CPU (here) -----------------------------------------------------

CPU_PIPELINE = ",".join([
    "func.func(tosa-to-linalg-named,tosa-to-linalg,tosa-to-arith,tosa-to-tensor)",
    "adamas-outline-decode-steps", "adamas-lower-to-linalg", "canonicalize",
    "func.func(convert-elementwise-to-linalg)",
    "one-shot-bufferize{bufferize-function-boundaries "
    "function-boundary-type-conversion=identity-layout-map}",
    "buffer-results-to-out-params{hoist-static-allocs modify-public-functions}",
    "ownership-based-buffer-deallocation", "canonicalize",
    "buffer-deallocation-simplification", "bufferization-lower-deallocations",
    "cse", "canonicalize",
    "func.func(convert-linalg-to-loops)", "func.func(convert-vector-to-scf)",
    "lower-affine", "convert-scf-to-cf", "expand-strided-metadata", "lower-affine",
    "arith-expand{include-bf16}", "convert-vector-to-llvm", "finalize-memref-to-llvm",
    "convert-math-to-llvm", "convert-arith-to-llvm", "adamas-assert-to-llvm",
    "convert-cf-to-llvm", "convert-func-to-llvm", "reconcile-unrealized-casts",
])


def check_cpu(args):
    print(f"seed {args.seed}", flush=True)
    tmp = args.keep or tempfile.mkdtemp()
    os.makedirs(tmp, exist_ok=True)
    for variant in args.only or VARIANTS:
        src = os.path.join(tmp, f"{variant}.mlir")
        with open(src, "w") as fh:
            fh.write(sparsified(variant))
        llvm, ll_file, so = (os.path.join(tmp, f"{variant}{e}") for e in (".llvm.mlir", ".ll", ".so"))
        ac._run([ac.find_tool("adamas-opt"), src, f"--pass-pipeline=builtin.module({CPU_PIPELINE})",
                 "-o", llvm], "CPU pipeline")
        ac._run([ac.find_tool("mlir-translate"), "--mlir-to-llvmir", llvm, "-o", ll_file],
                "mlir-translate")
        ac._run([ac.find_tool("llc"), "-O2", "-filetype=obj", "-relocation-model=pic", ll_file,
                 "-o", so + ".o"], "llc")
        # memrefCopy and friends: MLIR's C runner utils.
        lib_dir = os.path.join(os.path.dirname(ac.find_tool("mlir-translate")), os.pardir, "lib")
        ac._run(["g++", "-shared", "-o", so, so + ".o", f"-L{lib_dir}", "-lmlir_c_runner_utils",
                 f"-Wl,-rpath,{os.path.abspath(lib_dir)}"], "link")
        library = ctypes.CDLL(so)
        inputs, expected = problem(variant, args.seed)
        host = [a for _, a in inputs]
        outs = [np.full(want.shape, -7 if want.dtype == np.int32 else np.nan, want.dtype)
                for _, want, _, _ in expected]
        call(library, [_Buffer(a.ctypes.data, a.shape) for a in host + outs])
        compare(f"{variant} (CPU)", expected, outs)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("prepare")
    s.add_argument("out")
    s.add_argument("--chip", default="sm_90")
    s.add_argument("--only", nargs="*", choices=VARIANTS)
    s = sub.add_parser("check")
    s.add_argument("lib_dir")
    s.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    s.add_argument("--only", nargs="*", choices=VARIANTS)
    s = sub.add_parser("fake")
    s.add_argument("obj_dir")
    s.add_argument("--only", nargs="*", choices=VARIANTS)
    s = sub.add_parser("cpu")
    s.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    s.add_argument("--only", nargs="*", choices=VARIANTS)
    s.add_argument("--keep")
    args = p.parse_args()
    {"prepare": prepare, "check": check_gpu, "fake": check_fake, "cpu": check_cpu}[args.command](args)
    if args.command != "prepare":
        passed = sum(ok for _, ok, _ in results)
        print(f"== example layers: {passed}/{len(results)} checks passed")
        return 0 if results and passed == len(results) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
