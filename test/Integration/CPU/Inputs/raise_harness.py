#!/usr/bin/env python3
"""Numerical checks of adamas-raise-attention and adamas-cache-key-codes.

  raise_harness.py gen FORM -o PREFIX [--budget K --sink S --recent R
                                       --thresholds T0,T1,T2 --seed N]
      PREFIX.mlir        the form's function (verbatim from its lit test)
                         and a @main that calls it on random inputs and
                         prints the result
      PREFIX.model.npz   dense attention as the form means it (scale, mask),
                         with the tolerance of the unraised program
      PREFIX.dense.npz   the same, tight: the raised program with a budget of
                         at least N selects every visible key
      PREFIX.sparse.npz  adamas.reference's hadamard -> bucketize -> l1_topk
                         -> sparse_attn with budget K: the raised program

  raise_harness.py gen-steps -o PREFIX [--steps S ...]
      a decode step over a KV cache that grows by tensor.concat each step
      (PREFIX.step.mlir, no caller, for the passes), a driver for it with
      and one without the key-code cache (PREFIX.main-cached.mlir,
      PREFIX.main-plain.mlir) and the expected outputs of every step
      (PREFIX.npz)

  raise_harness.py link MODULE.mlir MAIN.mlir
      prints MODULE's functions followed by MAIN's (a driver for a function
      whose signature a pass has changed)

Inputs are drawn so that hadamard(q) and hadamard(K) land well inside their
buckets (as in cases.pipeline_case): rounding cannot flip a code, so the
selected positions, and with them the sparse output, compare exactly.
Compare the printed output with `harness.py check PREFIX.X.npz`.
"""

import argparse
import json
import os
import sys

import numpy as np

try:
    import adamas.reference  # noqa: F401  (lit puts python/ on PYTHONPATH)
except ImportError:  # run by hand from a checkout
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    *[os.pardir] * 4, "python"))

from adamas import reference as ref  # noqa: E402

import cases  # noqa: E402
import raise_forms  # noqa: E402
from mlir_program import dense_hex, tensor_type  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TRANSFORMS = os.path.join(HERE, *[os.pardir] * 3, "Transforms")


def save(path, named):
    """npz in harness.py's format: [(name, array, elem, rtol, atol)]."""
    meta = [{"name": n, "elem": e, "rtol": r, "atol": a} for n, _, e, r, a in named]
    arrays = {f"expected_{i}": np.asarray(x) for i, (_, x, _, _, _) in enumerate(named)}
    np.savez(path, meta=np.array(json.dumps(meta)), command=np.array(" ".join(sys.argv)),
             **arrays)


def interior(rng, shape, thresholds, dtype):
    x = cases.inputs_hadamard_maps_into_buckets(rng, shape, thresholds, dtype)
    if not cases.check_margin(ref.hadamard(x, dtype=dtype), thresholds, dtype):
        raise SystemExit("inputs fall too close to a threshold; try another --seed")
    return x


def sparse_reference(q, k, v, lengths, args, scale, dtype):
    qc = ref.bucketize(ref.hadamard(q, dtype=dtype), args.thresholds)
    kc = ref.bucketize(ref.hadamard(k, dtype=dtype), args.thresholds)
    bits = ref.bits_for_thresholds(args.thresholds)
    idx = ref.l1_topk(qc, kc, lengths, args.budget, bits=bits, sink=args.sink,
                      recent=args.recent)
    return ref.sparse_attn(q, k, v, idx, scale=scale, dtype=dtype)


class Main:
    """The body of @main: constants, calls, prints."""

    def __init__(self):
        self.lines, self.count, self.printers = [], 0, set()

    def name(self, hint):
        self.count += 1
        return f"%{hint}{self.count}"

    def constant(self, array, elem, dynamic=()):
        shape = np.shape(array)
        v = self.name("c")
        self.lines.append(f"{v} = arith.constant dense<{dense_hex(array, elem)}> : "
                          f"{tensor_type(shape, elem)}")
        if not dynamic:
            return v, tensor_type(shape, elem)
        dyn = tensor_type([None if i in dynamic else d for i, d in enumerate(shape)], elem)
        w = self.name("dyn")
        self.lines.append(f"{w} = tensor.cast {v} : {tensor_type(shape, elem)} to {dyn}")
        return w, dyn

    def scalar(self, mlir_type, value):
        v = self.name("s")
        self.lines.append(f"{v} = arith.constant {value} : {mlir_type}")
        return v, mlir_type

    def call(self, function, operands, result_types):
        names = [self.name("r") for _ in result_types]
        args = ", ".join(o for o, _ in operands)
        types = ", ".join(t for _, t in operands)
        results = ", ".join(result_types)
        lhs = f"{', '.join(names)} = " if names else ""
        self.lines.append(f"{lhs}call @{function}({args}) : ({types}) -> ({results})")
        return names

    def print(self, value, mlir_type, elem):
        if elem in ("f16", "bf16"):
            wide_type = mlir_type.replace(f"x{elem}>", "xf32>")
            w = self.name("ext")
            self.lines.append(f"{w} = arith.extf {value} : {mlir_type} to {wide_type}")
            value, mlir_type = w, wide_type
        printer = "printMemrefF32"
        self.printers.add(printer)
        u = self.name("u")
        self.lines.append(f"{u} = tensor.cast {value} : {mlir_type} to tensor<*xf32>")
        self.lines.append(f"call @{printer}({u}) : (tensor<*xf32>) -> ()")

    def text(self):
        out = [f"func.func private @{p}(tensor<*xf32>)" for p in sorted(self.printers)]
        out.append("func.func @main() {")
        out += ["  " + line for line in self.lines]
        out += ["  return", "}", ""]
        return "\n".join(out)


def gen(args):
    form = raise_forms.FORMS[args.form]
    T = form.dtype
    rng = np.random.default_rng(args.seed)
    q = interior(rng, (form.B, form.Hq, form.M, form.D), args.thresholds, T)
    k = interior(rng, (form.B, form.Hkv, form.N, form.D), args.thresholds, T)
    v = cases.random_floats(rng, (form.B, form.Hkv, form.N, form.Dv), T)
    lengths = np.full(form.B, form.lengths, dtype=np.int32)

    dense = ref.dense_attn(q, k, v, lengths, scale=form.scale, dtype=T)
    sparse = sparse_reference(q, k, v, lengths, args, form.scale, T)
    if np.allclose(np.asarray(dense, np.float64), np.asarray(sparse, np.float64),
                   rtol=1e-2, atol=1e-2):
        raise SystemExit("the sparse output is too close to the dense one to test "
                         "anything; lower --budget")

    main = Main()
    operands = [main.constant(form.q_arg(q), T),
                main.constant(form.k_arg(k), T, dynamic=(2,) if form.dynamic_n else ()),
                main.constant(form.v_arg(v), T, dynamic=(2,) if form.dynamic_n else ())]
    operands += [main.scalar(t, value) for t, value in form.extra]
    expected = form.output(dense)
    result_type = tensor_type(np.shape(expected), T)
    (result,) = main.call(form.function, operands, [result_type])
    main.print(result, result_type, T)

    function = raise_forms.extract_function(os.path.join(TRANSFORMS, form.source),
                                            form.function)
    with open(args.prefix + ".mlir", "w") as f:
        f.write(f"// Generated by: raise_harness.py gen {' '.join(sys.argv[2:])}\n")
        f.write(function + "\n" + main.text())
    name = f"{args.form} output"
    rtol = form.model_rtol
    save(args.prefix + ".model.npz",
         [(name, expected, T, rtol, None if rtol is None else rtol * np.abs(expected).max())])
    save(args.prefix + ".dense.npz", [(name, expected, T, None, None)])
    save(args.prefix + ".sparse.npz", [(name, form.output(sparse), T, None, None)])


# --- several decode steps over a growing cache --------------------------------

STEP = """\
// One decode step of GQA attention over a KV cache that grows by one token:
// the new key and value are appended with tensor.concat along N, the
// attention reads the whole cache, and the grown cache is returned.
#q = affine_map<(b, h, m, n, d) -> (b, h, m, d)>
#k = affine_map<(b, h, m, n, d) -> (b, h, n, d)>
#s = affine_map<(b, h, m, n, d) -> (b, h, m, n)>
#p = affine_map<(b, h, m, d, n) -> (b, h, m, n)>
#v = affine_map<(b, h, m, d, n) -> (b, h, n, d)>
#o = affine_map<(b, h, m, d, n) -> (b, h, m, d)>
func.func @step(%q: tensor<1x{Hq}x1x{D}xf32>, %past_k: tensor<1x{Hkv}x?x{D}xf32>,
                %new_k: tensor<1x{Hkv}x1x{D}xf32>, %past_v: tensor<1x{Hkv}x?x{D}xf32>,
                %new_v: tensor<1x{Hkv}x1x{D}xf32>)
    -> (tensor<1x{Hq}x1x{D}xf32>, tensor<1x{Hkv}x?x{D}xf32>, tensor<1x{Hkv}x?x{D}xf32>) {{
  %zero = arith.constant 0.0 : f32
  %scale = arith.constant {scale} : f32
  %c2 = arith.constant 2 : index
  %k = tensor.concat dim(2) %past_k, %new_k : (tensor<1x{Hkv}x?x{D}xf32>, tensor<1x{Hkv}x1x{D}xf32>) -> tensor<1x{Hkv}x?x{D}xf32>
  %v = tensor.concat dim(2) %past_v, %new_v : (tensor<1x{Hkv}x?x{D}xf32>, tensor<1x{Hkv}x1x{D}xf32>) -> tensor<1x{Hkv}x?x{D}xf32>
  %n = tensor.dim %k, %c2 : tensor<1x{Hkv}x?x{D}xf32>
  %kb_init = tensor.empty(%n) : tensor<1x{Hkv}x{G}x?x{D}xf32>
  %kb = linalg.broadcast ins(%k : tensor<1x{Hkv}x?x{D}xf32>) outs(%kb_init : tensor<1x{Hkv}x{G}x?x{D}xf32>) dimensions = [2]
  %kr = tensor.collapse_shape %kb [[0], [1, 2], [3], [4]] : tensor<1x{Hkv}x{G}x?x{D}xf32> into tensor<1x{Hq}x?x{D}xf32>
  %vb = linalg.broadcast ins(%v : tensor<1x{Hkv}x?x{D}xf32>) outs(%kb_init : tensor<1x{Hkv}x{G}x?x{D}xf32>) dimensions = [2]
  %vr = tensor.collapse_shape %vb [[0], [1, 2], [3], [4]] : tensor<1x{Hkv}x{G}x?x{D}xf32> into tensor<1x{Hq}x?x{D}xf32>
  %s_init = tensor.empty(%n) : tensor<1x{Hq}x1x?xf32>
  %s_zero = linalg.fill ins(%zero : f32) outs(%s_init : tensor<1x{Hq}x1x?xf32>) -> tensor<1x{Hq}x1x?xf32>
  %s = linalg.generic {{indexing_maps = [#q, #k, #s], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}}
      ins(%q, %kr : tensor<1x{Hq}x1x{D}xf32>, tensor<1x{Hq}x?x{D}xf32>) outs(%s_zero : tensor<1x{Hq}x1x?xf32>) {{
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %0 = arith.mulf %a, %b : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  }} -> tensor<1x{Hq}x1x?xf32>
  %ss = linalg.generic {{indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
                        iterator_types = ["parallel", "parallel", "parallel", "parallel"]}}
      ins(%s : tensor<1x{Hq}x1x?xf32>) outs(%s_init : tensor<1x{Hq}x1x?xf32>) {{
  ^bb0(%a: f32, %out: f32):
    %0 = arith.mulf %a, %scale : f32
    linalg.yield %0 : f32
  }} -> tensor<1x{Hq}x1x?xf32>
  %p = linalg.softmax dimension(3) ins(%ss : tensor<1x{Hq}x1x?xf32>) outs(%s_init : tensor<1x{Hq}x1x?xf32>) -> tensor<1x{Hq}x1x?xf32>
  %o_init = tensor.empty() : tensor<1x{Hq}x1x{D}xf32>
  %o_zero = linalg.fill ins(%zero : f32) outs(%o_init : tensor<1x{Hq}x1x{D}xf32>) -> tensor<1x{Hq}x1x{D}xf32>
  %o = linalg.generic {{indexing_maps = [#p, #v, #o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}}
      ins(%p, %vr : tensor<1x{Hq}x1x?xf32>, tensor<1x{Hq}x?x{D}xf32>) outs(%o_zero : tensor<1x{Hq}x1x{D}xf32>) {{
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %0 = arith.mulf %a, %b : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  }} -> tensor<1x{Hq}x1x{D}xf32>
  return %o, %k, %v : tensor<1x{Hq}x1x{D}xf32>, tensor<1x{Hkv}x?x{D}xf32>, tensor<1x{Hkv}x?x{D}xf32>
}}
"""


def gen_steps(args):
    Hq, Hkv, D, N0, steps = 4, 2, 64, args.prefill, args.steps
    W = D * ref.bits_for_thresholds(args.thresholds) // 32
    scale = 0.125
    rng = np.random.default_rng(args.seed)
    k_all = interior(rng, (1, Hkv, N0 + steps, D), args.thresholds, "f32")
    v_all = cases.random_floats(rng, (1, Hkv, N0 + steps, D), "f32")
    qs = [interior(rng, (1, Hq, 1, D), args.thresholds, "f32") for _ in range(steps)]

    with open(args.prefix + ".step.mlir", "w") as f:
        f.write(STEP.format(Hq=Hq, Hkv=Hkv, G=Hq // Hkv, D=D, scale=scale))

    expected = []
    for t in range(steps):
        n = N0 + t + 1
        k, v = k_all[:, :, :n], v_all[:, :, :n]
        out = sparse_reference(qs[t], k, v, np.array([n], np.int32), args, scale, "f32")
        expected.append((f"step {t} output", out, "f32", None, None))
    save(args.prefix + ".npz", expected)

    # The codes of the prefill keys, for the cached driver: computed here.
    past_codes = ref.bucketize(ref.hadamard(k_all[:, :, :N0]), args.thresholds)
    for cached in (True, False):
        main = Main()
        kt = f"tensor<1x{Hkv}x?x{D}xf32>"
        ct = f"tensor<1x{Hkv}x?x{W}xi32>"
        k_cur, _ = main.constant(k_all[:, :, :N0], "f32", dynamic=(2,))
        v_cur, _ = main.constant(v_all[:, :, :N0], "f32", dynamic=(2,))
        c_cur, _ = main.constant(past_codes, "i32", dynamic=(2,))
        out_type = f"tensor<1x{Hq}x1x{D}xf32>"
        for t in range(steps):
            operands = [main.constant(qs[t], "f32"), (k_cur, kt),
                        main.constant(k_all[:, :, N0 + t:N0 + t + 1], "f32"), (v_cur, kt),
                        main.constant(v_all[:, :, N0 + t:N0 + t + 1], "f32")]
            results = [out_type, kt, kt]
            if cached:
                operands.append((c_cur, ct))
                results.append(ct)
            names = main.call("step", operands, results)
            main.print(names[0], out_type, "f32")
            k_cur, v_cur = names[1], names[2]
            if cached:
                c_cur = names[3]
        name = "cached" if cached else "plain"
        with open(f"{args.prefix}.main-{name}.mlir", "w") as f:
            f.write(main.text())


def link(module_path, main_path):
    """MODULE's body, then MAIN's functions, as one module."""
    lines = open(module_path).read().rstrip().splitlines()
    # A printed module: attribute aliases, then `module {`, its body, `}`.
    start = next((i for i, line in enumerate(lines) if line.startswith("module")), None)
    if start is not None and lines[-1] == "}":
        lines = lines[:start] + lines[start + 1:-1]
    return "\n".join(lines) + "\n" + open(main_path).read()


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for command in ("gen", "gen-steps"):
        p = sub.add_parser(command)
        if command == "gen":
            p.add_argument("form", choices=sorted(raise_forms.FORMS))
        else:
            p.add_argument("--steps", type=int, default=4)
            p.add_argument("--prefill", type=int, default=40)
        p.add_argument("-o", dest="prefix", required=True)
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--budget", type=int, default=8)
        p.add_argument("--sink", type=int, default=0)
        p.add_argument("--recent", type=int, default=1)
        p.add_argument("--thresholds", default="-0.75,0,0.75")
    p = sub.add_parser("link")
    p.add_argument("module")
    p.add_argument("main")
    args = parser.parse_args()
    if args.command == "link":
        sys.stdout.write(link(args.module, args.main))
        return 0
    args.thresholds = [float(t) for t in args.thresholds.split(",")]
    (gen if args.command == "gen" else gen_steps)(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
