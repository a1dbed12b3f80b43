"""The GPU check's compiled functions and the shapes each is run at.

Every spec is compiled once with dynamic B and N (`batch=None, capacity=None`)
into five host functions: the whole decode step, and the encode, select and
attend kernels alone, and the encode kernel as a plain Hadamard transform (so a wrong index is caught by the select check exactly,
not blurred by the attention). RUNS lists the (B, N, lengths) each spec is
run at; `lengths` "full" is N for every batch row, "ragged" spreads the rows
over [0, N] including 0 and a few below k.
"""

from adamas.compile import DecodeStep

# name -> spec. Together they cover (issue 7): Hq/Hkv 32/32, 32/8, 28/4; D 64
# and 128; bits 1/2/3; M 1 and 4; k 64/256/1024; f16, bf16 (and f32);
# sink/recent; shared_group; per-head thresholds.
SPECS = {
    "mha_d128_k256": DecodeStep(q_heads=32, kv_heads=32, dims=128, k=256, sink=4, recent=16),
    "gqa_d128_k256": DecodeStep(q_heads=32, kv_heads=8, dims=128, k=256),
    "gqa_shared_d128_k256": DecodeStep(q_heads=32, kv_heads=8, dims=128, k=256,
                                       shared_group=True, sink=4, recent=16),
    "g7_d64_b3_m4_bf16": DecodeStep(q_heads=28, kv_heads=4, dims=64, k=64, bits=3, rows=4,
                                    dtype="bf16", sink=2, recent=4,
                                    thresholds=(-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5)),
    "g7_shared_d64_b1_k1024_bf16": DecodeStep(q_heads=28, kv_heads=4, dims=64, k=1024, bits=1,
                                              rows=4, dtype="bf16", shared_group=True),
    "mha_d128_k1024_perhead_bf16": DecodeStep(q_heads=32, kv_heads=32, dims=128, k=1024,
                                              dtype="bf16", per_head_thresholds=True,
                                              thresholds=(-0.75, 0.0, 0.75), sink=8, recent=8),
    "gqa_shared_d64_k64_m4_b1": DecodeStep(q_heads=32, kv_heads=8, dims=64, k=64, bits=1,
                                           rows=4, shared_group=True, recent=4),
    "mha_d128_k64_f32": DecodeStep(q_heads=32, kv_heads=32, dims=128, k=64, dtype="f32",
                                   thresholds=(-0.75, 0.0, 0.75)),
}

# spec -> [(B, N, lengths)]; the large N only where the spec is a DESIGN 8 shape.
RUNS = {
    "mha_d128_k256": [(1, 1000, "full"), (4, 4096, "ragged"), (1, 32768, "full"),
                      (1, 131072, "full")],
    "gqa_d128_k256": [(1, 1000, "full"), (4, 4096, "ragged"), (16, 32768, "ragged")],
    "gqa_shared_d128_k256": [(1, 4096, "full"), (16, 32768, "ragged")],
    "g7_d64_b3_m4_bf16": [(1, 1000, "full"), (4, 4096, "ragged")],
    "g7_shared_d64_b1_k1024_bf16": [(1, 1000, "ragged"), (4, 4096, "ragged")],
    "mha_d128_k1024_perhead_bf16": [(1, 4096, "full"), (4, 32768, "ragged")],
    "gqa_shared_d64_k64_m4_b1": [(4, 1000, "ragged"), (1, 4096, "full")],
    "mha_d128_k64_f32": [(1, 1000, "full"), (4, 4096, "ragged")],
}

KINDS = ("step", "encode", "select", "attend", "hadamard")

# Specs also compiled into a carried artifact cache (adamas.compile.decode_step),
# which timing.py loads from disk on the GPU machine.
CACHED = ("mha_d128_k256", "gqa_d128_k256", "gqa_shared_d128_k256")


def function_name(spec_name, kind):
    return f"{kind}_{spec_name}"


def torch_functions():
    """(kind, spec, name) of what bench/steps/torch_check.py runs through
    adamas.torch, built the way adamas.torch builds them (adamas.compile.step_spec),
    so that prepare.py can compile them into the carried cache."""
    from adamas import compile as ac
    out = []
    for per_head in (False, True):
        step = ac.step_spec(32, 8, 128, 128, 1, "f16", 256, 2, None, sink=4, recent=16,
                            per_head_thresholds=per_head)
        encode = ac.step_spec(8, 8, 128, 128, 1, "f16", 1, 2, ac.DEFAULT_THRESHOLDS[2],
                              recent=0, per_head_thresholds=per_head)
        out.append(("step", step, "adamas_decode_step"))
        out.append(("encode", encode, "adamas_encode_keys"))
    return out
