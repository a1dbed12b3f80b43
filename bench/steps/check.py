#!/usr/bin/env python3
"""Runs the compiled functions of cases.py on the GPU and checks them.

    check.py LIB_DIR [--seed S] [--only SPEC...] [--quick]

LIB_DIR holds <spec>.so (linked by gpu_check.sh) and manifest.json. For every
spec and run (B, N, lengths) of cases.RUNS, on fresh random inputs (the seed
is printed) with every output poisoned first:

  select  random codes with heavy ties -> indices equal to the reference
          exactly (adamas.reference.l1_topk on small cases; an independent
          torch implementation, itself checked against it here, on large ones)
  attend  random q/k/v, indices with -1 / N / negative junk and empty rows ->
          output within the element type's tolerance of an f64 computation
  encode  inputs whose Hadamard transform lies inside the buckets (so rounding
          cannot move a code) -> code words equal adamas.reference exactly
  hadamard  the transform alone -> within the element type's tolerance
  step    encode + cache_write + select + attend: the whole code cache equal
          to reference.cache_write of the reference codes, the output within
          tolerance of f64 attention over the reference's indices

Prints one line per check and a summary table last; exit status 0 iff all
passed. Needs torch with CUDA and numpy.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, os.pardir, os.pardir, "python"))
sys.path.insert(0, here)

from adamas import compile as ac  # noqa: E402
from adamas import reference as ref  # noqa: E402
import cases  # noqa: E402

TORCH_DTYPES = {"f16": torch.float16, "bf16": torch.bfloat16, "f32": torch.float32}
# |out - ref| <= ATOL + RTOL |ref| elementwise, and relative Frobenius error
# under FROB (METHOD.md: f32 far under 1e-3, bf16 1e-3..1e-2).
TOLERANCE = {"f16": (2e-3, 1e-2, 2e-3), "bf16": (1.6e-2, 2e-2, 1e-2),
             "f32": (1e-5, 1e-4, 1e-5)}
# Reference computed by numpy (adamas.reference) up to this many
# (batch x head x row) x N distance evaluations; beyond, by torch.
NUMPY_LIMIT = 2_000_000

results = []


def record(check, passed, detail):
    results.append((check, passed, detail))
    print(f"{'PASS' if passed else 'FAIL'}  {check}: {detail}", flush=True)


def record_raises(check, call, error, text=""):
    """Records whether `call()` raises `error` with `text` in its message."""
    try:
        call()
        record(check, False, "no exception")
    except error as e:
        record(check, text in str(e), f"{type(e).__name__}: {e}")
    except Exception as e:  # noqa: BLE001
        record(check, False, f"wrong exception {type(e).__name__}: {e}")


# --- inputs -------------------------------------------------------------------

def to_device(array, elem):
    """A numpy array (bf16 values stored as float32) as a CUDA tensor."""
    if elem == "i32":
        return torch.from_numpy(np.ascontiguousarray(array, dtype=np.int32)).cuda()
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).to(
        TORCH_DTYPES[elem]).cuda()


def to_numpy(tensor):
    if tensor.dtype in (torch.float16, torch.bfloat16):
        return tensor.float().cpu().numpy()
    return tensor.cpu().numpy()


def lengths_for(rng, B, N, pattern, M):
    if pattern in ("full", "ties"):
        return np.full(B, N, dtype=np.int32)
    # Ragged: full, empty, short (< k), and random in between.
    choices = [N, 0, M, 3, int(rng.integers(1, N + 1))]
    return np.array([choices[b % len(choices)] if b < len(choices) else
                     int(rng.integers(0, N + 1)) for b in range(B)], dtype=np.int32)


def random_codes(rng, shape, bits):
    """Codes skewed toward the middle buckets, as real keys' are."""
    levels = 1 << bits
    p = np.ones(levels) / levels if bits == 1 else \
        np.array([1.0] + [2.0] * (levels - 2) + [1.0]) / (2 * levels - 2)
    return rng.choice(levels, size=shape, p=p)


def random_code_words(rng, shape, bits, distinct):
    """Packed codes `<B x H x N x W>` of keys drawn from `distinct` prototype
    rows per head, so that many positions tie exactly (packing the prototypes
    only keeps large N cheap)."""
    *lead, n, d = shape
    protos = ref.pack_codes(random_codes(rng, (*lead, distinct, d), bits), bits)
    pick = rng.integers(0, distinct, size=(*lead, n))
    return np.take_along_axis(protos, pick[..., None], axis=-2)


def key_prototypes(N, pattern):
    """Distinct key rows per head of a run: N / 16 (every distance shared by
    many positions), or one for the pattern "ties" (every distance equal:
    the whole selection decided by the tie rule, and no chunk of the
    grid-synchronised selection narrowed to its candidates)."""
    return 1 if pattern == "ties" else max(4, N // 16)


def head_thresholds(spec, rng):
    """Per-head rows like calibrated ones: the base thresholds scaled per KV
    head; a query head uses its KV head's row."""
    base = np.array(spec.thresholds, dtype=np.float32)
    scales = rng.uniform(0.5, 2.0, size=spec.kv_heads).astype(np.float32)
    kv = (scales[:, None] * base[None, :]).astype(np.float32)
    q = np.repeat(kv, spec.q_heads // spec.kv_heads, axis=0)
    return q, kv


def interior_inputs(rng, shape, thresholds_of_head, elem):
    """x of type `elem` whose orthonormal Hadamard transform lies well inside
    the buckets (x = H(interior values), H its own inverse), checked."""
    B, H, R, D = shape
    y = np.empty(shape)
    for h in range(H):
        t = np.asarray(thresholds_of_head(h), dtype=np.float64)
        gap = (t[-1] - t[0]) / (len(t) - 1) if len(t) > 1 else 1.0
        edges = np.concatenate([[t[0] - 2 * gap], t, [t[-1] + 2 * gap]])
        bucket = rng.integers(0, len(edges) - 1, size=(B, R, D))
        lo, hi = edges[bucket], edges[bucket + 1]
        y[:, h] = (lo + hi) / 2 + rng.uniform(-0.2, 0.2, size=(B, R, D)) * (hi - lo)
    x = ref.hadamard(y, dtype=elem)
    hx = ref.hadamard(x, dtype=elem)
    for h in range(H):
        t = np.asarray(thresholds_of_head(h), dtype=np.float64)
        margin = np.abs(hx[:, h]).max() * 1e-2 + 1e-3
        if (np.abs(hx[:, h, ..., None] - t) < margin).any():
            raise RuntimeError("interior inputs landed near a threshold")
    return x


# --- independent torch reference for large selections --------------------------

def unpack_torch(words, bits):
    """<... x W> i32 code words -> <... x D> codes (uint8), bit planes."""
    *lead, W = words.shape
    groups = W // bits
    w = words.reshape(*lead, groups, bits, 1).to(torch.int64) & 0xFFFFFFFF
    shifts = torch.arange(32, device=words.device)
    planes = (w >> shifts) & 1                                # <.., G, b, 32>
    weights = (1 << torch.arange(bits, device=words.device)).view(bits, 1)
    codes = (planes * weights).sum(-2)                        # <.., G, 32>
    return codes.reshape(*lead, groups * 32).to(torch.int16)


def torch_l1_topk(qc, kc, lengths, spec):
    """l1_topk by unpacked codes, sum |a - c| and a sort on unique keys
    (distance, -position): no popcount, no histogram."""
    B, Hq, M, _ = qc.shape
    _, Hkv, N, _ = kc.shape
    G = Hq // Hkv
    q, keys = unpack_torch(qc, spec.bits), unpack_torch(kc, spec.bits)
    heads = Hkv if spec.shared_group else Hq
    out = torch.full((B, heads, M, spec.k), -1, dtype=torch.int32, device=qc.device)
    pos = torch.arange(N, device=qc.device, dtype=torch.int64)
    for b in range(B):
        dist = torch.empty((Hq, M, N), dtype=torch.int64, device=qc.device)
        for h in range(Hq):
            dist[h] = (q[b, h, :, None, :] - keys[b, h // G, None, :, :]).abs().sum(-1)
        if spec.shared_group:
            dist = dist.view(Hkv, G, M, N).min(1).values
        for m in range(M):
            L = ref.visible_length(int(lengths[b]), M, m, N)
            if L <= spec.k:
                out[b, :, m, :L] = pos[:L].to(torch.int32)
                continue
            key = dist[:, m, :] * (2 * N + 2) - pos              # smaller is better
            forced = (pos < spec.sink) | ((pos >= L - spec.recent) & (pos < L))
            key = torch.where(forced, torch.full_like(key, -(1 << 60)), key)
            key = torch.where(pos >= L, torch.full_like(key, 1 << 60), key)
            chosen = key.topk(spec.k, dim=-1, largest=False).indices
            out[b, :, m, :] = chosen.sort(dim=-1).values.to(torch.int32)
    return out


def reference_topk(qc_np, kc_np, lengths, spec, qc, kc):
    B, Hq, M, _ = qc_np.shape
    if B * Hq * M * kc_np.shape[2] <= NUMPY_LIMIT:
        return to_device(ref.l1_topk(qc_np, kc_np, lengths, spec.k, bits=spec.bits,
                                     sink=spec.sink, recent=spec.recent,
                                     shared_group=spec.shared_group), "i32"), "numpy"
    return torch_l1_topk(qc, kc, lengths, spec), "torch"


def attention_f64(q, keys, values, idx, spec):
    """softmax(scale q.k_j) v_j over the valid j of each row, in float64."""
    B, Hq, M, D = q.shape
    N = keys.shape[2]
    G = Hq // spec.kv_heads
    scale = spec.scale if spec.scale is not None else float(np.float32(1.0 / np.sqrt(D)))
    heads = torch.arange(Hq, device=q.device)
    ih = heads if idx.shape[1] == Hq else heads // G
    kv = heads // G
    ind = idx[:, ih].long()                                   # <B, Hq, M, K>
    valid = (ind >= 0) & (ind < N)
    safe = ind.clamp(0, max(N - 1, 0))
    bidx = torch.arange(B, device=q.device).view(B, 1, 1, 1)
    k = keys.double()[bidx, kv.view(1, Hq, 1, 1), safe]       # <B, Hq, M, K, D>
    v = values.double()[bidx, kv.view(1, Hq, 1, 1), safe]
    s = torch.einsum("bhmd,bhmkd->bhmk", q.double(), k) * scale
    s = s.masked_fill(~valid, float("-inf"))
    w = torch.softmax(s, dim=-1).nan_to_num(0.0)
    return torch.einsum("bhmk,bhmkd->bhmd", w, v)


def compare_output(name, out, expected, elem):
    atol, rtol, frob = TOLERANCE[elem]
    o, e = out.double(), expected
    if torch.isnan(o).any():
        return record(name, False, f"{int(torch.isnan(o).sum())} NaN (unwritten or wrong)")
    err = (o - e).abs()
    bad = int((err > atol + rtol * e.abs()).sum())
    rel = float(torch.linalg.norm(o - e) / max(float(torch.linalg.norm(e)), 1e-30))
    record(name, bad == 0 and rel < frob,
           f"rel err {rel:.2e}, max abs err {float(err.max()):.2e}, {bad} elements out of tolerance")


# --- the checks ----------------------------------------------------------------

def check_select(fn, spec, B, N, lengths, rng, name, pattern="full"):
    qc_np = ref.pack_codes(random_codes(rng, (B, spec.q_heads, spec.rows, spec.dims), spec.bits),
                           spec.bits)
    kc_np = random_code_words(rng, (B, spec.kv_heads, N, spec.dims), spec.bits,
                              distinct=key_prototypes(N, pattern))
    qc, kc, ln = to_device(qc_np, "i32"), to_device(kc_np, "i32"), to_device(lengths, "i32")
    out = torch.full((B, spec.index_heads, spec.rows, spec.k), -7, dtype=torch.int32,
                     device="cuda")
    torch.cuda.synchronize()
    fn(qc, kc, ln, out)
    torch.cuda.synchronize()
    expected, how = reference_topk(qc_np, kc_np, lengths, spec, qc, kc)
    wrong = int((out != expected).sum())
    rows_wrong = int((out != expected).any(-1).sum())
    record(name, wrong == 0,
           f"{wrong} of {out.numel()} indices differ ({rows_wrong} rows) from the {how} reference")
    if how == "numpy" and B * spec.q_heads * N <= NUMPY_LIMIT:
        tref = torch_l1_topk(qc, kc, lengths, spec)
        if not torch.equal(tref, expected):
            record(name + " [torch reference vs numpy]", False, "the torch reference disagrees")


def random_indices(rng, B, H, M, K, N):
    idx = np.full((B, H, M, K), -1, dtype=np.int32)
    junk = [-1, -1, -1, N, N + 7, -5]
    rows = idx.reshape(-1, K)
    for r in range(rows.shape[0]):
        if r % 7 == 3 or N == 0:
            rows[r] = rng.choice(junk, size=K)        # no valid index: zeros
            continue
        count = int(rng.integers(1, min(K, N) + 1))
        row = list(np.sort(rng.choice(N, size=count, replace=False)))
        row += list(rng.choice(junk, size=K - count))
        rows[r] = rng.permutation(row) if r % 2 else row
    return idx


def check_attend(fn, spec, B, N, lengths, rng, name, pattern="full"):
    T = spec.dtype
    q = torch.randn(B, spec.q_heads, spec.rows, spec.dims, device="cuda").to(TORCH_DTYPES[T])
    keys = torch.randn(B, spec.kv_heads, N, spec.dims, device="cuda").to(TORCH_DTYPES[T])
    values = torch.randn(B, spec.kv_heads, N, spec.value_dims, device="cuda").to(TORCH_DTYPES[T])
    idx = to_device(random_indices(rng, B, spec.index_heads, spec.rows, spec.k, N), "i32")
    out = torch.full((B, spec.q_heads, spec.rows, spec.value_dims), float("nan"),
                     device="cuda").to(TORCH_DTYPES[T])
    torch.cuda.synchronize()
    fn(q, keys, values, idx, out)
    torch.cuda.synchronize()
    compare_output(name, out, attention_f64(q, keys, values, idx, spec), T)


def check_encode(fn, spec, B, N, lengths, rng, name, pattern="full"):
    T = spec.dtype
    shape = (B, spec.kv_heads, spec.rows, spec.dims)
    q_thr, kv_thr = head_thresholds(spec, rng)
    rows_of = (lambda h: kv_thr[h]) if spec.per_head_thresholds else (lambda h: spec.thresholds)
    x_np = interior_inputs(rng, shape, rows_of, T)
    expected = ref.bucketize(ref.hadamard(x_np, dtype=T), spec.thresholds,
                             head_thresholds=kv_thr if spec.per_head_thresholds else None)
    out = torch.full((B, spec.kv_heads, spec.rows, spec.words), -7, dtype=torch.int32,
                     device="cuda")
    args = [to_device(x_np, T)] + ([to_device(kv_thr, "f32")] if spec.per_head_thresholds else [])
    torch.cuda.synchronize()
    fn(*args, out)
    torch.cuda.synchronize()
    wrong = int((out != to_device(expected, "i32")).sum())
    record(name, wrong == 0, f"{wrong} of {out.numel()} code words differ from adamas.reference")


def check_step(fn, spec, B, N, lengths, rng, name, pattern="full"):
    T, M = spec.dtype, spec.rows
    q_thr, kv_thr = head_thresholds(spec, rng)
    per_head = spec.per_head_thresholds
    q_rows = (lambda h: q_thr[h]) if per_head else (lambda h: spec.thresholds)
    k_rows = (lambda h: kv_thr[h]) if per_head else (lambda h: spec.thresholds)
    q_np = interior_inputs(rng, (B, spec.q_heads, M, spec.dims), q_rows, T)
    nk_np = interior_inputs(rng, (B, spec.kv_heads, M, spec.dims), k_rows, T)
    cache_np = random_code_words(rng, (B, spec.kv_heads, N, spec.dims), spec.bits,
                                 distinct=key_prototypes(N, pattern))
    keys = torch.randn(B, spec.kv_heads, N, spec.dims, device="cuda").to(TORCH_DTYPES[T])
    values = torch.randn(B, spec.kv_heads, N, spec.value_dims, device="cuda").to(TORCH_DTYPES[T])
    q, new_keys = to_device(q_np, T), to_device(nk_np, T)
    cache, ln = to_device(cache_np, "i32"), to_device(lengths, "i32")
    out = torch.full((B, spec.q_heads, M, spec.value_dims), float("nan"),
                     device="cuda").to(TORCH_DTYPES[T])
    args = [q, new_keys, keys, values, cache, ln]
    if per_head:
        args += [to_device(q_thr, "f32"), to_device(kv_thr, "f32")]
    torch.cuda.synchronize()
    fn(*args, out)
    torch.cuda.synchronize()

    qc = ref.bucketize(ref.hadamard(q_np, dtype=T), spec.thresholds,
                       head_thresholds=q_thr if per_head else None)
    nkc = ref.bucketize(ref.hadamard(nk_np, dtype=T), spec.thresholds,
                        head_thresholds=kv_thr if per_head else None)
    cache_expected = ref.cache_write(nkc, cache_np, lengths)
    wrong = int((cache != to_device(cache_expected, "i32")).sum())
    record(name + " code cache", wrong == 0,
           f"{wrong} of {cache.numel()} cache words differ (new rows written, others kept)")
    idx, how = reference_topk(qc, cache_expected, lengths, spec, to_device(qc, "i32"),
                              to_device(cache_expected, "i32"))
    compare_output(name + f" output (indices: {how})", out,
                   attention_f64(q, keys, values, idx, spec), T)


def check_hadamard(fn, spec, B, N, lengths, rng, name, pattern="full"):
    """The orthonormal transform alone: computed in f32, rounded once to T;
    within an ulp of T (plus f32 rounding) of the float64 reference."""
    T = spec.dtype
    x_np = ref.round_to(rng.standard_normal((B, spec.kv_heads, spec.rows, spec.dims)), T)
    out = torch.full((B, spec.kv_heads, spec.rows, spec.dims), float("nan"),
                     device="cuda").to(TORCH_DTYPES[T])
    torch.cuda.synchronize()
    fn(to_device(x_np, T), out)
    torch.cuda.synchronize()
    expected = torch.from_numpy(np.asarray(ref.hadamard(x_np, dtype=T), dtype=np.float64)).cuda()
    compare_output(name, out, expected, T)


CHECKS = {"select": (check_select, 3), "attend": (check_attend, 5),
          "encode": (check_encode, 2), "step": (check_step, 7),
          "hadamard": (check_hadamard, 1)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("libdir")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--only", nargs="*")
    p.add_argument("--first-run", action="store_true",
                   help="only each spec's first (smallest) run, e.g. under compute-sanitizer")
    p.add_argument("--runs", nargs="*", type=int,
                   help="only these runs (indices into cases.RUNS) of each spec")
    p.add_argument("--kinds", nargs="*", default=list(cases.KINDS))
    args = p.parse_args()
    seed = args.seed if args.seed is not None else int(time.time()) % 100000
    print(f"seed {seed}; GPU {torch.cuda.get_device_name()}", flush=True)
    manifest = json.load(open(os.path.join(args.libdir, "manifest.json")))
    for spec_name in manifest["specs"]:
        if args.only and spec_name not in args.only:
            continue
        spec = cases.SPECS[spec_name]
        lib = os.path.join(args.libdir, f"{spec_name}.so")
        runs = cases.RUNS[spec_name]
        if args.runs is not None:
            runs = [runs[i] for i in args.runs]
        for B, N, pattern in runs[:1 if args.first_run else None]:
            rng = np.random.default_rng([seed, B, N])
            lengths = lengths_for(rng, B, N, pattern, spec.rows)
            for kind in args.kinds:
                check, _ = CHECKS[kind]
                fn = ac.Function(lib, cases.function_name(spec_name, kind))
                name = f"{kind} {spec_name} B={B} N={N} {pattern}"
                try:
                    start = time.time()
                    check(fn, spec, B, N, lengths, rng, name, pattern)
                    print(f"      ({time.time() - start:.1f} s)", flush=True)
                except Exception as e:  # a crash is a failed check
                    record(name, False, f"{type(e).__name__}: {str(e).splitlines()[0]}")
                    if "CUDA error" in str(e):
                        # The context is lost; the caller runs the next spec
                        # in a new process.
                        return finish(seed)
    return finish(seed)


def finish(seed):
    passed = sum(1 for _, ok, _ in results if ok)
    print(f"\n== GPU checks: {passed} passed, {len(results) - passed} failed (seed {seed})")
    for check, ok, detail in results:
        if not ok:
            print(f"FAIL {check}: {detail}")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
