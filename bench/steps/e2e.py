#!/usr/bin/env python3
"""End-to-end decoding (issue 10): a Llama-2-7B-shaped model, dense SDPA
against adamas.torch.decode_attention, tokens per second.

    e2e.py --cache DIR [--out DIR] [--contexts 32768 131072] [--variants mha gqa]
           [--tokens 64] [--runs 3] [--batch 1] [--quick] [--skip-check]
           [--glue compiled|eager] [--no-bound]

The model is written here in plain PyTorch (not Hugging Face): 32 layers,
hidden 4096, 32 query heads of D = 128, SwiGLU MLP 11008, RMSNorm, RoPE
(theta 1e4), vocab 32000, random fp16 weights (std 0.02); variant "mha" has
32 KV heads (Llama-2-7B), "gqa" 8. One static KV cache per layer
`[B, Hkv, Nmax, D]` and, for adamas, an adamas.torch.CodeCache per sparse
layer. Decoding is greedy: one token's step (embedding, 32 layers, final
norm, lm_head, argmax, position + 1) is captured once into a CUDA graph and
replayed; the token, the position and `lengths` live in device tensors
updated in place, so the same graph decodes token after token. The code
around attention (norms, projections, RoPE, MLP; the same for dense and
adamas) runs through torch.compile by default (`Glue`; --glue eager: plain
PyTorch, ~30 small kernels per layer). A row "no attention (bound)" (o = q
in every layer) gives what a token costs without attention: dense over it
is the most any attention could speed the model up.

Dense: SDPA (its fastest backend for the shape, picked by timing each) over
the whole static cache, Nmax = context + tokens + 8 positions, every one
filled (a CUDA graph has fixed shapes; the extra <= 0.3% positions cost dense
that much). Adamas: the first 2 layers dense as above, the other 30 through
adamas.torch.decode_attention (k = 256, sink 4, recent 16; per head, and for
gqa also shared_group), which attends over exactly `lengths` positions. The
caches are prefilled with random K/V (no real prefill is run) and the code
caches with CodeCache.prefill (the generated encode kernel). The kernels come
from the carried artifact cache (--cache, i.e. $ADAMAS_CACHE_DIR; prepare.py
put cases.e2e_functions() there).

Check first (per variant, unless --skip-check): at context 512 (Nmax 513, so
the dense window is exact), the adamas model with k = 1024 >= context must
give the dense model's logits for one token (relative max error below 2e-2;
the argmax is reported), must have written the new key's codes into its code caches
(equal to CodeCache.prefill of that key), and the same model with k = 256
(half the context) must differ from dense by more: the sparse path is what
runs. Prints a table; writes OUT/e2e.md and OUT/e2e.json. Exit status 0 iff
no check and no configuration failed (the speedup targets, >= 2x at 32K and
>= 3.5x at 128K, are reported, not enforced).
"""

import argparse
import json
import os
import statistics
import sys
import time
import traceback

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.abspath(os.path.join(here, os.pardir, os.pardir))
sys.path.insert(0, os.path.join(root, "python"))
sys.path.insert(0, here)

import cases  # noqa: E402

LAYERS, HIDDEN, HEADS, D, INTER, VOCAB = 32, 4096, 32, 128, 11008, 32000
DENSE_LAYERS = 2
TARGETS = {32768: 2.0, 131072: 3.5}
CHECK_CONTEXT, CHECK_TOL = 512, 2e-2


class Model:
    """Random fp16 weights of a Llama-2-7B-shaped decoder."""

    def __init__(self, kv_heads, layers=LAYERS, std=0.02):
        import torch

        def w(*shape):
            return torch.randn(shape, device="cuda", dtype=torch.float16).mul_(std)

        def ones(n):
            return torch.ones(n, device="cuda", dtype=torch.float16)
        self.kv_heads, self.layers = kv_heads, layers
        self.embed = w(VOCAB, HIDDEN).mul_(50.0)      # embeddings of std 1
        self.wqkv = [w((HEADS + 2 * kv_heads) * D, HIDDEN) for _ in range(layers)]
        self.wo = [w(HIDDEN, HEADS * D) for _ in range(layers)]
        self.wgu = [w(2 * INTER, HIDDEN) for _ in range(layers)]
        self.wdown = [w(HIDDEN, INTER) for _ in range(layers)]
        self.ln1 = [ones(HIDDEN) for _ in range(layers)]
        self.ln2 = [ones(HIDDEN) for _ in range(layers)]
        self.norm = ones(HIDDEN)
        self.lm_head = w(VOCAB, HIDDEN)

    def bytes(self):
        ts = [self.embed, self.norm, self.lm_head] + self.wqkv + self.wo + self.wgu + \
            self.wdown + self.ln1 + self.ln2
        return sum(t.numel() * t.element_size() for t in ts)


class Caches:
    """KV caches (and code caches for the sparse layers) of `capacity`
    positions, every position filled with random K/V, codes encoded."""

    def __init__(self, model, batch, capacity, sparse=True):
        import torch
        import adamas.torch as at
        self.B, self.capacity = batch, capacity
        shape = (batch, model.kv_heads, capacity, D)
        self.keys, self.values, self.codes = [], [], {}
        for layer in range(model.layers):
            self.keys.append(torch.empty(shape, device="cuda", dtype=torch.float16).normal_())
            self.values.append(torch.empty(shape, device="cuda", dtype=torch.float16).normal_())
            if sparse and layer >= DENSE_LAYERS:
                cache = at.CodeCache(batch, model.kv_heads, capacity, dims=D)
                cache.prefill(self.keys[layer])
                self.codes[layer] = cache
        # RoPE tables (Hugging Face's rotate_half convention), fp16 like the model.
        inv = 1.0 / (10000.0 ** (torch.arange(0, D, 2, device="cuda", dtype=torch.float32) / D))
        freqs = torch.outer(torch.arange(capacity, device="cuda", dtype=torch.float32), inv)
        emb = torch.cat([freqs, freqs], dim=-1)
        self.cos, self.sin = emb.cos().half(), emb.sin().half()
        self.tok = torch.zeros(batch, device="cuda", dtype=torch.int64)
        self.pos = torch.zeros(1, device="cuda", dtype=torch.int64)
        self.lengths = torch.zeros(batch, device="cuda", dtype=torch.int32)

    def bytes(self):
        n = sum(t.numel() * t.element_size() for t in self.keys + self.values)
        return n + sum(c.codes.numel() * 4 for c in self.codes.values())


def rmsnorm(x, weight, eps=1e-5):
    import torch
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype) * weight


def rope(x, cos, sin):
    import torch
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rotated * sin


def attention_in(x, ln1, wqkv, cos, sin, kv_heads: int):
    """A layer up to attention: RMSNorm, the fused QKV projection, RoPE on q
    and k. Returns q [B, H, 1, D], k and v [B, Hkv, 1, D]."""
    import torch.nn.functional as F
    B = x.shape[0]
    qkv = F.linear(rmsnorm(x, ln1), wqkv)
    q = rope(qkv[:, :HEADS * D].reshape(B, HEADS, 1, D), cos, sin)
    k = rope(qkv[:, HEADS * D:(HEADS + kv_heads) * D].reshape(B, kv_heads, 1, D), cos, sin)
    v = qkv[:, (HEADS + kv_heads) * D:].reshape(B, kv_heads, 1, D)
    return q, k, v


def attention_out_mlp(x, o, wo, ln2, wgu, wdown):
    """A layer after attention: the output projection and residual, RMSNorm,
    the SwiGLU MLP and residual."""
    import torch.nn.functional as F
    x = x + F.linear(o.reshape(x.shape[0], HEADS * D), wo)
    gate, up = F.linear(rmsnorm(x, ln2), wgu).chunk(2, dim=-1)
    return x + F.linear(F.silu(gate) * up, wdown)


def head(x, norm, lm_head):
    import torch.nn.functional as F
    return F.linear(rmsnorm(x, norm), lm_head)


class Glue:
    """The model's code around attention, the same for dense and adamas.
    "eager": plain PyTorch, ~30 small kernels per layer (norms in fp32 steps,
    RoPE's cat / neg / mul / add, the residual adds), each a graph node of
    ~2 us at B = 1. "compiled": the same functions through torch.compile
    (Inductor, fullgraph, static shapes), which fuses each run of elementwise
    ops into one Triton kernel between the cuBLAS GEMMs, as a serving engine's
    fused norm / RoPE / SiLU kernels do. Attention and the cache writes stay
    outside either way."""

    def __init__(self, mode):
        self.mode = mode
        fns = (attention_in, attention_out_mlp, head)
        if mode == "compiled":
            import torch
            fns = tuple(torch.compile(f, fullgraph=True, dynamic=False) for f in fns)
        self.attention_in, self.attention_out_mlp, self.head = fns


NO_ATTENTION = 0   # step()'s sparse_k for the bound: attention replaced by o = q


def step(model, c, glue, sparse_k=None, shared_group=False):
    """One greedy decode step for every batch row at position c.pos: writes
    K/V there, attends, samples the next token into c.tok, advances c.pos.
    sparse_k None: every layer dense; NO_ATTENTION: no layer attends (o = q,
    the cache writes kept: what the token costs without attention, the bound
    on any attention's speedup); else layers >= DENSE_LAYERS through
    adamas.torch.decode_attention with k = sparse_k. Returns the logits."""
    import torch
    import torch.nn.functional as F
    import adamas.torch as at
    B, Hkv = c.B, model.kv_heads
    x = F.embedding(c.tok, model.embed)                       # [B, hidden]
    c.lengths.copy_((c.pos + 1).to(torch.int32).expand(B))
    cos = c.cos.index_select(0, c.pos).view(1, 1, 1, D)
    sin = c.sin.index_select(0, c.pos).view(1, 1, 1, D)
    for layer in range(model.layers):
        q, k, v = glue.attention_in(x, model.ln1[layer], model.wqkv[layer], cos, sin, Hkv)
        keys, values = c.keys[layer], c.values[layer]
        keys.index_copy_(2, c.pos, k)
        values.index_copy_(2, c.pos, v)
        if sparse_k == NO_ATTENTION:
            o = q
        elif sparse_k is not None and layer >= DENSE_LAYERS:
            o = at.decode_attention(q.contiguous(), k.contiguous(), keys, values,
                                    c.codes[layer], c.lengths, k=sparse_k,
                                    sink=cases.E2E_SINK, recent=cases.E2E_RECENT,
                                    shared_group=shared_group)
        else:
            o = F.scaled_dot_product_attention(q, keys, values, enable_gqa=Hkv != HEADS)
        x = glue.attention_out_mlp(x, o, model.wo[layer], model.ln2[layer],
                                   model.wgu[layer], model.wdown[layer])
    logits = glue.head(x, model.norm, model.lm_head)
    c.tok.copy_(logits.argmax(-1))
    c.pos.add_(1)
    return logits


def best_sdpa_backend(c):
    """The fastest SDPA backend at these cache shapes (measure.dense_time_us:
    each backend graphed and timed on layer 0's cache)."""
    import torch
    import measure
    q = torch.randn(c.B, HEADS, 1, D, device="cuda", dtype=torch.float16)
    t, name = measure.dense_time_us([q], [c.keys[0]], [c.values[0]], 1, 10)
    from torch.nn.attention import SDPBackend
    return getattr(SDPBackend, name), t


def capture(fn, backend, c, start):
    """fn() captured once in a CUDA graph, after two warm-up calls on a side
    stream, each from position `start` with token 7 (so they write K/V and
    codes only at `start`, which every replay from `start` rewrites)."""
    import torch
    from torch.nn.attention import sdpa_kernel
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with sdpa_kernel([backend]):
        with torch.cuda.stream(stream):
            for _ in range(2):
                c.pos.fill_(start)
                c.tok.fill_(7)
                fn()
        torch.cuda.current_stream().wait_stream(stream)
        torch.cuda.synchronize()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            out = fn()
    torch.cuda.synchronize()
    return graph, out


def time_decode(graph, c, context, tokens, runs):
    """Median ms per token over `runs` runs of `tokens` replays from `context`."""
    import torch
    c.pos.fill_(context)
    for _ in range(3):
        graph.replay()
    torch.cuda.synchronize()
    per_token = []
    for _ in range(runs):
        c.pos.fill_(context)
        c.tok.fill_(1)
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(tokens):
            graph.replay()
        end.record()
        end.synchronize()
        per_token.append(start.elapsed_time(end) / tokens)
    return statistics.median(per_token), min(per_token), max(per_token)


# --- the check: adamas with k >= context is the dense model ----------------------

def check(model, glue, variant, batch, record):
    import torch
    import adamas.torch as at
    c = Caches(model, batch, CHECK_CONTEXT + 1)
    backend, _ = best_sdpa_backend(c)
    runs = {}
    configs = [("dense", None, False), ("full", cases.E2E_CHECK_K, False),
               ("sparse", cases.E2E_K, False)]
    if model.kv_heads != HEADS:
        configs.append(("full shared", cases.E2E_CHECK_K, True))
    for name, k, shared in configs:
        graph, logits = capture(lambda: step(model, c, glue, k, shared), backend, c,
                                CHECK_CONTEXT)
        c.pos.fill_(CHECK_CONTEXT)
        c.tok.fill_(7)
        graph.replay()
        torch.cuda.synchronize()
        runs[name] = logits.float().clone()
        if name == "full" and model.layers > DENSE_LAYERS:
            # The step wrote the new key's codes: equal to an encode of that key.
            for layer in (DENSE_LAYERS, model.layers - 1):
                new_key = c.keys[layer][:, :, CHECK_CONTEXT:CHECK_CONTEXT + 1].contiguous()
                expect = at.CodeCache(batch, model.kv_heads, 1, dims=D)
                expect.prefill(new_key)
                got = c.codes[layer].codes[:, :, CHECK_CONTEXT:CHECK_CONTEXT + 1]
                same = torch.equal(got, expect.codes)
                record(f"{variant}: code cache written by the step (layer {layer})", same,
                       "equals CodeCache.prefill of the new key" if same else
                       f"{int((got != expect.codes).sum())} words differ")
        del graph, logits
    dense = runs["dense"]
    scale = dense.abs().max().item()

    def err(name):
        return (runs[name] - dense).abs().max().item() / scale
    for name in [n for n in runs if n.startswith("full")]:
        e = err(name)
        # The argmax is reported, not required: random logits can have a top-2
        # gap below fp16 noise.
        same_tok = torch.equal(runs[name].argmax(-1), dense.argmax(-1))
        record(f"{variant}: adamas {name} (k={cases.E2E_CHECK_K} >= {CHECK_CONTEXT + 1} "
               f"positions) == dense", e < CHECK_TOL,
               f"logits rel max err {e:.1e} (tol {CHECK_TOL:g}), argmax "
               f"{'equal' if same_tok else 'differs'}")
    e_full, e_sparse = err("full"), err("sparse")
    record(f"{variant}: adamas k={cases.E2E_K} < context differs from dense",
           e_sparse > 2 * e_full + 1e-3,
           f"logits rel max err {e_sparse:.1e} vs {e_full:.1e} at k={cases.E2E_CHECK_K}")
    del c, runs
    torch.cuda.empty_cache()


# --- driver -------------------------------------------------------------------------

def markdown(rows, checks, header):
    lines = header + ["", "| check | result | detail |", "|---|---|---|"]
    lines += [f"| {n} | {'PASS' if ok else 'FAIL'} | {d} |" for n, ok, d in checks]
    lines += ["", "| model | context | B | attention | ms / token | tokens / s | speedup "
              "| target | memory (weights + caches) |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['variant']} | {r['context']} | {r['B']} | {r['attention']} "
                         f"| FAIL: {r['error']} | | | | |")
            continue
        speed = f"{r['speedup']:.2f}x" if r.get("speedup") else ""
        target = f">= {r['target']}x" if r.get("target") and r.get("speedup") else ""
        lines.append(f"| {r['variant']} | {r['context'] // 1024}K | {r['B']} | {r['attention']} "
                     f"| {r['ms']:.2f} ({r['ms_min']:.2f}-{r['ms_max']:.2f}) "
                     f"| {r['tok_s']:.1f} | {speed} | {target} | {r['gb']:.1f} GB |")
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cache", help="artifact cache with the kernels (default $ADAMAS_CACHE_DIR)")
    p.add_argument("--out", default=os.environ.get("OUT") or os.path.join(root, "build-bench"))
    p.add_argument("--contexts", type=int, nargs="*", default=[32768, 131072])
    p.add_argument("--variants", nargs="*", default=["mha", "gqa"], choices=["mha", "gqa"])
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--tokens", type=int, default=64, help="tokens per timed run")
    p.add_argument("--runs", type=int, default=3, help="timed runs (median)")
    p.add_argument("--layers", type=int, default=LAYERS, help="fewer for a smoke test")
    p.add_argument("--quick", action="store_true", help="32 tokens, 2 runs")
    p.add_argument("--glue", choices=["compiled", "eager"], default="compiled",
                   help="the model's code around attention through torch.compile (default) "
                        "or plain PyTorch (see Glue)")
    p.add_argument("--no-bound", action="store_true",
                   help="skip the row without attention (the bound on the speedup)")
    p.add_argument("--skip-check", action="store_true")
    args = p.parse_args()
    if args.quick:
        args.tokens, args.runs = 32, 2
    if args.cache:
        os.environ["ADAMAS_CACHE_DIR"] = os.path.abspath(args.cache)
    os.makedirs(args.out, exist_ok=True)
    begin = time.time()

    import torch
    import adamas.torch  # noqa: F401  (registers the op; the cache dir is read now)
    torch.manual_seed(0)
    gpu = torch.cuda.get_device_name()
    print(f"GPU {gpu}, torch {torch.__version__}, cache {os.environ.get('ADAMAS_CACHE_DIR')}",
          flush=True)
    header = [f"GPU {gpu}, torch {torch.__version__}, {time.strftime('%Y-%m-%d')}; "
              f"`bench/steps/e2e.py`: Llama-2-7B shape ({args.layers} layers), fp16, random "
              f"weights, greedy decoding from a CUDA graph per token; {args.tokens} tokens "
              f"per run, median of {args.runs} runs (min-max); adamas: layers >= "
              f"{DENSE_LAYERS} sparse, k = {cases.E2E_K}, sink {cases.E2E_SINK}, recent "
              f"{cases.E2E_RECENT}; dense: SDPA over the static cache (context + "
              f"{args.tokens + 8} positions); the code around attention {args.glue} "
              f"(Glue), the same for both; \"no attention\": o = q in every layer, what "
              f"the token costs without attention (dense / it bounds any attention's "
              f"speedup)."]
    glue = Glue(args.glue)
    checks, rows = [], []

    def record(name, ok, detail):
        checks.append((name, bool(ok), detail))
        print(f"{'PASS' if ok else 'FAIL'} {name}\t{detail}", flush=True)   # gpu_check.sh

    def save():
        with open(os.path.join(args.out, "e2e.md"), "w") as fh:
            fh.write(markdown(rows, checks, header))
        with open(os.path.join(args.out, "e2e.json"), "w") as fh:
            json.dump({"gpu": gpu, "torch": torch.__version__, "checks": checks, "rows": rows,
                       "tokens": args.tokens, "runs": args.runs, "glue": args.glue}, fh,
                      indent=1)

    for variant in args.variants:
        kv = HEADS if variant == "mha" else 8
        name = f"{variant} ({HEADS}/{kv})"
        model = None
        try:
            model = Model(kv, layers=args.layers)
            print(f"== {name}: weights {model.bytes() / 1e9:.1f} GB", flush=True)
            if not args.skip_check:
                try:
                    check(model, glue, name, args.batch, record)
                except Exception as e:
                    record(f"{name}: check", False, f"{type(e).__name__}: {e}")
                    traceback.print_exc()
                save()
        except Exception as e:
            record(f"{name}: model", False, f"{type(e).__name__}: {e}")
            traceback.print_exc()
            continue
        for context in args.contexts:
            c = graph = None
            attn = [("dense", None, False)]
            if not args.no_bound:
                attn.append(("no attention (bound)", NO_ATTENTION, False))
            attn.append((f"adamas k={cases.E2E_K}", cases.E2E_K, False))
            if kv != HEADS:
                attn.append((f"adamas k={cases.E2E_K} shared_group", cases.E2E_K, True))
            try:
                t0 = time.time()
                c = Caches(model, args.batch, context + args.tokens + 8)
                backend, attn_us = best_sdpa_backend(c)
                print(f"{name} {context // 1024}K: caches {c.bytes() / 1e9:.1f} GB in "
                      f"{time.time() - t0:.1f} s; SDPA {backend.name} {attn_us:.1f} us per "
                      f"layer", flush=True)
            except Exception as e:
                for label, _, _ in attn:
                    rows.append({"variant": name, "context": context, "B": args.batch,
                                 "attention": label, "error": f"{type(e).__name__}: {e}"})
                print(f"FAIL {name} {context}: {type(e).__name__}: {e}", flush=True)
                traceback.print_exc()
                del c
                torch.cuda.empty_cache()
                continue
            dense_ms = None
            for label, k, shared in attn:
                row = {"variant": name, "context": context, "B": args.batch, "attention": label}
                try:
                    t0 = time.time()
                    graph, _ = capture(lambda: step(model, c, glue, k, shared), backend, c,
                                       context)
                    captured_s = time.time() - t0
                    ms, lo, hi = time_decode(graph, c, context, args.tokens, args.runs)
                    row.update(ms=ms, ms_min=lo, ms_max=hi, tok_s=args.batch * 1e3 / ms,
                               gb=(model.bytes() + c.bytes()) / 1e9, sdpa=backend.name)
                    if k is None:
                        dense_ms = ms
                    elif dense_ms:
                        row["speedup"] = dense_ms / ms
                        row["target"] = TARGETS.get(context) if k != NO_ATTENTION else None
                    print(f"{name} {context // 1024}K {label}: {ms:.2f} ms/token, "
                          f"{row['tok_s']:.1f} tok/s"
                          + (f", {row['speedup']:.2f}x" if "speedup" in row else "")
                          + f" (warm-up and capture {captured_s:.0f} s)",
                          flush=True)
                except Exception as e:
                    row["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
                    print(f"FAIL {name} {context} {label}: {row['error']}", flush=True)
                    traceback.print_exc()
                rows.append(row)
                graph = None
                torch.cuda.synchronize()
                torch.cuda.empty_cache()
            del c, graph
            torch.cuda.empty_cache()
            save()
        del model
        torch.cuda.empty_cache()

    save()
    md = markdown(rows, checks, header)
    print("\n" + md)
    failed = sum(1 for _, ok, _ in checks if not ok) + sum(1 for r in rows if "error" in r)
    print(f"{'ALL E2E CHECKS PASSED' if not failed else f'{failed} FAILED'} "
          f"({time.time() - begin:.0f} s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
