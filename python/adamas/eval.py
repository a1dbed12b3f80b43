"""Accuracy evaluation of sparse decode attention against dense (DESIGN.md 1, 6).

Everything here is numpy and runs on the references in `adamas.reference`:
the Adamas selection *is* `reference.hadamard` -> `reference.bucketize` ->
`reference.l1_topk`, and the attention outputs are `reference.sparse_attn`
and `reference.dense_attn`. No torch, no GPU.

Tensors are BHND, as everywhere in adamas: queries `q <B x Hq x M x D>` (the
M decode rows are the last M tokens), keys `k <B x Hkv x N x D>`, values
`v <B x Hkv x N x Dv>`, `lengths <B>` (valid cache length, M rows included;
row m of batch b sees `[0, L)` with `L = reference.visible_length(...)`).

Selection methods return indices in the `l1_topk` format: int32
`<B x Hq x M x k>`, selected positions ascending, then -1 padding. A row whose
visible length L is at most k selects all L positions, whatever the method.

* `select_adamas`   Hadamard + b-bit codes + exact L1 top-k (the paper's method),
                    with fixed or per-head calibrated thresholds.
* `select_quest`    Quest: per page of 16 keys, the channel-wise min/max bound
                    of q.k; whole pages in order of bound, k // 16 of them.
* `select_streaming` StreamingLLM: the first `sink` and the last k - sink.
* `select_exact`    the oracle: the k largest true scores q.k.

Metrics against dense attention, per row:

* `attention_recall`  the dense softmax mass on the selected positions;
* `output_error`      ||o_sparse - o_dense|| / ||o_dense||.

Thresholds: the published 2-bit thresholds are [-10, 0, 10]; for b bits we use
the symmetric grid of 2^b - 1 thresholds with the same spacing centred on 0
(`threshold_grid`), i.e. a uniform quantizer with 2^b levels:

* 1 bit:  [0]                      (sign; calibration cannot change it)
* 2 bits: step * [-1, 0, 1]        (published: step 10; calibrated: a*s)
* 3 bits: step * [-3, ..., 3]      (fixed: step 10; calibrated: a*s)

Calibrated thresholds use step a*s, s the std of the head's post-Hadamard
prefill keys and a = 0.5 (DESIGN.md 1). For 3 bits, step 0.5 s is also close
to the Lloyd-Max quantizer of a Gaussian (thresholds 0, +-0.50, +-1.05,
+-1.75 s), which is why the grid keeps a, rather than spreading 7 thresholds
over the 2-bit range.
"""

from dataclasses import dataclass, field
from typing import Callable, Dict

import numpy as np

from . import reference as ref

#: Budgets of the evaluation (those <= N are used).
BUDGETS = (16, 32, 64, 128, 256, 512, 1024, 2048, 4096)

#: Spacing of the published 2-bit thresholds [-10, 0, 10].
PUBLISHED_STEP = 10.0

#: Default calibration factor a of thresholds [-a*s, 0, a*s] (DESIGN.md 1).
DEFAULT_A = 0.5

#: Quest's page size (tokens per page).
QUEST_PAGE = 16

#: StreamingLLM's attention sinks (the paper keeps 4 initial tokens).
STREAMING_SINK = 4


# --- the data ------------------------------------------------------------------

@dataclass
class QKV:
    """One evaluation case: decode queries over a KV cache (float32, BHND).

    `prefill` is the number of leading positions whose keys calibrate the
    thresholds (the prompt, encoded densely before decoding starts).
    """
    q: np.ndarray
    k: np.ndarray
    v: np.ndarray
    lengths: np.ndarray
    prefill: int
    info: Dict[str, object] = field(default_factory=dict)

    def __post_init__(self):
        self.q = np.asarray(self.q, dtype=np.float32)
        self.k = np.asarray(self.k, dtype=np.float32)
        self.v = np.asarray(self.v, dtype=np.float32)
        self.lengths = np.asarray(self.lengths, dtype=np.int64).reshape(-1)
        _check_shapes(self.q, self.k, self.v, self.lengths)
        if not 0 < self.prefill <= self.k.shape[2]:
            raise ValueError(f"prefill={self.prefill} must be in [1, N={self.k.shape[2]}]")

    @property
    def shape(self):
        """(B, Hq, Hkv, M, N, D)."""
        B, Hq, M, D = self.q.shape
        return B, Hq, self.k.shape[1], M, self.k.shape[2], D

    def prefill_keys(self):
        """Keys of the prefill positions `<B x Hkv x prefill x D>`."""
        return self.k[:, :, :self.prefill]


def _check_shapes(q, k, v, lengths):
    if q.ndim != 4 or k.ndim != 4 or v.ndim != 4:
        raise ValueError("q, k, v must be rank-4 BHND arrays")
    B, Hq, M, D = q.shape
    Bk, Hkv, N, Dk = k.shape
    if (Bk, Dk) != (B, D) or v.shape[:3] != (B, Hkv, N):
        raise ValueError(f"shapes disagree: q {q.shape}, k {k.shape}, v {v.shape}")
    if Hq % Hkv:
        raise ValueError(f"Hq={Hq} must be a multiple of Hkv={Hkv}")
    if lengths.shape != (B,):
        raise ValueError(f"lengths must have shape ({B},), got {lengths.shape}")


def _lengths(lengths, B, N):
    return np.full(B, N, dtype=np.int64) if lengths is None else \
        np.asarray(lengths, dtype=np.int64).reshape(-1)


def load_qkv(path, prefill=None):
    """Load a dump `.npz` with arrays `q`, `k`, `v` (BHND; f16 or f32) and
    optionally `lengths <B>` (default N) and `prefill` (a scalar: leading
    positions that calibrate thresholds; default N - M, or N if that is 0)."""
    with np.load(path) as z:
        missing = [name for name in ("q", "k", "v") if name not in z]
        if missing:
            raise ValueError(f"{path}: missing arrays {missing} (need q, k, v in BHND)")
        q, k, v = z["q"], z["k"], z["v"]
        B, N, M = q.shape[0], k.shape[2], q.shape[2]
        lengths = z["lengths"] if "lengths" in z else np.full(B, N)
        if prefill is None:
            prefill = int(z["prefill"]) if "prefill" in z else (N - M if N > M else N)
    return QKV(q, k, v, lengths, int(prefill), info={"source": str(path)})


def save_qkv(path, data):
    """Write `data` in the format `load_qkv` reads."""
    np.savez(path, q=data.q, k=data.k, v=data.v, lengths=data.lengths,
             prefill=np.int64(data.prefill))


# --- synthetic data ----------------------------------------------------------------

def _rope(x, positions, base=10000.0):
    """Rotary embedding in the half-split layout of Llama/Hugging Face:
    dim i pairs with dim i + D/2 and turns by positions * base^(-2i/D)."""
    D = x.shape[-1]
    half = D // 2
    angle = positions[:, None] * base ** (-np.arange(half) * 2.0 / D)[None, :]
    cos, sin = np.cos(angle), np.sin(angle)
    a, b = x[..., :half], x[..., half:]
    return np.concatenate([a * cos - b * sin, a * sin + b * cos], axis=-1)


def synthetic_qkv(seed=0, batch=1, q_heads=8, kv_heads=2, tokens=8192, rows=8, dims=128,
                  key_std=1.5, topics=64, searched=2, outlier_channels=4, outlier_scale=4.0,
                  sinks=3, df=4.0, sink_mass=(0.2, 0.6), topic_logit=(3.0, 8.0),
                  recent_logit=2.0, noise_logit=1.0, sink_norm=1.0, head_spread=0.25):
    """Seeded synthetic Q/K/V with the structure of real post-RoPE attention.

    Keys of a KV head, before RoPE, are `mu + drift[n] + topic + noise[n]`:
      * `mu`: a head-wide mean, large (`outlier_scale` times the rms of the
        rest) on `outlier_channels` rotary pairs of the lowest frequencies, where
        LLM keys carry their massive channels;
      * `drift`: a slowly varying context (AR(1) over positions, correlation
        length 256, in a 16-dim subspace): nearby keys resemble each other;
      * `topic`: the centroid of the token's topic, one of `topics` (drawn with
        Zipf frequencies): keys cluster, as keys of equal or related tokens do;
        centroids weigh the low rotary frequencies more (content survives
        RoPE over long distances there);
      * `noise`: Student-t (`df` degrees of freedom: heavy tails) with
        log-normal per-channel scales (loud and quiet channels).
    RoPE (base 10000, Llama's half-split pairs) then turns each key by its
    position: with `mu` it gives the keys a position-dependent drift.
    `sinks` positions (0 and a few early ones) hold "attention-sink" keys: a
    direction that every query of the head carries, so they score high for
    every row, as the first tokens do in real models; their norm is
    `sink_norm` times the keys' rms norm (1: the sinks' scores come from
    direction alone).

    Queries (the last `rows` positions; each query head its own) mix, with
    weights drawn per row in logit units (q.k / sqrt(D)): the RoPE-turned
    centroids of `searched` topics (`topic_logit`, reached by the 90th
    percentile of the topic's keys: retrieval of scattered related tokens,
    stronger for the nearer ones), the current drift (`recent_logit`:
    recency), isotropic noise (`noise_logit`: the spread of every other key's
    logit), and last the sink direction, weighted so that the sinks hold a
    share drawn from `sink_mass` of the dense softmax mass.

    Values are Gaussian. Each KV head's keys are scaled so that its
    post-Hadamard keys have std `key_std * exp(u)`, u uniform in
    +-`head_spread` (about 1.5: the small LM of DESIGN.md 1; heads of real
    models differ in scale, which is what per-head calibration is for), and
    its queries inversely, so the attention itself does not depend on it.

    Adamas's L1 estimate depends on the scale of queries against the
    thresholds (small queries make it prefer small keys, and miss sinks of
    ordinary norm). Here a row's post-Hadamard query std over its head's key
    std has a median of 1.0-1.6 and 10th-90th percentiles of about 0.6-2.9
    (seeds 0-2 of the defaults).
    Returns a `QKV` with `prefill = tokens - rows` and full lengths.
    """
    rng = np.random.default_rng(seed)
    B, Hq, Hkv, N, M, D = batch, q_heads, kv_heads, tokens, rows, dims
    if Hq % Hkv or D % 2 or M > N or topics < searched:
        raise ValueError("need Hq a multiple of Hkv, D even, rows <= tokens, searched <= topics")
    G = Hq // Hkv
    half = D // 2
    positions = np.arange(N, dtype=np.float64)
    rho = np.exp(-1.0 / 256)
    # Rotary pair i turns at base^(-2i/D): weight content toward large i.
    low_freq = np.tile(np.linspace(0.25, 1.0, half), 2)

    def unit_rms(x):
        return x / np.sqrt(np.mean(x ** 2, axis=-1, keepdims=True))

    k = np.empty((B, Hkv, N, D))
    q = np.empty((B, Hq, M, D))
    v = rng.standard_normal((B, Hkv, N, D))
    for b in range(B):
        for h in range(Hkv):
            centroids = unit_rms(rng.standard_normal((topics, D)) * low_freq)
            zipf = 1.0 / np.arange(1, topics + 1)
            topic = rng.choice(topics, size=N, p=zipf / zipf.sum())
            channel_scale = np.exp(0.5 * rng.standard_normal(D))
            noise = 0.6 * rng.standard_t(df, size=(N, D)) * np.sqrt((df - 2) / df) * channel_scale
            basis = np.linalg.qr(rng.standard_normal((D, 16)))[0]
            z = rng.standard_normal((N, 16))
            drift = np.empty((N, 16))
            drift[0] = z[0]
            for n in range(1, N):
                drift[n] = rho * drift[n - 1] + np.sqrt(1 - rho * rho) * z[n]
            drift = 0.5 * np.sqrt(D / 16) * drift @ basis.T
            mu = np.zeros(D)
            lowest = half - 1 - np.arange(outlier_channels)
            for dims_ in (lowest, lowest + half):
                mu[dims_] = outlier_scale * rng.choice([-1.0, 1.0], size=outlier_channels)
            keys = _rope(mu + drift + centroids[topic] + noise, positions)
            # Sinks: keys along a per-head direction of ordinary key norm.
            typical = np.sqrt(np.mean(np.sum(keys ** 2, axis=1)))
            sink_dir = rng.standard_normal(D)
            sink_dir /= np.linalg.norm(sink_dir)
            sink_pos = np.unique(np.concatenate(
                [[0], rng.choice(np.arange(1, max(2, N // 8)), size=max(0, sinks - 1))]))[:sinks]
            keys[sink_pos] = sink_norm * typical * (sink_dir + 0.05 * rng.standard_normal((len(sink_pos), D)))
            k[b, h] = keys

            def toward(u, targets, logit):
                """u scaled so that the logits of keys[targets] reach `logit`
                at their 90th percentile (RoPE lowers far targets' logits)."""
                raw = np.percentile(keys[targets] @ u, 90) / np.sqrt(D)
                return u * (logit / raw) if raw > 0 else np.zeros(D)

            for g in range(G):
                for m in range(M):
                    L = N - M + m + 1
                    p = np.array([L - 1.0])
                    row = np.zeros(D)
                    for c in rng.choice(topics, size=searched, replace=False):
                        members = np.flatnonzero(topic[:L] == c)
                        if len(members):
                            row = row + toward(_rope(centroids[c], p)[0], members,
                                               rng.uniform(*topic_logit))
                    row = row + toward(_rope(drift[L - 1], p)[0], np.arange(max(0, L - 32), L),
                                       recent_logit)
                    row = row + noise_logit * np.sqrt(D) / typical * rng.standard_normal(D)
                    # The sink direction last, weighted so that the sinks hold
                    # a drawn share f of the dense softmax mass: their logit
                    # t solves len(sinks) e^t = f / (1 - f) * sum(others).
                    others = np.delete(keys[:L] @ row / np.sqrt(D), sink_pos[sink_pos < L])
                    f = rng.uniform(*sink_mass)
                    top = others.max()
                    t = top + np.log(f / (1 - f) * np.exp(others - top).sum() / len(sink_pos))
                    base = np.mean(keys[sink_pos] @ row) / np.sqrt(D)
                    row = row + toward(sink_dir, sink_pos, t - base)
                    q[b, h * G + g, m] = row
    # Scale each KV head's keys to its post-Hadamard std, its queries inversely.
    target = key_std * np.exp(rng.uniform(-head_spread, head_spread, size=Hkv))
    s = head_key_std(k.astype(np.float32))
    k *= (target / s)[None, :, None, None]
    q *= np.repeat(s / target, G)[None, :, None, None]
    return QKV(q.astype(np.float32), k.astype(np.float32), v.astype(np.float32),
               np.full(B, N), N - M if N > M else N,
               info={"source": "synthetic", "seed": seed})


# --- thresholds -------------------------------------------------------------------

def threshold_grid(bits, step):
    """The 2^bits - 1 thresholds `step * j`, j = -(2^(b-1) - 1) .. 2^(b-1) - 1:
    [0] for 1 bit, step*[-1, 0, 1] for 2, step*[-3..3] for 3 (float32)."""
    if bits not in (1, 2, 3):
        raise ValueError(f"bits must be 1, 2 or 3, got {bits}")
    j = np.arange(2 ** bits - 1) - (2 ** (bits - 1) - 1)
    return (float(step) * j).astype(np.float32)


def fixed_thresholds(bits=2):
    """The published thresholds [-10, 0, 10] for 2 bits, and the grid with the
    same spacing for 1 and 3 bits ([0]; [-30, -20, ..., 30])."""
    return threshold_grid(bits, PUBLISHED_STEP)


def head_key_std(prefill_keys):
    """Per KV head, the std of its post-Hadamard keys `<Hkv>`, pooled over
    batch, positions and dimensions (population std, about the pooled mean)."""
    keys = np.asarray(prefill_keys)
    if keys.ndim != 4:
        raise ValueError("prefill_keys must be <B x Hkv x N x D>")
    rotated = ref.hadamard(keys.astype(np.float32)).astype(np.float64)
    return rotated.transpose(1, 0, 2, 3).reshape(keys.shape[1], -1).std(axis=1)


def calibrate_thresholds(prefill_keys, bits=2, a=DEFAULT_A):
    """Per-head thresholds `<Hkv x (2^b - 1)>` (float32) from prefill keys
    `<B x Hkv x N x D>`: `threshold_grid(bits, a * s_h)` with s_h the std of
    head h's post-Hadamard keys; for 2 bits `[-a*s, 0, a*s]` (DESIGN.md 1).

    Rows go to `reference.bucketize(..., head_thresholds=)`; a query head uses
    the row of its KV head.
    """
    s = head_key_std(prefill_keys)
    return np.stack([threshold_grid(bits, a * sh) for sh in s]).astype(np.float32)


# --- selection methods ----------------------------------------------------------

def _per_head_rows(thresholds, heads, bits):
    """Thresholds as <heads x (2^b-1)>: one row broadcast, or per-head rows."""
    t = np.asarray(thresholds, dtype=np.float32)
    if t.ndim == 1:
        t = np.broadcast_to(t, (heads, t.shape[0]))
    if t.shape != (heads, 2 ** bits - 1):
        raise ValueError(f"thresholds must be <{2 ** bits - 1}> or <{heads} x {2 ** bits - 1}>, "
                         f"got {t.shape}")
    return np.ascontiguousarray(t)


def adamas_codes(q, k, bits=2, thresholds=None, dtype=np.float32):
    """Packed codes of queries and keys: `bucketize(hadamard(x))` with the
    thresholds of each KV head (a query head uses its KV head's row).

    `thresholds`: None (fixed, `fixed_thresholds(bits)`), one row
    `<2^b - 1>`, or per KV head `<Hkv x (2^b - 1)>` (e.g. calibrated).
    `dtype`: the element type of q and k; `adamas.hadamard` rounds its result
    to it, so np.float16 gives the codes the generated kernels compute from
    fp16 rows (a value within an fp16 rounding of a threshold may bucket
    differently than in float32).
    Returns (query_codes `<B x Hq x M x W>`, key_codes `<B x Hkv x N x W>`).
    """
    q = np.asarray(q, dtype=dtype)
    k = np.asarray(k, dtype=dtype)
    Hq, Hkv = q.shape[1], k.shape[1]
    rows = _per_head_rows(fixed_thresholds(bits) if thresholds is None else thresholds, Hkv, bits)
    # The attribute only fixes b here: every head's values come from `rows`.
    attribute = fixed_thresholds(bits)
    key_codes = ref.bucketize(ref.hadamard(k), attribute, head_thresholds=rows)
    query_codes = ref.bucketize(ref.hadamard(q), attribute,
                                head_thresholds=np.repeat(rows, Hq // Hkv, axis=0))
    return query_codes, key_codes


def select_adamas(q, k, budget, bits=2, thresholds=None, lengths=None, sink=0, recent=1,
                  shared_group=False, codes=None):
    """Adamas: the `budget` keys nearest the query in L1 distance of b-bit
    Hadamard codes (`reference.l1_topk`, its tie rule and its forced sink /
    recent positions). `codes` may pass `adamas_codes(...)` precomputed.

    With `shared_group` the selection of a KV head (the group's minimum
    distance) is repeated for each of its query heads, so the result always
    has Hq heads.
    """
    q = np.asarray(q, dtype=np.float32)
    k = np.asarray(k, dtype=np.float32)
    query_codes, key_codes = adamas_codes(q, k, bits, thresholds) if codes is None else codes
    lengths = _lengths(lengths, q.shape[0], k.shape[2])
    sink, recent = min(sink, budget), min(recent, budget - min(sink, budget))
    idx = ref.l1_topk(query_codes, key_codes, lengths, budget, bits=bits, sink=sink,
                      recent=recent, shared_group=shared_group)
    if shared_group:
        idx = np.repeat(idx, q.shape[1] // k.shape[1], axis=1)
    return idx


def _rows(q, k, lengths):
    """Yield (b, h, h_kv, m, L) for every query row."""
    B, Hq, M, _ = q.shape
    Hkv, N = k.shape[1], k.shape[2]
    G = Hq // Hkv
    for b in range(B):
        for h in range(Hq):
            for m in range(M):
                yield b, h, h // G, m, ref.visible_length(lengths[b], M, m, N)


def _emit(out, b, h, m, chosen):
    chosen = np.sort(np.asarray(chosen, dtype=np.int64))
    out[b, h, m, :len(chosen)] = chosen


def _top_positions(score, count):
    """Positions of the `count` largest scores; among equal scores the larger
    position first (the tie rule of l1_topk)."""
    order = np.lexsort((-np.arange(len(score)), -score))
    return order[:count]


def select_exact(q, k, budget, lengths=None):
    """The oracle: per row, the `budget` positions of largest q.k (float64),
    ties toward the larger position. It maximizes attention recall at every
    budget, since softmax weights are monotone in the score."""
    q = np.asarray(q, dtype=np.float64)
    k = np.asarray(k, dtype=np.float64)
    lengths = _lengths(lengths, q.shape[0], k.shape[2])
    out = np.full(q.shape[:3] + (budget,), -1, dtype=np.int32)
    for b, h, hk, m, L in _rows(q, k, lengths):
        if L <= budget:
            _emit(out, b, h, m, np.arange(L))
        else:
            _emit(out, b, h, m, _top_positions(k[b, hk, :L] @ q[b, h, m], budget))
    return out


def select_streaming(q, k, budget, lengths=None, sink=STREAMING_SINK):
    """StreamingLLM: the first `sink` positions and the last `budget - sink`
    (the attention sinks and the recent window). Needs sink < budget."""
    if not 0 <= sink < budget:
        raise ValueError(f"StreamingLLM needs 0 <= sink < budget, got sink={sink}, budget={budget}")
    lengths = _lengths(lengths, q.shape[0], k.shape[2])
    out = np.full(np.shape(q)[:3] + (budget,), -1, dtype=np.int32)
    for b, h, hk, m, L in _rows(np.asarray(q), np.asarray(k), lengths):
        if L <= budget:
            _emit(out, b, h, m, np.arange(L))
        else:
            _emit(out, b, h, m, np.concatenate([np.arange(sink), np.arange(L - (budget - sink), L)]))
    return out


def quest_page_bounds(q_row, keys, page_size=QUEST_PAGE):
    """Quest's per-page upper bound of q.k: for each page of `page_size`
    consecutive keys (the last one possibly partial), sum over channels of
    max(q_d * min_d, q_d * max_d), min/max over the page's keys. Every key in a
    page scores at most its page's bound. Returns `<ceil(L / page_size)>`."""
    q_row = np.asarray(q_row, dtype=np.float64)
    keys = np.asarray(keys, dtype=np.float64)
    L = keys.shape[0]
    pages = -(-L // page_size)
    lo = np.empty((pages, keys.shape[1]))
    hi = np.empty_like(lo)
    for p in range(pages):
        page = keys[p * page_size:(p + 1) * page_size]
        lo[p], hi[p] = page.min(axis=0), page.max(axis=0)
    return np.maximum(q_row * lo, q_row * hi).sum(axis=1)


def select_quest(q, k, budget, lengths=None, page_size=QUEST_PAGE):
    """Quest: pages of `page_size` tokens ranked by `quest_page_bounds`; the
    top `budget // page_size` pages (ties toward the later page), all their
    visible tokens. Needs budget >= page_size. Quest spends its budget in whole
    pages; a selected partial last page leaves the rest of the budget unused."""
    if budget < page_size:
        raise ValueError(f"Quest needs budget >= page size {page_size}, got {budget}")
    q = np.asarray(q, dtype=np.float64)
    k = np.asarray(k, dtype=np.float64)
    lengths = _lengths(lengths, q.shape[0], k.shape[2])
    out = np.full(q.shape[:3] + (budget,), -1, dtype=np.int32)
    for b, h, hk, m, L in _rows(q, k, lengths):
        if L <= budget:
            _emit(out, b, h, m, np.arange(L))
            continue
        pages = _top_positions(quest_page_bounds(q[b, h, m], k[b, hk, :L], page_size),
                               budget // page_size)
        chosen = np.concatenate([np.arange(p * page_size, min((p + 1) * page_size, L))
                                 for p in pages])
        _emit(out, b, h, m, chosen)
    return out


# --- metrics -----------------------------------------------------------------------

def dense_weights(q, k, lengths=None, scale=None):
    """Dense causal softmax weights `<B x Hq x M x N>` (float64) of
    `scale * q.k` (scale 1/sqrt(D) by default) over each row's visible
    positions; 0 beyond them (a row that sees nothing is all 0)."""
    q = np.asarray(q, dtype=np.float64)
    k = np.asarray(k, dtype=np.float64)
    B, Hq, M, D = q.shape
    Hkv, N = k.shape[1], k.shape[2]
    lengths = _lengths(lengths, B, N)
    scale = ref._default_scale(scale, D)
    scores = scale * np.einsum("bhmd,bhnd->bhmn", q, np.repeat(k, Hq // Hkv, axis=1))
    visible = np.array([[ref.visible_length(lengths[b], M, m, N) for m in range(M)]
                        for b in range(B)])                       # <B x M>
    mask = np.arange(N)[None, None, None, :] < visible[:, None, :, None]
    scores = np.where(mask, scores, -np.inf)
    top = np.max(scores, axis=-1, keepdims=True)
    w = np.where(mask, np.exp(scores - np.where(np.isfinite(top), top, 0.0)), 0.0)
    total = w.sum(axis=-1, keepdims=True)
    return np.divide(w, total, out=np.zeros_like(w), where=total > 0)


def attention_recall(weights, indices):
    """Per row `<B x Hq x M>`: the dense softmax mass on the selected positions
    (`weights` from `dense_weights`; -1 padding and out-of-range skipped).
    A row with no visible position has recall NaN."""
    weights = np.asarray(weights)
    idx = np.asarray(indices)
    N = weights.shape[-1]
    valid = (idx >= 0) & (idx < N)
    picked = np.take_along_axis(weights, np.where(valid, idx, 0), axis=-1)
    recall = np.where(valid, picked, 0.0).sum(axis=-1)
    return np.where(weights.sum(axis=-1) > 0, recall, np.nan)


def output_error(dense_out, sparse_out):
    """Per row `<B x Hq x M>`: ||o_sparse - o_dense|| / ||o_dense|| (L2 over
    the value dimension); NaN where the dense output is 0."""
    d = np.asarray(dense_out, dtype=np.float64)
    s = np.asarray(sparse_out, dtype=np.float64)
    norm = np.linalg.norm(d, axis=-1)
    err = np.linalg.norm(s - d, axis=-1)
    return np.divide(err, norm, out=np.full_like(err, np.nan), where=norm > 0)


# --- the evaluation ---------------------------------------------------------------

@dataclass(frozen=True)
class Method:
    """A selection method: `make(data)` returns `select(budget) -> indices`
    (so per-case work, like encoding keys, is done once per case)."""
    name: str
    make: Callable[[QKV], Callable[[int], np.ndarray]]
    min_budget: int = 1


def adamas_method(bits=2, calibrated=True, a=DEFAULT_A, sink=0, recent=1, shared_group=False):
    """Adamas with fixed (`fixed_thresholds`) or calibrated thresholds."""
    if bits == 1:
        label = "adamas 1b [0]"  # sign codes: calibration cannot change them
    elif calibrated:
        label = f"adamas {bits}b calibrated a={a:g}"
    else:
        label = f"adamas {bits}b fixed " + ("[-10,0,10]" if bits == 2 else "step 10")

    def make(data):
        thr = calibrate_thresholds(data.prefill_keys(), bits, a) if calibrated \
            else fixed_thresholds(bits)
        codes = adamas_codes(data.q, data.k, bits, thr)
        return lambda budget: select_adamas(data.q, data.k, budget, bits, thr, data.lengths,
                                            sink=sink, recent=recent,
                                            shared_group=shared_group, codes=codes)
    return Method(label, make, min_budget=sink + recent)


def default_methods():
    """The methods of the accuracy table: the oracle, Adamas (2 bits
    calibrated and fixed, 1 bit, 3 bits calibrated and fixed), Quest and
    StreamingLLM."""
    return [
        Method("exact top-k", lambda d: lambda kk: select_exact(d.q, d.k, kk, d.lengths)),
        adamas_method(2, calibrated=True),
        adamas_method(2, calibrated=False),
        adamas_method(1),
        adamas_method(3, calibrated=True),
        adamas_method(3, calibrated=False),
        Method(f"quest page {QUEST_PAGE}",
               lambda d: lambda kk: select_quest(d.q, d.k, kk, d.lengths), min_budget=QUEST_PAGE),
        Method(f"streamingllm sink {STREAMING_SINK}",
               lambda d: lambda kk: select_streaming(d.q, d.k, kk, d.lengths),
               min_budget=STREAMING_SINK + 1),
    ]


@dataclass
class Result:
    """Mean over `rows` query rows (b, h, m) of one method at one budget."""
    method: str
    budget: int
    recall: float
    error: float
    rows: int = 1


def evaluate(data, budgets=BUDGETS, methods=None, scale=None, progress=None):
    """Recall and output error of every method at every budget <= N.

    Dense outputs are `reference.dense_attn`, sparse ones
    `reference.sparse_attn` over the method's indices (float32 inputs, float64
    inside). Returns a list of `Result`, means over the rows that see at
    least one position.
    """
    methods = default_methods() if methods is None else methods
    N = data.k.shape[2]
    budgets = [int(x) for x in budgets if x <= N]
    weights = dense_weights(data.q, data.k, data.lengths, scale)
    dense = ref.dense_attn(data.q, data.k, data.v, data.lengths, scale)
    results = []
    for method in methods:
        select = method.make(data)
        for budget in budgets:
            if budget < method.min_budget:
                continue
            idx = select(budget)
            sparse = ref.sparse_attn(data.q, data.k, data.v, idx, scale)
            recall = attention_recall(weights, idx)
            results.append(Result(method.name, budget, float(np.nanmean(recall)),
                                  float(np.nanmean(output_error(dense, sparse))),
                                  int(np.count_nonzero(~np.isnan(recall)))))
            if progress:
                progress(results[-1])
    return results


def merge_results(runs):
    """Pool several `evaluate` runs (e.g. seeds): per (method, budget), the
    row-weighted means."""
    pooled = {}
    for run in runs:
        for r in run:
            acc = pooled.setdefault((r.method, r.budget), [0.0, 0.0, 0])
            acc[0] += r.recall * r.rows
            acc[1] += r.error * r.rows
            acc[2] += r.rows
    return [Result(m, b, rec / n, err / n, n) for (m, b), (rec, err, n) in pooled.items()]


def format_table(results, metric):
    """A markdown table of `metric` ("recall" or "error"): one row per
    method, one column per budget."""
    methods = list(dict.fromkeys(r.method for r in results))
    budgets = sorted({r.budget for r in results})
    cell = {(r.method, r.budget): getattr(r, metric) for r in results}
    width = max(len(m) for m in methods)
    lines = ["| " + "method".ljust(width) + " | " + " | ".join(f"{b:>6}" for b in budgets) + " |",
             "|" + "-" * (width + 2) + "|" + "|".join("-" * 8 for _ in budgets) + "|"]
    for m in methods:
        vals = [f"{cell[m, b]:6.4f}" if (m, b) in cell else "     -" for b in budgets]
        lines.append("| " + m.ljust(width) + " | " + " | ".join(vals) + " |")
    return "\n".join(lines)
