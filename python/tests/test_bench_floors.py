"""bench/steps/measure.py's floors (the benchmark's two floors: bytes at the
copy bandwidth, population counts at the chip's rate) against hand-derived
numbers; the module needs no GPU and no torch for them."""

import pytest

from adamas.compile import DecodeStep
from conftest import load_bench_script


def load():
    return load_bench_script("measure")


MHA = DecodeStep(q_heads=32, kv_heads=32, dims=128, k=256)
GQA = DecodeStep(q_heads=32, kv_heads=8, dims=128, k=256)


def test_popcounts_per_distance_by_bits():
    m = load()
    # 2 bits at D = 128: 4 groups of 32 dims, 2 popcounts each.
    assert m.popcounts_per_distance(MHA) == 8
    # 1 bit at D = 64: 2 groups, 1 each; 3 bits at D = 64: 2 groups x 7
    # thermometer planes.
    assert m.popcounts_per_distance(DecodeStep(q_heads=8, kv_heads=8, dims=64, k=64,
                                               bits=1)) == 2
    assert m.popcounts_per_distance(
        DecodeStep(q_heads=8, kv_heads=8, dims=64, k=64, bits=3,
                   thresholds=(-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5))) == 14


def test_popcount_floor_hand_derived():
    m = load()
    rate = 16 * 132 * 1.98e9            # popcounts per second
    # B=1 MHA 32K: 32 heads x 32768 keys x 8 popcounts = 8388608.
    assert m.popcount_floor_us(MHA, 1, 32768) == pytest.approx(8388608 / rate * 1e6)
    assert m.popcount_floor_us(MHA, 1, 32768) == pytest.approx(2.006, abs=1e-3)
    # B=16 32/8 per head: every query head against its KV head's keys:
    # 16 x 32 x 32768 x 8 = 134217728 popcounts, ~32.1 us.
    assert m.popcount_floor_us(GQA, 16, 32768) == pytest.approx(32.096, abs=1e-3)
    # shared_group computes the same distances (it keeps the minimum).
    shared = DecodeStep(q_heads=32, kv_heads=8, dims=128, k=256, shared_group=True)
    assert m.popcount_floor_us(shared, 16, 32768) == m.popcount_floor_us(GQA, 16, 32768)


def test_byte_floor_hand_derived():
    m = load()
    # Codes 1 x 32 x 32768 x 8 words x 4 B = 33554432; K and V rows of the
    # 256 selected positions per head: 32 x 256 x (128 + 128) x 2 B = 4194304.
    assert m.byte_floor_us(MHA, 1, 32768) == pytest.approx(
        (33554432 + 4194304) / 4.23e12 * 1e6)
