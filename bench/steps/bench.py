#!/usr/bin/env python3
"""The decode-step benchmark (issue 10): the generated step against dense SDPA
over DESIGN.md section 8's cases and sweeps of k, N and B.

    bench.py --cache DIR [--out DIR] [--quick] [--reps 50] [--budget-s 280]
             [--plot PNG] [--only SUBSTRING...]

DIR is the artifact cache prepare.py filled (cases.BENCH_SPECS: one module
per spec holding the whole step and its encode, select and attend kernels;
the GPU machine compiles nothing). Cases: cases.bench_cases() (fp16, D=128,
M=1, lengths = N everywhere), run shape by shape so one set of inputs serves
every spec of a shape.

Per case, the same way for both sides (measure.py, the method of timing.py
and DESIGN 8): a CUDA graph holds one step per input set, rotating through
enough sets that the code caches alone are 4x the 60 MB L2; the time is the
median over `reps` replays (CUDA events) divided by the sets. Dense is SDPA's
fastest backend (cuDNN, flash, efficient, each timed). Also timed: the select,
attend and encode kernels alone (graphs), a read-only Triton kernel over the
same code bytes (readonly.py, fastest of a few configurations), and the step
eagerly from Python (200 calls rotating over up to 16 sets, synchronized at
the end: wall time per step; host overhead = that minus the graph time), and
each kernel of the step (torch.profiler over eager steps, rotating sets).
Cases only in the plot grid time the step alone.

Writes OUT/bench.md (tables to paste into bench/RESULTS.md), OUT/bench.json
(every number) and the plot (latency vs N, dense vs adamas per k; to --plot,
default bench/bench_latency.png, and OUT/bench_latency.png). The markdown and
JSON are rewritten after every shape, so a run cut short keeps what it has.
A case that fails prints and records a FAIL row with the exception; the run
goes on. Exit status 0 iff no case failed.
"""

import argparse
import json
import os
import sys
import time
import traceback

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.abspath(os.path.join(here, os.pardir, os.pardir))
sys.path.insert(0, os.path.join(root, "python"))
sys.path.insert(0, here)

import cases  # noqa: E402
import measure  # noqa: E402

# DESIGN 8 targets for one full step (us), by (spec, B, N).
TARGETS = {
    ("mha_d128_k256", 1, 32768): 14.3,
    ("mha_d128_k256", 1, 131072): 40.0,
    ("gqa_d128_k256", 1, 32768): 6.8,
    ("gqa_shared_d128_k256", 1, 32768): 6.8,
    ("gqa_d128_k256", 16, 32768): 60.0,
    ("gqa_shared_d128_k256", 16, 32768): 48.0,
}
GROUP_TITLES = {
    "design": "DESIGN 8 cases (k = 256)",
    "k": "k sweep (B = 1, N = 32K)",
    "N": "N sweep (B = 1, k = 256)",
    "B": "B sweep (32/8, N = 32K, k = 256)",
}
MAX_SETS = 128


# --- the measurements (torch from here on) ----------------------------------------

class Functions:
    """A bench spec's compiled functions, from the carried cache."""

    def __init__(self, spec_name, runtime):
        from adamas import compile as ac
        spec = cases.BENCH_SPECS[spec_name]
        module = cases.bench_module_name(spec_name)
        step = ac.compile_cached(cases.module_ir(module, spec, cases.BENCH_KINDS),
                                 cases.function_name(module, "step"), spec, runtime=runtime)
        self.source = step.source
        self.fn = {kind: ac.Function(step.library_path, cases.function_name(module, kind))
                   for kind in cases.BENCH_KINDS}


class Inputs:
    """`sets` input sets of one shape (fp16, lengths = N)."""

    def __init__(self, Hq, Hkv, B, N, words, dims=128):
        import torch
        self.code_bytes = B * Hkv * N * words * 4
        self.sets = measure.rotation_sets(self.code_bytes, cap=MAX_SETS)
        T, dev, S = torch.float16, "cuda", self.sets

        def ints(*shape):
            return torch.randint(-2**31, 2**31 - 1, shape, device=dev, dtype=torch.int32)
        self.q = [torch.randn(B, Hq, 1, dims, device=dev, dtype=T) for _ in range(S)]
        self.nk = [torch.randn(B, Hkv, 1, dims, device=dev, dtype=T) for _ in range(S)]
        self.keys = [torch.randn(B, Hkv, N, dims, device=dev, dtype=T) for _ in range(S)]
        self.values = [torch.randn(B, Hkv, N, dims, device=dev, dtype=T) for _ in range(S)]
        self.codes = [ints(B, Hkv, N, words) for _ in range(S)]
        self.qc = [ints(B, Hq, 1, words) for _ in range(S)]
        self.lengths = torch.full((B,), N, device=dev, dtype=torch.int32)
        self.out = torch.empty(B, Hq, 1, dims, device=dev, dtype=T)
        self.new_codes = torch.empty(B, Hkv, 1, words, device=dev, dtype=torch.int32)


class ReadOnlyBest:
    """The read-only Triton kernel, its configurations compiled once."""

    def __init__(self):
        self.error = None
        try:
            import readonly
            self.readers = [readonly.ReadOnly(block=b, per_sm=p, warps=w)
                            for b, p, w in readonly.CONFIGS]
        except Exception as e:  # no Triton: say so in the table
            self.readers = []
            self.error = f"{type(e).__name__}: {e}"
            print(f"read-only kernel unavailable ({self.error}); its columns stay empty",
                  flush=True)

    def time_us(self, inputs, reps, quick):
        best = None
        for reader in self.readers[:1] if quick else self.readers:
            try:
                t = measure.graph_time_us(lambda s: reader(inputs.codes[s]), inputs.sets, reps)
            except Exception as e:
                print(f"  read-only {reader.label()}: {type(e).__name__}: {e}", flush=True)
                continue
            if best is None or t < best[0]:
                best = (t, reader.label())
        return best


def time_case(row, inputs, functions, dense, reader, args):
    """Fills `row` as it goes (a failure keeps what was measured)."""
    import torch
    from adamas import runtime as art
    spec_name, B, N, groups = row["spec"], row["B"], row["N"], tuple(row["groups"])
    spec = cases.BENCH_SPECS[spec_name]
    fn, x, reps = functions.fn, inputs, args.reps
    idx = torch.empty(B, spec.index_heads, 1, spec.k, device="cuda", dtype=torch.int32)

    def step(s):
        fn["step"](x.q[s], x.nk[s], x.keys[s], x.values[s], x.codes[s], x.lengths, x.out)

    row.update({"sets": x.sets, "code_bytes": x.code_bytes,
                "floor_us": measure.byte_floor_us(spec, B, N),
                "popc_floor_us": measure.popcount_floor_us(spec, B, N),
                "target_us": TARGETS.get((spec_name, B, N)), "source": functions.source})
    if dense is not None:
        row["dense_us"], row["dense_backend"] = dense
    row["step_us"] = measure.graph_time_us(step, x.sets, reps)
    # SM clock, memory clock, power, temperature right after the step's
    # timing: a clock-bound kernel slows where a long run heats the GPU.
    row["gpu_state"] = measure.gpu_state()
    if groups == ("grid",):
        return row
    row["select_us"] = measure.graph_time_us(
        lambda s: fn["select"](x.qc[s], x.codes[s], x.lengths, idx), x.sets, reps)
    with art.current_stream(torch.cuda.current_stream()):
        fn["select"](x.qc[0], x.codes[0], x.lengths, idx)   # real indices for attend
    row["attend_us"] = measure.graph_time_us(
        lambda s: fn["attend"](x.q[s], x.keys[s], x.values[s], idx, x.out), x.sets, reps)
    row["encode_us"] = measure.graph_time_us(lambda s: fn["encode"](x.nk[s], x.new_codes),
                                             x.sets, reps)
    best = reader.time_us(x, reps, args.quick)
    if best is not None:
        row["read_us"], row["read_config"] = best
    wall, issue = measure.eager_time_us(step, x.sets, calls=args.eager_calls)
    row["eager_us"], row["issue_us"] = wall, issue
    counter = [0]

    def rotating():
        step(counter[0] % min(x.sets, measure.KEEP_SETS))
        counter[0] += 1
    row["kernels"] = [[n, t, c] for n, t, c in measure.kernel_breakdown(rotating)]
    del idx
    return row


# --- tables and plot (plain Python) ----------------------------------------------

def _f(v, fmt="{:.1f}"):
    return "" if v is None else fmt.format(v)


def _tbps(nbytes, us):
    return None if not us else nbytes / (us * 1e-6) / 1e12


def main_table(rows, group):
    design = group == "design"
    head = ["case", "dense SDPA (graph)", "adamas step (graph)", "speedup"]
    if design:
        head.append("DESIGN 8 target")
    head += ["byte floor", "step / floor", "popcount floor", "select", "select TB/s",
             "read-only TB/s", "select / read-only", "attend", "encode", "eager wall / step",
             "host overhead / step", "sets"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        if "error" in r and "step_us" not in r:
            out.append(f"| {r['label']} | FAIL: {r['error']} |" + " |" * (len(head) - 2))
            continue
        dense, step = r.get("dense_us"), r.get("step_us")
        cells = [r["label"],
                 f"{dense:.1f} us ({r['dense_backend'].lower()})" if dense else "",
                 f"{step:.1f} us",
                 f"{dense / step:.2f}x" if dense and step else ""]
        if design:
            t = r.get("target_us")
            cells.append(f"<= {t} us ({dense / t:.0f}x)" if t and dense else _f(t))
        sel, read = r.get("select_us"), r.get("read_us")
        cells += [f"{r['floor_us']:.1f} us", f"{step / r['floor_us']:.1f}x",
                  _f(r.get("popc_floor_us")), _f(sel), _f(_tbps(r["code_bytes"], sel), "{:.2f}"),
                  _f(_tbps(r["code_bytes"], read), "{:.2f}"),
                  f"{read / sel:.0%}" if sel and read else "",
                  _f(r.get("attend_us")), _f(r.get("encode_us")),
                  _f(r.get("eager_us")),
                  _f(r["eager_us"] - step) if r.get("eager_us") else "",
                  str(r["sets"])]
        if "error" in r:
            cells[0] += f" (FAIL after the step: {r['error']})"
        out.append("| " + " | ".join(cells) + " |")
    return out


def kernel_table(rows):
    out = ["| case | kernels of one step (profiler, eager, us per launch) |", "|---|---|"]
    for r in rows:
        if r.get("kernels"):
            cells = "; ".join(f"{n[:60]} {t:.1f}" + (f" (x{c:g})" if abs(c - 1) > 1e-6 else "")
                              for n, t, c in r["kernels"])
            out.append(f"| {r['label']} | {cells} |")
    return out


def grid_table(rows):
    out = []
    for family in ("mha", "gqa"):
        cells = [r for r in rows if r["family"] == family and r["B"] == 1 and "step_us" in r]
        if not cells:
            continue
        Ns = sorted({r["N"] for r in cells})
        out += [f"", f"{cases.BENCH_FAMILIES[family][0]}, B = 1 (us per step, graph):", "",
                "| | " + " | ".join(cases._kilo(n) for n in Ns) + " |",
                "|---|" + "---|" * len(Ns)]
        dense = {r["N"]: r.get("dense_us") for r in cells}
        out.append("| dense SDPA | " + " | ".join(_f(dense.get(n)) for n in Ns) + " |")
        for k in cases.BENCH_K:
            by_n = {r["N"]: r["step_us"] for r in cells if r["k"] == k}
            if by_n:
                out.append(f"| adamas k={k} | " + " | ".join(
                    (f"{by_n[n]:.1f} ({dense[n] / by_n[n]:.1f}x)" if n in by_n and dense.get(n)
                     else _f(by_n.get(n))) for n in Ns) + " |")
    return out


def _order(r):
    return (list(cases.BENCH_FAMILIES).index(r["family"]), r["B"], r["N"], r["k"])


def markdown(rows, header):
    lines = header + [""]
    for group, title in GROUP_TITLES.items():
        sel = sorted((r for r in rows if group in r["groups"]), key=_order)
        if sel:
            lines += [f"### {title}", ""] + main_table(sel, group) + [""]
    failed = [r for r in rows if "error" in r and r["groups"] == ["grid"]]
    if failed:
        lines += ["Failed plot-only cases: " + "; ".join(f"{r['label']}: {r['error']}"
                                                       for r in failed), ""]
    kern = kernel_table(rows)
    if len(kern) > 2:
        lines += ["### Kernels of the step", ""] + kern + [""]
    states = [f"{r['label']}: {r['gpu_state']}" for r in sorted(rows, key=_order)
              if r.get("gpu_state")]
    if states:
        lines += ["### GPU after each step timing (SM clock, memory clock, power, "
                  "temperature)", ""] + ["- " + s for s in states] + [""]
    grid = grid_table(rows)
    if grid:
        lines += ["### Latency vs N per k (the plot)"] + grid + [""]
    return "\n".join(lines) + "\n"


def plot(rows, paths):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception as e:
        print(f"plot skipped: matplotlib not importable ({type(e).__name__}: {e})")
        return
    families = [f for f in ("mha", "gqa", "gqa_shared")
                if any(r["family"] == f and r["B"] == 1 and "step_us" in r for r in rows)]
    if not families:
        print("plot skipped: no B = 1 results")
        return
    fig, axes = plt.subplots(1, len(families), figsize=(6 * len(families), 4.5), squeeze=False)
    for ax, family in zip(axes[0], families):
        cells = [r for r in rows if r["family"] == family and r["B"] == 1 and "step_us" in r]
        dense = sorted({(r["N"], r["dense_us"]) for r in cells if r.get("dense_us")})
        if dense:
            ax.plot([n for n, _ in dense], [t for _, t in dense], "k-o", label="dense SDPA")
        for k in cases.BENCH_K:
            pts = sorted((r["N"], r["step_us"]) for r in cells if r["k"] == k)
            if pts:
                ax.plot([n for n, _ in pts], [t for _, t in pts], "-o", label=f"adamas k={k}")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(cases.BENCH_N)
        ax.set_xticklabels([cases._kilo(n) for n in cases.BENCH_N])
        ax.set_xlabel("context length N")
        ax.set_ylabel("one decode step, one layer (us, CUDA graph)")
        ax.set_title(f"{cases.BENCH_FAMILIES[family][0]}, B = 1, fp16, D = 128")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    for path in paths:
        try:
            fig.savefig(path, dpi=110)
            print(f"plot: {path}")
        except Exception as e:
            print(f"plot not written to {path}: {type(e).__name__}: {e}")
    plt.close(fig)


# --- driver -------------------------------------------------------------------------

def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("libdir", nargs="?", help="ignored (the functions come from --cache)")
    p.add_argument("--cache", required=True, help="artifact cache prepare.py filled")
    p.add_argument("--out", default=os.environ.get("OUT") or os.path.join(root, "build-bench"))
    p.add_argument("--quick", action="store_true",
                   help="DESIGN 8 cases and the N sweep up to 128K, 20 reps, one read-only "
                        "configuration")
    p.add_argument("--reps", type=int, default=None, help="graph replays per timing (50)")
    p.add_argument("--eager-calls", type=int, default=200)
    p.add_argument("--budget-s", type=float, default=280.0,
                   help="skip the remaining cases once this many seconds have passed")
    p.add_argument("--plot", default=os.path.join(root, "bench", "bench_latency.png"))
    p.add_argument("--only", nargs="*", help="cases whose label contains one of these")
    args = p.parse_args()
    args.reps = args.reps or (20 if args.quick else 50)
    os.makedirs(args.out, exist_ok=True)
    md_path, json_path = os.path.join(args.out, "bench.md"), os.path.join(args.out, "bench.json")
    begin = time.time()

    import torch
    from adamas import runtime as art
    rt = art.Runtime(cache_dir=args.cache)
    torch.manual_seed(0)
    props = torch.cuda.get_device_properties(0)
    gpu = f"{torch.cuda.get_device_name()} ({props.multi_processor_count} SMs)"
    print(f"GPU {gpu}, torch {torch.__version__}", flush=True)
    header = [f"GPU {gpu}, torch {torch.__version__}, {time.strftime('%Y-%m-%d')}; "
              f"`bench/steps/bench.py{' --quick' if args.quick else ''}`: median of "
              f"{args.reps} graph replays per timing, inputs rotated past the L2 (`sets`), "
              f"{'each replay queued behind a spin kernel (its host launch not timed)' if measure.hide_launch() else 'the host launch of each replay timed (ADAMAS_TIMING_HIDE_LAUNCH=0)'}; "
              f"fp16, D = 128, M = 1, 2 bits, lengths = N; times in us; byte floor at "
              f"{measure.COPY_TBPS} TB/s; popcount floor: every distance's popcounts at "
              f"{measure.POPC_PER_SM_CLOCK} per clock per SM ({measure.SMS} SMs, "
              f"{measure.BOOST_GHZ} GHz), a bound where the histogram pass counts by "
              f"popcounts (32/32 here; the GQA rows' distances come from b1 tensor-core "
              f"products, bench/NOTES.md item 17); select TB/s = code bytes / select time."]

    todo = [c for c in cases.bench_cases(args.quick)
            if not args.only or any(s in cases.bench_label(*c[:3]) for s in args.only)]
    shapes = {}
    for c in todo:
        shapes.setdefault(cases.bench_shape(*c[:3]), []).append(c)
    rows, functions, failures = [], {}, 0
    reader = ReadOnlyBest()

    def new_row(c):
        return {"spec": c[0], "B": c[1], "N": c[2], "groups": list(c[3]),
                "label": cases.bench_label(*c[:3]), "k": cases.BENCH_SPECS[c[0]].k,
                "family": c[0].rsplit("_d128_k", 1)[0]}

    def fail(c, e, row=None):
        nonlocal failures
        failures += 1
        row = row or new_row(c)
        row["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
        print(f"FAIL {row['label']}: {row['error']}", flush=True)
        traceback.print_exc()
        return row

    for (Hq, Hkv, B, N), shape_cases in shapes.items():
        if time.time() - begin > args.budget_s:
            for c in shape_cases:
                print(f"SKIP {cases.bench_label(*c[:3])}: time budget "
                      f"({args.budget_s:.0f} s) spent", flush=True)
            continue
        inputs = dense = None
        try:
            words = cases.BENCH_SPECS[shape_cases[0][0]].words
            inputs = Inputs(Hq, Hkv, B, N, words)
            try:
                dense = measure.dense_time_us(inputs.q, inputs.keys, inputs.values,
                                              inputs.sets, args.reps)
                print(f"== {Hq}/{Hkv} B={B} N={N}: {inputs.sets} sets, dense "
                      f"{dense[0]:.1f} us ({dense[1]})", flush=True)
            except Exception as e:
                print(f"== {Hq}/{Hkv} B={B} N={N}: dense failed: {type(e).__name__}: {e}",
                      flush=True)
        except Exception as e:
            for c in shape_cases:
                rows.append(fail(c, e))
            shape_cases = []
        for c in shape_cases:
            spec_name = c[0]
            row = new_row(c)
            try:
                if spec_name not in functions:
                    functions[spec_name] = Functions(spec_name, rt)
                start = time.time()
                time_case(row, inputs, functions[spec_name], dense, reader, args)
                line = (f"{row['label']}: step {row['step_us']:.1f} us"
                        + (f", dense {row['dense_us']:.1f} us, "
                           f"{row['dense_us'] / row['step_us']:.2f}x" if dense else "")
                        + (f", select {row['select_us']:.1f}, read-only "
                           f"{row.get('read_us', float('nan')):.1f}, attend "
                           f"{row['attend_us']:.1f}, eager {row['eager_us']:.1f}"
                           if "select_us" in row else "")
                        + f" ({time.time() - start:.1f} s)")
                print(line, flush=True)
                if row.get("kernels"):
                    print("  kernels: " + ", ".join(f"{n} {t:.1f} us" for n, t, _ in
                                                    row["kernels"]), flush=True)
                rows.append(row)
            except Exception as e:
                rows.append(fail(c, e, row))
            try:
                torch.cuda.synchronize()
            except Exception as e:   # a kernel fault loses the context: the rest fails
                print(f"CUDA context lost: {type(e).__name__}: {e}", flush=True)
        del inputs
        torch.cuda.empty_cache()
        with open(md_path, "w") as fh:
            fh.write(markdown(rows, header))
        with open(json_path, "w") as fh:
            json.dump({"gpu": gpu, "torch": torch.__version__, "reps": args.reps,
                       "quick": args.quick, "rows": rows}, fh, indent=1)

    skipped = len(todo) - len(rows)
    print(f"\n{len(rows) - failures} cases timed, {failures} failed, {skipped} skipped, "
          f"{time.time() - begin:.0f} s; tables in {md_path}\n", flush=True)
    with open(md_path, "w") as fh:
        fh.write(markdown(rows, header))
    plot(rows, [args.plot, os.path.join(args.out, "bench_latency.png")])
    print(markdown(rows, header))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
