#!/usr/bin/env python3
"""The compiler's resource report of every generated kernel of the benchmark's
decode steps (issue 10: registers, spills, shared memory, occupancy).

    python3 bench/steps/resources.py [--out FILE.md] [--k 256 ...]

Runs where the compiler is (adamas-opt, and ptxas of the CUDA toolkit; no GPU):
each bench family's decode step (bench/steps/cases.py: 32/32, 32/8 per head,
32/8 shared_group; D 128, 2 bits) through `adamas-gpu-pipeline` with the
kernels as PTX, then `ptxas -arch=sm_90 -v` on that PTX. Per kernel: threads
per CTA (the PTX's .maxntid), registers per thread, spill stores and loads,
static shared memory, and the CTAs per SM that registers, shared memory and
the thread limit allow on an H100/H200 (65536 registers allocated per warp
in units of 256, 228 KB of shared memory with 1 KB reserved per CTA, 2048
threads, 32 CTAs). Prints a markdown table (and writes it with --out).
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))

# sm_90 (H100, H200): what bounds the CTAs resident on one SM.
REGISTERS_PER_SM = 65536
REGISTER_UNIT = 256            # registers are allocated per warp in these units
SHARED_PER_SM = 228 * 1024
SHARED_RESERVED_PER_CTA = 1024
THREADS_PER_SM = 2048
CTAS_PER_SM = 32


def ctas_per_sm(threads, registers, shared):
    """(CTAs per SM, what bounds them) for a kernel's resources."""
    warps = -(-threads // 32)
    per_warp = -(-registers * 32 // REGISTER_UNIT) * REGISTER_UNIT
    limits = {
        "registers": REGISTERS_PER_SM // (per_warp * warps) if registers else CTAS_PER_SM,
        "shared": SHARED_PER_SM // (shared + SHARED_RESERVED_PER_CTA),
        "threads": THREADS_PER_SM // threads,
        "CTA limit": CTAS_PER_SM,
    }
    bound = min(limits, key=lambda name: limits[name])
    return limits[bound], bound


def ptx_of(ir):
    """The PTX adamas-gpu-pipeline{format=isa} embeds for `ir`."""
    from adamas import compile as ac
    lowered = ac.lower_ir(ir, format="isa")
    found = re.findall(r'assembly = "((?:[^"\\]|\\.)*)"', lowered, re.S)
    if not found:
        raise RuntimeError("no gpu.binary with PTX in the pipeline's output")
    return "".join(re.sub(r"\\([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), text)
                   for text in found)


def block_sizes(ptx):
    """Kernel name -> threads per CTA, from each .entry's .maxntid."""
    sizes = {}
    for match in re.finditer(r"\.entry\s+(\w+)\((?:.|\n)*?\.maxntid\s+(\d+),\s*(\d+),\s*(\d+)",
                             ptx):
        sizes[match.group(1)] = int(match.group(2)) * int(match.group(3)) * int(match.group(4))
    return sizes


def report(ptx):
    """[(kernel, threads, registers, spill stores, spill loads, shared bytes)]
    from ptxas -v on `ptx`."""
    ptxas = os.path.join(os.environ.get("CUDA_HOME", "/usr/local/cuda"), "bin", "ptxas")
    with tempfile.TemporaryDirectory() as tmp:
        # One PTX module per gpu.module (each from its .version line);
        # ptxas takes them one at a time.
        modules = [part for part in re.split(r"(?=^\.version)", ptx, flags=re.M)
                   if ".entry" in part]
        out = ""
        for i, module in enumerate(modules):
            one = os.path.join(tmp, f"m{i}.ptx")
            with open(one, "w") as fh:
                fh.write(module)
            result = subprocess.run([ptxas, "-arch=sm_90", "-v", one, "-o", os.devnull],
                                    capture_output=True, text=True)
            if result.returncode:
                raise RuntimeError(f"ptxas failed: {result.stderr.strip()[-500:]}")
            out += result.stderr
    return parse_ptxas(out, block_sizes(ptx))


def parse_ptxas(out, threads):
    """ptxas -v's report (stderr) -> [(kernel, threads, registers, spill
    stores, spill loads, shared bytes)]; `threads`: kernel -> threads per CTA."""
    rows = []
    for block in re.split(r"Compiling entry function '", out)[1:]:
        name = block.split("'", 1)[0]
        regs = re.search(r"Used (\d+) registers", block)
        spills = re.search(r"(\d+) bytes spill stores, (\d+) bytes spill loads", block)
        smem = re.search(r"(\d+) bytes smem", block)
        rows.append((name, threads.get(name, 0), int(regs.group(1)) if regs else 0,
                     int(spills.group(1)) if spills else 0, int(spills.group(2)) if spills else 0,
                     int(smem.group(1)) if smem else 0))
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--k", type=int, nargs="*", default=[256])
    p.add_argument("--out", help="also write the table to this markdown file")
    args = p.parse_args(argv)
    # Imported here, not at the top: pytest loads this module for its pure
    # functions in a process that may hold another `cases` module.
    sys.path.insert(0, here)
    sys.path.insert(0, os.path.join(here, "..", "..", "python"))
    import cases
    from adamas import compile as ac
    lines = ["| step | kernel | threads | registers | spills (st/ld bytes) | shared bytes "
             "| CTAs/SM (bound) |", "|---|---|---|---|---|---|---|"]
    for family, (label, make) in cases.BENCH_FAMILIES.items():
        for k in args.k:
            spec = make(k)
            rows = report(ptx_of(ac.decode_step_ir(spec, "step")))
            for name, threads, regs, st, ld, smem in sorted(rows):
                resident, bound = ctas_per_sm(threads or 1, regs, smem)
                lines.append(f"| {label} k={k} | {name.removeprefix('step_')} | {threads} "
                             f"| {regs} | {st}/{ld} | {smem} | {resident} ({bound}) |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
