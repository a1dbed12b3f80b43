#!/usr/bin/env python3
"""The Llama-style decode layers of examples/, in numpy, and programs that
run them.

  llama_layer.py gen VARIANT -o PREFIX [--budget K --seed S]
      VARIANT is mha, gqa or tosa (examples/llama_decode_layer_VARIANT.mlir).
      Writes PREFIX.main-plain.mlir (a @main calling @decode_layer with
      random weights and cache, printing its three results),
      PREFIX.main-cached.mlir (the same for the signature adamas-sparsify
      gives it: the past key codes in, the grown codes out and printed too),
      PREFIX.dense.npz (the layer with dense attention) and PREFIX.sparse.npz
      (with adamas.reference's sparse attention, budget K, and the codes).
Link either driver to the (transformed) example with raise_harness.py link.

The layer (RMSNorm, q/k/v projections, rotary embeddings, attention, output
projection, RMSNorm, SwiGLU MLP, residuals) is written from its definition,
not from the IR; the expected values never come from the code under test.
"""

import argparse
import os
import sys

import numpy as np

try:
    import adamas.reference  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    *[os.pardir] * 4, "python"))

from adamas import reference as ref  # noqa: E402

import raise_harness  # noqa: E402

VARIANTS = {
    # heads, KV heads, past tokens, dynamic cache, weights as rank 3 (TOSA)
    "mha": dict(Hq=4, Hkv=4, past=63, dynamic=True, tosa=False),
    "gqa": dict(Hq=4, Hkv=2, past=63, dynamic=True, tosa=False),
    "tosa": dict(Hq=4, Hkv=4, past=127, dynamic=False, tosa=True),
}
E, D, F, EPS, SCALE = 256, 64, 704, np.float32(1e-5), 0.125
THRESHOLDS = [-0.75, 0.0, 0.75]


def rmsnorm(x, w):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + np.float64(EPS)) * w


def rope(x, cos, sin):
    half = x.shape[-1] // 2
    rotated = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    return x * cos + rotated * sin


def layer(v, w, attention):
    """The decode step on float64 copies; `attention(q, k, v)` on BHND."""
    Hq, Hkv = v["Hq"], v["Hkv"]
    x = w["x"].astype(np.float64).reshape(1, E)
    h = rmsnorm(x, w["w_attn_norm"])
    heads = lambda t, H: t.reshape(1, 1, H, D).transpose(0, 2, 1, 3)  # noqa: E731
    q = rope(heads(h @ w["wq"], Hq), w["cos"], w["sin"])
    k_new = rope(heads(h @ w["wk"], Hkv), w["cos"], w["sin"])
    v_new = heads(h @ w["wv"], Hkv)
    k = np.concatenate([w["past_k"], k_new], axis=2)
    vv = np.concatenate([w["past_v"], v_new], axis=2)
    o = attention(q, k, vv)
    h1 = x + o.transpose(0, 2, 1, 3).reshape(1, E) @ w["wo"]
    h2 = rmsnorm(h1, w["w_mlp_norm"])
    gate, up = h2 @ w["w_gate"], h2 @ w["w_up"]
    out = h1 + (gate / (1 + np.exp(-gate)) * up) @ w["w_down"]
    return out.reshape(1, 1, E), q, k, vv


def draw(v, rng):
    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    Hq, Hkv, past = v["Hq"], v["Hkv"], v["past"]
    angle = 7.0 / 10000 ** (np.arange(D // 2) * 2 / D)  # position 7's angles
    w = {
        "x": f32(rng.standard_normal((1, 1, E))),
        "past_k": f32(rng.standard_normal((1, Hkv, past, D))),
        "past_v": f32(rng.standard_normal((1, Hkv, past, D))),
        "cos": f32(np.tile(np.cos(angle), 2).reshape(1, 1, 1, D)),
        "sin": f32(np.tile(np.sin(angle), 2).reshape(1, 1, 1, D)),
        "w_attn_norm": f32(1 + 0.1 * rng.standard_normal(E)),
        "wq": f32(rng.standard_normal((E, E)) / np.sqrt(E)),
        "wk": f32(rng.standard_normal((E, Hkv * D)) / np.sqrt(E)),
        "wv": f32(rng.standard_normal((E, Hkv * D)) / np.sqrt(E)),
        "wo": f32(rng.standard_normal((E, E)) / np.sqrt(E)),
        "w_mlp_norm": f32(1 + 0.1 * rng.standard_normal(E)),
        "w_gate": f32(rng.standard_normal((E, F)) / np.sqrt(E)),
        "w_up": f32(rng.standard_normal((E, F)) / np.sqrt(E)),
        "w_down": f32(rng.standard_normal((F, E)) / np.sqrt(F)),
    }
    return w


ARGS = ["x", "past_k", "past_v", "cos", "sin", "w_attn_norm", "wq", "wk", "wv", "wo",
        "w_mlp_norm", "w_gate", "w_up", "w_down"]


def far_from_thresholds(y, margin=1e-5):
    y = np.asarray(y, dtype=np.float64)
    return all((np.abs(y - t) > margin * np.abs(y).max()).all() for t in THRESHOLDS)


def gen(args):
    v = VARIANTS[args.variant]
    N = v["past"] + 1
    for attempt in range(20):
        rng = np.random.default_rng(args.seed + attempt)
        w = draw(v, rng)
        dense = lambda q, k, vv: ref.dense_attn(q, k, vv, scale=SCALE, dtype="f32")  # noqa: E731
        out_dense, q, k, vv = layer(v, w, dense)
        qr, kr = ref.hadamard(q, dtype="f32"), ref.hadamard(k, dtype="f32")
        # Codes must not depend on the last bits of f32 arithmetic: the IR
        # computes q and K in f32 (errors ~1e-6 here), numpy in f64.
        if far_from_thresholds(qr) and far_from_thresholds(kr):
            break
    else:
        raise SystemExit("no seed gave q and K away from the thresholds")
    lengths = np.array([N], np.int32)
    codes = ref.bucketize(kr, THRESHOLDS)

    def sparse(q, k, vv):
        idx = ref.l1_topk(ref.bucketize(ref.hadamard(q, dtype="f32"), THRESHOLDS), codes,
                          lengths, args.budget)
        return ref.sparse_attn(q, k, vv, idx, scale=SCALE, dtype="f32")

    out_sparse = layer(v, w, sparse)[0]
    if np.allclose(out_sparse, out_dense, rtol=1e-3, atol=1e-3):
        raise SystemExit("sparse and dense layers agree: the test would show nothing")

    # The layer is a deep f32 computation: allow for its rounding.
    tol = (1e-4, 1e-4 * np.abs(out_dense).max())
    cache_tol = (1e-5, 1e-5 * np.abs(k).max())
    k_all, v_all = np.asarray(k, np.float32), np.asarray(vv, np.float32)
    raise_harness.save(args.prefix + ".dense.npz", [
        ("layer output", out_dense, "f32", *tol), ("keys", k_all, "f32", *cache_tol),
        ("values", v_all, "f32", *cache_tol)])
    raise_harness.save(args.prefix + ".dense-cached.npz", [
        ("layer output", out_dense, "f32", *tol), ("keys", k_all, "f32", *cache_tol),
        ("values", v_all, "f32", *cache_tol), ("key codes", codes, "i32", None, None)])
    raise_harness.save(args.prefix + ".sparse-cached.npz", [
        ("layer output", out_sparse, "f32", *tol), ("keys", k_all, "f32", *cache_tol),
        ("values", v_all, "f32", *cache_tol), ("key codes", codes, "i32", None, None)])

    past_codes = ref.bucketize(ref.hadamard(w["past_k"], dtype="f32"), THRESHOLDS)
    for cached in (False, True):
        main = raise_harness.Main()
        operands = []
        for name in ARGS:
            value = w[name]
            if v["tosa"] and name.startswith("w"):
                value = value.reshape((1,) * (3 - value.ndim) + value.shape)
            dynamic = (2,) if v["dynamic"] and name.startswith("past") else ()
            operands.append(main.constant(value, "f32", dynamic=dynamic))
        cache = "1x{}x{}x{}".format(v["Hkv"], "?" if v["dynamic"] else N, D)
        results = [f"tensor<1x1x{E}xf32>", f"tensor<{cache}xf32>", f"tensor<{cache}xf32>"]
        if cached:
            operands.append(main.constant(past_codes, "i32", dynamic=(2,) if v["dynamic"] else ()))
            results.append(f"tensor<{cache[:cache.rfind('x')]}x4xi32>")
        names = main.call("decode_layer", operands, results)
        for n, t in zip(names[:3], results[:3]):
            main.print(n, t, "f32")
        if cached:
            main.printers.add("printMemrefI32")
            u = main.name("u")
            main.lines.append(f"{u} = tensor.cast {names[3]} : {results[3]} to tensor<*xi32>")
            main.lines.append(f"call @printMemrefI32({u}) : (tensor<*xi32>) -> ()")
        text = main.text().replace("func.func private @printMemrefI32(tensor<*xf32>)",
                                   "func.func private @printMemrefI32(tensor<*xi32>)")
        with open(f"{args.prefix}.main-{'cached' if cached else 'plain'}.mlir", "w") as f:
            f.write(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("gen")
    p.add_argument("variant", choices=sorted(VARIANTS))
    p.add_argument("-o", dest="prefix", required=True)
    p.add_argument("--budget", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    gen(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
