// RUN: adamas-opt %s -adamas-lower-to-gpu="cluster-select=true" -split-input-file | FileCheck %s --check-prefixes=CHECK,C8,ANY --enable-var-scope
// RUN: adamas-opt %s -adamas-lower-to-gpu="max-cluster-size=4 cluster-select=true" -split-input-file | FileCheck %s --check-prefixes=CHECK,C4,ANY --enable-var-scope
// RUN: adamas-opt %s -adamas-lower-to-gpu -split-input-file | FileCheck %s --check-prefixes=DEFAULT,ANY
// RUN: adamas-opt %s -adamas-lower-to-gpu="attend-long-form-ctas-per-sm=1" -split-input-file | FileCheck %s --check-prefix=LONG1
// RUN: adamas-opt %s -adamas-lower-to-gpu="attend-async-cluster-merge=false attend-async-cluster-compaction=false" -split-input-file | FileCheck %s --check-prefix=BARRIER
// RUN: adamas-opt %s -adamas-lower-to-gpu="attend-cluster-waves=1" -split-input-file | FileCheck %s --check-prefix=WAVES1
// RUN: adamas-opt %s -adamas-lower-to-gpu="attend-cluster-waves=0" -split-input-file | FileCheck %s --check-prefix=WAVES0
// RUN: adamas-opt %s -adamas-lower-to-gpu="attend-long-form-cluster-merge=false" -split-input-file | FileCheck %s --check-prefix=NOLC

// By default (sm_90: clusters of up to 16 CTAs) sparse_attn merges its
// splits in a cluster and l1_topk is three kernels.
// DEFAULT-LABEL: func.func @mha(
//       DEFAULT:   gpu.launch_func async [%{{.*}}] @mha_kernels::@mha_select0_hist blocks
//       DEFAULT:   gpu.launch_func async [%{{.*}}] @mha_kernels::@mha_select0_threshold blocks
//       DEFAULT:   gpu.launch_func async [%{{.*}}] @mha_kernels::@mha_select0_compact blocks
//       DEFAULT:   gpu.launch_func async [%{{.*}}] @mha_kernels::@mha_attend0_cluster clusters in
// DEFAULT-LABEL: func.func @gqa(

// With cluster-select (and clusters: sm_90, max-cluster-size >= 2), for one
// selection row of one query head per CTA (MHA, M = 1), l1_topk is one
// kernel launched in thread
// block clusters: the CTAs of a cluster are the chunks of one row (grid x =
// cluster x = chunks, at most 8 or max-cluster-size). Each CTA runs the
// histogram pass of its chunk, then, after a cluster barrier, reads every
// CTA's histogram of the row through distributed shared memory (one mapa
// and load per CTA of the cluster, all in flight together), finds T by a
// block scan and its own first slot by a second one, and after a second
// cluster barrier (no CTA leaves while others read its histograms) compacts
// its chunk. No histogram or plan goes through global memory: the only
// scratch is the distances.

// CHECK-LABEL: func.func @mha(
//       CHECK:   gpu.alloc async
//   CHECK-NOT:   @mha_encode
//       CHECK:   gpu.launch_func async [%{{.*}}] @mha_kernels::@mha_select0_cluster clusters in (%[[CHUNKS:[0-9]+]], %c1{{.*}}, %c1{{.*}}) blocks in (%[[CHUNKS]], %{{.*}}, %{{.*}}) threads in (%c256{{.*}}, %c1{{.*}}, %c1{{.*}})
//   CHECK-NOT:   gpu.launch_func {{.*}}select0
// sparse_attn (k = 64): the long form's partial and merge kernels (1 split
// of 16 slots per warp) where their grid (rows x 1 CTAs) reaches 6 x 132 =
// 792; else the cluster kernel (2 splits) where its grid (rows x 2 CTAs)
// is at most two waves of 4 x 132 CTAs (cluster_merge_max_ctas; one wave
// with attend-cluster-waves=1, none with 0); else the short splits'
// partial and merge kernels. All five are launched in order; the forms not
// chosen get empty grids (rows or merge blocks 0), which the runtime
// launches nothing for.
//       CHECK:   %[[GROUPS:.*]] = arith.muli %{{.*}}, %c4
//       CHECK:   %[[MERGE:.*]] = arith.ceildivsi
//       CHECK:   %[[LONGCTAS:.*]] = arith.muli %[[GROUPS]], %c1
//       CHECK:   %[[LONG:.*]] = arith.cmpi uge, %[[LONGCTAS]], %c792
// attend-long-form-ctas-per-sm moves that bound: 1 x 132.
// LONG1-LABEL: func.func @mha(
//       LONG1:   arith.cmpi uge, %{{.*}}, %c132
//       LONG1:   gpu.launch_func async [%{{.*}}] @mha_kernels::@mha_attend0_partial_long
//       CHECK:   %[[NOTLONG:.*]] = arith.xori %[[LONG]], %true
//       CHECK:   %[[CTAS:.*]] = arith.muli %[[GROUPS]], %[[SPLITS:[a-z0-9_]+]]
//       CHECK:   %[[FITS:.*]] = arith.cmpi ule, %[[CTAS]], %c1056
// WAVES1-LABEL: func.func @mha(
//       WAVES1:   arith.cmpi ule, %{{.*}}, %c528
//       WAVES1:   gpu.launch_func async [%{{.*}}] @mha_kernels::@mha_attend0_cluster
//       WAVES1:   gpu.func @mha_attend0_cluster(
//  WAVES1-SAME:     cluster_merge_max_ctas = 528 : i64
// WAVES0-LABEL: func.func @mha(
//       WAVES0:   arith.cmpi ule, %{{.*}}, %c0
//       WAVES0:   gpu.launch_func async [%{{.*}}] @mha_kernels::@mha_attend0_cluster
//       CHECK:   %[[CLUSTER:.*]] = arith.andi %[[FITS]], %[[NOTLONG]]
//       CHECK:   %[[CGROUPS:.*]] = arith.select %[[CLUSTER]], %[[GROUPS]], %[[ZERO:[a-z0-9_]+]]
//       CHECK:   gpu.launch_func async [%{{.*}}] @mha_kernels::@mha_attend0_cluster clusters in (%[[SPLITS]], %c1{{.*}}, %c1{{.*}}) blocks in (%[[SPLITS]], %[[CGROUPS]], %{{.*}}) threads in (%c128
//       CHECK:   %[[PGROUPS0:.*]] = arith.select %[[CLUSTER]], %[[ZERO]], %[[GROUPS]]
//       CHECK:   %[[MBLOCKS0:.*]] = arith.select %[[CLUSTER]], %[[ZERO]], %[[MERGE]]
//       CHECK:   %[[PGROUPS:.*]] = arith.select %[[LONG]], %[[ZERO]], %[[PGROUPS0]]
//       CHECK:   %[[MBLOCKS:.*]] = arith.select %[[LONG]], %[[ZERO]], %[[MBLOCKS0]]
//       CHECK:   gpu.launch_func async [%{{.*}}] @mha_kernels::@mha_attend0_partial blocks in (%[[SPLITS]], %[[PGROUPS]], %{{.*}})
//       CHECK:   gpu.launch_func async [%{{.*}}] @mha_kernels::@mha_attend0_merge blocks in (%[[MBLOCKS]], %{{.*}}, %{{.*}})
//       CHECK:   %[[LGROUPS:.*]] = arith.select %[[LONG]], %[[GROUPS]], %[[ZERO]]
//       CHECK:   %[[LMBLOCKS:.*]] = arith.select %[[LONG]], %[[MERGE]], %[[ZERO]]
//       CHECK:   gpu.launch_func async [%{{.*}}] @mha_kernels::@mha_attend0_partial_long blocks in (%c1{{[_0-9]*}}, %[[LGROUPS]], %{{.*}})
//       CHECK:   gpu.launch_func async [%{{.*}}] @mha_kernels::@mha_attend0_merge_long blocks in (%[[LMBLOCKS]], %{{.*}}, %{{.*}})
// The new keys' codes last (the cluster kernel encodes the queries).
//       CHECK:   gpu.launch_func async [%{{.*}}] @mha_kernels::@mha_encode
//   CHECK-NOT:   gpu.launch_func

//       CHECK:   gpu.func @mha_select0_cluster(
//  CHECK-SAME:     adamas.config = {async_key_stages = {{[0-9]+}} : i64, bins = 385 : i64, block_size = 256 : i64,
//   C8-SAME:       cluster_chunks = 8 : i64
//   C4-SAME:       cluster_chunks = 4 : i64
//  CHECK-SAME:     encodes_queries = 1 : i64
//  CHECK-SAME:     rows_per_cta = 1 : i64, staged_distance_stores = 0 : i64, target_ctas = 528 : i64, tensor_core_distances = 0 : i64}
// The histogram pass (after its query is encoded: 20 shuffles, 8 ballots):
// 16-byte evict-first loads, popcounts, shared-memory counts.
// CHECK-COUNT-20:  gpu.shuffle  xor
//  CHECK-COUNT-8:  nvvm.vote.sync  ballot
//       CHECK:     nvvm.inline_ptx "ld.global.cs.v4.u32
//       CHECK:     math.ctpop
//       CHECK:     memref.atomic_rmw addi
//       CHECK:     gpu.barrier
//  CHECK-NEXT:     nvvm.cluster.arrive
//  CHECK-NEXT:     nvvm.cluster.wait
// The plan: every CTA's count of a bin at once, T, the first slot (two
// block scans, 5 shuffles each).
//       CHECK:     scf.for
//   C8-COUNT-8:      nvvm.mapa %{{.*}}, %{{.*}} : !llvm.ptr -> !llvm.ptr
//   C4-COUNT-4:      nvvm.mapa %{{.*}}, %{{.*}} : !llvm.ptr -> !llvm.ptr
//   CHECK-NOT:       nvvm.mapa
//       CHECK:     gpu.barrier
//  CHECK-COUNT-5:  gpu.shuffle  up
//       CHECK:     scf.for
//  CHECK-COUNT-5:  gpu.shuffle  up
//       CHECK:     nvvm.cluster.arrive
//  CHECK-NEXT:     nvvm.cluster.wait
//   CHECK-NOT:     nvvm.mapa
// The compaction: runs of 16 distances, one block scan a pass.
//       CHECK:     vector.load {{.*}} {alignment = 32 : i64} : memref<?xi16>, vector<16xi16>
//   CHECK-NOT:     nvvm.cluster
//       CHECK:     gpu.return

// sparse_attn: the row's 2 splits are one cluster. CTA 0 (the leader)
// initialises an mbarrier for one arrival (fenced for the cluster); each
// CTA arrives (relaxed) first thing, computes its split, waits (all CTAs
// run, the mbarrier visible), and sends its partial (accumulator, max,
// sum) into the leader's shared memory with st.async, each store
// completing its 4 bytes on the leader's mbarrier; no other cluster
// barrier. The leader arrives expecting every split's 2 x 130 x 4 bytes,
// waits for the phase, and merges from its own shared memory.
//       CHECK:   gpu.func @mha_attend0_cluster(
//  CHECK-SAME:     adamas.config = {async_cluster_compaction = 0 : i64, async_cluster_merge = 1 : i64, cluster_merge = 1 : i64, cluster_merge_max_ctas = 1056 : i64,{{.*}} splits = 2 : i64
//       CHECK:     nvvm.mbarrier.init %{{.*}}, %c1_i32{{[_0-9]*}} : !llvm.ptr<3>, i32
//  CHECK-NEXT:     }
//  CHECK-NEXT:     nvvm.fence.mbarrier.init
//       CHECK:     nvvm.cluster.arrive.relaxed
//       CHECK:     llvm.call_intrinsic "llvm.nvvm.ex2.approx.f32"
//       CHECK:     gpu.barrier
//       CHECK:     nvvm.cluster.wait
//       CHECK:     scf.for
//       CHECK:       nvvm.mapa %{{.*}} : !llvm.ptr<3> -> !llvm.ptr<7>
//       CHECK:       nvvm.mapa %{{.*}} : !llvm.ptr<3> -> !llvm.ptr<7>
//       CHECK:       nvvm.inline_ptx "st.async.shared::cluster.mbarrier::complete_tx::bytes.b32 [$0], $1, [$2];"
// CHECK-COUNT-2:     nvvm.inline_ptx "st.async
//   CHECK-NOT:     nvvm.cluster
//       CHECK:     nvvm.mbarrier.arrive.expect_tx %{{.*}}, %c1040_i32 : !llvm.ptr<3>, i32
//   CHECK-NOT:     nvvm.cluster
//       CHECK:     nvvm.mbarrier.try_wait.parity %{{.*}}, %c0_i32{{[_0-9]*}}, %c0_i32{{[_0-9]*}}
//       CHECK:       memref.load {{.*}} : memref<2xf32, #gpu.address_space<workgroup>>
//   CHECK-NOT:     nvvm.cluster
//       CHECK:     gpu.return
// The two-kernel form beside it, without clusters.
//       CHECK:   gpu.func @mha_attend0_partial(
//  CHECK-SAME:     adamas.config = {async_cluster_compaction = 0 : i64, async_cluster_merge = 0 : i64, cluster_merge = 0 : i64, cluster_merge_max_ctas = 0 : i64,
//   CHECK-NOT:     nvvm.cluster
//   CHECK-NOT:     nvvm.mbarrier
//       CHECK:   gpu.func @mha_attend0_merge(
// The long form has no clusters either.
//       CHECK:   gpu.func @mha_attend0_partial_long(
//  CHECK-SAME:     adamas.config = {async_cluster_compaction = 0 : i64, async_cluster_merge = 0 : i64, cluster_merge = 0 : i64, cluster_merge_max_ctas = 0 : i64,{{.*}} splits = 1 : i64

// With attend-async-cluster-merge=false: each CTA writes its partial into
// CTA 0's shared memory through mapa (generic stores) and arrives (release);
// CTA 0 alone waits and merges from its own shared memory. (Before, where
// the CTAs compact the selection, with attend-async-cluster-compaction=false
// each stores the positions it selects into the slots of the CTA that holds
// them, then a cluster barrier.)
//       BARRIER:   gpu.func @mha_attend0_cluster(
//  BARRIER-SAME:     adamas.config = {async_cluster_compaction = 0 : i64, async_cluster_merge = 0 : i64, cluster_merge = 1 : i64,
//   BARRIER-NOT:     nvvm.mbarrier
//       BARRIER:     nvvm.cluster.arrive.relaxed
//       BARRIER:     nvvm.cluster.wait
//       BARRIER:       nvvm.mapa
//  BARRIER-NEXT:       llvm.store %{{.*}}, %{{.*}} : i32, !llvm.ptr
//       BARRIER:     nvvm.cluster.arrive
//  BARRIER-NEXT:     nvvm.cluster.wait
//       BARRIER:     scf.for
//       BARRIER:       nvvm.mapa
//  BARRIER-NEXT:       llvm.store
//  BARRIER-COUNT-2:    nvvm.mapa
//   BARRIER-NOT:     nvvm.mapa
//       BARRIER:     nvvm.cluster.arrive
//       BARRIER:     scf.if
//  BARRIER-NEXT:       nvvm.cluster.wait
//       BARRIER:       memref.load {{.*}} : memref<2xf32, #gpu.address_space<workgroup>>
//       BARRIER:     gpu.return
//   CHECK-NOT:     nvvm.cluster
//       CHECK:   gpu.func @mha_attend0_merge_long(
func.func @mha(%q: tensor<1x4x1x128xf16>, %newk: tensor<1x4x1x128xf16>, %keys: tensor<1x4x?x128xf16>,
               %values: tensor<1x4x?x128xf16>, %codes: tensor<1x4x?x8xi32>, %len: tensor<1xi32>)
    -> (tensor<1x4x1x128xf16>, tensor<1x4x?x8xi32>) {
  %hq = adamas.hadamard %q : tensor<1x4x1x128xf16>
  %qc = adamas.bucketize %hq [-10.0, 0.0, 10.0] : tensor<1x4x1x128xf16> -> tensor<1x4x1x8xi32>
  %hk = adamas.hadamard %newk : tensor<1x4x1x128xf16>
  %kc = adamas.bucketize %hk [-10.0, 0.0, 10.0] : tensor<1x4x1x128xf16> -> tensor<1x4x1x8xi32>
  %cache = adamas.cache_write %kc into %codes at %len : tensor<1x4x1x8xi32> into tensor<1x4x?x8xi32>, tensor<1xi32>
  %idx = adamas.l1_topk %qc, %cache, %len {k = 64 : i64, sink = 4 : i64, recent = 8 : i64}
      : tensor<1x4x1x8xi32>, tensor<1x4x?x8xi32>, tensor<1xi32> -> tensor<1x4x1x64xi32>
  %o = adamas.sparse_attn %q, %keys, %values, %idx
      : tensor<1x4x1x128xf16>, tensor<1x4x?x128xf16>, tensor<1x4x?x128xf16>, tensor<1x4x1x64xi32> -> tensor<1x4x1x128xf16>
  return %o, %cache : tensor<1x4x1x128xf16>, tensor<1x4x?x8xi32>
}

// -----

// Several selection rows per CTA (GQA per head: the 2 query heads of a KV
// head share the pass; or M > 1, or shared_group's minimum over heads) keep
// the three kernels with cluster-select too: their plans and compactions
// would run in series in one CTA.

// CHECK-LABEL: func.func @gqa(
//       CHECK:   gpu.launch_func async [%{{.*}}] @gqa_kernels::@gqa_select0_hist blocks
//       CHECK:   gpu.launch_func async [%{{.*}}] @gqa_kernels::@gqa_select0_threshold blocks
//       CHECK:   gpu.launch_func async [%{{.*}}] @gqa_kernels::@gqa_select0_compact blocks
//       CHECK:   gpu.func @gqa_select0_hist(
//  CHECK-SAME:     cluster_chunks = 0 : i64
//  CHECK-SAME:     rows_per_cta = 2 : i64, staged_distance_stores = 1 : i64, target_ctas = 528 : i64, tensor_core_distances = 1 : i64}
//   CHECK-NOT:   nvvm.cluster
func.func @gqa(%qc: tensor<1x4x1x8xi32>, %codes: tensor<1x2x?x8xi32>, %len: tensor<1xi32>)
    -> tensor<1x4x1x64xi32> {
  %idx = adamas.l1_topk %qc, %codes, %len {k = 64 : i64, sink = 4 : i64, recent = 8 : i64}
      : tensor<1x4x1x8xi32>, tensor<1x2x?x8xi32>, tensor<1xi32> -> tensor<1x4x1x64xi32>
  return %idx : tensor<1x4x1x64xi32>
}

// -----

// With several heads per CTA (shared_group) the cluster form is taken up to
// 6 CTAs per SM (6 x 132 = 792; its ~80 registers allow 6), one wave
// whatever attend-cluster-waves says, the partials and merge beyond; where
// a cluster cannot hold the splits (k = 1024: 32 splits) only partials and
// merge. The long form (tensor-core scores, 4 splits) is taken from half
// the long CTAs per SM, rounded up: 3 x 132 by default, 1 x 132 with
// attend-long-form-ctas-per-sm=1. Its 4 splits are one cluster that merges
// by st.async (`_cluster_long`) where its grid is one wave of 4 CTAs per SM
// (4 x 132 = 528: B=16's 512), its partial and merge kernels beyond.
// ANY-LABEL: func.func @attend_shared(
//   DEFAULT:   arith.cmpi uge, %{{.*}}, %c396{{.*}}
//   DEFAULT:   arith.cmpi ule, %{{.*}}, %c792{{.*}}
// WAVES1-LABEL: func.func @attend_shared(
//   WAVES1:   arith.cmpi ule, %{{.*}}, %c792{{.*}}
// LONG1-LABEL: func.func @attend_shared(
//   LONG1:   arith.cmpi uge, %{{.*}}, %c132{{.*}}
//   LONG1:   gpu.func @attend_shared_attend0_partial_long(
//   LONG1-SAME:   slots_per_warp = 16 : i64, softmax_in_quads = 1 : i64, splits = 4 : i64, tensor_core_dots = 1 : i64
//   DEFAULT:   gpu.launch_func async [%{{.*}}] @attend_shared_kernels::@attend_shared_attend0_cluster clusters in
//       ANY:   gpu.launch_func async [%{{.*}}] @attend_shared_kernels::@attend_shared_attend0_partial blocks
//       ANY:   gpu.launch_func async [%{{.*}}] @attend_shared_kernels::@attend_shared_attend0_merge blocks
//   DEFAULT:   arith.cmpi ule, %{{.*}}, %c528{{.*}}
//   DEFAULT:   gpu.launch_func async [%{{.*}}] @attend_shared_kernels::@attend_shared_attend0_cluster_long clusters in
//   DEFAULT:   gpu.launch_func async [%{{.*}}] @attend_shared_kernels::@attend_shared_attend0_partial_long blocks
//   DEFAULT:   gpu.launch_func async [%{{.*}}] @attend_shared_kernels::@attend_shared_attend0_merge_long blocks
//   DEFAULT:   gpu.func @attend_shared_attend0_cluster(
//  DEFAULT-SAME:     adamas.config = {async_cluster_compaction = 0 : i64, async_cluster_merge = 1 : i64, cluster_merge = 1 : i64, cluster_merge_max_ctas = 792 : i64, compacts_selection = 0 : i64, dims_per_lane = 4 : i64, heads_per_cta = 4 : i64,{{.*}} splits = 8 : i64, tensor_core_dots = 1 : i64
//   DEFAULT:     nvvm.mma.sync
//   DEFAULT:     nvvm.inline_ptx "st.async
//       ANY:   gpu.func @attend_shared_attend0_partial(
//  ANY-SAME:     adamas.config = {async_cluster_compaction = 0 : i64, async_cluster_merge = 0 : i64, cluster_merge = 0 : i64, cluster_merge_max_ctas = 0 : i64, compacts_selection = 0 : i64, dims_per_lane = 4 : i64, heads_per_cta = 4 : i64,{{.*}} splits = 8 : i64
//   ANY-NOT:   nvvm.cluster
//       ANY:   gpu.func @attend_shared_attend0_merge(
//   DEFAULT:   gpu.func @attend_shared_attend0_cluster_long(
//  DEFAULT-SAME:     adamas.config = {async_cluster_compaction = 0 : i64, async_cluster_merge = 1 : i64, cluster_merge = 1 : i64, cluster_merge_max_ctas = 0 : i64, compacts_selection = 0 : i64, dims_per_lane = 4 : i64, heads_per_cta = 4 : i64, long_form_cluster_max_ctas = 0 : i64,{{.*}} prefetch_next_group = 0 : i64,{{.*}} slots_per_warp = 16 : i64, softmax_in_quads = 1 : i64, splits = 4 : i64, tensor_core_dots = 1 : i64
// DEFAULT-COUNT-16:  nvvm.mma.sync
//   DEFAULT:     nvvm.inline_ptx "st.async
//   DEFAULT:   gpu.func @attend_shared_attend0_partial_long(
//  DEFAULT-SAME:     cluster_merge = 0 : i64
// Without attend-long-form-cluster-merge, the long form's partial and merge
// kernels wherever it is taken.
// NOLC-LABEL: func.func @attend_shared(
//       NOLC:   arith.cmpi uge, %{{.*}}, %c396{{.*}}
//   NOLC-NOT:   attend0_cluster_long
//       NOLC:   gpu.launch_func async [%{{.*}}] @attend_shared_kernels::@attend_shared_attend0_partial_long blocks
//   NOLC-NOT:   attend0_cluster_long
//       NOLC:   gpu.func @attend_shared_attend0_partial(
//  NOLC-SAME:     long_form_cluster_max_ctas = 0 : i64
func.func @attend_shared(%q: tensor<1x8x1x128xf16>, %keys: tensor<1x2x?x128xf16>,
                         %values: tensor<1x2x?x128xf16>, %idx: tensor<1x2x1x256xi32>)
    -> tensor<1x8x1x128xf16> {
  %o = adamas.sparse_attn %q, %keys, %values, %idx
      : tensor<1x8x1x128xf16>, tensor<1x2x?x128xf16>, tensor<1x2x?x128xf16>, tensor<1x2x1x256xi32> -> tensor<1x8x1x128xf16>
  return %o : tensor<1x8x1x128xf16>
}

// -----

// One head per CTA: the long form (a warp per 32 slots, 2 splits at k =
// 256) is taken from 6 long CTAs per SM (792); its 2 splits are one
// cluster that merges by st.async where its grid is one wave of 8 CTAs per
// SM (8 x 132 = 1056: B=16 per-head GQA's 1024), its partial and merge
// kernels beyond (B=64's 4096).
// DEFAULT-LABEL: func.func @attend_per_head(
//       DEFAULT:   arith.cmpi uge, %{{.*}}, %c792{{.*}}
//       DEFAULT:   @attend_per_head_kernels::@attend_per_head_attend0_cluster clusters in
//       DEFAULT:   arith.cmpi ule, %{{.*}}, %c1056{{.*}}
//       DEFAULT:   @attend_per_head_kernels::@attend_per_head_attend0_cluster_long clusters in (%c2{{[_0-9]*}}, %c1{{[_0-9]*}}, %c1{{[_0-9]*}})
//       DEFAULT:   @attend_per_head_kernels::@attend_per_head_attend0_partial_long blocks
//       DEFAULT:   @attend_per_head_kernels::@attend_per_head_attend0_merge_long blocks
//       DEFAULT:   gpu.func @attend_per_head_attend0_cluster_long(
//  DEFAULT-SAME:     adamas.config = {async_cluster_compaction = 0 : i64, async_cluster_merge = 1 : i64, cluster_merge = 1 : i64,{{.*}} heads_per_cta = 1 : i64,{{.*}} slots_per_warp = 32 : i64,{{.*}} splits = 2 : i64, tensor_core_dots = 0 : i64
//  DEFAULT-SAME:     nvvm.minctasm = 8 : i32
//       DEFAULT:     nvvm.inline_ptx "st.async
//       DEFAULT:   gpu.func @attend_per_head_attend0_partial_long(
//  DEFAULT-SAME:     cluster_merge = 0 : i64
// NOLC-LABEL: func.func @attend_per_head(
//   NOLC-NOT:   attend0_cluster_long
//       NOLC:   @attend_per_head_kernels::@attend_per_head_attend0_partial_long blocks
//   NOLC-NOT:   attend0_cluster_long
func.func @attend_per_head(%q: tensor<?x8x1x128xf16>, %keys: tensor<?x2x?x128xf16>,
                           %values: tensor<?x2x?x128xf16>, %idx: tensor<?x8x1x256xi32>)
    -> tensor<?x8x1x128xf16> {
  %o = adamas.sparse_attn %q, %keys, %values, %idx
      : tensor<?x8x1x128xf16>, tensor<?x2x?x128xf16>, tensor<?x2x?x128xf16>, tensor<?x8x1x256xi32> -> tensor<?x8x1x128xf16>
  return %o : tensor<?x8x1x128xf16>
}

// -----

// ANY-LABEL: func.func @attend_k1024(
//       ANY:   gpu.launch_func async [%{{.*}}] @attend_k1024_kernels::@attend_k1024_attend0_partial blocks
//       ANY:   gpu.launch_func async [%{{.*}}] @attend_k1024_kernels::@attend_k1024_attend0_merge blocks
//       ANY:   gpu.func @attend_k1024_attend0_partial(
//  ANY-SAME:     adamas.config = {async_cluster_compaction = 0 : i64, async_cluster_merge = 0 : i64, cluster_merge = 0 : i64,{{.*}} splits = 32 : i64
func.func @attend_k1024(%q: tensor<1x4x1x128xf16>, %keys: tensor<1x4x?x128xf16>,
                        %values: tensor<1x4x?x128xf16>, %idx: tensor<1x4x1x1024xi32>)
    -> tensor<1x4x1x128xf16> {
  %o = adamas.sparse_attn %q, %keys, %values, %idx
      : tensor<1x4x1x128xf16>, tensor<1x4x?x128xf16>, tensor<1x4x?x128xf16>, tensor<1x4x1x1024xi32> -> tensor<1x4x1x128xf16>
  return %o : tensor<1x4x1x128xf16>
}
