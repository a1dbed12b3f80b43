#!/usr/bin/env python3
"""Accuracy of Hadamard sparse attention against dense attention (issue 9, item 4).

Two parts:

1. Attention recall and relative output error (numpy, any machine): the
   methods of `adamas.eval` (exact top-k, Adamas with 1/2/3 bits and fixed or
   calibrated thresholds, Quest, StreamingLLM) at budgets 16..4096 (those <= N)
   on synthetic Q/K/V (`adamas.eval.synthetic_qkv`, several seeds pooled) or on
   a dump (`--dump FILE.npz` with q, k, v in BHND).

2. Perplexity (`--perplexity`; needs torch and a GPU; torch is imported only
   in that code path, below the line marked PERPLEXITY): trains a small
   byte-level causal LM (head_dim 128, RoPE, GQA) on the Python standard
   library's sources for `--train-minutes`, or loads a Hugging Face checkpoint
   (`--model PATH`), then measures perplexity on held-out text with the
   attention of every layer past `--skip-layers` replaced by each method at
   budgets 16/64/128/256, every row decoded (each query row attends to its
   own selection among the positions before it, which is what token-by-token
   decoding computes). A subset of rows is checked against the numpy
   reference selections of `adamas.eval`.

3. Kernel check (part of `--perplexity` for the byte-level LM unless
   `--no-kernel-check`; alone with `--kernel-check`, which trains for
   `--train-minutes` or loads `--byte-lm` and writes `--kernel-out`,
   bench/ACCURACY-kernels.md, leaving ACCURACY.md alone): the Adamas 2-bit
   rows (calibrated and fixed) at each budget decoded token by token through
   the generated kernels (`adamas.torch.decode_attention` with a `CodeCache`,
   kernels precompiled by bench/steps/cases.accuracy_functions) against the
   torch-mask path, per token (log-probability of the next byte) and, on the
   first sparse layer, selections, codes and outputs. Exit status 1 if it
   fails.

It prints the tables, writes them with the command to `bench/ACCURACY.md`
(`--out`), and draws `bench/accuracy.png` (`--plot`) if matplotlib is
importable.

    python3 bench/accuracy.py                        # synthetic, seeds 0,1,2
    python3 bench/accuracy.py --dump qkv.npz         # dumped Q/K/V
    python3 bench/accuracy.py --perplexity           # on a GPU machine with torch
    python3 bench/accuracy.py --kernel-check --train-minutes 0.5   # the kernels only
"""

import argparse
import os
import shlex
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))

import numpy as np  # noqa: E402

from adamas import eval as ev  # noqa: E402

PPL_BUDGETS = (16, 64, 128, 256)
# The byte-level LM's attention shape (byte_lm); bench/steps/cases.py
# precompiles the kernels of --kernel-check for it (accuracy_functions).
BYTE_LM_Q_HEADS, BYTE_LM_KV_HEADS, BYTE_LM_HEAD_DIM = 4, 2, 128
KERNEL_OUT = os.path.join(ROOT, "bench", "ACCURACY-kernels.md")


def int_list(text):
    return [int(x) for x in text.split(",") if x.strip()]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dump", help="evaluate Q/K/V from this .npz (q, k, v in BHND; "
                   "optional lengths, prefill) instead of synthetic data")
    p.add_argument("--seeds", type=int_list, default=[0, 1, 2],
                   help="synthetic cases to pool (default 0,1,2)")
    p.add_argument("--tokens", type=int, default=8192, help="synthetic N (default 8192)")
    p.add_argument("--rows", type=int, default=8, help="synthetic decode rows M (default 8)")
    p.add_argument("--q-heads", type=int, default=8)
    p.add_argument("--kv-heads", type=int, default=2)
    p.add_argument("--dims", type=int, default=128)
    p.add_argument("--budgets", type=int_list, default=list(ev.BUDGETS),
                   help="budgets (those <= N are used)")
    p.add_argument("--out", default=os.path.join(ROOT, "bench", "ACCURACY.md"),
                   help="markdown file to write ('' to skip)")
    p.add_argument("--plot", default=os.path.join(ROOT, "bench", "accuracy.png"),
                   help="PNG to draw if matplotlib is importable ('' to skip)")
    g = p.add_argument_group("perplexity (torch + GPU)")
    g.add_argument("--perplexity", action="store_true",
                   help="also measure perplexity (imports torch; needs a GPU)")
    g.add_argument("--model", help="a Hugging Face checkpoint directory instead of "
                   "training the byte-level LM")
    g.add_argument("--byte-lm", help="checkpoint of the byte-level LM: loaded if it "
                   "exists, else trained and saved there")
    g.add_argument("--train-minutes", type=float, default=5.0)
    g.add_argument("--context", type=int, default=2048, help="tokens per window")
    g.add_argument("--eval-windows", type=int, default=16)
    g.add_argument("--skip-layers", type=int, default=2,
                   help="the first layers stay dense (default 2)")
    g.add_argument("--ppl-budgets", type=int_list, default=list(PPL_BUDGETS))
    g.add_argument("--seed", type=int, default=0, help="training seed")
    c = p.add_argument_group(
        "kernel check (torch + GPU + the generated kernels, byte-level LM only): part of "
        "--perplexity unless --no-kernel-check; alone with --kernel-check")
    c.add_argument("--kernel-check", action="store_true",
                   help="only the kernel check (no recall tables, no perplexity tables): "
                   "trains for --train-minutes (or loads --byte-lm), decodes --check-tokens "
                   "tokens token by token through adamas.torch.decode_attention and compares "
                   "them with the torch selection masks; writes --kernel-out")
    c.add_argument("--no-kernel-check", action="store_true",
                   help="--perplexity without the kernel check")
    c.add_argument("--check-windows", type=int, default=2,
                   help="held-out windows decoded at once (the batch, default 2)")
    c.add_argument("--check-context", type=int, default=1024,
                   help="tokens per checked window (default 1024)")
    c.add_argument("--check-tokens", type=int, default=64,
                   help="the last tokens of each window decoded one by one (default 64)")
    c.add_argument("--check-rows", type=int, default=4,
                   help="decode steps whose selections are compared exactly (default 4)")
    c.add_argument("--check-tolerance", type=float, default=0.01,
                   help="mean |delta log-prob| allowed (nats; default 0.01; the max is reported)")
    c.add_argument("--kernel-out", default=KERNEL_OUT,
                   help="markdown file the kernel check writes with --kernel-check alone "
                   "('' to skip; with --perplexity it goes into --out)")
    args = p.parse_args(argv)
    if args.kernel_check and args.no_kernel_check:
        p.error("--kernel-check and --no-kernel-check exclude each other")
    if args.kernel_check and args.model:
        p.error("--kernel-check decodes the byte-level LM; it does not take --model")
    if args.check_windows < 1 or args.check_rows < 1:
        p.error("--check-windows and --check-rows must be at least 1")
    if not 1 <= args.check_tokens < args.check_context:
        p.error("need 1 <= --check-tokens < --check-context")
    if args.check_tolerance <= 0:
        p.error("--check-tolerance must be positive")
    return args


# --- recall and output error ----------------------------------------------------

def describe(data):
    B, Hq, Hkv, M, N, D = data.shape
    std = ev.head_key_std(data.prefill_keys())
    w = ev.dense_weights(data.q, data.k, data.lengths)
    top16 = np.sort(w, axis=-1)[..., -16:].sum(axis=-1).mean()
    return (f"B={B}, {Hq} query / {Hkv} KV heads, M={M} decode rows over N={N} tokens, "
            f"D={D}; post-Hadamard prefill key std per KV head "
            + ", ".join(f"{s:.2f}" for s in std)
            + f"; the 16 largest dense weights of a row hold {top16:.2f} of its mass (mean)")


def recall_results(args):
    """Evaluate every method; returns (description lines, pooled results)."""
    def progress(r):
        print(f"  {r.method:28s} k={r.budget:<5d} recall {r.recall:.4f}  error {r.error:.4f}",
              flush=True)

    if args.dump:
        cases = [("dump " + os.path.basename(args.dump), ev.load_qkv(args.dump))]
    else:
        cases = [(f"synthetic seed {s}",
                  ev.synthetic_qkv(seed=s, q_heads=args.q_heads, kv_heads=args.kv_heads,
                                   tokens=args.tokens, rows=args.rows, dims=args.dims))
                 for s in args.seeds]
    lines, runs = [], []
    for name, data in cases:
        text = describe(data)
        print(f"{name}: {text}", flush=True)
        lines.append(f"- {name}: {text}")
        start = time.time()
        runs.append(ev.evaluate(data, budgets=args.budgets, progress=progress))
        print(f"  ({time.time() - start:.0f} s)", flush=True)
    return lines, ev.merge_results(runs)


METHODS_LEGEND = """\
- exact top-k: the k largest true scores q.k per query head (the oracle: the
  best recall any selection of k positions can have).
- adamas Nb: Walsh-Hadamard transform of q and k, N-bit codes, the k keys of
  smallest L1 code distance (`reference.l1_topk`: the last position always kept,
  ties to the more recent). Thresholds: "fixed" = the published [-10,0,10] for 2
  bits and the same grid (step 10) for 3; "calibrated a=0.5" = step 0.5 s with s
  the std of the KV head's post-Hadamard prefill keys ([-s/2, 0, s/2] for 2
  bits, s/2 * [-3..3] for 3); 1 bit is the sign ([0]) either way.
- quest page 16: per page of 16 keys the bound sum_d max(q_d min_d, q_d max_d),
  the k/16 pages of largest bound.
- streamingllm sink 4: the first 4 positions and the last k - 4.
"""


def synthetic_note(args):
    if args.dump:
        return ""
    return ("Synthetic data: `adamas.eval.synthetic_qkv` (its docstring says how it is "
            "built): clustered keys with heavy-tailed noise, outlier channels at low "
            "rotary frequencies, positional drift and RoPE; three attention-sink keys; "
            "queries that retrieve two topics, the recent window and the sinks. It "
            "imitates the structure of real post-RoPE keys; it is not a model's data, "
            "and the levels depend on its parameters (see the docstring).\n\n")


# --- output -----------------------------------------------------------------------

def markdown(args, argv, lines, results, ppl_section):
    command = "python3 bench/accuracy.py" + "".join(" " + shlex.quote(a) for a in argv)
    return "\n".join([
        "# Accuracy of sparse decode attention",
        "",
        "Written by `bench/accuracy.py` (numbers from one run of this command):",
        "",
        "    " + command,
        "",
        "Data (results pooled over all rows of all cases; means per row):",
        "",
        *lines,
        "",
        synthetic_note(args) + "Methods:",
        "",
        METHODS_LEGEND,
        "## Attention recall",
        "",
        "Dense attention's softmax mass on the selected positions (1 = all of it).",
        "",
        ev.format_table(results, "recall"),
        "",
        "## Relative output error",
        "",
        "||o_sparse - o_dense|| / ||o_dense|| (`reference.sparse_attn` vs `reference.dense_attn`).",
        "",
        ev.format_table(results, "error"),
        "",
        "## Perplexity",
        "",
        ppl_section,
        "",
    ])


NOT_RUN = """\
Not run: the perplexity part needs torch and a GPU, which the machine that
wrote this file does not have. On one, run

    python3 bench/accuracy.py --perplexity [--model HF_CHECKPOINT_DIR]

It trains a byte-level LM (6 layers, 4 query / 2 KV heads of dim 128, RoPE)
on the Python standard library's sources for --train-minutes (or loads
--model), calibrates per-head thresholds on a held-out window, and measures
perplexity on held-out windows with every layer past --skip-layers (2) sparse,
at budgets 16/64/128/256, every row decoded; then decodes held-out bytes token
by token through the generated kernels and compares them with these masks
(--kernel-check alone: that check only, into bench/ACCURACY-kernels.md)."""


def draw(results, path, ppl=None):
    """Recall and error against budget (log scale), one line per method."""
    if not path:
        return
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not importable here: no plot drawn")
        return
    panels = [("recall", "attention recall"), ("error", "relative output error")]
    # One colour per method in every panel (the perplexity panel has fewer).
    methods = list(dict.fromkeys([r.method for r in results] +
                                 (list(ppl[1]) if ppl is not None else [])))
    color = {m: f"C{i % 10}" for i, m in enumerate(methods)}
    fig, axes = plt.subplots(1, len(panels) + (ppl is not None), figsize=(6 * (len(panels) + 1), 4.5))
    for ax, (metric, label) in zip(axes, panels):
        for method in dict.fromkeys(r.method for r in results):
            rs = sorted((r for r in results if r.method == method), key=lambda r: r.budget)
            ax.plot([r.budget for r in rs], [getattr(r, metric) for r in rs], marker="o",
                    label=method, color=color[method])
        ax.set_xscale("log", base=2)
        ax.set_xlabel("budget k")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    if ppl is not None:
        ax = axes[-1]
        dense, rows = ppl
        for method, row in rows.items():
            ax.plot(sorted(row), [row[b] for b in sorted(row)], marker="o", label=method,
                    color=color[method])
        ax.axhline(dense, color="k", linestyle="--", label="dense")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")   # Quest at k = 16 is an order of magnitude off
        ax.set_xlabel("budget k")
        ax.set_ylabel("perplexity")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"plot: {path}")


def kernel_markdown(argv, section):
    command = "python3 bench/accuracy.py" + "".join(" " + shlex.quote(a) for a in argv)
    return "\n".join([
        "# Generated kernels against the perplexity path's selection masks",
        "",
        "Written by `bench/accuracy.py --kernel-check` (numbers from one run of this "
        "command; `--perplexity` puts the same section into ACCURACY.md):",
        "",
        "    " + command,
        "",
        section,
        "",
    ])


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.kernel_check and not args.perplexity:
        # The kernel check alone: no recall tables, ACCURACY.md left as it is.
        section, ok = kernel_check_only(args)
        print()
        print(section)
        if args.kernel_out:
            with open(args.kernel_out, "w") as f:
                f.write(kernel_markdown(argv, section))
            print(f"wrote {args.kernel_out}")
        return 0 if ok else 1
    lines, results = recall_results(args)
    print()
    print("Attention recall")
    print(ev.format_table(results, "recall"))
    print()
    print("Relative output error")
    print(ev.format_table(results, "error"))
    ppl_section, ppl, ok = NOT_RUN, None, True
    if args.perplexity:
        ppl_section, ppl, ok = perplexity(args)
        print()
        print(ppl_section)
    if args.out:
        with open(args.out, "w") as f:
            f.write(markdown(args, argv, lines, results, ppl_section))
        print(f"wrote {args.out}")
    draw(results, args.plot, ppl)
    return 0 if ok else 1


# =================================================================================
# PERPLEXITY (torch + GPU). Nothing above this line imports torch; everything
# below imports it inside functions, so the recall part runs anywhere.
# Not run on the machine that wrote this file (no torch, no GPU there).
# =================================================================================

PPL_METHODS = (
    # (name, kind, bits, calibrated)
    ("exact top-k", "exact", None, None),
    ("adamas 2b calibrated a=0.5", "adamas", 2, True),
    ("adamas 2b fixed [-10,0,10]", "adamas", 2, False),
    ("adamas 1b [0]", "adamas", 1, False),
    ("adamas 3b calibrated a=0.5", "adamas", 3, True),
    ("quest page 16", "quest", None, None),
    ("streamingllm sink 4", "streaming", None, None),
)


def stdlib_bytes():
    """The Python standard library's .py sources (sorted by path, without
    site-packages), joined: text every machine with Python has."""
    import sysconfig
    root = sysconfig.get_paths()["stdlib"]
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in ("site-packages", "__pycache__"))
        files += [os.path.join(dirpath, f) for f in sorted(filenames) if f.endswith(".py")]
    chunks = []
    for path in sorted(files):
        with open(path, "rb") as f:
            chunks.append(f.read())
    return b"\n".join(chunks)


class Policy:
    """How attention is computed: dense, or one method at one budget for
    every layer >= skip_layers. `capture` collects each layer's (q, k) when
    set (a dense pass, for calibration and the reference check)."""

    def __init__(self, skip_layers):
        self.skip_layers = skip_layers
        self.method = None           # None: dense
        self.budget = None
        self.thresholds = {}         # layer -> <Hkv x (2^b-1)> tensor (calibrated)
        self.capture = None          # dict layer -> list of (q, k) or None
        self.hadamard_dtype = None   # e.g. "float16": codes as the kernels compute them

    def attend(self, torch, layer, q, k, v, scale):
        """q <B x Hq x T x D>, k, v <B x Hkv x T x D> (post-RoPE, every row a
        decode row at its own position) -> <B x Hq x T x D>."""
        if self.capture is not None:
            self.capture.setdefault(layer, []).append((q.detach(), k.detach()))
        dense = self.method is None or layer < self.skip_layers
        thr = None
        if not dense and self.method[1] == "adamas":
            thr = self.thresholds[layer] if self.method[3] else \
                torch.tensor(ev.fixed_thresholds(self.method[2]), device=q.device)
        mask = selection_mask(torch, None if dense else self.method[1], q, k,
                              self.budget, bits=self.method[2] if self.method else None,
                              thresholds=thr,
                              hadamard_dtype=getattr(torch, self.hadamard_dtype)
                              if self.hadamard_dtype else None)
        G = q.shape[1] // k.shape[1]
        kr, vr = k.float().repeat_interleave(G, 1), v.float().repeat_interleave(G, 1)
        scores = (q.float() @ kr.transpose(-1, -2)) * scale
        scores = scores.masked_fill(~mask, float("-inf"))
        return (torch.softmax(scores, dim=-1) @ vr).to(q.dtype)


def hadamard_tensor(torch, D, device):
    H = torch.tensor(ev.ref.hadamard_matrix(D), dtype=torch.float32, device=device)
    return H / D ** 0.5


def selection_mask(torch, kind, q, k, budget, bits=None, thresholds=None,
                   page=ev.QUEST_PAGE, sink=ev.STREAMING_SINK, hadamard_dtype=None):
    """Bool <B x Hq x T x T>: row i may attend to position j. Causal; a row
    that sees at most `budget` positions keeps them all; otherwise the
    method's selection (the same rules as adamas.eval's numpy selections,
    except that exact top-k and Quest break exact float ties arbitrarily).
    `hadamard_dtype` (e.g. torch.float16): round the Hadamard transform to it
    before bucketizing, as `adamas.hadamard` does for rows of that type (the
    generated kernels' codes of fp16 rows)."""
    B, Hq, T, D = q.shape
    Hkv = k.shape[1]
    G = Hq // Hkv
    dev = q.device
    pos = torch.arange(T, device=dev)
    causal = pos[None, :] <= pos[:, None]                       # (i, j)
    if kind is None:
        return causal.expand(B, Hq, T, T)
    small = (pos + 1 <= budget)[:, None]                         # rows that keep all
    if kind == "streaming":
        keep = (pos[None, :] < sink) | (pos[None, :] >= pos[:, None] + 1 - (budget - sink))
        return (causal & (keep | small)).expand(B, Hq, T, T)
    qf, kf = q.float(), k.float().repeat_interleave(G, 1)
    if kind == "exact":
        key = (qf @ kf.transpose(-1, -2)).masked_fill(~causal, float("-inf"))
    elif kind == "adamas":
        # Thermometer bits u_t = [x > t]: |a - c| = sum_t u_t(a) + u_t(c) - 2 u_t(a) u_t(c),
        # so the exact L1 of all pairs is one matrix product of 0/1 vectors
        # (exact in f32: at most 7 * D).
        H = hadamard_tensor(torch, D, dev)
        thr = thresholds.float().to(dev).reshape(-1, 2 ** bits - 1)
        if thr.shape[0] == 1:
            thr = thr.expand(Hkv, -1)
        thr_q = thr.repeat_interleave(G, 0)[None, :, None, None, :]
        hq, hk = qf @ H, kf @ H
        if hadamard_dtype is not None:
            hq, hk = hq.to(hadamard_dtype).float(), hk.to(hadamard_dtype).float()
        uq = (hq[..., None] > thr_q).float().reshape(B, Hq, T, -1)
        uk = (hk[..., None] > thr_q).float().reshape(B, Hq, T, -1)
        dist = uq.sum(-1)[..., :, None] + uk.sum(-1)[..., None, :] - 2 * (uq @ uk.transpose(-1, -2))
        # Smaller distance first, then the larger position (exact in f32 for T <= 16K);
        # the row's own position (recent = 1) always.
        key = (-dist * T + pos[None, :].float()).masked_fill(~causal, float("-inf"))
        key = torch.where(pos[None, :] == pos[:, None], torch.full_like(key, float("inf")), key)
    elif kind == "quest":
        P = -(-T // page)
        kp = torch.nn.functional.pad(kf, (0, 0, 0, P * page - T)).reshape(B, Hq, P, page, D)
        # Pages past the last token only hold padding; they are never visible.
        hi, lo = kp.amax(3), kp.amin(3)                          # full pages <B x Hq x P x D>
        if P * page > T:  # the last page's padding must not count
            last = kf[:, :, (P - 1) * page:]
            hi[:, :, -1], lo[:, :, -1] = last.amax(2), last.amin(2)
        bound = qf.clamp(min=0) @ hi.transpose(-1, -2) + qf.clamp(max=0) @ lo.transpose(-1, -2)
        # Row i's own page holds only positions <= i: bound from running min/max.
        run_hi = torch.cummax(kp, dim=3).values.reshape(B, Hq, P * page, D)[:, :, :T]
        run_lo = torch.cummin(kp, dim=3).values.reshape(B, Hq, P * page, D)[:, :, :T]
        own = (qf.clamp(min=0) * run_hi + qf.clamp(max=0) * run_lo).sum(-1)   # <B x Hq x T>
        page_of = pos // page
        pages = torch.arange(P, device=dev)
        bound = torch.where(pages[None, :] == page_of[:, None], own[..., None], bound)
        bound = bound.masked_fill(pages[None, :] > page_of[:, None], float("-inf"))
        top = bound.topk(min(budget // page, P), dim=-1).indices
        chosen = torch.zeros(B, Hq, T, P, dtype=torch.bool, device=dev).scatter_(-1, top, True)
        return causal & (chosen[..., page_of] | small)
    else:
        raise ValueError(f"unknown method {kind!r}")
    top = key.topk(min(budget, T), dim=-1).indices
    chosen = torch.zeros(B, Hq, T, T, dtype=torch.bool, device=dev).scatter_(-1, top, True)
    return causal & (chosen | small)


def rope(torch, x, base=10000.0, offset=0):
    """Llama's rotary embedding (half-split pairs) of x <B x H x T x D>, whose
    rows are positions offset .. offset + T - 1."""
    D, T = x.shape[-1], x.shape[-2]
    inv = base ** (-torch.arange(0, D // 2, device=x.device, dtype=torch.float32) * 2 / D)
    # Integer positions are exact in f32: the same angles as a whole-window pass.
    angle = (torch.arange(T, device=x.device, dtype=torch.float32) + offset)[:, None] * inv[None, :]
    cos, sin = angle.cos().to(x.dtype), angle.sin().to(x.dtype)
    a, b = x[..., :D // 2], x[..., D // 2:]
    return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)


def byte_lm(torch, layers=6, q_heads=BYTE_LM_Q_HEADS, kv_heads=BYTE_LM_KV_HEADS,
            head_dim=BYTE_LM_HEAD_DIM, mlp=1536):
    """A small Llama-style byte-level LM: RMSNorm, RoPE, GQA, SwiGLU."""
    nn, F = torch.nn, torch.nn.functional
    width = q_heads * head_dim

    class Block(nn.Module):
        def __init__(self, index):
            super().__init__()
            self.index = index
            self.n1, self.n2 = nn.RMSNorm(width), nn.RMSNorm(width)
            self.q = nn.Linear(width, q_heads * head_dim, bias=False)
            self.kv = nn.Linear(width, 2 * kv_heads * head_dim, bias=False)
            self.o = nn.Linear(q_heads * head_dim, width, bias=False)
            self.up = nn.Linear(width, 2 * mlp, bias=False)
            self.down = nn.Linear(mlp, width, bias=False)

        def forward(self, x, policy):
            B, T, _ = x.shape
            h = self.n1(x)
            q = self.q(h).view(B, T, q_heads, head_dim).transpose(1, 2)
            k, v = self.kv(h).view(B, T, 2, kv_heads, head_dim).permute(2, 0, 3, 1, 4)
            # A decoding policy (KernelDecoder) says where the rows are.
            offset = getattr(policy, "offset", 0) if policy is not None else 0
            q, k = rope(torch, q, offset=offset), rope(torch, k, offset=offset)
            if policy is None:   # training: dense causal attention
                a = F.scaled_dot_product_attention(q, k.repeat_interleave(q_heads // kv_heads, 1),
                                                   v.repeat_interleave(q_heads // kv_heads, 1),
                                                   is_causal=True)
            else:
                a = policy.attend(torch, self.index, q, k, v, head_dim ** -0.5)
            x = x + self.o(a.transpose(1, 2).reshape(B, T, -1))
            gate, up = self.up(self.n2(x)).chunk(2, dim=-1)
            return x + self.down(F.silu(gate) * up)

    class ByteLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(256, width)
            self.blocks = nn.ModuleList(Block(i) for i in range(layers))
            self.norm = nn.RMSNorm(width)
            self.head = nn.Linear(width, 256, bias=False)

        def forward(self, tokens, policy=None):
            x = self.embed(tokens)
            for block in self.blocks:
                x = block(x, policy)
            return self.head(self.norm(x))

    return ByteLM()


def train_byte_lm(torch, args, data, device):
    """Train for args.train_minutes of wall clock (cosine schedule on time)."""
    torch.manual_seed(args.seed)
    model = byte_lm(torch).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)
    gen = torch.Generator(device="cpu").manual_seed(args.seed)
    tokens = torch.frombuffer(bytearray(data), dtype=torch.uint8)
    T, batch = args.context, 16
    budget_s, start, step = 60 * args.train_minutes, time.time(), 0
    while (elapsed := time.time() - start) < budget_s:
        frac = elapsed / budget_s
        lr = 1e-3 * min(1.0, (step + 1) / 200) * 0.5 * (1 + np.cos(np.pi * frac))
        for group in opt.param_groups:
            group["lr"] = lr
        starts = torch.randint(0, len(tokens) - T - 1, (batch,), generator=gen)
        chunk = torch.stack([tokens[s:s + T + 1] for s in starts.tolist()]).long().to(device)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(chunk[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, 256),
                                                 chunk[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 500 == 0:
            print(f"  step {step}  {elapsed:.0f} s  loss {loss.item():.3f} "
                  f"({loss.item() / np.log(2):.3f} bits/byte)", flush=True)
        step += 1
    print(f"  trained {step} steps of {batch} x {T} bytes in {time.time() - start:.0f} s")
    return model.eval()


def hf_model(torch, path, policy, device):
    """A Hugging Face causal LM whose attention calls `policy` (registered in
    transformers' attention-function registry)."""
    from transformers import AttentionInterface, AutoModelForCausalLM, AutoTokenizer

    def attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
        # query <B x Hq x T x D>, key/value <B x Hkv x T x D>, post-RoPE; one
        # unpadded sequence per row, so the causal mask is built here.
        out = policy.attend(torch, module.layer_idx, query, key, value,
                            scaling if scaling is not None else query.shape[-1] ** -0.5)
        return out.transpose(1, 2).contiguous(), None

    AttentionInterface.register("adamas_eval", attention)
    model = AutoModelForCausalLM.from_pretrained(path, attn_implementation="adamas_eval",
                                                 dtype=torch.bfloat16).to(device).eval()
    head_dim = getattr(model.config, "head_dim", None) or \
        model.config.hidden_size // model.config.num_attention_heads
    if head_dim & (head_dim - 1) or head_dim < 32:
        raise SystemExit(f"head_dim {head_dim}: the Hadamard codes need a power of two >= 32")
    return model, AutoTokenizer.from_pretrained(path)


def load_byte_lm(torch, args, data, split, device):
    """(model, held-out byte ids, description): --byte-lm loaded if it exists,
    else trained for --train-minutes (and saved there when given)."""
    if args.byte_lm and os.path.exists(args.byte_lm):
        model = byte_lm(torch).to(device)
        model.load_state_dict(torch.load(args.byte_lm, map_location=device))
        model.eval()
        print(f"loaded {args.byte_lm}")
        trained = f"loaded from `{args.byte_lm}`"
    else:
        print(f"training the byte-level LM for {args.train_minutes} min on "
              f"{split} bytes of the standard library's sources", flush=True)
        model = train_byte_lm(torch, args, data[:split], device)
        if args.byte_lm:
            torch.save(model.state_dict(), args.byte_lm)
        trained = f"trained {args.train_minutes} min"
    ids = torch.frombuffer(bytearray(data[split:]), dtype=torch.uint8).long()
    what = ("byte-level LM (6 layers, 4 query / 2 KV heads of dim 128, RoPE, SwiGLU) "
            f"{trained} on the first 95% of the Python standard library's sources")
    return model, ids, what


def perplexity(args):
    """Returns (markdown section, (dense ppl, {method: {budget: ppl}}), kernel
    check passed)."""
    import torch
    if not torch.cuda.is_available():
        raise SystemExit("--perplexity needs a GPU")
    device = "cuda"
    # Exact f32 products: the codes and scores must not go through TF32.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    policy = Policy(args.skip_layers)
    data = stdlib_bytes()
    split = int(len(data) * 0.95)
    T = args.context
    if args.model:
        model, tok = hf_model(torch, args.model, policy, device)
        ids = tok(data[split:].decode("utf-8", errors="replace"), return_tensors="pt").input_ids[0]
        unit = "token"
        what = f"Hugging Face checkpoint `{args.model}`"

        def forward(x):
            return model(input_ids=x).logits
    else:
        model, ids, what = load_byte_lm(torch, args, data, split, device)
        unit = "byte"

        def forward(x):
            return model(x, policy)

    # Window 0 calibrates (held out from the measurement); windows 1.. are measured.
    count = min(args.eval_windows + 1, len(ids) // T)
    windows = [ids[i * T:(i + 1) * T][None].to(device) for i in range(count)]
    if count < 2:
        raise SystemExit("not enough held-out text for one window")

    @torch.no_grad()
    def ppl():
        total, n = 0.0, 0
        for x in windows[1:]:
            logits = forward(x).float()
            total += torch.nn.functional.cross_entropy(logits[0, :-1], x[0, 1:],
                                                       reduction="sum").item()
            n += x.shape[1] - 1
        return float(np.exp(total / n))

    # Calibration: a dense pass over window 0 records every layer's keys.
    policy.capture = {}
    with torch.no_grad():
        forward(windows[0])
    captured, policy.capture = policy.capture, None
    calibrated = {}
    for bits in (1, 2, 3):
        for layer, [(q, k)] in captured.items():
            keys = k.float().cpu().numpy()
            calibrated[bits, layer] = torch.tensor(ev.calibrate_thresholds(keys, bits),
                                                   device=device)
    dense = ppl()
    print(f"dense perplexity {dense:.4f}", flush=True)
    rows = {}
    for method in PPL_METHODS:
        rows[method[0]] = {}
        for budget in args.ppl_budgets:
            policy.method, policy.budget = method, budget
            policy.thresholds = {layer: calibrated[method[2], layer]
                                 for (bits, layer) in calibrated if bits == method[2]} \
                if method[1] == "adamas" else {}
            rows[method[0]][budget] = ppl()
            print(f"  {method[0]:28s} k={budget:<4d} perplexity {rows[method[0]][budget]:.4f}",
                  flush=True)
    policy.method = None
    check = reference_check(torch, policy, captured, calibrated, args)

    names = list(rows)
    budgets = list(args.ppl_budgets)
    width = max(len(n) for n in names)
    table = ["| " + "method".ljust(width) + " | " + " | ".join(f"{b:>13}" for b in budgets) + " |",
             "|" + "-" * (width + 2) + "|" + "|".join("-" * 15 for _ in budgets) + "|",
             "| " + "dense".ljust(width) + " | " + " | ".join(f"{dense:13.4f}" for _ in budgets) + " |"]
    for n in names:
        table.append("| " + n.ljust(width) + " | " + " | ".join(
            f"{rows[n][b]:7.4f} {100 * (rows[n][b] / dense - 1):+5.1f}%" for b in budgets) + " |")
    section = "\n".join([
        f"Model: {what}. Perplexity per {unit} on {count - 1} held-out windows of {T} "
        f"{unit}s; layers >= {args.skip_layers} sparse, every row decoded; per-head "
        "thresholds calibrated on one more held-out window (dense pass). Cells: "
        "perplexity and its change against dense.",
        "",
        *table,
        "",
        check,
    ])
    ok = True
    if args.no_kernel_check:
        pass
    elif args.model:
        section += ("\n\nKernel check: not run (it decodes the byte-level LM; a Hugging "
                    "Face model goes through bench/steps/hf_check.py).")
    else:
        text, ok = kernel_check(torch, model, ids, args, calibrated)
        section += "\n\n### Generated kernels, decoded token by token\n\n" + text
    return section, (dense, rows), ok


def reference_check(torch, policy, captured, calibrated, args, rows_to_check=8):
    """The torch selections of the first sparse layer on the calibration
    window against adamas.eval's numpy selections, row by row (that layer's
    inputs do not depend on the method: every layer before it is dense)."""
    layer = args.skip_layers
    if layer not in captured:
        return "Reference check: no sparse layer."
    q, k = captured[layer][0]
    T = q.shape[2]
    picks = np.linspace(T // 4, T - 1, rows_to_check).astype(int)
    qn, kn = q.float().cpu().numpy(), k.float().cpu().numpy()
    lines = []
    for method in PPL_METHODS:
        for budget in args.ppl_budgets:
            kind, bits = method[1], method[2]
            thr = None
            if kind == "adamas":
                thr = calibrated[bits, layer] if method[3] else \
                    torch.tensor(ev.fixed_thresholds(bits), device=q.device)
            mask = selection_mask(torch, kind, q, k, budget, bits=bits, thresholds=thr)
            agree = total = 0
            for i in picks:
                qi, ki = qn[:, :, i:i + 1], kn[:, :, :i + 1]
                if kind == "exact":
                    ref_idx = ev.select_exact(qi, ki, budget)
                elif kind == "adamas":
                    ref_idx = ev.select_adamas(qi, ki, budget, bits, thr.cpu().numpy())
                elif kind == "quest":
                    ref_idx = ev.select_quest(qi, ki, budget)
                else:
                    ref_idx = ev.select_streaming(qi, ki, budget)
                got = mask[0, :, i, :i + 1].cpu().numpy()
                for h in range(got.shape[0]):
                    want = np.zeros(i + 1, dtype=bool)
                    want[ref_idx[0, h, 0][ref_idx[0, h, 0] >= 0]] = True
                    agree += int((got[h] == want).all())
                    total += 1
            lines.append(f"{method[0]} k={budget}: {agree}/{total}")
    return ("Reference check (layer %d, %d rows x heads per case: rows whose torch selection "
            "equals adamas.eval's numpy one exactly): " % (layer, rows_to_check)
            + "; ".join(lines) + ".")


# --- the generated kernels, decoded token by token (issue 9, must-have 4) ---------

def cases_module():
    """bench/steps/cases.py (what prepare.py precompiles for the check),
    loaded from its path under a name of its own: a process may have another
    `cases` module (pytest runs test/Integration/CPU/Inputs' in the same one)."""
    import importlib.util
    name = "adamas_bench_steps_cases"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, os.path.join(ROOT, "bench", "steps", "cases.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def kernel_methods():
    """The perplexity methods the generated kernels run: the Adamas rows with
    the bits cases.accuracy_functions() compiles (2: calibrated and fixed)."""
    bits = cases_module().ACCURACY_BITS
    return [m for m in PPL_METHODS if m[1] == "adamas" and m[2] == bits]


class HalfPolicy(Policy):
    """Policy at one method and budget whose attention inputs are rounded to
    fp16 (the kernels' dtype) first; the rest of the model stays f32. Records
    (q, k, v, out) of `record_layer` (fp16) when set."""

    def __init__(self, skip_layers, method, budget, thresholds, record_layer=None):
        super().__init__(skip_layers)
        self.method, self.budget, self.thresholds = method, budget, thresholds
        self.record_layer, self.recorded = record_layer, None
        # fp16 inputs: adamas.hadamard rounds its result to fp16 before
        # bucketize (the kernels do), so the masks must as well.
        self.hadamard_dtype = "float16"

    def attend(self, torch, layer, q, k, v, scale):
        q16, k16, v16 = (x.to(torch.float16) for x in (q, k, v))
        out = super().attend(torch, layer, q16, k16, v16, scale)
        if layer == self.record_layer:
            self.recorded = (q16, k16, v16, out)
        return out.to(q.dtype)


class KernelDecoder:
    """The byte-level LM's attention as a decoder with static KV caches: mode
    "prefill" runs the prompt through `prefill_policy` (the torch masks, every
    row decoded, as the perplexity pass does), stores its K/V (fp16) and
    encodes the sparse layers' keys with CodeCache.prefill; mode "decode"
    takes one token at position `offset`, appends its K/V and calls
    adamas.torch.decode_attention (M = 1) in the sparse layers, dense
    attention over the cache in the others."""

    def __init__(self, torch, at, layers, batch, capacity, skip_layers, method, budget,
                 thresholds, device, record_layer, use_kernels=True):
        cases = cases_module()
        self.torch, self.at = torch, at
        self.skip, self.budget = skip_layers, budget
        self.sink, self.recent = cases.ACCURACY_SINK, cases.ACCURACY_RECENT
        self.offset, self.mode = 0, "prefill"
        self.record_layer, self.recorded = record_layer, []   # decode: (q16, out16) per step
        # use_kernels False: the sparse layers decode through `reference_attend`
        # (the torch masks on the step's own row), the token-by-token reference.
        # True: through the kernels, each call also compared with
        # `reference_attend` on the same inputs (`lockstep`: (max abs error,
        # entries over tolerance) per sparse layer and step).
        self.use_kernels, self.lockstep = use_kernels, []
        Hkv, D = BYTE_LM_KV_HEADS, BYTE_LM_HEAD_DIM
        shape = (batch, Hkv, capacity, D)
        self.keys = [torch.zeros(shape, dtype=torch.float16, device=device) for _ in range(layers)]
        self.values = [torch.zeros(shape, dtype=torch.float16, device=device)
                       for _ in range(layers)]
        self.caches = {}
        for layer in range(skip_layers, layers if use_kernels else skip_layers):
            cache = at.CodeCache(batch, Hkv, capacity, dims=D, bits=method[2], device=device)
            if method[3]:   # calibrated: the perplexity path's per-KV-head thresholds
                cache.key_thresholds = thresholds[layer].float().to(device).contiguous()
            self.caches[layer] = cache
        self.lengths = torch.zeros(batch, dtype=torch.int32, device=device)
        self.prefill_policy = HalfPolicy(skip_layers, method, budget, thresholds)

    def attend(self, torch, layer, q, k, v, scale):
        q16, k16, v16 = (x.to(torch.float16).contiguous() for x in (q, k, v))
        if self.mode == "prefill":
            P = k16.shape[2]
            self.keys[layer][:, :, :P] = k16
            self.values[layer][:, :, :P] = v16
            if layer in self.caches:
                self.caches[layer].prefill(k16)
            return self.prefill_policy.attend(torch, layer, q, k, v, scale)
        t = self.offset
        if q16.shape[2] != 1:
            raise ValueError(f"decode mode takes one row, got {tuple(q16.shape)}")
        self.keys[layer][:, :, t] = k16[:, :, 0]
        self.values[layer][:, :, t] = v16[:, :, 0]
        if layer >= self.skip:
            expect = self.reference_attend(torch, layer, q16, t, scale)
            if self.use_kernels:
                out = self.at.decode_attention(q16, k16, self.keys[layer], self.values[layer],
                                               self.caches[layer], self.lengths, k=self.budget,
                                               sink=self.sink, recent=self.recent)
                err = (out.float() - expect.float()).abs()
                bad = err > 2e-3 + 1e-2 * expect.float().abs()
                self.lockstep.append((err.max().item(), int(bad.sum().item())))
            else:
                out = expect
        else:   # dense, as Policy.attend computes it, over positions 0..t
            G = q16.shape[1] // k16.shape[1]
            kr = self.keys[layer][:, :, :t + 1].float().repeat_interleave(G, 1)
            vr = self.values[layer][:, :, :t + 1].float().repeat_interleave(G, 1)
            scores = (q16.float() @ kr.transpose(-1, -2)) * scale
            out = (torch.softmax(scores, dim=-1) @ vr).to(torch.float16)
        if layer == self.record_layer:
            self.recorded.append((q16, out))
        return out.to(q.dtype)


    def reference_attend(self, torch, layer, q16, t, scale):
        """The decode row at position t as the perplexity pass computes it
        (the prefill policy's attend: its method, budget and thresholds,
        fp16 Hadamard) over the cached keys 0..t. <B x Hq x 1 x Dv>."""
        B, Hq, _, D = q16.shape
        k16, v16 = self.keys[layer][:, :, :t + 1], self.values[layer][:, :, :t + 1]
        # Row i's selection and output depend on query row i alone: only row
        # t is a real query, the others are zeros whose outputs are dropped.
        rows = torch.zeros((B, Hq, t + 1, D), dtype=q16.dtype, device=q16.device)
        rows[:, :, t] = q16[:, :, 0]
        return self.prefill_policy.attend(torch, layer, rows, k16, v16, scale)[:, :, t:t + 1]


def decode_log_probs(torch, at, model, x, args, method, budget, thresholds, use_kernels):
    """Prefill x[:, :T - n] through the torch masks, then decode the last n
    positions one at a time (KernelDecoder). Returns (log-probs <B x n x 256>
    of the next byte, the decoder)."""
    B, T = x.shape
    n, skip = args.check_tokens, args.skip_layers
    P = T - n
    dec = KernelDecoder(torch, at, len(model.blocks), B, T, skip, method, budget, thresholds,
                        x.device, record_layer=skip, use_kernels=use_kernels)
    dec.mode, dec.offset = "prefill", 0
    model(x[:, :P], dec)
    dec.mode = "decode"
    got = []
    for t in range(P, T):
        dec.offset = t
        dec.lengths.fill_(t + 1)
        got.append(torch.log_softmax(model(x[:, t:t + 1], dec).float()[:, 0], dim=-1))
    torch.cuda.synchronize()
    return torch.stack(got, dim=1), dec


def check_one(torch, at, model, x, y, args, method, budget, thresholds):
    """One (method, budget): prefill + token-by-token decoding of the last
    --check-tokens positions through the generated kernels, against the same
    decoding through the torch masks (the reference in the same order) and
    against the full-window torch-mask pass (what the perplexity tables
    compute; attention inputs in fp16 everywhere). Returns a dict of the
    measurements."""
    B, T = x.shape
    n, skip = args.check_tokens, args.skip_layers
    P = T - n
    device = x.device
    with torch.no_grad():
        ref = HalfPolicy(skip, method, budget, thresholds, record_layer=skip)
        whole_lp = torch.log_softmax(model(x, ref).float(), dim=-1)        # <B x T x 256>
        ref_out = ref.recorded[3]                                          # <B x Hq x T x D>
        ref_lp, _ = decode_log_probs(torch, at, model, x, args, method, budget, thresholds,
                                     use_kernels=False)                   # <B x n x 256>
        got_lp, dec = decode_log_probs(torch, at, model, x, args, method, budget, thresholds,
                                       use_kernels=True)
    target = y[:, P:T, None]

    def gap(a, b):   # |delta log-prob| of the actual next byte, <B x n>
        return (a.gather(-1, target) - b.gather(-1, target)).abs()[..., 0]
    delta = gap(got_lp, ref_lp)                 # kernels vs the torch decode, same order
    whole = gap(got_lp, whole_lp[:, P:T])       # kernels vs the whole-window pass
    spread = gap(ref_lp, whole_lp[:, P:T])      # the reference against itself, two orders
    lock_err = max((e for e, _ in dec.lockstep), default=0.0)
    lock_bad = sum(bad for _, bad in dec.lockstep)
    kernel_out = torch.cat([o for _, o in dec.recorded], dim=2)            # <B x Hq x n x D>
    out_delta = (kernel_out.float() - ref_out[:, :, P:T].float()).abs().max().item()

    # Exact checks on the first sparse layer, on the kernels' own inputs: its
    # code cache against numpy's codes of the same fp16 keys; at --check-rows
    # decode steps the torch mask (selection_mask on that step's query and the
    # cached keys) against reference.l1_topk on the kernel-written code cache,
    # and the kernel's output against reference.sparse_attn of that selection.
    bits = method[2]
    thr = thresholds[skip] if method[3] else \
        torch.tensor(ev.fixed_thresholds(bits), device=device)
    thr_np = thr.float().cpu().numpy() if method[3] else None
    keys = dec.keys[skip]
    codes = dec.caches[skip].codes.cpu().numpy()
    Hq = kernel_out.shape[1]
    # fp16 rows: adamas.hadamard's result is rounded to fp16 before bucketize,
    # as in the kernels (DESIGN section 1).
    _, np_codes = ev.adamas_codes(np.zeros((B, Hq, 1, keys.shape[3]), np.float16),
                                  keys.cpu().numpy(), bits, thr_np, dtype=np.float16)
    code_diff = int(((codes.astype(np.int64) & 0xFFFFFFFF) !=
                     (np_codes.astype(np.int64) & 0xFFFFFFFF)).any(-1).sum())
    steps = sorted(set(np.linspace(0, n - 1, min(args.check_rows, n)).astype(int).tolist()))
    same_sel = total_sel = out_bad = 0
    out_err = 0.0
    for s in steps:
        t = P + s
        q16, o16 = dec.recorded[s]
        k16, v16 = keys[:, :, :t + 1], dec.values[skip][:, :, :t + 1]
        rows = torch.zeros((B, Hq, t + 1, q16.shape[3]), dtype=q16.dtype, device=device)
        rows[:, :, t] = q16[:, :, 0]
        mask = selection_mask(torch, method[1], rows, k16, budget, bits=bits,
                              thresholds=thr, hadamard_dtype=torch.float16
                              )[:, :, t].cpu().numpy()                     # <B x Hq x t+1>
        qn = q16.cpu().numpy()
        qcodes, _ = ev.adamas_codes(qn, k16[:, :, :1].cpu().numpy(), bits, thr_np,
                                    dtype=np.float16)
        idx = ev.ref.l1_topk(qcodes, codes[:, :, :t + 1], np.full(B, t + 1), budget,
                             bits=bits, sink=dec.sink, recent=dec.recent)  # <B x Hq x 1 x k>
        for b in range(B):
            for h in range(Hq):
                want = np.zeros(t + 1, dtype=bool)
                chosen = idx[b, h, 0]
                want[chosen[chosen >= 0]] = True
                same_sel += int((mask[b, h] == want).all())
                total_sel += 1
        expect = ev.ref.sparse_attn(qn, k16.cpu().numpy(), v16.cpu().numpy(), idx)
        have = o16.cpu().numpy().astype(np.float64)
        err = np.abs(have - expect.astype(np.float64))
        out_bad += int((err > 2e-3 + 1e-2 * np.abs(expect.astype(np.float64))).sum())
        out_err = max(out_err, float(err.max()))
    mean, peak = delta.mean().item(), delta.max().item()
    spread_mean = spread.mean().item()
    tol = args.check_tolerance
    # The exact part must hold everywhere: codes; the first sparse layer's
    # selections and outputs against numpy at the sampled steps; every sparse
    # layer's output at every step against the torch masks on the same
    # inputs (lockstep). The log-probs only on average: two fp16 paths that
    # differ by one rounding anywhere can move a key across the k-th distance
    # in a deeper layer (ties are everywhere at small k) and shift single
    # tokens by tenths of a nat. The mean must be within the tolerance or
    # within the reference's own spread between its two computation orders
    # (token by token against whole window): the kernels may not be further
    # from the reference than the reference is from itself.
    ok = (mean <= max(tol, spread_mean) and same_sel == total_sel and out_bad == 0
          and code_diff == 0 and lock_bad == 0)
    return dict(method=method[0], budget=budget, tokens=int(delta.numel()), max=peak,
                mean=mean, whole=whole.mean().item(), spread=spread_mean,
                out_delta=out_delta, same_sel=same_sel, total_sel=total_sel,
                out_err=out_err, out_bad=out_bad, code_diff=code_diff,
                lock_err=lock_err, lock_bad=lock_bad, lock_calls=len(dec.lockstep),
                code_total=int(codes.shape[0] * codes.shape[1] * codes.shape[2]), ok=ok)


def kernel_table(results):
    """Markdown rows of the kernel check: one per (method, budget), an error
    row (check_one raised) with empty measurements."""
    width = max([len("method")] + [len(r["method"]) for r in results])
    table = ["| " + "method".ljust(width) + " |    k | tokens | max abs dlogp | mean abs dlogp "
             "| vs whole window | reference spread | lockstep calls over tol (max err) "
             "| layer out max diff | selections equal | same-input out err | codes differ "
             "| result |",
             "|" + "-" * (width + 2) + "|-----:|-------:|" + "---:|" * 9 + "---|"]
    for r in results:
        if "error" in r:
            table.append("| " + r["method"].ljust(width) + f" | {r['budget']:4d} |"
                         + " |" * 10 + f" FAIL: {r['error'].replace('|', '/')} |")
            continue
        table.append(
            "| " + r["method"].ljust(width) + f" | {r['budget']:4d} | {r['tokens']:6d} "
            f"| {r['max']:.2e} | {r['mean']:.2e} | {r['whole']:.2e} | {r['spread']:.2e} "
            f"| {r['lock_bad']} of {r['lock_calls']} ({r['lock_err']:.1e}) "
            f"| {r['out_delta']:.2e} "
            f"| {r['same_sel']}/{r['total_sel']} | {r['out_err']:.1e} "
            f"| {r['code_diff']}/{r['code_total']} | {'PASS' if r['ok'] else 'FAIL'} |")
    return table


def kernel_check(torch, model, ids, args, calibrated=None):
    """Decodes --check-windows held-out windows (a batch) of --check-context
    bytes, the last --check-tokens one at a time, through the generated
    kernels for each kernel method and budget. `calibrated` ((bits, layer)
    -> thresholds) from the perplexity pass, else calibrated here the same
    way (a dense pass over the first held-out window). Returns (markdown
    text, all passed); a case that raises is a FAIL row with its error."""
    import traceback
    device = "cuda"
    T, W, skip = args.check_context, args.check_windows, args.skip_layers
    cases = cases_module()
    lines, results, ok = [], [], True
    try:
        import adamas.torch as at
        layers = len(model.blocks)
        if skip >= layers:
            raise ValueError(f"--skip-layers {skip}: no sparse layer among {layers}")
        # The windows follow the calibration window (--context bytes in the
        # perplexity pass, --check-context bytes here).
        start = args.context if calibrated is not None else T
        if len(ids) < start + W * (T + 1):
            raise ValueError(f"{len(ids)} held-out tokens: fewer than {start} + {W} x {T + 1}")
        chunk = torch.stack([ids[start + i * (T + 1):start + (i + 1) * (T + 1)]
                             for i in range(W)]).to(device)
        x, y = chunk[:, :T].contiguous(), chunk[:, 1:].contiguous()
        if calibrated is None:
            policy = Policy(skip)
            policy.capture = {}
            with torch.no_grad():
                model(ids[:T][None].to(device), policy)
            calibrated = {(cases.ACCURACY_BITS, layer): torch.tensor(
                ev.calibrate_thresholds(k.float().cpu().numpy(), cases.ACCURACY_BITS),
                device=device) for layer, [(_, k)] in policy.capture.items()}
    except Exception:
        text = traceback.format_exc()
        print(text, flush=True)
        error = text.strip().splitlines()[-1].replace("|", "/")
        print(f"FAIL  kernel check setup: {error}", flush=True)
        return ("Kernel check: FAIL before any case ran:\n\n    "
                + "\n    ".join(text.strip().splitlines()[-6:])), False
    for method in kernel_methods():
        thresholds = {layer: thr for (bits, layer), thr in calibrated.items()
                      if bits == method[2]} if method[3] else {}
        for budget in args.ppl_budgets:
            name = f"{method[0]} k={budget}"
            start_s = time.time()
            try:
                r = check_one(torch, at, model, x, y, args, method, budget, thresholds)
            except Exception:
                text = traceback.format_exc()
                print(text, flush=True)
                error = text.strip().splitlines()[-1].replace("|", "/")
                print(f"FAIL  {name}: {error}", flush=True)
                results.append(dict(method=method[0], budget=budget, error=error, ok=False))
                ok = False
                continue
            ok = ok and r["ok"]
            results.append(r)
            print(f"{'PASS' if r['ok'] else 'FAIL'}  {name}: {r['tokens']} tokens, "
                  f"abs dlogp vs torch decode max {r['max']:.2e} mean {r['mean']:.2e} "
                  f"(vs whole window {r['whole']:.2e}, reference spread {r['spread']:.2e}); "
                  f"lockstep {r['lock_bad']} of {r['lock_calls']} over tol; selections "
                  f"{r['same_sel']}/{r['total_sel']}; same-input out err {r['out_err']:.1e}; "
                  f"codes differ {r['code_diff']}/{r['code_total']} "
                  f"({time.time() - start_s:.1f} s)", flush=True)
    table = kernel_table(results)
    lines += [
        f"{W} held-out windows of {T} bytes (a batch of {W}); the last {args.check_tokens} "
        f"bytes of each decoded one at a time through `adamas.torch.decode_attention` "
        f"(M = 1, k = the budget, sink {cases.ACCURACY_SINK}, recent "
        f"{cases.ACCURACY_RECENT}: the perplexity policy's rule, the row's own position "
        "always, ties to the more recent) with a static fp16 KV cache and a `CodeCache` per "
        f"sparse layer (layers >= {skip}), its prompt keys encoded by `CodeCache.prefill` "
        "(per-KV-head thresholds of the calibrated method, or the fixed [-10, 0, 10]); the "
        "prompt itself goes through the torch masks, as in the perplexity pass. The "
        "reference decodes the same tokens in the same order with the sparse layers' "
        "attention computed by the perplexity pass's torch masks (`selection_mask` of the "
        "step's row over the cached keys, softmax in f32); the perplexity pass over the "
        "whole window (every row decoded at once) is reported beside it. All round the "
        "attention inputs to fp16 (the kernels' dtype); the rest of the model is f32.",
        "",
        "Columns: |delta log-prob| of the next byte per decoded token, kernels against the "
        "torch decode (max, mean); the mean against the whole-window pass, and the "
        "reference's own spread (torch decode against whole window: the same model in "
        "another rounding order); lockstep: every sparse layer's kernel output at every "
        "step against the torch masks on the same inputs (entries over 2e-3 + 1e-2 |ref|, "
        f"max abs error); the first sparse layer's ({skip}) attention output, kernel "
        "against the whole-window pass; at "
        f"{args.check_rows} decode steps x {W} windows x {BYTE_LM_Q_HEADS} heads, that "
        "layer's torch selection (`selection_mask` on the step's own query and cached keys) "
        "against `reference.l1_topk` on the kernel-written code cache, and the kernel's "
        "output against `reference.sparse_attn` of that selection (max abs error); key "
        "positions x KV heads whose kernel-written codes differ from `adamas.eval`'s codes of "
        "the same fp16 keys (Hadamard result rounded to fp16, as `adamas.hadamard` of fp16 "
        "rows is). PASS: no code differs, every selection equal, every same-input output "
        "(sampled and lockstep) within 2e-3 + 1e-2 |ref|, and mean |delta| <= "
        f"max({args.check_tolerance:g} nats, the reference spread): one fp16 rounding "
        "anywhere can move a tied key across the k-th distance in a deeper layer and shift "
        "a single token (the max is reported, not required), so the kernels must be no "
        "further from the reference than the reference is from itself.",
        "",
        *table,
    ]
    return "\n".join(lines), ok


def kernel_check_only(args):
    """--kernel-check without --perplexity: the model (trained briefly or
    --byte-lm) and the check, nothing else. Returns (markdown, passed)."""
    import torch
    if not torch.cuda.is_available():
        raise SystemExit("--kernel-check needs a GPU")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    data = stdlib_bytes()
    split = int(len(data) * 0.95)
    model, ids, what = load_byte_lm(torch, args, data, split, "cuda")
    start = time.time()
    text, ok = kernel_check(torch, model, ids, args)
    print(f"kernel check: {time.time() - start:.1f} s", flush=True)
    return f"Model: {what}.\n\n" + text, ok


if __name__ == "__main__":
    sys.exit(main())
