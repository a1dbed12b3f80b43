"""Test cases: seeded random inputs, the program that runs adamas ops on them,
and the results the numpy reference says it must print, in print order.

Each case function takes the parsed options, a numpy Generator and a
`Program`, emits the program and returns the list of `Expected` results.
"""

from dataclasses import dataclass

import numpy as np

from adamas import reference as ref

from mlir_program import bool_attr, f32_array_attr, f32_attr, i64_attr

# Thresholds exactly representable in f16, bf16 and f32, so inputs can hit them
# exactly; roughly the quantiles of a unit normal, the scale of our inputs.
DEFAULT_THRESHOLDS = {
    1: [0.0],
    2: [-0.75, 0.0, 0.75],
    3: [-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5],
}

# Relative spacing of adjacent values (one ulp relative to the value, at most).
ULP = {"f16": 2.0**-10, "bf16": 2.0**-7, "f32": 2.0**-23}


@dataclass
class Expected:
    name: str
    array: np.ndarray
    elem: str           # "i32", "f16", "bf16" or "f32"
    rtol: float = None  # None: the element type's default (see runner_output.py)
    atol: float = None


# --- inputs ------------------------------------------------------------------

def as_element_type(x, elem):
    """Values of element type `elem` in their numpy storage (bf16 as float32)."""
    return ref.round_to(x, elem) if elem != "f32" else np.asarray(x, dtype=np.float32)


def random_floats(rng, shape, elem):
    return as_element_type(rng.standard_normal(shape), elem)


def thresholds_of(args):
    if args.thresholds:
        return [float(t) for t in args.thresholds.split(",")]
    return DEFAULT_THRESHOLDS[args.bits]


def lengths_of(args):
    if args.lengths:
        values = [int(v) for v in args.lengths.split(",")]
        if len(values) != args.B:
            raise SystemExit(f"--lengths needs B={args.B} values")
        return np.array(values, dtype=np.int32)
    return np.full(args.B, args.N, dtype=np.int32)


def show(prog, value, expected):
    """Print `value` in the program; `expected` is what it must print."""
    prog.print(value)
    return expected


def maybe_dynamic_n(prog, value, args, dim):
    return prog.with_dynamic_dims(value, [dim]) if args.dynamic_n else value


# --- hadamard -----------------------------------------------------------------

def float_shape(args):
    """`--shape` if given, else B x H x N x D."""
    if args.shape:
        return tuple(int(d) for d in args.shape.split("x"))
    return (args.B, args.Hq, args.N, args.D)


def hadamard_case(args, rng, prog):
    x = random_floats(rng, float_shape(args), args.dtype)
    xv = maybe_dynamic_n(prog, prog.constant(x, args.dtype, "x"), args, -2)
    y = prog.op("adamas.hadamard", [xv], xv.shape, args.dtype)
    if not args.involution:
        return [show(prog, y, Expected("hadamard", ref.hadamard(x, dtype=args.dtype), args.dtype))]
    # hadamard twice must give back the input, up to the two roundings to T.
    z = prog.op("adamas.hadamard", [y], y.shape, args.dtype)
    u = ULP[args.dtype]
    # Each rounding errs by <= u/2 relative; the second transform spreads the first
    # one's error over the row, so allow a few ulps of the array's largest value.
    rtol, atol = (1e-5, 1e-5 * np.abs(x).max()) if args.dtype == "f32" else (u, 4 * u * np.abs(x).max())
    return [show(prog, z, Expected("hadamard(hadamard(x))", x, args.dtype, rtol, atol))]


# --- bucketize ----------------------------------------------------------------

def next_up(x, elem):
    """The next value of type `elem` above x (x representable in `elem`)."""
    if elem == "f16":
        return np.nextafter(np.float16(x), np.float16(np.inf))
    if elem == "f32":
        return np.nextafter(np.float32(x), np.float32(np.inf))
    bits = int(np.array([x], dtype=np.float32).view(np.uint32)[0]) >> 16  # bf16 bits
    if bits == 0x8000:           # -0 -> smallest positive
        bits = 0x0001
    elif bits & 0x8000:          # negative: toward zero
        bits -= 1
    else:
        bits += 1
    return np.array([bits << 16], dtype=np.uint32).view(np.float32)[0]


def next_down(x, elem):
    return -next_up(-x, elem)


def special_values(thresholds, elem):
    """Values on and around each threshold, and NaN, +-inf, +-0."""
    values = [np.nan, np.inf, -np.inf, 0.0, -0.0]
    for t in thresholds:
        t = as_element_type(t, elem)[()]
        values += [t, next_up(t, elem), next_down(t, elem)]
    return np.array(values, dtype=np.float64)


def inject_special_values(x, rows_thresholds, elem, rng):
    """Put the special values of each row's thresholds at random dims of that row."""
    flat = x.reshape(-1, x.shape[-1])
    for r in range(flat.shape[0]):
        values = special_values(rows_thresholds(r), elem)
        count = min(len(values), flat.shape[1] // 2)
        dims = rng.choice(flat.shape[1], size=count, replace=False)
        flat[r, dims] = rng.permutation(values)[:count]
    return flat.reshape(x.shape)


def random_head_thresholds(rng, heads, count):
    """Per-head rows of multiples of 1/8 in [-2, 2] (exact in every type), unsorted."""
    return (rng.integers(-16, 17, size=(heads, count)) / 8.0).astype(np.float32)


def bucketize_case(args, rng, prog):
    thresholds = thresholds_of(args)
    shape = float_shape(args)
    x = random_floats(rng, shape, args.dtype).astype(np.float64)
    head_rows = None
    if args.head_thresholds:
        if len(shape) != 4:
            raise SystemExit("--head-thresholds needs a rank-4 BHND input")
        head_rows = random_head_thresholds(rng, shape[1], len(thresholds))
    if args.special:
        N = shape[-2] if len(shape) > 1 else 1
        H = shape[1] if len(shape) == 4 else 1
        def row_thresholds(r):
            return thresholds if head_rows is None else head_rows[(r // N) % H]
        x = inject_special_values(x, row_thresholds, args.dtype, rng)
    x = as_element_type(x, args.dtype)

    xv = maybe_dynamic_n(prog, prog.constant(x, args.dtype, "x"), args, -2)
    operands = [xv]
    if head_rows is not None:
        operands.append(prog.constant(head_rows, "f32", "t"))
    bits = ref.bits_for_thresholds(thresholds)
    result_shape = xv.shape[:-1] + (shape[-1] * bits // 32,)
    codes = prog.op("adamas.bucketize", operands, result_shape, "i32",
                    {"thresholds": f32_array_attr(thresholds)})
    expected = ref.bucketize(x, thresholds, head_thresholds=head_rows)
    return [show(prog, codes, Expected("bucketize", expected, "i32"))]


# --- l1_topk ------------------------------------------------------------------

def random_codes(rng, shape, bits, distinct=0):
    """Random codes `<shape>`; with `distinct`, rows are drawn from that many
    prototypes per leading slice so that many positions tie exactly."""
    top = 1 << bits
    if not distinct:
        return rng.integers(0, top, size=shape)
    *lead, n, d = shape
    prototypes = rng.integers(0, top, size=(*lead, distinct, d))
    pick = rng.integers(0, distinct, size=(*lead, n))
    return np.take_along_axis(prototypes, pick[..., None], axis=-2)


def l1_topk_attrs(args):
    return {"k": i64_attr(args.k), "bits": i64_attr(args.bits), "sink": i64_attr(args.sink),
            "recent": i64_attr(args.recent), "shared_group": bool_attr(args.shared_group)}


def l1_topk_call(prog, args, qc, kc, lengths):
    heads = args.Hkv if args.shared_group else args.Hq
    return prog.op("adamas.l1_topk", [qc, kc, lengths], (args.B, heads, args.M, args.k), "i32",
                   l1_topk_attrs(args), "idx")


def l1_topk_case(args, rng, prog):
    q_codes = ref.pack_codes(random_codes(rng, (args.B, args.Hq, args.M, args.D), args.bits), args.bits)
    k_codes = ref.pack_codes(random_codes(rng, (args.B, args.Hkv, args.N, args.D), args.bits,
                                          args.distinct_keys), args.bits)
    lengths = lengths_of(args)
    qv = prog.constant(q_codes, "i32", "qc")
    kv = maybe_dynamic_n(prog, prog.constant(k_codes, "i32", "kc"), args, 2)
    lv = prog.constant(lengths, "i32", "len")
    idx = l1_topk_call(prog, args, qv, kv, lv)
    expected = ref.l1_topk(q_codes, k_codes, lengths, args.k, bits=args.bits, sink=args.sink,
                           recent=args.recent, shared_group=args.shared_group)
    return [show(prog, idx, Expected("l1_topk", expected, "i32"))]


# --- sparse_attn --------------------------------------------------------------

def junk_indices(N):
    """Invalid index values a row may hold: mostly -1, also N, N + 7, -5 (all skipped)."""
    return [-1, -1, -1, N, N + 7, -5]


def random_indices(rng, args, heads):
    """Rows with 1..K distinct valid positions and invalid fill, sometimes shuffled."""
    K, N = args.K, args.N
    idx = np.full((args.B, heads, args.M, K), -1, dtype=np.int32)
    rows = idx.reshape(-1, K)
    junk = junk_indices(N)
    for r in range(rows.shape[0]):
        if r < args.invalid_rows:
            rows[r] = rng.choice(junk, size=K)
            continue
        count = int(rng.integers(1, min(K, N) + 1))
        row = list(np.sort(rng.choice(N, size=count, replace=False)))
        row += list(rng.choice(junk, size=K - count))
        rows[r] = rng.permutation(row) if r % 2 else row
    return idx


def causal_indices(args, heads, lengths):
    """Every visible position of each row: sparse_attn must then equal dense_attn."""
    idx = np.full((args.B, heads, args.M, args.N), -1, dtype=np.int32)
    for b in range(args.B):
        for m in range(args.M):
            L = ref.visible_length(lengths[b], args.M, m, args.N)
            idx[b, :, m, :L] = np.arange(L)
    return idx


def sparse_attn_call(prog, args, q, k, v, idx):
    attrs = {"scale": f32_attr(args.scale)} if args.scale is not None else None
    return prog.op("adamas.sparse_attn", [q, k, v, idx], (args.B, args.Hq, args.M, args.Dv),
                   args.dtype, attrs, "o")


def sparse_attn_case(args, rng, prog):
    T = args.dtype
    q = random_floats(rng, (args.B, args.Hq, args.M, args.D), T)
    k = random_floats(rng, (args.B, args.Hkv, args.N, args.D), T)
    v = random_floats(rng, (args.B, args.Hkv, args.N, args.Dv), T)
    heads = args.Hq if args.index_heads == "q" else args.Hkv
    lengths = lengths_of(args)
    if args.indices == "causal":
        idx = causal_indices(args, heads, lengths)
        # Computed by the independent dense path, not by reference.sparse_attn.
        expected = ref.dense_attn(q, k, v, lengths, scale=args.scale, dtype=T)
    else:
        idx = random_indices(rng, args, heads)
        expected = ref.sparse_attn(q, k, v, idx, scale=args.scale, dtype=T)
    qv = prog.constant(q, T, "q")
    kv = maybe_dynamic_n(prog, prog.constant(k, T, "k"), args, 2)
    vv = maybe_dynamic_n(prog, prog.constant(v, T, "v"), args, 2)
    iv = prog.constant(idx, "i32", "i")
    out = sparse_attn_call(prog, args, qv, kv, vv, iv)
    return [show(prog, out, Expected("sparse_attn", expected, T))]


# --- the whole chain ----------------------------------------------------------

def bucket_interior_values(rng, shape, thresholds):
    """Values well inside random buckets: at least a quarter bucket from any threshold."""
    t = np.asarray(thresholds, dtype=np.float64)
    gap = (t[-1] - t[0]) / (len(t) - 1) if len(t) > 1 else 1.0
    edges = np.concatenate([[t[0] - 2 * gap], t, [t[-1] + 2 * gap]])
    bucket = rng.integers(0, len(edges) - 1, size=shape)
    lo, hi = edges[bucket], edges[bucket + 1]
    return (lo + hi) / 2 + rng.uniform(-0.25, 0.25, size=shape) * (hi - lo)


def inputs_hadamard_maps_into_buckets(rng, shape, thresholds, elem):
    """x of type `elem` whose hadamard lands well inside the buckets.

    hadamard is its own inverse, so x = hadamard(interior values); rounding x to
    `elem` moves hadamard(x) by far less than the quarter-bucket margin, so the
    compiler's codes cannot differ from the reference's through rounding.
    """
    return ref.hadamard(bucket_interior_values(rng, shape, thresholds), dtype=elem)


def check_margin(y, thresholds, elem):
    """True when no value of y is within rounding distance of a threshold."""
    y = np.asarray(y, dtype=np.float64)
    margin = 8 * ULP[elem] * np.abs(y) + 1e-4 * np.abs(y).max()
    return all((np.abs(y - t) > margin).all() for t in thresholds)


def pipeline_case(args, rng, prog):
    T, thresholds = args.dtype, thresholds_of(args)
    bits = ref.bits_for_thresholds(thresholds)
    if bits != args.bits:
        raise SystemExit("--bits disagrees with --thresholds")
    q = inputs_hadamard_maps_into_buckets(rng, (args.B, args.Hq, args.M, args.D), thresholds, T)
    k = inputs_hadamard_maps_into_buckets(rng, (args.B, args.Hkv, args.N, args.D), thresholds, T)
    v = random_floats(rng, (args.B, args.Hkv, args.N, args.Dv), T)
    lengths = lengths_of(args)

    qh, kh = ref.hadamard(q, dtype=T), ref.hadamard(k, dtype=T)
    if not (check_margin(qh, thresholds, T) and check_margin(kh, thresholds, T)):
        raise SystemExit("pipeline inputs fall too close to a threshold; try another --seed")
    qc, kc = ref.bucketize(qh, thresholds), ref.bucketize(kh, thresholds)
    idx = ref.l1_topk(qc, kc, lengths, args.k, bits=bits, sink=args.sink, recent=args.recent,
                      shared_group=args.shared_group)
    out = ref.sparse_attn(q, k, v, idx, scale=args.scale, dtype=T)

    qv = prog.constant(q, T, "q")
    kv = maybe_dynamic_n(prog, prog.constant(k, T, "k"), args, 2)
    vv = maybe_dynamic_n(prog, prog.constant(v, T, "v"), args, 2)
    lv = prog.constant(lengths, "i32", "len")
    qh_v = prog.op("adamas.hadamard", [qv], qv.shape, T, hint="qh")
    kh_v = prog.op("adamas.hadamard", [kv], kv.shape, T, hint="kh")
    W = args.D * bits // 32
    attrs = {"thresholds": f32_array_attr(thresholds)}
    qc_v = prog.op("adamas.bucketize", [qh_v], qh_v.shape[:-1] + (W,), "i32", attrs, "qc")
    kc_v = prog.op("adamas.bucketize", [kh_v], kh_v.shape[:-1] + (W,), "i32", attrs, "kc")
    idx_v = l1_topk_call(prog, args, qc_v, kc_v, lv)
    out_v = sparse_attn_call(prog, args, qv, kv, vv, idx_v)
    return [show(prog, qh_v, Expected("hadamard(q)", qh, T)),
            show(prog, kh_v, Expected("hadamard(k)", kh, T)),
            show(prog, qc_v, Expected("bucketize(q)", qc, "i32")),
            show(prog, kc_v, Expected("bucketize(k)", kc, "i32")),
            show(prog, idx_v, Expected("l1_topk", idx, "i32")),
            show(prog, out_v, Expected("sparse_attn", out, T))]


# --- cache_write --------------------------------------------------------------

def cache_write_case(args, rng, prog):
    """Random i32 rows written into a random cache; `--lengths` may put rows
    before 0 or past N (dropped)."""
    rows = rng.integers(-2**31, 2**31 - 1, size=(args.B, args.Hkv, args.M, args.D), dtype=np.int64)
    cache = rng.integers(-2**31, 2**31 - 1, size=(args.B, args.Hkv, args.N, args.D), dtype=np.int64)
    lengths = lengths_of(args)
    rv = prog.constant(rows, "i32", "rows")
    cv = maybe_dynamic_n(prog, prog.constant(cache, "i32", "cache"), args, 2)
    lv = prog.constant(lengths, "i32", "len")
    out = prog.op("adamas.cache_write", [rv, cv, lv], cv.shape, "i32", hint="w")
    expected = ref.cache_write(rows, cache, lengths)
    return [show(prog, out, Expected("cache_write", expected, "i32"))]


CASES = {
    "hadamard": hadamard_case,
    "bucketize": bucketize_case,
    "l1_topk": l1_topk_case,
    "sparse_attn": sparse_attn_case,
    "pipeline": pipeline_case,
    "cache_write": cache_write_case,
}


def oracle_program(prog, expected):
    """A program that prints the expected values as constants, with no adamas op:
    checks the harness and the runner path themselves."""
    for e in expected:
        prog.print(prog.constant(e.array, e.elem, "e"))
