"""Hand-derived checks of adamas.reference (DESIGN.md section 2).

Every expected value here is worked out by hand in the comment next to it,
not computed by the code under test.
"""

import math

import numpy as np
import pytest

from adamas import reference as ref


# --- bf16 rounding -------------------------------------------------------------

def test_round_to_bf16_ties_to_even_and_specials():
    # bf16 keeps 7 mantissa bits: near 1 the spacing is 2^-7.
    x = [1.0,
         1 + 2**-8,        # halfway between 1 and 1+2^-7: even mantissa (1) wins
         1 + 3 * 2**-8,    # halfway between 1+2^-7 and 1+2^-6: even (1+2^-6) wins
         1 + 2**-8 + 2**-20,  # just above halfway: rounds up
         np.inf, -np.inf,
         3.4e38]           # above the largest bf16 (~3.39e38): overflows to inf
    got = ref.round_to_bf16(x)
    assert got.dtype == np.float32
    assert got.tolist() == [1.0, 1.0, 1 + 2**-6, 1 + 2**-7, np.inf, -np.inf, np.inf]
    assert np.isnan(ref.round_to_bf16(np.nan))
    # A NaN with a payload only in the low 16 bits must stay NaN, not become inf.
    tiny_payload_nan = np.array([0x7F800001], dtype=np.uint32).view(np.float32)
    assert np.isnan(ref.round_to_bf16(tiny_payload_nan)).all()


# --- hadamard ------------------------------------------------------------------

def test_hadamard_unit_vectors_d4():
    # Rows of H_4 / 2 in Sylvester order: H_4 = [[1,1,1,1],[1,-1,1,-1],[1,1,-1,-1],[1,-1,-1,1]].
    got = ref.hadamard(np.eye(4, dtype=np.float32))
    expected = 0.5 * np.array([[1, 1, 1, 1],
                               [1, -1, 1, -1],
                               [1, 1, -1, -1],
                               [1, -1, -1, 1]], dtype=np.float32)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)


def test_hadamard_d2_rounds_once_to_f16_and_bf16():
    # [1, 0] -> [1/sqrt2, 1/sqrt2] = 0.70710678...
    # f16 near 0.7 has spacing 2^-11: 0.70710678 * 2048 = 1448.15 -> 1448/2048 = 0.70703125.
    # bf16 near 0.7 has spacing 2^-8: 0.70710678 * 256 = 181.02 -> 181/256 = 0.70703125.
    got16 = ref.hadamard(np.array([1.0, 0.0], dtype=np.float16))
    assert got16.dtype == np.float16
    assert got16.tolist() == [0.70703125, 0.70703125]
    gotbf = ref.hadamard(np.array([1.0, 0.0], dtype=np.float32), dtype="bf16")
    assert gotbf.tolist() == [0.70703125, 0.70703125]
    # [1, 1] -> [2/sqrt2, 0] = [sqrt2, 0]; in f32 sqrt2 = 1.41421354.
    assert ref.hadamard(np.array([1.0, 1.0], dtype=np.float32)).tolist() == [
        float(np.float32(math.sqrt(2))), 0.0]


def test_hadamard_is_an_involution_up_to_rounding():
    rng = np.random.default_rng(0)
    for D in (2, 8, 256):
        x = rng.standard_normal((3, D)).astype(np.float32)
        twice = ref.hadamard(ref.hadamard(x))
        np.testing.assert_allclose(twice, x, rtol=0, atol=1e-6 * np.abs(x).max())


def test_hadamard_large_d_butterfly_matches_definition():
    # D = 8192 takes the butterfly path; a unit vector e_j maps to row j of H / sqrt(D),
    # whose entry i is (-1)^popcount(i & j) / sqrt(D), checked here entry by entry.
    D, j = 8192, 0b1010000000101
    x = np.zeros(D, dtype=np.float32)
    x[j] = 1.0
    got = ref.hadamard(x)
    signs = np.array([-1.0 if bin(i & j).count("1") % 2 else 1.0 for i in range(D)])
    np.testing.assert_array_equal(got, (signs / math.sqrt(D)).astype(np.float32))


def test_hadamard_rejects_non_power_of_two():
    with pytest.raises(ValueError):
        ref.hadamard(np.zeros((2, 6), dtype=np.float32))


# --- bucketize -----------------------------------------------------------------

def _int32(u):
    """The int32 with the bit pattern of unsigned 32-bit `u`."""
    return int(np.array([u], dtype=np.uint32).view(np.int32)[0])


def test_bucketize_b2_exact_thresholds_nan_inf_and_packed_words():
    # thresholds [-1, 0, 1]; code = #{t : x > t}, strict.
    x = np.zeros(32, dtype=np.float32)  # 0 > -1 only: code 1
    x[:10] = [-2, -1, -0.5, 0, 0.5, 1, 2, np.nan, np.inf, -np.inf]
    # codes:   0   0    1    1   2   2  3   0     3     0       then 1 for dims 10..31
    # low plane (bit 0 of code): dims 2, 3, 6, 8 and 10..31
    #   = 0x4 + 0x8 + 0x40 + 0x100 + 0xFFFFFC00 = 0xFFFFFD4C (bit 31 set: negative)
    # high plane (bit 1 of code): dims 4, 5, 6, 8 = 0x10 + 0x20 + 0x40 + 0x100 = 0x170
    got = ref.bucketize(x, [-1.0, 0.0, 1.0])
    assert got.dtype == np.int32
    assert got.tolist() == [_int32(0xFFFFFD4C), 0x170]
    assert _int32(0xFFFFFD4C) == -692


def test_bucketize_b1_and_b3():
    # b = 1, thresholds [0]: code 1 iff x > 0. Dims 0..3 = [0, 1e-30, -0.0, inf], rest -1.
    x = np.full(32, -1.0, dtype=np.float32)
    x[:4] = [0.0, 1e-30, -0.0, np.inf]
    assert ref.bucketize(x, [0.0]).tolist() == [0b1010]
    # b = 3, thresholds [-3..3]: dim 0 = 2.5 -> 6 (0b110), dim 31 = 3 -> 6, dim 30 = inf -> 7,
    # rest -inf -> 0. Planes: p0 has bit 30; p1 and p2 have bits 0, 30, 31.
    x = np.full(32, -np.inf, dtype=np.float32)
    x[0], x[30], x[31] = 2.5, np.inf, 3.0
    got = ref.bucketize(x, [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0])
    assert got.tolist() == [1 << 30, _int32(0xC0000001), _int32(0xC0000001)]


def test_bucketize_word_order_over_groups():
    # D = 64, b = 2: words are [g0 lo, g0 hi, g1 lo, g1 hi].
    # dim 33 (group 1, bit 1) = 0.5 -> code 2 -> g1 hi bit 1; dim 32 = -0.5 -> code 1 -> g1 lo bit 0;
    # dim 0 = 5 -> code 3 -> bit 0 of g0 lo and g0 hi. Everything else -5 -> code 0.
    x = np.full(64, -5.0, dtype=np.float16)
    x[0], x[32], x[33] = 5.0, -0.5, 0.5
    assert ref.bucketize(x, [-1.0, 0.0, 1.0]).tolist() == [1, 1, 1, 2]


def test_bucketize_head_thresholds_override_per_head():
    # Input <1 x 3 x 1 x 32>, all 5. Head 0 thresholds [-1, 0, 1] -> code 3 everywhere
    # (both planes all ones = -1); head 1 [10, 20, 30] -> code 0; head 2 is an unordered
    # row [0, 10, -10]: 5 exceeds 0 and -10 -> code 2 (low plane 0, high plane all ones).
    x = np.full((1, 3, 1, 32), 5.0, dtype=np.float32)
    rows = np.array([[-1, 0, 1], [10, 20, 30], [0, 10, -10]], dtype=np.float32)
    got = ref.bucketize(x, [100.0, 200.0, 300.0], head_thresholds=rows)
    assert got[0, :, 0].tolist() == [[-1, -1], [0, 0], [0, -1]]


def test_unpack_codes_inverts_hand_written_words():
    # From the b = 2 case above: words [0xFFFFFD4C, 0x170].
    codes = ref.unpack_codes(np.array([_int32(0xFFFFFD4C), 0x170], dtype=np.int32), 2)
    assert codes.tolist() == [0, 0, 1, 1, 2, 2, 3, 0, 3, 0] + [1] * 22


def test_l1_distance_is_true_l1_not_xor_weight():
    # Codes 1 vs 2 differ by 1 in L1 (the XOR approximation would score 3).
    a = ref.pack_codes(np.array([1] + [0] * 31), 2)
    c = ref.pack_codes(np.array([2] + [0] * 31), 2)
    assert ref.l1_distance(a, c, 2) == 1
    d = ref.pack_codes(np.array([3] * 32), 2)
    assert ref.l1_distance(ref.pack_codes(np.zeros(32, dtype=int), 2), d, 2) == 96


# --- l1_topk -------------------------------------------------------------------

def _keys_with_code_sums(sums, bits=2):
    """Key codes <N x W> whose dims 0 and 1 hold codes summing to sums[n], rest 0.

    Against an all-zero query the L1 distance of key n is sums[n].
    """
    top = (1 << bits) - 1
    codes = np.zeros((len(sums), 32), dtype=np.int64)
    for n, s in enumerate(sums):
        codes[n, 0] = min(s, top)
        codes[n, 1] = s - codes[n, 0]
    return ref.pack_codes(codes, bits)


def _zero_query(bits=2, heads=1, M=1):
    return np.zeros((1, heads, M, bits), dtype=np.int32)  # D = 32: W = bits


def _topk(sums, k, lengths=None, M=1, **attrs):
    keys = _keys_with_code_sums(sums)[None, None]
    lengths = np.array([len(sums) if lengths is None else lengths], dtype=np.int32)
    return ref.l1_topk(_zero_query(M=M), keys, lengths, k, **attrs)[0, 0].tolist()


def test_l1_topk_ties_go_to_the_larger_position():
    # distances [2, 1, 1, 3, 1, 0], k = 3, no sink/recent: 0 at pos 5, then three 1s
    # at positions 1, 2, 4 for two slots -> the larger positions 4 and 2.
    assert _topk([2, 1, 1, 3, 1, 0], 3, recent=0) == [[2, 4, 5]]
    # All equal: the most recent k positions.
    assert _topk([1, 1, 1, 1, 1], 2, recent=0) == [[3, 4]]


def test_l1_topk_sink_and_recent_are_always_selected():
    # sink 1 and recent 1 force positions 0 and 5 (distances 2 and 0); the one free slot
    # among 1..4 (distances 1, 1, 3, 1) goes to the tie's larger position, 4.
    assert _topk([2, 1, 1, 3, 1, 0], 3, sink=1, recent=1) == [[0, 4, 5]]
    # Forced positions are taken even when far: distances [9, 0, 0, 0, 9], sink 1 recent 1, k 3.
    assert _topk([9, 0, 0, 0, 9], 3, sink=1, recent=1) == [[0, 3, 4]]
    # sink + recent == k: nothing left to choose.
    assert _topk([9, 0, 0, 0, 9], 2, sink=1, recent=1) == [[0, 4]]


def test_l1_topk_short_rows_select_everything_then_pad():
    # L = 3 <= k = 4: all three positions, then -1.
    assert _topk([5, 5, 5, 5, 5, 5], 4, lengths=3) == [[0, 1, 2, -1]]
    # L == k: all positions, no padding.
    assert _topk([5, 5, 5, 5], 4) == [[0, 1, 2, 3]]


def test_l1_topk_lengths_shorter_than_n_hide_the_tail():
    # N = 8, lengths 6: positions 6, 7 (distance 0) are invisible. recent forces 5;
    # the best two of 0..4 (distances 0, 0, 5, 5, 5) are 0 and 1.
    assert _topk([0, 0, 5, 5, 5, 9, 0, 0], 3, lengths=6) == [[0, 1, 5]]
    # lengths beyond N clamp to N.
    assert _topk([0, 9, 9, 9], 2, lengths=100) == [[0, 3]]


def test_l1_topk_causal_rows():
    # M = 3 queries are the last 3 of lengths = 6 tokens: row m sees L = 4 + m.
    # distances [0, 3, 3, 3, 3, 3], k = 2, recent 1: row m gets position 0 and L-1.
    assert _topk([0, 3, 3, 3, 3, 3], 2, M=3) == [[0, 3], [0, 4], [0, 5]]
    # lengths 1 with M = 3: L = m - 1 clamped -> 0, 0, 1.
    assert _topk([0, 3, 3, 3], 2, lengths=1, M=3) == [[-1, -1], [-1, -1], [0, -1]]


def _two_head_case():
    # Query head 0 has codes 0 on dims 0, 1; query head 1 has codes 3 there. A key whose
    # dims 0, 1 sum to s is at distance s from head 0 and 6 - s from head 1.
    # sums [0, 3, 6, 3, 1, 3] -> head 0: [0, 3, 6, 3, 1, 3], head 1: [6, 3, 0, 3, 5, 3].
    keys = _keys_with_code_sums([0, 3, 6, 3, 1, 3])[None, None]  # <1 x 1 x 6 x 2>
    query = np.zeros((1, 2, 1, 32), dtype=np.int64)
    query[0, 1, 0, :2] = 3
    return ref.pack_codes(query, 2), keys, np.array([6], dtype=np.int32)


def test_l1_topk_gqa_per_query_head():
    # k = 3, recent 1 forces 5. Head 0: best of [0, 3, 6, 3, 1] -> 0, 4.
    # Head 1: best of [6, 3, 0, 3, 5] -> 2, then the 3s at 1 and 3 tie -> 3.
    q, keys, lengths = _two_head_case()
    got = ref.l1_topk(q, keys, lengths, 3)
    assert got.shape == (1, 2, 1, 3)
    assert got[0, :, 0].tolist() == [[0, 4, 5], [2, 3, 5]]


def test_l1_topk_shared_group_uses_the_minimum_over_the_group():
    # min over heads: [0, 3, 0, 3, 1, 3]; best two of 0..4 -> positions 0 and 2.
    q, keys, lengths = _two_head_case()
    got = ref.l1_topk(q, keys, lengths, 3, shared_group=True)
    assert got.shape == (1, 1, 1, 3)
    assert got[0, 0, 0].tolist() == [0, 2, 5]


def test_l1_topk_query_head_h_uses_kv_head_h_div_g():
    # Hq = 4, Hkv = 2 (G = 2). KV head 0: all distances 0 -> ties -> last two [2, 3].
    # KV head 1: distances [0, 1, 2, 3] -> [0, 1]. Query heads 0, 1 -> KV 0; 2, 3 -> KV 1.
    keys = np.stack([_keys_with_code_sums([0, 0, 0, 0]),
                     _keys_with_code_sums([0, 1, 2, 3])])[None]
    got = ref.l1_topk(_zero_query(heads=4), keys, np.array([4], dtype=np.int32), 2, recent=0)
    assert got[0, :, 0].tolist() == [[2, 3], [2, 3], [0, 1], [0, 1]]


def test_l1_topk_bits_1_and_3():
    # b = 3 (W = 3): query dim 0 = 7, keys' dim 0 = [0, 7, 3, 4] -> distances [7, 0, 4, 3].
    q3 = ref.pack_codes(np.array([7] + [0] * 31), 3)[None, None, None]
    k3 = ref.pack_codes(np.array([[c] + [0] * 31 for c in (0, 7, 3, 4)]), 3)[None, None]
    assert ref.l1_topk(q3, k3, np.array([4]), 2, bits=3, recent=0)[0, 0, 0].tolist() == [1, 3]
    # b = 1 (W = 1): query dims 0, 1 = 1; keys (0,0), (1,1), (1,0), (0,1) -> distances
    # [2, 0, 1, 1]; best 0 at 1, then the 1s tie -> 3.
    q1 = ref.pack_codes(np.array([1, 1] + [0] * 30), 1)[None, None, None]
    k1 = ref.pack_codes(np.array([[a, b] + [0] * 30 for a, b in ((0, 0), (1, 1), (1, 0), (0, 1))]), 1)
    assert ref.l1_topk(q1, k1[None, None], np.array([4]), 2, bits=1, recent=0)[0, 0, 0].tolist() == [1, 3]


def test_l1_topk_rejects_bad_attributes():
    keys = _keys_with_code_sums([0, 0, 0, 0])[None, None]
    with pytest.raises(ValueError):
        ref.l1_topk(_zero_query(), keys, np.array([4]), 2, sink=2, recent=1)


# --- sparse_attn and dense_attn --------------------------------------------------

def test_sparse_attn_uniform_weights_skip_padding():
    # q = 0: every score is 0, so the output is the mean of the selected values.
    # indices [0, 2, -1]: mean of v0 = [1, 0] and v2 = [3, 4] -> [2, 2].
    q = np.zeros((1, 1, 1, 2), dtype=np.float32)
    k = np.ones((1, 1, 3, 2), dtype=np.float32)
    v = np.array([[1, 0], [7, 7], [3, 4]], dtype=np.float32)[None, None]
    got = ref.sparse_attn(q, k, v, np.array([[[[0, 2, -1]]]], dtype=np.int32))
    assert got.dtype == np.float32
    assert got[0, 0, 0].tolist() == [2.0, 2.0]


def test_sparse_attn_all_invalid_row_is_zero():
    # Row 0: only out-of-range indices (-1, N = 3, -7) -> zeros. Row 1: index 1 -> v1.
    q = np.ones((1, 1, 2, 2), dtype=np.float32)
    k = np.ones((1, 1, 3, 2), dtype=np.float32)
    v = np.array([[1, 0], [7, 8], [3, 4]], dtype=np.float32)[None, None]
    idx = np.array([[[[-1, 3, -7], [-1, 1, -1]]]], dtype=np.int32)
    assert ref.sparse_attn(q, k, v, idx)[0, 0].tolist() == [[0, 0], [7, 8]]


def test_sparse_attn_scale_explicit_and_default():
    # scores scale * q.k_j = [0, ln 3] -> weights [1/4, 3/4]; values [4, 0], [0, 4] -> [1, 3].
    k = np.array([[0, 0, 0, 0], [math.log(3), 0, 0, 0]], dtype=np.float32)[None, None]
    v = np.array([[4, 0], [0, 4]], dtype=np.float32)[None, None]
    idx = np.array([[[[0, 1]]]], dtype=np.int32)
    q1 = np.array([[[[1, 0, 0, 0]]]], dtype=np.float32)
    np.testing.assert_allclose(ref.sparse_attn(q1, k, v, idx, scale=1.0)[0, 0, 0], [1, 3], rtol=1e-6)
    # Default scale 1/sqrt(4) = 1/2 with q = [2, 0, 0, 0] gives the same scores.
    q2 = 2 * q1
    np.testing.assert_allclose(ref.sparse_attn(q2, k, v, idx)[0, 0, 0], [1, 3], rtol=1e-6)


def test_sparse_attn_gqa_heads_and_index_heads():
    # Hq = 4, Hkv = 2: KV head 0 values are all 1, KV head 1 all 2, so query heads 0, 1
    # read 1s and heads 2, 3 read 2s, whatever the selection.
    q = np.zeros((1, 4, 1, 2), dtype=np.float32)
    k = np.zeros((1, 2, 3, 2), dtype=np.float32)
    v = np.stack([np.ones((3, 2)), 2 * np.ones((3, 2))]).astype(np.float32)[None]
    per_query_head = np.array([[[[0]], [[1]], [[2]], [[-1]]]], dtype=np.int32)  # <1x4x1x1>
    got = ref.sparse_attn(q, k, v, per_query_head)[0, :, 0]
    assert got.tolist() == [[1, 1], [1, 1], [2, 2], [0, 0]]  # head 3's only index is -1
    # Indices with Hkv heads: query heads 2h and 2h+1 share KV head h's selection.
    v2 = np.arange(12, dtype=np.float32).reshape(1, 2, 3, 2)  # KV0 rows [0,1],[2,3],[4,5]; KV1 [6,7],[8,9],[10,11]
    per_kv_head = np.array([[[[2]], [[0]]]], dtype=np.int32)  # KV0 -> row 2, KV1 -> row 0
    got = ref.sparse_attn(q, k, v2, per_kv_head)[0, :, 0]
    assert got.tolist() == [[4, 5], [4, 5], [6, 7], [6, 7]]


def test_sparse_attn_keeps_element_type():
    q = np.zeros((1, 1, 1, 2), dtype=np.float16)
    k = np.zeros((1, 1, 2, 2), dtype=np.float16)
    v = np.array([[1, 0], [0, 1]], dtype=np.float16)[None, None]
    idx = np.array([[[[0, 1]]]], dtype=np.int32)
    got = ref.sparse_attn(q, k, v, idx)
    assert got.dtype == np.float16 and got[0, 0, 0].tolist() == [0.5, 0.5]
    # 1/3 in bf16: 1/3 = 0.0101010101...b; 8 significant bits 1.0101011b * 2^-2 = 0.333984375.
    v3 = np.array([[1, 0], [0, 0], [0, 0]], dtype=np.float32)[None, None]
    got = ref.sparse_attn(np.zeros((1, 1, 1, 2), np.float32), np.zeros((1, 1, 3, 2), np.float32),
                          v3, np.array([[[[0, 1, 2]]]], dtype=np.int32), dtype="bf16")
    assert got[0, 0, 0].tolist() == [0.333984375, 0.0]


def test_dense_attn_is_causal():
    # M = 2, N = 2, q = 0: row 0 sees only position 0 -> v0; row 1 sees both -> mean.
    q = np.zeros((1, 1, 2, 2), dtype=np.float32)
    k = np.ones((1, 1, 2, 2), dtype=np.float32)
    v = np.array([[2, 0], [0, 4]], dtype=np.float32)[None, None]
    assert ref.dense_attn(q, k, v)[0, 0].tolist() == [[2, 0], [1, 2]]
    # lengths 0: nothing visible -> zeros.
    assert ref.dense_attn(q, k, v, lengths=np.array([0]))[0, 0].tolist() == [[0, 0], [0, 0]]


def test_sparse_attn_over_all_visible_positions_equals_dense_attn():
    # Two independent implementations: per-row gather vs. full score matrix with a mask.
    rng = np.random.default_rng(1)
    B, Hq, Hkv, M, N, D = 2, 4, 2, 3, 10, 8
    q = rng.standard_normal((B, Hq, M, D)).astype(np.float32)
    k = rng.standard_normal((B, Hkv, N, D)).astype(np.float32)
    v = rng.standard_normal((B, Hkv, N, 5)).astype(np.float32)
    lengths = np.array([10, 7], dtype=np.int32)
    idx = np.full((B, Hq, M, N), -1, dtype=np.int32)
    for b in range(B):
        for m in range(M):
            L = ref.visible_length(lengths[b], M, m, N)
            idx[b, :, m, :L] = np.arange(L)[::-1]  # order of indices must not matter
    np.testing.assert_allclose(ref.sparse_attn(q, k, v, idx, scale=0.3),
                               ref.dense_attn(q, k, v, lengths, scale=0.3), rtol=1e-6, atol=1e-6)


def test_l1_topk_selection_satisfies_its_definition_on_random_rows():
    # Property check on random inputs: forced positions are in, and every chosen free
    # position beats every unchosen visible free one on (distance, -position).
    rng = np.random.default_rng(5)
    B, Hq, M, N, k, sink, recent = 2, 2, 3, 40, 9, 2, 3
    q = rng.integers(-2**31, 2**31, size=(B, Hq, M, 2), dtype=np.int64).astype(np.int32)
    keys = rng.integers(-2**31, 2**31, size=(B, Hq, N, 2), dtype=np.int64).astype(np.int32)
    lengths = np.array([40, 13], dtype=np.int32)
    got = ref.l1_topk(q, keys, lengths, k, sink=sink, recent=recent)
    for b, h, m in np.ndindex(B, Hq, M):
        L = ref.visible_length(lengths[b], M, m, N)
        row = got[b, h, m].tolist()
        chosen = [j for j in row if j >= 0]
        assert chosen == sorted(chosen) and row[len(chosen):] == [-1] * (k - len(chosen))
        assert len(chosen) == min(L, k)
        if L <= k:
            continue
        forced = set(range(sink)) | set(range(L - recent, L))
        assert forced <= set(chosen)
        d = ref.l1_distance(q[b, h, m], keys[b, h, :L], 2)
        rank = lambda j: (d[j], -j)
        free_in = [j for j in chosen if j not in forced]
        free_out = [j for j in range(L) if j not in forced and j not in chosen]
        assert max(map(rank, free_in)) < min(map(rank, free_out))
