"""Numpy reference of the adamas ops (DESIGN.md section 2).

One function per op, with the op's operand and attribute names. Written for
clarity and exactness, not speed: it is the oracle the compiler's numbers are
checked against, so it deliberately avoids the compiler's methods (no
popcount L1, no histogram select, no f32 butterflies). Floating-point work is
done in float64 and rounded once, through f32, to the element type at the end
(the ops compute in f32 and round once; the extra precision here only makes
the oracle closer to the exact value).

Element types are named as in MLIR: "f16", "bf16", "f32". numpy has no
bfloat16, so a bf16 tensor is a float32 array whose values are exactly
representable in bf16 (see `round_to_bf16`); functions that return a tensor of
the input's floating-point type take `dtype="bf16"` to know that.
"""

import numpy as np

ELEMENT_TYPES = ("f16", "bf16", "f32")

# Largest D for which hadamard multiplies by the explicit matrix; beyond it the
# D x D float64 matrix gets large, so a float64 butterfly is used instead.
_MAX_EXPLICIT_HADAMARD = 4096


# --- element types ---------------------------------------------------------

def round_to_bf16(x):
    """Round to the nearest bf16 (ties to even), returned as float32 values.

    The input is first rounded to f32, as the ops round an f32 value. NaN stays
    NaN (the bit trick below could turn a NaN with a small payload into inf).
    """
    x32 = np.array(x, dtype=np.float32, copy=True, ndmin=0)
    bits = x32.reshape(-1).view(np.uint32).astype(np.uint64)
    lsb = (bits >> 16) & 1
    rounded = ((bits + 0x7FFF + lsb) & 0xFFFF0000).astype(np.uint32)
    out = rounded.view(np.float32).reshape(x32.shape)
    return np.where(np.isnan(x32), np.float32(np.nan), out).astype(np.float32)


def element_type(array, dtype=None):
    """The MLIR element type of `array`: `dtype` if given, else from numpy."""
    if dtype is not None:
        if dtype not in ELEMENT_TYPES:
            raise ValueError(f"dtype must be one of {ELEMENT_TYPES}, got {dtype!r}")
        return dtype
    kind = np.asarray(array).dtype
    if kind == np.float16:
        return "f16"
    if kind == np.float32:
        return "f32"
    raise ValueError(f"cannot infer an element type from numpy dtype {kind}; "
                     "pass float16/float32 arrays or dtype=")


def round_to(x, dtype):
    """Round float values to element type `dtype` (through f32, like the ops).

    f16 results are float16 arrays; f32 and bf16 results are float32 arrays.
    """
    x32 = np.asarray(x, dtype=np.float64).astype(np.float32)
    if dtype == "f32":
        return x32
    if dtype == "f16":
        return x32.astype(np.float16)
    if dtype == "bf16":
        return round_to_bf16(x32)
    raise ValueError(f"unknown element type {dtype!r}")


# --- hadamard ----------------------------------------------------------------

def hadamard_matrix(D):
    """Sylvester (natural order) Hadamard matrix: H[i, j] = (-1)^popcount(i & j)."""
    i = np.arange(D)
    parity = np.zeros((D, D), dtype=np.int64)
    both = i[:, None] & i[None, :]
    while both.any():
        parity ^= both & 1
        both = both >> 1
    return np.where(parity == 1, -1.0, 1.0)


def _fwht_float64(x):
    """Unnormalized Walsh-Hadamard transform of the last axis (Sylvester order)."""
    y = np.array(x, dtype=np.float64, copy=True)
    D = y.shape[-1]
    h = 1
    while h < D:
        y = y.reshape(*y.shape[:-1], D // (2 * h), 2, h)
        a, b = y[..., 0, :], y[..., 1, :]
        y = np.stack([a + b, a - b], axis=-2).reshape(*y.shape[:-3], D)
        h *= 2
    return y


def hadamard(input, *, dtype=None):
    """`adamas.hadamard`: y = x . H_D / sqrt(D) along the last dimension."""
    t = element_type(input, dtype)
    x = np.asarray(input, dtype=np.float64)
    D = x.shape[-1]
    if D < 2 or D > 32768 or D & (D - 1):
        raise ValueError(f"hadamard: last dimension D={D} must be a power of two in [2, 32768]")
    if D <= _MAX_EXPLICIT_HADAMARD:
        y = x @ hadamard_matrix(D)
    else:
        y = _fwht_float64(x)
    return round_to(y / np.sqrt(D), t)


# --- bucketize and the packed code format -----------------------------------

_BITS_FOR_THRESHOLD_COUNT = {1: 1, 3: 2, 7: 3}


def bits_for_thresholds(thresholds):
    """b = 1, 2 or 3 for 1, 3 or 7 thresholds."""
    n = len(thresholds)
    if n not in _BITS_FOR_THRESHOLD_COUNT:
        raise ValueError(f"thresholds must have 1, 3 or 7 values, got {n}")
    return _BITS_FOR_THRESHOLD_COUNT[n]


def pack_codes(codes, bits):
    """Pack codes `<... x D>` into bit-plane words `<... x D*bits/32>` (int32).

    Word g*bits + p has, at bit i, bit p of the code of dim 32*g + i.
    """
    codes = np.asarray(codes, dtype=np.int64)
    D = codes.shape[-1]
    if D % 32:
        raise ValueError(f"D={D} must be a multiple of 32")
    lead = codes.shape[:-1]
    groups = codes.reshape(*lead, D // 32, 32)
    words = np.zeros((*lead, D // 32, bits), dtype=np.int64)
    for p in range(bits):
        for i in range(32):
            words[..., p] |= ((groups[..., i] >> p) & 1) << i
    # Words with bit 31 set are negative as int32.
    return words.reshape(*lead, D // 32 * bits).astype(np.uint32).view(np.int32)


def unpack_codes(words, bits):
    """Inverse of `pack_codes`: words `<... x W>` (int32) -> codes `<... x W*32/bits>` (int8)."""
    words = np.asarray(words)
    W = words.shape[-1]
    if W % bits:
        raise ValueError(f"W={W} must be a multiple of bits={bits}")
    lead = words.shape[:-1]
    planes = (words.astype(np.int64) & 0xFFFFFFFF).reshape(*lead, W // bits, bits, 1)
    # plane_bits[..., g, p, i] = bit i of word g*bits + p = bit p of the code of dim 32g + i.
    plane_bits = (planes >> np.arange(32)) & 1
    codes = (plane_bits << np.arange(bits)[:, None]).sum(axis=-2)
    return codes.reshape(*lead, W // bits * 32).astype(np.int8)


def bucketize(input, thresholds, head_thresholds=None):
    """`adamas.bucketize`: code = #{t : x > t} (strict; NaN -> 0), packed as bit planes.

    `head_thresholds` (`<H x (2^b-1)>`, rank-4 BHND input only) replaces the
    thresholds of head h by its row h; `thresholds` still fixes b.
    """
    bits = bits_for_thresholds(thresholds)
    # Comparisons in f32: f16 and bf16 values widen to f32 exactly.
    x = np.asarray(input, dtype=np.float32)
    if head_thresholds is None:
        per_element = np.asarray(thresholds, dtype=np.float32)
    else:
        rows = np.asarray(head_thresholds, dtype=np.float32)
        if x.ndim != 4 or rows.shape != (x.shape[1], len(thresholds)):
            raise ValueError("head_thresholds must be <H x (2^b-1)> for a rank-4 BHND input")
        per_element = rows[None, :, None, None, :]
    codes = (x[..., None] > per_element).sum(axis=-1)  # NaN > t is False
    return pack_codes(codes, bits)


def _l1(codes_a, codes_b):
    """sum_d |a_d - b_d| over the last axis of unpacked codes (broadcasting)."""
    return np.abs(codes_a.astype(np.int16) - codes_b.astype(np.int16)).sum(axis=-1, dtype=np.int64)


def l1_distance(codes_a, codes_b, bits):
    """Exact L1 distance sum_d |a_d - b_d| between packed code words (broadcasting)."""
    return _l1(unpack_codes(codes_a, bits), unpack_codes(codes_b, bits))


# --- l1_topk -----------------------------------------------------------------

def visible_length(length, M, m, N):
    """Positions [0, L) visible to query row m of M: L = clamp(length - M + m + 1, 0, N)."""
    return int(min(max(int(length) - M + m + 1, 0), N))


def _select_row(distance, L, k, sink, recent):
    """Selected positions of one row, ascending, padded with -1 to k."""
    positions = np.arange(L)
    if L <= k:
        chosen = positions
    else:
        forced = (positions < sink) | (positions >= L - recent)
        free = positions[~forced]
        # A plain sort: smallest distance first, among equal distances the
        # larger position (lexsort's last key is the primary one).
        order = np.lexsort((-free, distance[free]))
        chosen = np.concatenate([positions[forced], free[order[:k - forced.sum()]]])
    out = np.full(k, -1, dtype=np.int32)
    out[:len(chosen)] = np.sort(chosen)
    return out


def l1_topk(query_codes, key_codes, lengths, k, bits=2, sink=0, recent=1,
            shared_group=False):
    """`adamas.l1_topk`: per row, the k positions nearest in L1 code distance.

    Returns int32 indices `<B x H' x M x k>`, H' = Hq, or Hkv with shared_group.
    """
    query_codes = np.asarray(query_codes)
    key_codes = np.asarray(key_codes)
    lengths = np.asarray(lengths).reshape(-1)
    B, Hq, M, W = query_codes.shape
    Bk, Hkv, N, Wk = key_codes.shape
    if (Bk, Wk) != (B, W) or lengths.shape != (B,):
        raise ValueError("l1_topk: query_codes, key_codes and lengths disagree on B or W")
    if k <= 0 or bits not in (1, 2, 3) or sink < 0 or recent < 0 or sink + recent > k:
        raise ValueError("l1_topk: need k > 0, bits in {1,2,3}, sink, recent >= 0, sink + recent <= k")
    if W % bits or Hq % Hkv:
        raise ValueError("l1_topk: W must be a multiple of bits and Hq of Hkv")
    G = Hq // Hkv

    # distance[b, h, m, n] between query head h and its KV head h // G (one head
    # at a time, to keep memory at M x N x D).
    q, keys = unpack_codes(query_codes, bits), unpack_codes(key_codes, bits)
    distance = np.empty((B, Hq, M, N), dtype=np.int64)
    for b in range(B):
        for h in range(Hq):
            distance[b, h] = _l1(q[b, h, :, None, :], keys[b, h // G, None, :, :])
    if shared_group:
        distance = distance.reshape(B, Hkv, G, M, N).min(axis=2)

    heads = distance.shape[1]
    out = np.full((B, heads, M, k), -1, dtype=np.int32)
    for b in range(B):
        for h in range(heads):
            for m in range(M):
                L = visible_length(lengths[b], M, m, N)
                out[b, h, m] = _select_row(distance[b, h, m], L, k, sink, recent)
    return out


# --- attention ---------------------------------------------------------------

def _default_scale(scale, D):
    # `scale` is an f32 attribute; its default is 1/sqrt(D) as an f32.
    return float(np.float32(1.0 / np.sqrt(D) if scale is None else scale))


def _softmax_average(scores, values):
    """softmax(scores) . values for one row, in float64."""
    weights = np.exp(scores - scores.max())
    return (weights / weights.sum()) @ values


def sparse_attn(query, keys, values, indices, scale=None, *, dtype=None):
    """`adamas.sparse_attn`: softmax(scale * q.k_j) . v_j over the selected j.

    Indices outside [0, N) are skipped; a row with none valid yields zeros.
    Each index entry counts once per occurrence (l1_topk never repeats one).
    `indices` has Hq heads, or Hkv heads (one selection per GQA group).
    """
    t = element_type(query, dtype)
    q = np.asarray(query, dtype=np.float64)
    kk = np.asarray(keys, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    idx = np.asarray(indices)
    B, Hq, M, D = q.shape
    _, Hkv, N, _ = kk.shape
    Dv = v.shape[-1]
    if Hq % Hkv or idx.shape[1] not in (Hq, Hkv) or idx.shape[:1] + idx.shape[2:3] != (B, M):
        raise ValueError("sparse_attn: need Hq a multiple of Hkv and indices <B x (Hq|Hkv) x M x K>")
    G = Hq // Hkv
    scale = _default_scale(scale, D)
    out = np.zeros((B, Hq, M, Dv))
    for b in range(B):
        for h in range(Hq):
            h_kv = h // G
            h_idx = h if idx.shape[1] == Hq else h_kv
            for m in range(M):
                selected = [int(j) for j in idx[b, h_idx, m] if 0 <= j < N]
                if not selected:
                    continue
                scores = scale * (kk[b, h_kv, selected] @ q[b, h, m])
                out[b, h, m] = _softmax_average(scores, v[b, h_kv, selected])
    return round_to(out, t)


def dense_attn(query, keys, values, lengths=None, scale=None, *, dtype=None):
    """Causal dense attention: row m of M sees [0, L), L as in l1_topk.

    `lengths` defaults to N for every batch row (the M queries are the last M
    of N tokens). A row with L = 0 yields zeros.
    """
    t = element_type(query, dtype)
    q = np.asarray(query, dtype=np.float64)
    kk = np.asarray(keys, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    B, Hq, M, D = q.shape
    _, Hkv, N, _ = kk.shape
    if Hq % Hkv:
        raise ValueError("dense_attn: Hq must be a multiple of Hkv")
    G = Hq // Hkv
    lengths = np.full(B, N) if lengths is None else np.asarray(lengths).reshape(-1)
    scale = _default_scale(scale, D)
    # All scores at once, then mask the invisible positions.
    scores = scale * np.einsum("bhmd,bhnd->bhmn", q, np.repeat(kk, G, axis=1))
    out = np.zeros((B, Hq, M, v.shape[-1]))
    for b in range(B):
        for m in range(M):
            L = visible_length(lengths[b], M, m, N)
            if L == 0:
                continue
            for h in range(Hq):
                out[b, h, m] = _softmax_average(scores[b, h, m, :L], v[b, h // G, :L])
    return round_to(out, t)


# --- cache -------------------------------------------------------------------

def cache_write(rows, cache, lengths):
    """`adamas.cache_write`: batch row b's M new rows go to positions
    lengths[b] - M + m of the cache; positions outside [0, N) are dropped.

    Returns the updated copy of `cache` (any dtype, `<B x H x N x F>`).
    """
    rows, out = np.asarray(rows), np.array(cache, copy=True)
    lengths = np.asarray(lengths).reshape(-1)
    B, H, M, F = rows.shape
    if out.shape[:2] != (B, H) or out.shape[3] != F or lengths.shape != (B,):
        raise ValueError("cache_write: rows <B x H x M x F>, cache <B x H x N x F>, lengths <B>")
    N = out.shape[2]
    for b in range(B):
        for m in range(M):
            pos = int(lengths[b]) - M + m
            if 0 <= pos < N:
                out[b, :, pos, :] = rows[b, :, m, :]
    return out
