"""The GPU check's compiled functions and the shapes each is run at.

Every spec is compiled once with dynamic B and N (`batch=None, capacity=None`)
into five host functions: the whole decode step, and the encode, select and
attend kernels alone, and the encode kernel as a plain Hadamard transform (so a wrong index is caught by the select check exactly,
not blurred by the attention). RUNS lists the (B, N, lengths) each spec is
run at; `lengths` "full" is N for every batch row, "ragged" spreads the rows
over [0, N] including 0 and a few below k, "ties" is "full" with every key
of a head equal (bench/steps/check.py's key_prototypes).
"""

import os

from adamas.compile import DecodeStep

# name -> spec. Together they cover (issue 7): Hq/Hkv 32/32, 32/8, 28/4; D 64
# and 128 (and 256); bits 1/2/3; M 1 and 4; k 64/128/256/1024; f16, bf16 (and f32);
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
    # G = 2 with shared_group at D = 256: the tensor-core distances' minimum
    # over a quad's lanes and two code groups per lane.
    "g2_shared_d256_k128": DecodeStep(q_heads=16, kv_heads=8, dims=256, k=128,
                                      shared_group=True, sink=4, recent=8),
}

# spec -> [(B, N, lengths)]; the large N only where the spec is a DESIGN 8 shape
# (and 256K, where the grid-synchronised selection's chunks outgrow its
# shared memory: 16K positions per chunk).
RUNS = {
    "mha_d128_k256": [(1, 1000, "full"), (4, 4096, "ragged"), (1, 32768, "full"),
                      (1, 131072, "full"), (1, 262144, "full"), (4, 32768, "ties")],
    "gqa_d128_k256": [(1, 1000, "full"), (4, 4096, "ragged"), (1, 32768, "full"),
                      (16, 32768, "ragged"), (20, 4096, "ragged")],
    "gqa_shared_d128_k256": [(1, 4096, "full"), (16, 32768, "ragged"),
                             (40, 8192, "ragged")],
    "g7_d64_b3_m4_bf16": [(1, 1000, "full"), (4, 4096, "ragged")],
    "g7_shared_d64_b1_k1024_bf16": [(1, 1000, "ragged"), (4, 4096, "ragged"),
                                    (8, 2048, "ragged")],
    "mha_d128_k1024_perhead_bf16": [(1, 4096, "full"), (4, 32768, "ragged")],
    "gqa_shared_d64_k64_m4_b1": [(4, 1000, "ragged"), (1, 4096, "full")],
    "mha_d128_k64_f32": [(1, 1000, "full"), (4, 4096, "ragged"), (32, 1000, "ragged")],
    "g2_shared_d256_k128": [(1, 1000, "full"), (3, 8192, "ragged")],
}

# Specs compiled with more pipeline options (adamas.compile.pipeline_options).
# By default on sm_90 an attention of <= 16 splits per row and one head per
# CTA merges its splits in a cluster (one kernel) while its grid fits two
# waves (B = 1 and 4 above: 256 and 1024 CTAs; CTAs of several heads, one
# wave), else in a merge kernel (shared_group, k = 1024); grids of many
# rows take the long splits instead (B = 16 of gqa_d128_k256: 1024 CTAs of
# 2 splits where the short splits made 4096, merged in their cluster: one
# wave of 8 per SM; B = 20, 1280 CTAs, its partial and merge kernels;
# B = 32 of mha_d128_k64_f32: one split; with shared_group's tensor-core
# scores a warp per 16 slots: B = 16 of gqa_shared_d128_k256, 4 splits
# merged in their cluster (one wave), B = 40 its partial and merge kernels,
# and B = 8 of g7_shared_d64_b1_k1024_bf16, 16 splits of 7 heads),
# and l1_topk is three kernels, or, where a histogram CTA ranks one selection
# row and its grid fits the chip at once, one grid-synchronised kernel
# (select-grid-sync; the MHA, shared_group and G = 2 specs here: where the
# attention does not compact, and for every standalone select);
# cluster_select makes an MHA selection one cluster kernel, and
# max_cluster_size=0 turns clusters off (two attention kernels, as on sm_80).
# Every form is checked on the GPU: the DESIGN 8 MHA shape with the default
# (the grid-synchronised selection, also under the sanitizers), the cluster
# selection with clusters of <= 4, no clusters.
PIPELINE_OPTIONS = {
    "mha_d128_k1024_perhead_bf16": {"max_cluster_size": 4, "cluster_select": True},
    "mha_d128_k64_f32": {"max_cluster_size": 0},
}

KINDS = ("step", "encode", "select", "attend", "hadamard")

# Specs also compiled into a carried artifact cache (adamas.compile.decode_step),
# which timing.py loads from disk on the GPU machine.
CACHED = ("mha_d128_k256", "gqa_d128_k256", "gqa_shared_d128_k256")
# The same steps compiled with these options too (timing.py times the step
# with each beside the default: an A/B in one run of the cluster forms).
STEP_VARIANTS = ({"max_cluster_size": 0}, {"l2_cache_hints": False},
                 {"attend_long_splits": False}, {"attend_tensor_core_dots": False},
                 {"select_encodes_queries": False},
                 {"attend_compacts_selection": False},
                 {"select_releases_late": False},
                 {"select_pipelines_keys": False},
                 {"attend_async_cluster_merge": False},
                 {"select_grid_sync": False},
                 {"attend_async_cluster_compaction": False},
                 {"attend_cluster_waves": 1},
                 {"attend_long_form_tensor_core_dots": False},
                 {"attend_softmax_in_quads": False},
                 {"attend_long_form_cluster_merge": False},
                 {"select_async_key_copies": True},
                 {"select_short_pass_key_copies": False},
                 {"select_precompacts_candidates": True})


def variant_label(options):
    return " ".join(f"{k.replace('_', '-')}={v}" for k, v in options.items())


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


# --- adamas.torch.hf (bench/steps/hf_check.py, examples/hf_generate.py) ----------

# Tiny random-weight Llama-family models of hf_check.py: MHA and GQA (G = 4
# and 7), D = 128 and 64, fp16 and bf16.
HF_CHECK_MODELS = {
    "llama_mha": dict(arch="llama", hidden=512, heads=4, kv_heads=4, head_dim=128, layers=4,
                      dtype="f16"),
    "mistral_gqa": dict(arch="mistral", hidden=1024, heads=8, kv_heads=2, head_dim=128,
                        layers=4, dtype="f16"),
    "qwen2_gqa": dict(arch="qwen2", hidden=896, heads=14, kv_heads=2, head_dim=64, layers=4,
                      dtype="bf16"),
}
# 64: sparse; 256: the default Settings (attn_implementation="adamas" without
# enable()); 2048: at least the whole context of the check (equals dense).
HF_CHECK_BUDGETS = (64, 256, 2048)


def _example_module():
    import importlib.util
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir,
                        "examples", "hf_generate.py")
    spec = importlib.util.spec_from_file_location("hf_generate", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def hf_functions():
    """(kind, spec, name) of everything adamas.torch.hf runs in hf_check.py
    and in examples/hf_generate.py's presets and budgets (the default
    Settings otherwise), as adamas.hf_settings.kernel_functions lists them,
    without duplicates."""
    from adamas.hf_settings import Settings, kernel_functions
    wanted = []
    for m in HF_CHECK_MODELS.values():
        for budget in HF_CHECK_BUDGETS:
            wanted.append((m, m["dtype"], Settings(budget=budget)))
    example = _example_module()
    for m in example.PRESETS.values():
        for budget in example.BUDGETS:
            for dtype in example.DTYPES:
                wanted.append((m, dtype, Settings(budget=budget)))
        # --no-calibrate (fixed thresholds) at the default budget.
        wanted.append((m, "f16", Settings(budget=256, calibrate=False)))
    out, seen = [], set()
    for m, dtype, settings in wanted:
        for kind, spec, name in kernel_functions(m["heads"], m["kv_heads"], m["head_dim"],
                                                 dtype, settings):
            key = (kind, repr(spec))
            if key not in seen:
                seen.add(key)
                out.append((kind, spec, name))
    return out


def module_ir(name, spec, kinds=KINDS):
    """The spec's functions (`kinds` of KINDS) in one module, named
    function_name(name, kind)."""
    from adamas import compile as ac
    rows_shape = [None, spec.kv_heads, spec.rows]
    make = {
        "step": lambda n: ac.decode_step_ir(spec, n),
        "encode": lambda n: ac.encode_ir(spec, rows_shape, n, per_head=spec.per_head_thresholds),
        "select": lambda n: ac.select_ir(spec, n),
        "attend": lambda n: ac.attend_ir(spec, n),
        "hadamard": lambda n: ac.hadamard_ir(spec, rows_shape, n),
    }
    return "\n".join(make[kind](function_name(name, kind)) for kind in kinds)


# --- bench/steps/bench.py (issue 10): the sweeps ---------------------------------------

# Three families at D = 128, fp16, 2 bits, M = 1; sink/recent as the DESIGN 8
# specs above (the k = 256 members are those specs).
BENCH_K = (64, 256, 1024, 4096)
BENCH_N = (8192, 32768, 131072, 524288)
BENCH_B = (1, 4, 16, 64)
BENCH_FAMILIES = {  # family -> (label, spec for a k)
    "mha": ("32/32", lambda k: DecodeStep(q_heads=32, kv_heads=32, dims=128, k=k, sink=4,
                                          recent=16)),
    "gqa": ("32/8 per head", lambda k: DecodeStep(q_heads=32, kv_heads=8, dims=128, k=k)),
    "gqa_shared": ("32/8 shared", lambda k: DecodeStep(q_heads=32, kv_heads=8, dims=128, k=k,
                                                       shared_group=True, sink=4, recent=16)),
}
# The functions bench.py times per spec, compiled into one module each.
BENCH_KINDS = ("step", "encode", "select", "attend")


def bench_spec_name(family, k):
    return f"{family}_d128_k{k}"


BENCH_SPECS = {bench_spec_name(f, k): make(k)
               for f, (_, make) in BENCH_FAMILIES.items() for k in BENCH_K}
for _name, _spec in BENCH_SPECS.items():   # one name, one spec
    assert _name not in SPECS or SPECS[_name] == _spec, _name


def bench_module_name(spec_name):
    return f"bench_{spec_name}"


def _kilo(n):
    return f"{n // 1024}K" if n % 1024 == 0 else str(n)


def bench_label(spec_name, B, N):
    family, k = spec_name.rsplit("_d128_k", 1)
    return f"B={B} {BENCH_FAMILIES[family][0]} N={_kilo(N)} k={k}"


def bench_shape(spec_name, B, N):
    """What the inputs of a case depend on: (q heads, kv heads, B, N)."""
    spec = BENCH_SPECS[spec_name]
    return (spec.q_heads, spec.kv_heads, B, N)


def bench_cases(quick=False):
    """[(spec name, B, N, groups)] in the order bench.py runs them (grouped by
    the input shape, so one set of inputs serves every spec of a shape).
    Groups: "design" (DESIGN 8), "k" (k sweep, N = 32K), "N" (N sweep,
    k = 256), "B" (B sweep, 32/8, N = 32K, k = 256), "grid" (the plot:
    k x N at B = 1 for 32/32 and 32/8 per head; only the step is timed for
    a case that is in no other group). quick: the design cases and the N
    sweep up to 128K."""
    name = bench_spec_name
    wanted = []  # (spec, B, N, group)
    for f, N in (("mha", 32768), ("mha", 131072), ("gqa", 32768), ("gqa_shared", 32768)):
        wanted.append((name(f, 256), 1, N, "design"))
    for f in ("gqa", "gqa_shared"):
        wanted.append((name(f, 256), 16, 32768, "design"))
    for f in BENCH_FAMILIES:
        for N in BENCH_N:
            if not quick or N <= 131072:
                wanted.append((name(f, 256), 1, N, "N"))
    if not quick:
        for f in BENCH_FAMILIES:
            for k in BENCH_K:
                wanted.append((name(f, k), 1, 32768, "k"))
        for f in ("gqa", "gqa_shared"):
            for B in BENCH_B:
                wanted.append((name(f, 256), B, 32768, "B"))
        for f in ("mha", "gqa"):
            for k in BENCH_K:
                for N in BENCH_N:
                    wanted.append((name(f, k), 1, N, "grid"))
    merged = {}
    for spec, B, N, group in wanted:
        merged.setdefault((spec, B, N), []).append(group)
    # By input shape, shapes in order of first appearance (the design cases
    # first: a run cut short by its time budget still has them).
    shapes = {}
    for key in merged:
        shapes.setdefault(bench_shape(*key), []).append(key)
    order = [key for keys in shapes.values() for key in keys]
    return [(spec, B, N, tuple(dict.fromkeys(merged[(spec, B, N)]))) for spec, B, N in order]


# --- bench/steps/e2e.py (issue 10): what the model runs through adamas.torch --------

E2E_K, E2E_SINK, E2E_RECENT = 256, 4, 16
E2E_CHECK_K = 1024          # the k >= context check (context 512)


def e2e_functions():
    """(kind, spec, name) that e2e.py's adamas.torch calls need in the cache:
    the steps (32/32; 32/8 per head and shared_group) at E2E_K and at
    E2E_CHECK_K, and CodeCache.prefill's encode for 32 and 8 KV heads."""
    from adamas import compile as ac
    out = []
    for kv, shared in ((32, False), (8, False), (8, True)):
        for k in (E2E_K, E2E_CHECK_K):
            out.append(("step", ac.step_spec(32, kv, 128, 128, 1, "f16", k, 2, None,
                                             sink=E2E_SINK, recent=E2E_RECENT,
                                             shared_group=shared), "adamas_decode_step"))
    for kv in (32, 8):
        out.append(("encode", ac.step_spec(kv, kv, 128, 128, 1, "f16", 1, 2,
                                           ac.DEFAULT_THRESHOLDS[2], recent=0),
                    "adamas_encode_keys"))
    return out


# --- bench/accuracy.py --kernel-check (issue 9): the byte-level LM's decode --------

# The byte-level LM of bench/accuracy.py (byte_lm): 4 query / 2 KV heads of
# dim 128. Its kernel check decodes in fp16 with the perplexity policy's
# selection rule: no sink, the row's own position always (recent = 1), k =
# each perplexity budget; 2 bits, calibrated (per KV head) and fixed thresholds.
ACCURACY_Q_HEADS, ACCURACY_KV_HEADS, ACCURACY_HEAD_DIM = 4, 2, 128
ACCURACY_BUDGETS = (16, 64, 128, 256)
ACCURACY_DTYPE, ACCURACY_BITS = "f16", 2
ACCURACY_SINK, ACCURACY_RECENT = 0, 1


def accuracy_functions(budgets=ACCURACY_BUDGETS):
    """(kind, spec, name) that bench/accuracy.py --kernel-check requests
    through adamas.torch: decode_attention's step (M = 1, scale default) per
    budget, and CodeCache.prefill's encode, each with per-head (calibrated)
    and fixed thresholds. Built exactly as adamas.torch builds them: a
    CodeCache brings its thresholds (the fixed default) as floats."""
    from adamas import compile as ac
    fixed = [float(t) for t in ac.DEFAULT_THRESHOLDS[ACCURACY_BITS]]
    Hq, Hkv, D = ACCURACY_Q_HEADS, ACCURACY_KV_HEADS, ACCURACY_HEAD_DIM
    out = []
    for per_head in (True, False):
        for k in budgets:
            out.append(("step", ac.step_spec(Hq, Hkv, D, D, 1, ACCURACY_DTYPE, k, ACCURACY_BITS,
                                             fixed, ACCURACY_SINK, ACCURACY_RECENT, False, None,
                                             per_head), "adamas_decode_step"))
        out.append(("encode", ac.step_spec(Hkv, Hkv, D, D, 1, ACCURACY_DTYPE, 1, ACCURACY_BITS,
                                           tuple(fixed), recent=0,
                                           per_head_thresholds=per_head),
                    "adamas_encode_keys"))
    return out
