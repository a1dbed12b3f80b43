"""adamas.compile: the decode step's IR, compiling it through the runtime's
artifact cache, and calling compiled functions.

The IR tests need nothing but Python; the compile tests need this checkout's
build (adamas-opt, libadamas_runtime.so, the fake CUDA driver) and the LLVM
tools, as scripts/test.sh provides. Kernels are compiled to PTX (format=isa),
which needs no CUDA toolkit; nothing here runs on a GPU (bench/steps does).
"""

import ctypes
import os
import re
import subprocess

import numpy as np
import pytest

from adamas import compile as ac

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _build():
    build = os.environ.get("ADAMAS_BUILD_DIR") or os.path.join(REPO, "build")
    opt = os.path.join(build, "bin", "adamas-opt")
    runtime = os.path.join(build, "lib", "libadamas_runtime.so")
    fake = os.path.join(build, "runtime", "test", "libadamas_fake_cuda.so")
    missing = [p for p in (opt, runtime, fake) if not os.path.exists(p)]
    if missing:
        if os.environ.get("ADAMAS_BUILD_DIR"):
            pytest.fail(f"ADAMAS_BUILD_DIR lacks {missing}")
        pytest.skip(f"no build: {missing}")
    return opt, runtime, fake


# --- the decode step's IR ----------------------------------------------------------

def test_spec_rejects_what_the_ops_would():
    with pytest.raises(ValueError, match="needs 3 thresholds"):
        ac.DecodeStep(bits=2, thresholds=(0.0,))
    with pytest.raises(ValueError, match="dtype"):
        ac.DecodeStep(dtype="f64")
    with pytest.raises(ValueError, match="multiple of kv_heads"):
        ac.DecodeStep(q_heads=28, kv_heads=8)


def test_decode_step_ir_is_the_design_contract():
    spec = ac.DecodeStep(q_heads=32, kv_heads=8, dims=128, k=256, sink=4, recent=16,
                         shared_group=True, dtype="bf16", batch=2)
    ir = ac.decode_step_ir(spec, "step")
    # Arguments of DESIGN.md 4 in order, N (capacity) dynamic, W = 8 words.
    assert ("func.func @step(%query: tensor<2x32x1x128xbf16>, %new_keys: tensor<2x8x1x128xbf16>, "
            "%keys: tensor<2x8x?x128xbf16>, %values: tensor<2x8x?x128xbf16>, "
            "%code_cache: tensor<2x8x?x8xi32>, %lengths: tensor<2xi32>) "
            "-> (tensor<2x32x1x128xbf16>, tensor<2x8x?x8xi32>)") in ir
    assert "adamas.cache_write" in ir
    assert "k = 256 : i64, bits = 2 : i64, sink = 4 : i64, recent = 16 : i64, shared_group = true" in ir
    # shared_group selects per KV head.
    assert "-> tensor<2x8x1x256xi32>" in ir


def test_decode_step_ir_verifies():
    opt, _, _ = _build()
    for spec in (ac.DecodeStep(), ac.DecodeStep(q_heads=28, kv_heads=4, dims=64, bits=3, rows=4,
                                                 per_head_thresholds=True, dtype="f32")):
        for ir in (ac.decode_step_ir(spec), ac.select_ir(spec), ac.attend_ir(spec),
                   ac.encode_ir(spec, [None, spec.kv_heads, spec.rows], per_head=True),
                   ac.hadamard_ir(spec, [None, spec.kv_heads, spec.rows])):
            proc = subprocess.run([opt, "-verify-diagnostics", "-"], input=ir, text=True,
                                  capture_output=True)
            assert proc.returncode == 0, proc.stderr


def _ptx_with_option_on_and_off(ir, keyword):
    """`ir` lowered to PTX with the codegen option `keyword` (default on) at
    its default and off, after checking that it is adamas-gpu-pipeline's
    option of that name, written only when off."""
    _build()
    flag = keyword.replace("_", "-")
    assert flag not in ac.pipeline_options()
    assert f" {flag}=false" in ac.pipeline_options(**{keyword: False})
    return (ac.lower_ir(ir, format="isa"),
            ac.lower_ir(ir, format="isa", **{keyword: False}))


def test_pipeline_options_reach_the_kernels():
    # tensor_core_distances=False is the pipeline option of that name, and the
    # kernels follow it: a GQA step's histogram pass multiplies on the tensor
    # cores by default (b1 mma.sync in the embedded PTX), with popcounts only
    # when it is off.
    on, off = _ptx_with_option_on_and_off(
        ac.select_ir(ac.DecodeStep(q_heads=8, kv_heads=2, dims=128, k=64)),
        "tensor_core_distances")
    b1 = "mma.sync.aligned.m16n8k256.row.col.s32.b1.b1.s32.and.popc"
    assert b1 in on and b1 not in off


def test_l2_cache_hints_option_reaches_the_kernels():
    # l2_cache_hints (default on) is adamas-gpu-pipeline's l2-cache-hints:
    # the histogram pass reads the key codes with ld.global.cs and the
    # compaction discards the distance lines it has read; off, neither.
    on, off = _ptx_with_option_on_and_off(
        ac.select_ir(ac.DecodeStep(q_heads=8, kv_heads=2, dims=128, k=64)),
        "l2_cache_hints")
    for ptx in ("ld.global.cs.v2.u32", "discard.global.L2"):
        assert ptx in on and ptx not in off, ptx


def test_attend_long_splits_option_reaches_the_kernels():
    # attend_long_splits (default on) is adamas-gpu-pipeline's
    # attend-long-splits: the attention is also built with fewer, longer
    # splits (its own partial and merge kernels); off, only the short form.
    on, off = _ptx_with_option_on_and_off(
        ac.attend_ir(ac.DecodeStep(q_heads=8, kv_heads=2, dims=128, k=256)),
        "attend_long_splits")
    for kernel in ("_partial_long(", "_merge_long("):
        assert kernel in on and kernel not in off, kernel
    assert "_partial(" in on and "_partial(" in off


def test_attend_tensor_core_dots_option_reaches_the_kernels():
    # attend_tensor_core_dots (default on) is adamas-gpu-pipeline's
    # attend-tensor-core-dots: with shared_group in f16 the short partial's
    # scores are m16n8k16 tensor-core products; off (and in the long form,
    # and per head), warp sums of per-lane dots.
    shared = ac.attend_ir(ac.DecodeStep(q_heads=8, kv_heads=2, dims=128, k=256,
                                        shared_group=True))
    on, off = _ptx_with_option_on_and_off(shared, "attend_tensor_core_dots")
    mma = "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32"
    assert mma in on and mma not in off
    per_head = ac.lower_ir(ac.attend_ir(ac.DecodeStep(q_heads=8, kv_heads=2, dims=128,
                                                      k=256)), format="isa")
    assert mma not in per_head


def _kernel_ptx(ptx, suffix):
    """The PTX of the kernel whose name ends with `_<suffix>`."""
    start = ptx.index(f"_{suffix}(")
    end = ptx.find(".entry", start)
    return ptx[start:end if end >= 0 else len(ptx)]


def test_attend_compacts_selection_option_reaches_the_kernels():
    # attend_compacts_selection (default on) is adamas-gpu-pipeline's
    # attend-compacts-selection: in a decode step whose indices only the
    # attention reads, the short attention forms (cluster and partial) can
    # compact their own slots from the selection's distances and plan (two
    # ballots over the plan's chunks, then the compaction's block scans),
    # taking the select kernels' arguments first; the long form reads the
    # indices either way. Off: no ballot in any attention kernel.
    on, off = _ptx_with_option_on_and_off(
        ac.decode_step_ir(ac.DecodeStep(q_heads=8, kv_heads=2, dims=128, k=256)),
        "attend_compacts_selection")
    for form in ("attend0_cluster", "attend0_partial"):
        assert "vote.sync.ballot" in _kernel_ptx(on, form), form
        assert "vote.sync.ballot" not in _kernel_ptx(off, form), form
        # The select kernels' 13 arguments (as 37 parameters: a memref is 5)
        # ahead of the attention's and the flag.
        params = {ptx: _kernel_ptx(ptx, form).split(")", 1)[0].count(".param")
                  for ptx in (on, off)}
        assert params[on] > params[off] + 30, (form, params)
    for ptx in (on, off):
        assert "vote.sync.ballot" not in _kernel_ptx(ptx, "attend0_partial_long")
    # Both still build the compaction kernels (the long form needs them).
    assert "_select0_compact(" in on and "_select0_compact_long(" in on


def test_select_releases_late_option_reaches_the_kernels():
    # select_releases_late (default on) is adamas-gpu-pipeline's
    # select-releases-late: the threshold and compaction kernels let the
    # next kernel launch after their work (loads and stores between their
    # griddepcontrol.wait and launch_dependents); off, right after the wait.
    # Only the option off is written into the pipeline (and cache keys).
    ir = ac.select_ir(ac.DecodeStep(q_heads=8, kv_heads=2, dims=128, k=64))
    assert "select-releases-late" not in ac.pipeline_options()
    assert " select-releases-late=false" in ac.pipeline_options(
        select_releases_late=False)
    early = ac.lower_ir(ir, format="isa", select_releases_late=False)
    late = ac.lower_ir(ir, format="isa")
    for kernel in ("select0_threshold", "select0_compact", "select0_compact_long"):
        for ptx, released_first in ((early, True), (late, False)):
            body = _kernel_ptx(ptx, kernel)
            between = body[body.index("griddepcontrol.wait"):
                           body.index("griddepcontrol.launch_dependents")]
            assert ("st.global" not in between) == released_first, (kernel, released_first)


def _select_hist_both_ways(keyword, flag, default):
    """The histogram kernel's PTX of an MHA and a GQA selection (8 query
    heads, D = 128, k = 64) lowered with the boolean codegen option `keyword`
    (adamas-gpu-pipeline's `flag`, written only off its `default`) at its
    default and flipped: {"mha": (default, flipped), "gqa": (...)}."""
    assert flag not in ac.pipeline_options()
    assert f" {flag}={str(not default).lower()}" in ac.pipeline_options(
        **{keyword: not default})
    out = {}
    for family, kv_heads in (("mha", 8), ("gqa", 2)):
        ir = ac.select_ir(ac.DecodeStep(q_heads=8, kv_heads=kv_heads, dims=128, k=64))
        out[family] = tuple(
            _kernel_ptx(ac.lower_ir(ir, format="isa", **{keyword: v}), "select0_hist")
            for v in (default, not default))
    return out


def test_select_pipelines_keys_option_reaches_the_kernels():
    # select_pipelines_keys (default on) is adamas-gpu-pipeline's
    # select-pipelines-keys: where a histogram CTA ranks one query (MHA) the
    # popcount pass loads its first keys before its first barrier and the
    # next keys while it ranks the current ones, at 4 CTAs per SM
    # (.minnctapersm); GQA's tensor-core pass is the same either way.
    ptx = _select_hist_both_ways("select_pipelines_keys", "select-pipelines-keys", True)
    on, off = ptx["mha"]
    assert ".minnctapersm 4" in on and ".minnctapersm" not in off
    # On: key loads before the first barrier; off: none.
    for body, loads_first in ((on, True), (off, False)):
        before = body[:body.index("bar.sync")]
        assert ("ld.global.cs.v4.u32" in before) == loads_first
    assert ptx["gqa"][0] == ptx["gqa"][1]


def test_select_async_key_copies_option_reaches_the_kernels():
    # select_async_key_copies (default off) is adamas-gpu-pipeline's
    # select-async-key-copies: on, GQA's tensor-core histogram pass takes
    # its keys from a shared-memory ring that the lanes' 16-byte
    # asynchronous copies fill (one evict-first policy, a group per slot),
    # and loads none from global memory itself; off, it loads them
    # (ld.global.cs). MHA's popcount pass is the same either way.
    ptx = _select_hist_both_ways("select_async_key_copies", "select-async-key-copies",
                                 False)
    off, on = ptx["gqa"]
    copy = "cp.async.cg.shared.global.L2::cache_hint"
    assert copy in on and on.count("createpolicy.fractional.L2::evict_first") == 1
    assert "cp.async.commit_group" in on and "cp.async.wait_group" in on
    assert "ld.shared.v2.b32" in on and "ld.global.cs" not in on
    assert "cp.async" not in off and "ld.global.cs.v2.u32" in off
    # The first copies go out before the pass's first CTA barrier; in the
    # loop a warp waits for all but its 2 newest groups, then meets its
    # lanes before reading their pieces.
    assert on.index(copy) < on.index("bar.sync")
    text = re.sub(r"\\([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), on)
    assert re.search(r"cp\.async\.wait_group\s+2;\s*bar\.warp\.sync", text)
    assert ptx["mha"][0] == ptx["mha"][1]


def test_select_grid_sync_option_reaches_the_kernels():
    # select_grid_sync (default on) is adamas-gpu-pipeline's
    # select-grid-sync: where a histogram CTA ranks one selection row (MHA)
    # the grid-synchronised kernels are built, named ..._gridsync (the
    # runtime launches those cooperatively), each with its barrier's
    # zero-initialised counter, a release arrive and acquire polls between
    # two CTA barriers, and 4 CTAs per SM; two keep the chunk's distances in
    # shared memory. Per-head GQA (4 rows per CTA) gets none.
    mha = ac.select_ir(ac.DecodeStep(q_heads=8, kv_heads=8, dims=128, k=64))
    gqa = ac.select_ir(ac.DecodeStep(q_heads=8, kv_heads=2, dims=128, k=64))
    assert "select-grid-sync" not in ac.pipeline_options()
    assert " select-grid-sync=false" in ac.pipeline_options(select_grid_sync=False)
    on = ac.lower_ir(mha, format="isa")
    off = ac.lower_ir(mha, format="isa", select_grid_sync=False)
    for kernel, shared in (("select0_gridsync", True), ("select0_long_gridsync", True),
                           ("select0_long_global_gridsync", False)):
        body = _kernel_ptx(on, kernel)
        # Zero-initialised (no initializer).
        assert f".global .align 4 .u32 adamas_select_{kernel}_barrier;" in on
        assert ".minnctapersm 4" in body
        arrive = body.index("atom.add.release.gpu.u32")
        poll = body.index("ld.acquire.gpu.u32")
        barriers = [i for i in range(len(body)) if body.startswith("bar.sync", i)]
        assert any(b < arrive for b in barriers) and any(b > poll for b in barriers)
        assert "vote.sync.ballot" in body[poll:]
        # The pass's distances to shared or global memory, and the
        # compaction's runs loaded back from global memory (16 bytes) only
        # where they went there.
        before, after = body[:arrive], body[poll:]
        assert bool(re.search(r"st\.shared\.[bu]16", before)) == shared
        assert bool(re.search(r"st\.global\.[bu]16", before)) == (not shared)
        assert bool(re.search(r"ld\.global\.v4\.[bu]32", after)) == (not shared)
    assert "gridsync" not in off
    assert "gridsync" not in ac.lower_ir(gqa, format="isa")


def test_attend_async_cluster_merge_option_reaches_the_kernels():
    # attend_async_cluster_merge (default on) is adamas-gpu-pipeline's
    # attend-async-cluster-merge: the attention's cluster form sends each
    # split's partial to the leader with st.async on the leader's mbarrier
    # (PTX 8.1) instead of stores and a release arrive of the cluster
    # barrier; the partial and merge kernels are the same either way. (The
    # compaction's exchange is its own option, below: with both on, the
    # cluster kernel has no release arrive at all.)
    ir = ac.decode_step_ir(ac.DecodeStep(q_heads=8, kv_heads=8, dims=128, k=64), "step")
    assert "attend-async-cluster-merge" not in ac.pipeline_options()
    assert " attend-async-cluster-merge=false" in ac.pipeline_options(
        attend_async_cluster_merge=False)
    on = ac.lower_ir(ir, format="isa")
    off = ac.lower_ir(ir, format="isa", attend_async_cluster_merge=False)
    cluster_on = _kernel_ptx(on, "attend0_cluster")
    cluster_off = _kernel_ptx(off, "attend0_cluster")
    assert "st.async.shared::cluster.mbarrier::complete_tx::bytes" in cluster_on
    assert "mbarrier.try_wait.parity" in cluster_on
    assert cluster_on.count("barrier.cluster.arrive;") == 0
    assert cluster_off.count("barrier.cluster.arrive;") == 1
    assert _kernel_ptx(on, "attend0_partial") == _kernel_ptx(off, "attend0_partial")


def test_attend_async_cluster_compaction_option_reaches_the_kernels():
    # attend_async_cluster_compaction (default on) is adamas-gpu-pipeline's
    # attend-async-cluster-compaction: where the cluster attention's CTAs
    # compact the selection, each sends the positions it selects to the CTA
    # holding their slot with st.async on that CTA's mbarrier (one more
    # st.async, init, expect_tx and wait each than the merge's alone)
    # instead of generic stores and a cluster barrier (one release arrive).
    ir = ac.decode_step_ir(ac.DecodeStep(q_heads=8, kv_heads=8, dims=128, k=64), "step")
    assert "attend-async-cluster-compaction" not in ac.pipeline_options()
    assert " attend-async-cluster-compaction=false" in ac.pipeline_options(
        attend_async_cluster_compaction=False)
    on = _kernel_ptx(ac.lower_ir(ir, format="isa"), "attend0_cluster")
    off_ir = ac.lower_ir(ir, format="isa", attend_async_cluster_compaction=False)
    off = _kernel_ptx(off_ir, "attend0_cluster")
    for op in ("st.async.shared::cluster", "mbarrier.init", "mbarrier.try_wait.parity",
               "mbarrier.arrive.expect_tx"):
        assert on.count(op) == off.count(op) + 1, op
    assert on.count("barrier.cluster.arrive;") == 0
    assert off.count("barrier.cluster.arrive;") == 1
    # Only the cluster kernel changes.
    assert _kernel_ptx(off_ir, "attend0_partial") == _kernel_ptx(
        ac.lower_ir(ir, format="isa"), "attend0_partial")


def test_select_encodes_queries_option_reaches_the_kernels():
    # select_encodes_queries (default on) is adamas-gpu-pipeline's
    # select-encodes-queries: the histogram pass encodes the query itself
    # (the FWHT's shuffles and the codes' ballots in its PTX), and the encode
    # kernel, of the new keys only, is the step's last kernel, which lets the
    # next one launch first and waits last. Off: the encode kernel of both is
    # first and waits first, the histogram pass reads the query codes.
    on, off = _ptx_with_option_on_and_off(
        ac.decode_step_ir(ac.DecodeStep(q_heads=8, kv_heads=2, dims=128, k=64)),
        "select_encodes_queries")

    kernel = _kernel_ptx
    entries = {ptx: re.findall(r"\.entry (\w+)\(", ptx) for ptx in (on, off)}
    assert entries[on][-1].endswith("_encode") and entries[off][0].endswith("_encode")
    assert "vote.sync.ballot" in kernel(on, "select0_hist")
    assert "vote.sync.ballot" not in kernel(off, "select0_hist")
    encode = {ptx: kernel(ptx, "encode") for ptx in (on, off)}
    first = {ptx: min(("griddepcontrol.wait", "griddepcontrol.launch_dependents"),
                      key=encode[ptx].index) for ptx in (on, off)}
    assert first[on] == "griddepcontrol.launch_dependents"
    assert first[off] == "griddepcontrol.wait"


def test_attend_long_form_ctas_per_sm_option_reaches_the_host_code():
    # attend_long_form_ctas_per_sm is adamas-gpu-pipeline's
    # attend-long-form-ctas-per-sm, written only when given: the host takes
    # the long form where its grid has that many CTAs per SM (default 6 x
    # 132 = 792; 1 x 132 with the option at 1).
    _build()
    assert "attend-long-form" not in ac.pipeline_options()
    assert " attend-long-form-ctas-per-sm=1" in ac.pipeline_options(
        attend_long_form_ctas_per_sm=1)
    ir = ac.attend_ir(ac.DecodeStep(q_heads=8, kv_heads=2, dims=128, k=256))
    # The host's constants among the two bounds (the kernels are the same).
    bounds = {per_sm: re.findall(r"llvm\.mlir\.constant\((792|132) : index\)",
                                 ac.lower_ir(ir, format="isa",
                                             attend_long_form_ctas_per_sm=per_sm))
              for per_sm in (None, 1)}
    assert bounds == {None: ["792"], 1: ["132"]}


def test_attend_cluster_waves_option_reaches_the_host_code():
    # attend_cluster_waves is adamas-gpu-pipeline's attend-cluster-waves,
    # written only when given: where a CTA attends one head the host takes
    # the cluster form for grids of up to that many waves of 4 x 132 CTAs
    # (default 2: 1056; 528 with the option at 1); with several heads per
    # CTA (shared_group) one wave of 6 x 132 = 792 whatever it says.
    _build()
    assert "attend-cluster-waves" not in ac.pipeline_options()
    assert " attend-cluster-waves=1" in ac.pipeline_options(attend_cluster_waves=1)

    def bounds(ir, waves):
        # The long form's bound (792) and the cluster form's (1584: two
        # waves of 6, which shared_group must not take).
        return sorted(re.findall(r"llvm\.mlir\.constant\((1584|1056|792|528) : index\)",
                                 ac.lower_ir(ir, format="isa", attend_cluster_waves=waves)))
    mha = ac.attend_ir(ac.DecodeStep(q_heads=8, kv_heads=8, dims=128, k=256))
    shared = ac.attend_ir(ac.DecodeStep(q_heads=8, kv_heads=2, dims=128, k=256,
                                        shared_group=True))
    # (With the default the cluster form's two waves and the long form's
    # cluster bound, one wave of 8 x 132, are one constant, 1056; with the
    # option at 1 the long form's stays.)
    assert {w: bounds(mha, w) for w in (None, 1)} == {None: ["1056", "792"],
                                                      1: ["1056", "528", "792"]}
    # (Both of shared_group's bounds are 792: one constant; 528 is its
    # tensor-core long form's cluster bound, one wave of 4 x 132 whatever
    # the option says.)
    assert {w: bounds(shared, w) for w in (None, 1)} == {None: ["528", "792"],
                                                         1: ["528", "792"]}


def _shared_group_isa_both_ways(keyword, flag):
    """The shared_group attention (32/8, D = 128, k = 256) lowered to ISA
    with the boolean codegen option `keyword`, adamas-gpu-pipeline's `flag`
    (default on, written only when off), on and off."""
    _build()
    assert flag not in ac.pipeline_options()
    assert f" {flag}=false" in ac.pipeline_options(**{keyword: False})
    ir = ac.attend_ir(ac.DecodeStep(q_heads=32, kv_heads=8, dims=128, k=256,
                                    shared_group=True))
    return tuple(ac.lower_ir(ir, format="isa", **{keyword: v})
                 for v in (True, False))


def test_attend_long_form_tensor_core_dots_option_reaches_the_kernels():
    # attend_long_form_tensor_core_dots (default on) is adamas-gpu-pipeline's
    # attend-long-form-tensor-core-dots: shared_group's long partial keeps
    # the short form's tensor-core scores (16 slots per warp: k = 256 in 4
    # splits, two groups of 8 x D / 16 = 8 mma.sync each); off, per-lane
    # dots (32 slots per warp, no mma.sync).
    on, off = _shared_group_isa_both_ways("attend_long_form_tensor_core_dots",
                                          "attend-long-form-tensor-core-dots")
    assert _kernel_ptx(on, "attend0_partial_long").count("mma.sync") == 16
    assert "mma.sync" not in _kernel_ptx(off, "attend0_partial_long")
    assert _kernel_ptx(on, "attend0_partial").count("mma.sync") == 8


def test_attend_softmax_in_quads_option_reaches_the_kernels():
    # attend_softmax_in_quads (default on) is adamas-gpu-pipeline's
    # attend-softmax-in-quads: with tensor-core scores (shared_group, G = 4,
    # k = 256: the long partial's two groups of 8 slots) each lane takes the
    # exponentials of its own 2 scores per group, and in the second one
    # rescale of its sum and one per head (2 + 2 + 1 + 4 = 9: the first
    # group's rescales of the empty state fold away); off, every lane all
    # 32 of a group's weights, and 4 rescales in the second (32 + 36 = 68).
    # Both forms then merge the CTA's 4 warps, 4 rescales per head (16).
    on, off = (_kernel_ptx(isa, "attend0_partial_long") for isa in
               _shared_group_isa_both_ways("attend_softmax_in_quads",
                                           "attend-softmax-in-quads"))
    assert on.count("ex2.approx") == 9 + 16
    assert off.count("ex2.approx") == 68 + 16
    assert on.count("shfl.sync.bfly") == 2 * 2 + 2
    assert "shfl.sync.bfly" not in off


def test_attend_long_form_cluster_merge_option_reaches_the_host_code():
    # attend_long_form_cluster_merge (default on) is adamas-gpu-pipeline's
    # attend-long-form-cluster-merge: shared_group's tensor-core long form
    # (4 splits at k = 256) is also built as a cluster kernel that merges by
    # st.async, taken up to one wave of 4 CTAs per SM (528 on sm_90's 132);
    # so is the per-head long form (one head per CTA, per-lane dots, 2
    # splits), up to one wave of 8 per SM (1056); off, only their partial
    # and merge kernels.
    on, off = _shared_group_isa_both_ways("attend_long_form_cluster_merge",
                                          "attend-long-form-cluster-merge")
    cluster_long = _kernel_ptx(on, "attend0_cluster_long")
    assert cluster_long.count("mma.sync") == 16
    assert "st.async" in cluster_long
    assert "attend0_cluster_long" not in off
    assert "attend0_partial_long" in on and "attend0_partial_long" in off
    per_head = ac.attend_ir(ac.DecodeStep(q_heads=32, kv_heads=8, dims=128, k=256))
    on, off = (ac.lower_ir(per_head, format="isa", attend_long_form_cluster_merge=v)
               for v in (True, False))
    cluster_long = _kernel_ptx(on, "attend0_cluster_long")
    assert "st.async" in cluster_long and "mma.sync" not in cluster_long
    assert ".minnctapersm 8" in cluster_long
    assert "attend0_cluster_long" not in off
    assert "attend0_partial_long" in on and "attend0_partial_long" in off


def test_select_short_pass_key_copies_option_reaches_the_kernels():
    # select_short_pass_key_copies (default on) is adamas-gpu-pipeline's
    # select-short-pass-key-copies: GQA's tensor-core histogram pass is also
    # built with the key ring (`_hist_ring`: the lanes' cp.async copies,
    # none of its keys loaded from global memory by the warp itself), beside
    # the register pass, which keeps its own loads; off, no ring kernel.
    # MHA's popcount pass has none either way.
    assert "select-short-pass-key-copies" not in ac.pipeline_options()
    assert " select-short-pass-key-copies=false" in ac.pipeline_options(
        select_short_pass_key_copies=False)
    gqa = ac.select_ir(ac.DecodeStep(q_heads=8, kv_heads=2, dims=128, k=64))
    on, off = (ac.lower_ir(gqa, format="isa", select_short_pass_key_copies=v)
               for v in (True, False))
    ring = _kernel_ptx(on, "select0_hist_ring")
    assert "cp.async.cg.shared.global.L2::cache_hint" in ring
    assert "ld.global.cs" not in ring
    assert _kernel_ptx(on, "select0_hist") == _kernel_ptx(off, "select0_hist")
    assert "select0_hist_ring" not in off
    mha = ac.select_ir(ac.DecodeStep(q_heads=8, kv_heads=8, dims=128, k=64))
    assert "select0_hist_ring" not in ac.lower_ir(mha, format="isa")


def test_select_precompacts_candidates_option_reaches_the_kernels():
    # select_precompacts_candidates (default off) is adamas-gpu-pipeline's
    # select-precompacts-candidates: the grid-synchronised kernels whose
    # chunk's distances stay in shared memory get the candidates' buffers
    # (1024 positions, 4 KB, and their i16 distances, 2 KB, aligned as a
    # run's loads) and a second compaction; the kernel whose distances go
    # through L2 is the same either way. (The order, arrival, candidates,
    # wait, is select-grid-sync.mlir's.)
    assert "select-precompacts-candidates" not in ac.pipeline_options()
    assert " select-precompacts-candidates=true" in ac.pipeline_options(
        select_precompacts_candidates=True)
    mha = ac.select_ir(ac.DecodeStep(q_heads=8, kv_heads=8, dims=128, k=64))
    on, off = (ac.lower_ir(mha, format="isa", select_precompacts_candidates=v)
               for v in (True, False))
    for kernel in ("select0_gridsync", "select0_long_gridsync"):
        for buffer in (r"\.align 16 \.b8 __wg_\w+_" + kernel + r"_\d+\[4096\]",
                       r"\.align 64 \.b8 __wg_\w+_" + kernel + r"_\d+\[2048\]"):
            assert re.search(buffer, on), buffer
            assert not re.search(buffer, off), buffer
        assert (_kernel_ptx(on, kernel).count("bar.sync")
                > _kernel_ptx(off, kernel).count("bar.sync"))
    assert (_kernel_ptx(on, "select0_long_global_gridsync")
            == _kernel_ptx(off, "select0_long_global_gridsync"))


def test_compiler_version_follows_the_compiler_sources(tmp_path, monkeypatch):
    (tmp_path / "lib").mkdir()
    (tmp_path / "include" / "adamas").mkdir(parents=True)
    source = tmp_path / "lib" / "Kernel.cpp"
    source.write_text("int x = 1;")
    monkeypatch.setattr(ac, "_checkout", lambda: str(tmp_path))
    monkeypatch.setattr(ac, "_fingerprint", None)
    first = ac.compiler_version()
    assert first == ac.compiler_version() and first.startswith(ac.COMPILER_VERSION)
    source.write_text("int x = 2;")
    monkeypatch.setattr(ac, "_fingerprint", None)
    assert ac.compiler_version() != first


# --- descriptors ------------------------------------------------------------------

class FakeTensor:
    """What Function needs of a tensor: data_ptr() and shape."""

    def __init__(self, array):
        self.array = array
        self.shape = array.shape

    def data_ptr(self):
        return self.array.ctypes.data


def test_descriptor_is_mlirs_contiguous_layout():
    a = FakeTensor(np.zeros((2, 3, 5), dtype=np.float32))
    d = ac.descriptor(a)
    assert d.allocated == d.aligned == a.data_ptr() and d.offset == 0
    assert list(d.sizes) == [2, 3, 5] and list(d.strides) == [15, 5, 1]
    # allocated, aligned, offset, then rank sizes and rank strides of i64.
    assert ctypes.sizeof(d) == 8 * (3 + 2 * 3)


# --- compiling through the cache ------------------------------------------------------

@pytest.fixture
def runtime_env(tmp_path, monkeypatch):
    opt, runtime_path, fake = _build()
    monkeypatch.setenv("ADAMAS_CUDA_DRIVER", fake)
    monkeypatch.setenv("ADAMAS_RUNTIME_QUIET", "1")
    monkeypatch.setenv("ADAMAS_RUNTIME_LIBRARY", runtime_path)
    monkeypatch.setenv("ADAMAS_OPT", opt)
    from adamas import runtime
    runtime.load_library()
    return runtime, tmp_path


def test_decode_step_compiles_once_then_comes_from_disk(runtime_env):
    runtime, tmp = runtime_env
    spec = ac.DecodeStep(q_heads=8, kv_heads=2, dims=64, k=32, recent=4)
    first = ac.decode_step(spec, format="isa", runtime=runtime.Runtime(cache_dir=str(tmp)))
    assert first.source == "compiler"
    # Another process (a new runtime) finds it on disk; same key, same library.
    second = ac.decode_step(spec, format="isa", runtime=runtime.Runtime(cache_dir=str(tmp)))
    assert second.source == "disk" and second.key == first.key
    assert second.library_path == first.library_path
    assert os.path.dirname(second.library_path) == os.path.join(str(tmp), "libs-v1")
    lib = ctypes.CDLL(second.library_path)
    assert hasattr(lib, "_mlir_ciface_adamas_decode_step")
    # Every field of the request is in the key: another spec or format misses.
    other = ac.decode_step(ac.DecodeStep(q_heads=8, kv_heads=2, dims=64, k=16, recent=4),
                           format="isa", runtime=runtime.Runtime(cache_dir=str(tmp)))
    assert other.source == "compiler" and other.key != first.key


def test_decode_step_without_compiler_or_entry_says_so(runtime_env, monkeypatch):
    runtime, tmp = runtime_env
    monkeypatch.setattr(ac, "_compiler_available", lambda: False)
    with pytest.raises(RuntimeError, match="not in the cache .* and no compiler here"):
        ac.decode_step(ac.DecodeStep(q_heads=4, kv_heads=4, dims=64, k=8), format="isa",
                       runtime=runtime.Runtime(cache_dir=str(tmp)))


def test_compile_errors_name_the_tool(runtime_env):
    with pytest.raises(RuntimeError, match="adamas-gpu-pipeline failed"):
        ac.compile_ir("func.func @f() { %x = adamas.hadamard }", format="isa")
