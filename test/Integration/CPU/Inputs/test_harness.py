"""pytest for the harness itself: the runner-output parser, `check`, and that
the tolerances accept a correct f32 implementation yet catch real errors.

Run: /usr/bin/python3 -m pytest test/Integration/CPU/Inputs
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import harness  # noqa: F401  (puts python/ on sys.path when needed)
import cases
import runner_output
from adamas import reference as ref

HARNESS = Path(__file__).with_name("harness.py")

# Written by hand in mlir-runner's format (see runner_output.py).
SAMPLE = """\
Unranked Memref base@ = 0x55d1c0a0b740 rank = 3 offset = 0 sizes = [1, 2, 4] strides = [8, 4, 1] data = 
[[[1,    nan,    inf,    -inf], 
  [0,    -0,    1e-05,    -3.25]]]
some other output line 42
Unranked Memref base@ = 0x55d1c0a1c000 rank = 1 offset = 0 sizes = [3] strides = [1] data = 
[-2147483648,  7,  -1]
Unranked Memref base@ = 0x55d1c0a1c100 rank = 0 offset = 0 sizes = [] strides = [] data = 
[-nan]
"""


def test_parse_hand_written_sample():
    printed = runner_output.parse_memrefs(SAMPLE)
    assert [sizes for sizes, _ in printed] == [[1, 2, 4], [3], []]
    floats = runner_output.to_array(printed[0][1], [1, 2, 4], "f32")
    assert floats[0, 0, 0] == 1 and np.isnan(floats[0, 0, 1])
    assert floats[0, 0, 2:].tolist() == [np.inf, -np.inf]
    assert floats[0, 1].tolist() == [0, 0, 1e-5, -3.25]
    assert np.signbit(floats[0, 1, 1])
    assert runner_output.to_array(printed[1][1], [3], "i32").tolist() == [-2147483648, 7, -1]
    assert np.isnan(runner_output.to_array(printed[2][1], [], "f32"))


def test_parse_rejects_truncated_output():
    with pytest.raises(runner_output.ParseError):
        runner_output.parse_memrefs(SAMPLE.split("some other")[0][:-20])


def printed_like_mlir_runner(arrays):
    """Runner output for `arrays` (floats with 6 significant digits, like iostream)."""
    text = []
    for a in arrays:
        a = np.asarray(a)
        sizes = ", ".join(str(d) for d in a.shape)
        text.append(f"Unranked Memref base@ = 0x1 rank = {a.ndim} offset = 0 sizes = [{sizes}] "
                    f"strides = [] data = ")
        values = [str(int(v)) if a.dtype.kind == "i" else "%g" % float(v) for v in a.reshape(-1)]
        text.append("[" + ",  ".join(values) + "]")
    return "\n".join(text) + "\n"


def gen(tmp_path, *options):
    prefix = tmp_path / "case"
    subprocess.run([sys.executable, str(HARNESS), "gen", *options, "-o", str(prefix)], check=True)
    with np.load(f"{prefix}.npz") as data:
        n = len(json.loads(str(data["meta"])))
        return f"{prefix}.npz", [data[f"expected_{i}"] for i in range(n)]


def test_check_accepts_the_expected_values_and_reports_a_difference(tmp_path):
    npz, expected = gen(tmp_path, "pipeline", "--seed", "2", "--Hq", "2", "--N", "32", "--k", "8",
                        "--dtype", "f16")
    assert len(expected) == 6
    ok, report = harness.check(npz, printed_like_mlir_runner(expected))
    assert ok and report[-1].startswith("OK ")
    # One wrong index in the l1_topk result (the fifth memref) must be reported.
    wrong = [e.copy() for e in expected]
    wrong[4][0, 1, 0, 3] += 1
    ok, report = harness.check(npz, printed_like_mlir_runner(wrong))
    assert not ok
    assert report[0] == "MISMATCH in 'l1_topk': 1 of 16 values differ"
    assert report[1].startswith("  at [0, 1, 0, 3]: expected")


def test_check_rejects_missing_output_and_wrong_shapes(tmp_path):
    npz, expected = gen(tmp_path, "hadamard", "--shape", "2x8")
    assert harness.check(npz, "")[0] is False
    ok, report = harness.check(npz, printed_like_mlir_runner([expected[0].reshape(8, 2)]))
    assert not ok and "shape" in report[0]


def test_check_exit_status(tmp_path):
    npz, expected = gen(tmp_path, "bucketize", "--shape", "2x32", "--special")
    run = lambda text: subprocess.run([sys.executable, str(HARNESS), "check", npz], input=text,
                                      capture_output=True, text=True)
    good = run(printed_like_mlir_runner(expected))
    assert good.returncode == 0 and good.stdout.strip() == "OK 4 values"
    assert run(printed_like_mlir_runner([expected[0] ^ 1])).returncode == 1


# --- tolerances -----------------------------------------------------------------
# A plausible correct implementation computes in f32 with a different order of
# operations than the reference; the default tolerances must accept it. A wrong
# one must still fail.

def f32_fwht(x):
    """Orthonormal FWHT by f32 butterflies, as a kernel would compute it."""
    y = np.array(x, dtype=np.float32)
    D, h = y.shape[-1], 1
    while h < D:
        y = y.reshape(*y.shape[:-1], D // (2 * h), 2, h)
        a, b = y[..., 0, :], y[..., 1, :]
        y = np.stack([a + b, a - b], axis=-2).reshape(*y.shape[:-3], D)
        h *= 2
    return y * np.float32(1 / np.sqrt(D))


def assert_accepted(want, got, elem, rtol=None, atol=None):
    got = np.asarray(got, dtype=np.float64)
    printed = np.array(["%g" % v for v in got.reshape(-1)], dtype=np.float64).reshape(got.shape)
    bad = runner_output.mismatches(np.asarray(want, np.float64), printed, elem, rtol, atol)
    assert not bad.any(), runner_output.describe("case", np.asarray(want, np.float64), printed, bad)


@pytest.mark.parametrize("elem", ["f32", "f16", "bf16"])
@pytest.mark.parametrize("D", [2, 64, 256])
def test_tolerances_accept_f32_hadamard(elem, D):
    rng = np.random.default_rng(D)
    for _ in range(5):
        x = cases.random_floats(rng, (4, 8, D), elem)
        once = ref.round_to(f32_fwht(x), elem)
        assert_accepted(ref.hadamard(x, dtype=elem), once, elem)
        # The involution case compares hadamard twice with x itself.
        twice = ref.round_to(f32_fwht(once), elem)
        u = cases.ULP[elem]
        rtol, atol = (1e-5, 1e-5 * np.abs(x).max()) if elem == "f32" else (u, 4 * u * np.abs(x).max())
        assert_accepted(x, twice, elem, rtol, atol)


def f32_sparse_attn(q, k, v, idx, scale):
    """sparse_attn for Hq == Hkv and per-head indices, in f32 with an online softmax."""
    B, H, M, D = q.shape
    out = np.zeros((B, H, M, v.shape[-1]), dtype=np.float32)
    for b, h, m in np.ndindex(B, H, M):
        running_max, total = np.float32(-np.inf), np.float32(0)
        acc = np.zeros(v.shape[-1], dtype=np.float32)
        for j in idx[b, h, m]:
            if not 0 <= j < k.shape[2]:
                continue
            s = np.float32(scale) * np.dot(q[b, h, m].astype(np.float32), k[b, h, j].astype(np.float32))
            new_max = max(running_max, s)
            correction = np.exp(running_max - new_max, dtype=np.float32)
            p = np.exp(s - new_max, dtype=np.float32)
            acc = acc * correction + p * v[b, h, j].astype(np.float32)
            total = total * correction + p
            running_max = new_max
        if total > 0:
            out[b, h, m] = acc / total
    return out


@pytest.mark.parametrize("elem", ["f32", "f16", "bf16"])
def test_tolerances_accept_f32_sparse_attn(elem):
    rng = np.random.default_rng(7)
    B, H, M, N, D, K = 1, 2, 2, 48, 64, 24
    q, k, v = (cases.random_floats(rng, s, elem) for s in ((B, H, M, D), (B, H, N, D), (B, H, N, D)))
    idx = np.stack([np.stack([rng.permutation(N)[:K] for _ in range(M)]) for _ in range(H)])[None]
    got = ref.round_to(f32_sparse_attn(q, k, v, idx, 1 / 8), elem)
    assert_accepted(ref.sparse_attn(q, k, v, idx, dtype=elem), got, elem)


@pytest.mark.parametrize("elem", ["f32", "f16", "bf16"])
def test_tolerances_catch_real_errors(elem):
    rng = np.random.default_rng(3)
    x = cases.random_floats(rng, (4, 64), elem)
    want = ref.hadamard(x, dtype=elem).astype(np.float64)
    # Off by 3 ulps of f16/bf16 on the largest value; for f32, whose printed 6 digits
    # blur anything below ~5e-6, off by 1e-4.
    worst = np.unravel_index(np.abs(want).argmax(), want.shape)
    got = want.copy()
    got[worst] *= 1 + (1e-4 if elem == "f32" else 3 * cases.ULP[elem])
    assert runner_output.mismatches(want, got, elem).sum() == 1
    # Forgetting the 1/sqrt(D) normalization fails everywhere but at exact zeros.
    unnormalized = want * 8
    assert runner_output.mismatches(want, unnormalized, elem).mean() > 0.9


@pytest.mark.parametrize("elem", ["f16", "bf16"])
def test_tolerances_catch_arithmetic_in_the_element_type(elem):
    # The ops compute in f32 and round once. A transform that rounds to f16/bf16
    # after every butterfly stage must fail the default tolerance (see ATOL_SCALE).
    rng = np.random.default_rng(4)
    x = cases.random_floats(rng, (4, 16, 64), elem)
    y = np.asarray(x, dtype=np.float64)
    h = 1
    while h < 64:
        y = y.reshape(4, 16, 64 // (2 * h), 2, h)
        y = np.stack([y[..., 0, :] + y[..., 1, :], y[..., 0, :] - y[..., 1, :]], axis=-2)
        y = ref.round_to(y.reshape(4, 16, 64), elem).astype(np.float64)
        h *= 2
    stepwise = ref.round_to(y / 8, elem)
    want = ref.hadamard(x, dtype=elem).astype(np.float64)
    assert runner_output.mismatches(want, stepwise.astype(np.float64), elem).any()
