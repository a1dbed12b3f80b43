#!/usr/bin/env python3
"""adamas.torch on the GPU: decode steps against the numpy reference, under
torch.compile and in a CUDA graph, and its argument checks.

    torch_check.py          ($ADAMAS_CACHE_DIR: the cache prepare.py filled)

A KV cache of B = 2 rows, 32 query / 8 KV heads, D = 128, fp16, capacity
4096, ragged lengths: CodeCache.prefill encodes the prefill keys, then three
decode steps append one token each (the caller writes K/V, as vLLM and
Hugging Face do) and call adamas.torch.decode_attention. Inputs are built so
that their Hadamard transform lies inside the buckets (codes cannot depend
on rounding), then: the code cache equals adamas.reference's codes, the
output equals f64 attention over adamas.reference.l1_topk's indices within
fp16 tolerance; the same with per-head calibrated thresholds; torch.compile
(fullgraph) and a CUDA graph replay give the eager result bit for bit; wrong
devices, dtypes, shapes and a mismatched cache raise before any launch.
Prints PASS/FAIL lines and a summary; exit status 0 iff all passed.
"""

import os
import sys
import time

import numpy as np
import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, os.pardir, os.pardir, "python"))
sys.path.insert(0, here)

import adamas.torch as at  # noqa: E402
from adamas import reference as ref  # noqa: E402
import check  # noqa: E402  (attention_f64, interior_inputs, record, record_raises)
from measure import host_time_us  # noqa: E402

B, HQ, HKV, D, CAP, K, SINK, RECENT = 2, 32, 8, 128, 4096, 256, 4, 16


def interior(rng, shape, rows):
    return check.interior_inputs(rng, shape, rows, "f16")


def run_steps(per_head, rng, name):
    lengths = np.array([3000, 1200], dtype=np.int32)
    fixed = (-10.0, 0.0, 10.0)
    # Per-head: calibrate first on keys of known per-head scale; the codes
    # then use those thresholds, so the keys must be interior for them.
    keys_np = np.zeros((B, HKV, CAP, D), dtype=np.float32)
    values = torch.randn(B, HKV, CAP, D, device="cuda").half()
    cache = at.CodeCache(B, HKV, CAP, dims=D)
    if per_head:
        scales = rng.uniform(0.5, 2.0, size=HKV)
        raw = torch.from_numpy((rng.standard_normal((B, HKV, CAP, D)) *
                                scales[None, :, None, None]).astype(np.float32)).cuda()
        cache.calibrate(raw.half(), torch.from_numpy(lengths).cuda())
        kv_thr = cache.key_thresholds.cpu().numpy()
        # calibrate() against an independent computation: 0.5 x the std of
        # each head's post-Hadamard keys over the valid positions.
        h = ref.hadamard(raw.half().float().cpu().numpy().astype(np.float64), dtype="f32")
        for hh in range(HKV):
            vals = np.concatenate([h[b, hh, :lengths[b]].ravel() for b in range(B)])
            want = 0.5 * vals.std()
            got = kv_thr[hh, 2]
            if abs(got - want) > 1e-3 * want:
                check.record(f"{name}: calibrate head {hh}", False, f"{got} vs {want}")
                return
        rows_of = lambda h: kv_thr[h]  # noqa: E731
    else:
        kv_thr = None
        rows_of = lambda h: fixed  # noqa: E731
    keys_np[:] = interior(rng, (B, HKV, CAP, D), rows_of)
    keys = torch.from_numpy(keys_np).cuda().half()
    cache.prefill(keys)
    torch.cuda.synchronize()
    codes_ref = ref.bucketize(ref.hadamard(keys_np, dtype="f16"), fixed, head_thresholds=kv_thr)
    wrong = int((cache.codes.cpu().numpy() != codes_ref).sum())
    check.record(f"{name}: CodeCache.prefill", wrong == 0,
                 f"{wrong} of {codes_ref.size} code words differ from adamas.reference")
    q_thr = None if kv_thr is None else np.repeat(kv_thr, HQ // HKV, axis=0)
    ln = torch.from_numpy(lengths).cuda()
    for step in range(3):
        lengths = lengths + 1
        ln.copy_(torch.from_numpy(lengths))
        q_np = interior(rng, (B, HQ, 1, D), (lambda h: q_thr[h]) if per_head else rows_of)
        nk_np = interior(rng, (B, HKV, 1, D), rows_of)
        q, nk = torch.from_numpy(q_np).cuda().half(), torch.from_numpy(nk_np).cuda().half()
        for b in range(B):       # the caller appends K/V at lengths - 1
            keys[b, :, lengths[b] - 1] = nk[b, :, 0]
            keys_np[b, :, lengths[b] - 1] = nk_np[b, :, 0]
        out = at.decode_attention(q, nk, keys, values, cache, ln, k=K, sink=SINK, recent=RECENT)
        torch.cuda.synchronize()
        nkc = ref.bucketize(ref.hadamard(nk_np, dtype="f16"), fixed, head_thresholds=kv_thr)
        codes_ref = ref.cache_write(nkc, codes_ref, lengths)
        wrong = int((cache.codes.cpu().numpy() != codes_ref).sum())
        check.record(f"{name} step {step}: code cache", wrong == 0,
                     f"{wrong} of {codes_ref.size} words differ")
        qc = ref.bucketize(ref.hadamard(q_np, dtype="f16"), fixed, head_thresholds=q_thr)
        spec = at.step_spec(HQ, HKV, D, D, 1, "f16", K, sink=SINK, recent=RECENT)
        idx = torch.from_numpy(ref.l1_topk(qc, codes_ref, lengths, K, sink=SINK,
                                           recent=RECENT)).cuda()
        check.compare_output(f"{name} step {step}: output", out,
                             check.attention_f64(q, keys, values, idx, spec), "f16")
    return q, nk, keys, values, cache, ln


def check_compile_and_graph(state):
    q, nk, keys, values, cache, ln = state
    eager = at.decode_attention(q, nk, keys, values, cache, ln, k=K, sink=SINK, recent=RECENT)

    @torch.compile(fullgraph=True)
    def compiled(q, nk, keys, values, codes, ln):
        return at.decode_attention(q, nk, keys, values, codes, ln, k=K, sink=SINK,
                                   recent=RECENT) * 1.0
    try:
        got = compiled(q, nk, keys, values, cache.codes, ln)
        torch.cuda.synchronize()
        check.record("torch.compile(fullgraph=True)", torch.equal(got, eager),
                     "equals the eager step" if torch.equal(got, eager) else "differs")
    except Exception as e:  # noqa: BLE001
        check.record("torch.compile(fullgraph=True)", False, f"{type(e).__name__}: {e}")

    try:
        static_out = torch.empty_like(eager)
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):     # warm-up outside capture
            static_out.copy_(at.decode_attention(q, nk, keys, values, cache, ln, k=K,
                                                 sink=SINK, recent=RECENT))
        torch.cuda.current_stream().wait_stream(s)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            static_out.copy_(at.decode_attention(q, nk, keys, values, cache, ln, k=K,
                                                 sink=SINK, recent=RECENT))
        static_out.zero_()
        graph.replay()
        torch.cuda.synchronize()
        check.record("CUDA graph capture + replay", torch.equal(static_out, eager),
                     "equals the eager step" if torch.equal(static_out, eager) else "differs")
    except Exception as e:  # noqa: BLE001
        check.record("CUDA graph capture + replay", False, f"{type(e).__name__}: {e}")

    # Host time of one eager step from Python (checks and launches included).
    with torch.no_grad():
        host = host_time_us(lambda: at.decode_attention(q, nk, keys, values, cache, ln, k=K,
                                                        sink=SINK, recent=RECENT), 400)
    check.record("eager host time per decode_attention call", True, f"{host:.1f} us")


def check_errors(state):
    q, nk, keys, values, cache, ln = state
    cases = [
        ("query on the CPU", dict(query=q.cpu()), ValueError, "must be a CUDA tensor"),
        ("float32 query", dict(query=q.float()), TypeError, "float16 or bfloat16"),
        ("new_keys of another dtype", dict(new_keys=nk.bfloat16()), TypeError, "dtype"),
        ("lengths int64", dict(lengths=ln.long()), TypeError, "torch.int32"),
        ("code cache shorter than the KV cache", dict(code_cache=cache.codes[:, :, :100].contiguous()),
         ValueError, "as many positions"),
        ("non-contiguous keys", dict(keys=keys.transpose(2, 3)), ValueError, ""),
        ("heads that do not divide", dict(new_keys=nk[:, :5].contiguous()), ValueError, ""),
    ]
    base = dict(query=q, new_keys=nk, keys=keys, values=values, code_cache=cache, lengths=ln)
    for label, change, error, text in cases:
        args = dict(base, **change)
        check.record_raises(
            f"error: {label}",
            lambda: at.decode_attention(args["query"], args["new_keys"], args["keys"],
                                        args["values"], args["code_cache"], args["lengths"],
                                        k=K, sink=SINK, recent=RECENT),
            error, text)


def main():
    seed = int(os.environ.get("CHECK_SEED", int(time.time()) % 100000))
    rng = np.random.default_rng(seed)
    print(f"seed {seed}; cache {os.environ.get('ADAMAS_CACHE_DIR')}", flush=True)
    state = run_steps(False, rng, "fixed thresholds")
    run_steps(True, rng, "calibrated thresholds")
    if state is not None:
        check_compile_and_graph(state)
        check_errors(state)
    return check.finish(seed)


if __name__ == "__main__":
    sys.exit(main())
