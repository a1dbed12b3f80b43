// RUN: adamas-opt %s -adamas-gpu-pipeline="chip=sm_90 format=isa cluster-select=true" > %t.mlir
// RUN: FileCheck %s --check-prefixes=HOST,HOST-CLUSTER < %t.mlir
// RUN: %python %S/Inputs/extract_ptx.py < %t.mlir > %t.ptx
// RUN: FileCheck %s --check-prefixes=PTX,PTX-CLUSTER < %t.ptx
// RUN: FileCheck %s --check-prefix=NOLOCAL < %t.ptx
// RUN: adamas-opt %s -adamas-gpu-pipeline="chip=sm_90 format=isa max-cluster-size=0" > %t.3.mlir
// RUN: FileCheck %s --check-prefixes=HOST,HOST-THREE < %t.3.mlir
// RUN: %python %S/Inputs/extract_ptx.py < %t.3.mlir > %t.3.ptx
// RUN: FileCheck %s --check-prefixes=PTX,PTX-THREE < %t.3.ptx
// RUN: FileCheck %s --check-prefix=NOLOCAL < %t.3.ptx
// RUN: adamas-opt %s -adamas-gpu-pipeline="chip=sm_90 format=isa max-cluster-size=0 l2-cache-hints=false" | %python %S/Inputs/extract_ptx.py | FileCheck %s --check-prefix=NOHINTS
//
// The decode step (MHA 32/32) at D = 128, 2 bits through the whole GPU pipeline, with the
// kernels as PTX (no CUDA toolkit needed: the kernels call no libdevice
// function). The encode and select kernels must be what DESIGN.md 4 asks for:
// 128-bit loads of the codes, popcounts, warp shuffles and ballots, and no
// local memory anywhere. With cluster-select the selection is one kernel
// launched in thread block clusters, and (by default on sm_90) the attention
// one kernel whose clusters merge the splits; without clusters
// (max-cluster-size=0, as on sm_80) three and two kernels.

// The host function: its stream (the runtime's current stream), one scratch
// block from the runtime's pool, the launches back to back (lowered to
// mgpuLaunchKernel / mgpuLaunchClusterKernel when translated to LLVM IR), the
// scratch freed, the stream released.
// HOST-LABEL: llvm.func @adamas_decode_step(
// HOST: llvm.call @mgpuStreamCreate
// HOST: llvm.call @mgpuMemAlloc
// HOST-NOT: llvm.call @mgpuMemAlloc
// HOST-CLUSTER: gpu.launch_func <%{{.*}} : !llvm.ptr> @adamas_decode_step_kernels::@adamas_decode_step_select0_cluster clusters in
// HOST-THREE: gpu.launch_func <%{{.*}} : !llvm.ptr> @adamas_decode_step_kernels::@adamas_decode_step_select0_hist
// HOST-THREE: gpu.launch_func <%{{.*}} : !llvm.ptr> @adamas_decode_step_kernels::@adamas_decode_step_select0_threshold
// HOST-THREE: gpu.launch_func <%{{.*}} : !llvm.ptr> @adamas_decode_step_kernels::@adamas_decode_step_select0_compact
// HOST-CLUSTER: gpu.launch_func <%{{.*}} : !llvm.ptr> @adamas_decode_step_kernels::@adamas_decode_step_attend0_cluster clusters in
// HOST-THREE: gpu.launch_func <%{{.*}} : !llvm.ptr> @adamas_decode_step_kernels::@adamas_decode_step_attend0_partial
// HOST-THREE: gpu.launch_func <%{{.*}} : !llvm.ptr> @adamas_decode_step_kernels::@adamas_decode_step_attend0_merge
// HOST: gpu.launch_func <%{{.*}} : !llvm.ptr> @adamas_decode_step_kernels::@adamas_decode_step_encode
// HOST: llvm.call @mgpuMemFree
// HOST-NOT: llvm.call @mgpuMemFree
// HOST: llvm.call @mgpuStreamSynchronize
// HOST: llvm.call @mgpuStreamDestroy
// HOST-LABEL: llvm.func @_mlir_ciface_adamas_decode_step(
// HOST: gpu.binary @adamas_decode_step_kernels

// Programmatic dependent launch: the module tells the runtime (a global it
// looks up) that every kernel waits on the kernel before it first thing
// (the new keys' encode, last, waits last).
// PTX: .target sm_90
// PTX: .visible .global .align 4 .u32 adamas_grid_dependency_wait = 1;
// The cluster kernel: the query encoded (shuffles, ballots), the histogram
// pass, a cluster barrier, the other CTAs' histograms through mapa
// (distributed shared memory), a cluster barrier before the compaction.
// PTX-CLUSTER-LABEL: .entry adamas_decode_step_select0_cluster(
// PTX-CLUSTER: griddepcontrol.wait;
// PTX-CLUSTER: shfl.sync.bfly.b32
// PTX-CLUSTER: vote.sync.ballot.b32
// PTX-CLUSTER: ld.global.cs.v4.u32
// PTX-CLUSTER: popc.b32
// PTX-CLUSTER: atom.shared.add.u32
// PTX-CLUSTER: barrier.cluster.arrive;
// PTX-CLUSTER-NEXT: barrier.cluster.wait;
// PTX-CLUSTER: mapa.u64
// PTX-CLUSTER: shfl.sync.up.b32
// PTX-CLUSTER: barrier.cluster.arrive;
// PTX-CLUSTER-NEXT: barrier.cluster.wait;
// PTX-CLUSTER: ld.global.v4.b32
// PTX-CLUSTER: shfl.sync.up.b32
// PTX-CLUSTER: discard.global.L2 [%rd{{[0-9]+}}], 128;
// PTX-THREE-LABEL: .entry adamas_decode_step_select0_hist(
// With l2-cache-hints (the default) the histogram pass reads the key codes
// evict-first and the compaction drops the distance lines it has read.
// PTX-THREE: griddepcontrol.wait;
// PTX-THREE: shfl.sync.bfly.b32
// PTX-THREE: vote.sync.ballot.b32
// PTX-THREE: ld.global.cs.v4.u32
// PTX-THREE: popc.b32
// PTX-THREE: atom.shared.add.u32
// PTX-THREE-LABEL: .entry adamas_decode_step_select0_threshold(
// PTX-THREE: griddepcontrol.wait;
// PTX-THREE: vote.sync.ballot.b32
// PTX-THREE: bar.sync
// PTX-THREE: shfl.sync.bfly.b32
// PTX-THREE: shfl.sync.up.b32
// PTX-THREE-LABEL: .entry adamas_decode_step_select0_compact(
// PTX-THREE: griddepcontrol.wait;
// PTX-THREE: ld.global.v4.b32
// PTX-THREE: shfl.sync.up.b32
// PTX-THREE: discard.global.L2 [%rd{{[0-9]+}}], 128;
// PTX-THREE-NOT: barrier.cluster
// PTX-CLUSTER-LABEL: .entry adamas_decode_step_attend0_cluster(
// PTX-CLUSTER: griddepcontrol.wait;
// PTX-CLUSTER: mbarrier.init.shared.b64
// PTX-CLUSTER: fence.mbarrier_init.release.cluster;
// PTX-CLUSTER: barrier.cluster.arrive.relaxed;
// PTX-CLUSTER: ex2.approx.f32
// PTX-CLUSTER: barrier.cluster.wait;
// PTX-CLUSTER: mapa.shared::cluster.u64
// PTX-CLUSTER: st.async.shared::cluster.mbarrier::complete_tx::bytes.b32
// PTX-CLUSTER-NOT: barrier.cluster
// PTX-CLUSTER: mbarrier.arrive.expect_tx.shared.b64
// PTX-CLUSTER: mbarrier.try_wait.parity.shared.b64
// PTX-CLUSTER-NOT: barrier.cluster
// The long splits (one head per CTA: 2 at k = 256) merge in their cluster
// too, where their grid is one wave (B = 16 here).
// PTX-CLUSTER-LABEL: .entry adamas_decode_step_attend0_cluster_long(
// PTX-CLUSTER: griddepcontrol.wait;
// PTX-CLUSTER: fence.mbarrier_init.release.cluster;
// PTX-CLUSTER: barrier.cluster.arrive.relaxed;
// PTX-CLUSTER: barrier.cluster.wait;
// PTX-CLUSTER: st.async.shared::cluster.mbarrier::complete_tx::bytes.b32
// PTX-CLUSTER: mbarrier.try_wait.parity.shared.b64
// PTX-CLUSTER-NOT: barrier.cluster
// PTX-THREE-LABEL: .entry adamas_decode_step_attend0_partial(
// PTX-THREE: griddepcontrol.wait;
// PTX-THREE: ex2.approx.f32
// PTX-THREE-LABEL: .entry adamas_decode_step_attend0_merge(
// PTX-THREE: griddepcontrol.wait;
// PTX-LABEL: .entry adamas_decode_step_encode(
// PTX: griddepcontrol.launch_dependents;
// PTX-NOT: griddepcontrol
// PTX: shfl.sync.bfly.b32
// PTX: vote.sync.ballot.b32
// PTX: griddepcontrol.wait;
// PTX-NEXT: ret;

// NOHINTS-LABEL: .entry adamas_decode_step_select0_hist(
// NOHINTS-NOT: ld.global.cs
// NOHINTS: ld.global.v4.b32
// NOHINTS-NOT: discard.global.L2

// NOLOCAL-NOT: ld.local
// NOLOCAL-NOT: st.local
// NOLOCAL-NOT: call.uni

func.func @adamas_decode_step(%query: tensor<?x32x1x128xf16>, %new_keys: tensor<?x32x1x128xf16>,
                              %keys: tensor<?x32x?x128xf16>, %values: tensor<?x32x?x128xf16>,
                              %code_cache: tensor<?x32x?x8xi32>, %lengths: tensor<?xi32>)
    -> (tensor<?x32x1x128xf16>, tensor<?x32x?x8xi32>) {
  %hq = adamas.hadamard %query : tensor<?x32x1x128xf16>
  %qc = adamas.bucketize %hq [-10.0, 0.0, 10.0] : tensor<?x32x1x128xf16> -> tensor<?x32x1x8xi32>
  %hk = adamas.hadamard %new_keys : tensor<?x32x1x128xf16>
  %kc = adamas.bucketize %hk [-10.0, 0.0, 10.0] : tensor<?x32x1x128xf16> -> tensor<?x32x1x8xi32>
  %cache = adamas.cache_write %kc into %code_cache at %lengths : tensor<?x32x1x8xi32> into tensor<?x32x?x8xi32>, tensor<?xi32>
  %idx = adamas.l1_topk %qc, %cache, %lengths {k = 256 : i64, sink = 4 : i64, recent = 16 : i64}
      : tensor<?x32x1x8xi32>, tensor<?x32x?x8xi32>, tensor<?xi32> -> tensor<?x32x1x256xi32>
  %o = adamas.sparse_attn %query, %keys, %values, %idx
      : tensor<?x32x1x128xf16>, tensor<?x32x?x128xf16>, tensor<?x32x?x128xf16>, tensor<?x32x1x256xi32> -> tensor<?x32x1x128xf16>
  return %o, %cache : tensor<?x32x1x128xf16>, tensor<?x32x?x8xi32>
}
