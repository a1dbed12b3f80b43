"""Parse the memrefs mlir-runner prints and compare them with expected arrays.

printMemrefF32 / printMemrefI32 print, per call,
  Unranked Memref base@ = 0x... rank = R offset = 0 sizes = [..] strides = [..] data =
followed by nested `[...]` lists; floats use C++ iostream's default format
(6 significant digits; `nan`, `-nan`, `inf`, `-inf`).
"""

import re

import numpy as np

HEADER = re.compile(r"Unranked Memref base@ = \S+ rank = (\d+) offset = \d+ "
                    r"sizes = \[([^\]]*)\] strides = \[[^\]]*\] data =")
NUMBER = re.compile(r"[-+]?(?:nan|inf|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)")

# Default tolerances per element type: |got - want| <= atol + rtol * |want|, with
# atol = ATOL_SCALE * max|want| over the array (rounding errors of sums and
# transforms are relative to the size of the terms, not of a result that cancels
# to near zero).
#  f32:  rtol 1e-5, atol 1e-5 * max. The printer keeps 6 significant digits
#        (<= 5e-6 relative); f32 accumulation over our small D and K adds ~1e-6.
#  f16:  rtol 1e-3. The op rounds its f32 result once, the reference its float64
#        one; they differ only where the two straddle a rounding boundary, by one
#        ulp, <= 2^-10 = 9.8e-4 relative.
#  bf16: rtol 1e-2. Likewise one bf16 ulp, <= 2^-7 = 7.8e-3 relative.
#  f16, bf16: atol 2^-14 * max. f32 arithmetic errs by ~1e-6 of the array's
#        scale, far below; arithmetic in f16/bf16 inside the op (the ops compute
#        in f32 and round once) errs by ~2^-11 / 2^-8 per step and is caught.
DEFAULT_RTOL = {"f32": 1e-5, "f16": 1e-3, "bf16": 1e-2}
ATOL_SCALE = {"f32": 1e-5, "f16": 2.0**-14, "bf16": 2.0**-14}


class ParseError(Exception):
    pass


def _bracketed(text, start):
    """The text of the `[...]` list that begins at the first '[' after `start`."""
    begin = text.find("[", start)
    if begin < 0:
        raise ParseError("no data list after a memref header")
    depth = 0
    for i in range(begin, len(text)):
        depth += {"[": 1, "]": -1}.get(text[i], 0)
        if depth == 0:
            return text[begin:i + 1]
    raise ParseError("unterminated data list")


def parse_memrefs(text):
    """Every printed memref, in order, as (sizes, list of number tokens)."""
    memrefs = []
    for header in HEADER.finditer(text):
        rank = int(header.group(1))
        sizes = [int(s) for s in header.group(2).replace(",", " ").split()]
        if len(sizes) != rank:
            raise ParseError(f"rank {rank} but sizes {sizes}")
        count = int(np.prod(sizes, dtype=np.int64))
        # An empty memref prints "[]"; a rank-0 one prints "[value]".
        tokens = NUMBER.findall(_bracketed(text, header.end())) if count else []
        if len(tokens) != count:
            raise ParseError(f"sizes {sizes} need {count} values, found {len(tokens)}")
        memrefs.append((sizes, tokens))
    return memrefs


def to_array(tokens, sizes, elem):
    if elem == "i32":
        return np.array([int(t) for t in tokens], dtype=np.int64).reshape(sizes)
    return np.array([float(t) for t in tokens], dtype=np.float64).reshape(sizes)


def mismatches(want, got, elem, rtol=None, atol=None):
    """Boolean mask of the elements of `got` that do not match `want`."""
    if elem == "i32":
        return want.astype(np.int64) != got
    want = want.astype(np.float64)
    finite = np.isfinite(want)
    if rtol is None:
        rtol = DEFAULT_RTOL[elem]
    if atol is None:
        atol = ATOL_SCALE[elem] * (np.abs(want[finite]).max() if finite.any() else 0.0)
    with np.errstate(invalid="ignore"):
        close = np.abs(got - want) <= atol + rtol * np.abs(want)
    # NaN matches NaN; an infinity only the same infinity.
    close = np.where(finite, close, (want == got) | (np.isnan(want) & np.isnan(got)))
    return ~close


def describe(name, want, got, bad, limit=8):
    """Lines explaining a mismatch: counts, then the first few differences."""
    lines = [f"MISMATCH in '{name}': {int(bad.sum())} of {bad.size} values differ"]
    for index in list(zip(*np.nonzero(bad)))[:limit]:
        index = tuple(int(i) for i in index)
        lines.append(f"  at {list(index)}: expected {want[index]!r}, got {got[index]!r}")
    if want.dtype.kind == "f":
        both = np.isfinite(want) & np.isfinite(got)
        if both.any():
            lines.append(f"  max |expected - got| = {np.abs(want - got)[both].max():.3g}")
    return lines
