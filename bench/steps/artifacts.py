"""What the preparing scripts (prepare.py, examples.py) write here for the GPU
machine, which has no compiler: objects compiled from IR, and the identity of
the compiler that made them."""

import os
import subprocess
import time

from adamas import compile as ac


def compile_object(ir, out_dir, name, chip, **options):
    """Writes `ir` to OUT_DIR/NAME.mlir and its host object (kernels embedded
    as cubins) to OUT_DIR/NAME.o; returns the compile time in seconds.
    `options`: more adamas-gpu-pipeline options (adamas.compile.pipeline_options)."""
    with open(os.path.join(out_dir, f"{name}.mlir"), "w") as fh:
        fh.write(ir)
    start = time.time()
    obj = ac.compile_ir(ir, chip=chip, format="bin", **options)
    seconds = time.time() - start
    with open(os.path.join(out_dir, f"{name}.o"), "wb") as fh:
        fh.write(obj)
    return seconds


def compiler_identity():
    """`adamas-opt --version` on one line, for a manifest."""
    version = subprocess.run([ac.find_tool("adamas-opt"), "--version"],
                             capture_output=True, text=True).stdout
    return " ".join(version.split())
