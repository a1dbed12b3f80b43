"""adamas.runtime (the ctypes binding) on a real GPU, with PyTorch tensors.

    python3 bench/runtime/python_check.py CACHE_DIR vecadd.cubin

The compiler callback hands over the cubin that gpu_prepare.sh built from
bench/runtime/vecadd.mlir; the kernel runs on torch's current stream over
torch tensors (one CUDA primary context shared by torch and the runtime) and
is compared with torch's own a + b. Prints one "PYCHECK <name> PASS|FAIL
detail" line per check; exit status 0 only if all passed.
"""

import ctypes
import sys
import time

import torch

from adamas import runtime


def main(cache_dir, cubin_path):
    cubin = open(cubin_path, "rb").read()
    failed = False

    def report(name, ok, detail):
        nonlocal failed
        failed |= not ok
        print(f"PYCHECK {name} {'PASS' if ok else 'FAIL'}  {detail}", flush=True)

    ir = b"vecadd.mlir as carried (python_check)"
    n = 1_000_003  # Not a multiple of the block: the bounds check matters.
    a = torch.randn(n, device="cuda")
    b = torch.randn(n, device="cuda")
    stream = torch.cuda.current_stream()

    with runtime.Runtime(cache_dir=cache_dir) as rt:
        rt.set_compiler(lambda request, key: cubin)
        artifact = rt.get_or_compile(ir, chip="sm_90")
        loads_before = runtime.stats()["module_driver_loads"]
        kernel = rt.load(artifact).function("vecadd")
        c = torch.full_like(a, float("nan"))  # Poisoned: every element must be written.
        args = (runtime.memref_args(a, [n]) + runtime.memref_args(b, [n]) +
                runtime.memref_args(c, [n]) + [ctypes.c_int64(n)])
        kernel.launch(grid=((n + 255) // 256,), block=(256,), args=args,
                      stream=stream)
        stream.synchronize()
        error = (c - (a + b)).abs().max().item()
        report("vecadd_torch", error == 0.0,
               f"n={n}, max |c - (a+b)| = {error} (source {artifact.source})")

        # Loading again, and launching 1000 times, loads nothing more.
        start = time.perf_counter()
        for _ in range(1000):
            rt.load(artifact).function("vecadd").launch(
                grid=((n + 255) // 256,), block=(256,), args=args, stream=stream)
        stream.synchronize()
        per_call_us = (time.perf_counter() - start) * 1e6 / 1000
        loads = runtime.stats()["module_driver_loads"] - loads_before
        report("module_once", loads == 1,
               f"driver module loads for 1001 load+launch calls: {loads}; "
               f"{per_call_us:.1f} us per Python load+lookup+launch")

        # A prepared launch pays only the ctypes call per launch.
        launch = kernel.prepare(grid=((n + 255) // 256,), block=(256,),
                                args=args, stream=stream)
        launch()
        stream.synchronize()
        start = time.perf_counter()
        for _ in range(1000):
            launch()
        host_us = (time.perf_counter() - start) * 1e6 / 1000
        stream.synchronize()
        prepared_us = (time.perf_counter() - start) * 1e6 / 1000
        c.fill_(float("nan"))
        launch()
        stream.synchronize()
        error = (c - (a + b)).abs().max().item()
        report("prepared_launch", error == 0.0,
               f"max |c - (a+b)| = {error}; 1000 launches: {host_us:.1f} us each "
               f"on the host, {prepared_us:.1f} us each until the stream drained")

    with runtime.Runtime(cache_dir=cache_dir) as rt:  # No compiler this time.
        artifact = rt.get_or_compile(ir, chip="sm_90")
        report("disk_hit", artifact.source == "disk" and artifact.data == cubin,
               f"second runtime: source {artifact.source}")

    try:
        rt = runtime.Runtime(cache_dir=cache_dir)
        rt.load(b"this is neither a cubin nor PTX\x00")
        report("bad_image", False, "a bad image loaded")
    except runtime.AdamasRuntimeError as e:
        report("bad_image", "cuModuleLoad" in e.message, e.message[:120])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
