// RUN: adamas-opt %s -adamas-lower-to-gpu="select-grid-sync=false" -split-input-file | FileCheck %s --enable-var-scope
// RUN: adamas-opt %s -adamas-lower-to-gpu="attend-compacts-selection=false select-grid-sync=false" -split-input-file | FileCheck %s --check-prefix=OFF
// RUN: adamas-opt %s -adamas-lower-to-gpu="cluster-select=true" -split-input-file | FileCheck %s --check-prefix=CLUSTER
// RUN: adamas-opt %s -adamas-lower-to-gpu="select-grid-sync=false attend-async-cluster-compaction=false" -split-input-file | FileCheck %s --check-prefix=SYNC

// attend-compacts-selection (the default): where sparse_attn's indices are
// an l1_topk's that nothing else reads, and the selection is three kernels,
// the attention kernels take the select kernels' arguments first (and a
// flag last); the select's threshold and compaction kernels are launched by
// the attention, with empty grids where the short forms' CTAs plan and
// compact their own slots: a chunk of at most 128 threads x 32 positions,
// and the long form (rows x 1 split >= 6 x 132 CTAs) not taken. The long
// form always reads the indices.

// CHECK-LABEL: func.func @fused(
//   CHECK-NOT:   gpu.launch_func
//       CHECK:   %[[LONGA:.*]] = arith.cmpi uge, %{{.*}}, %c792 : index
//       CHECK:   %[[SHORTA:.*]] = arith.xori %[[LONGA]], %true
//       CHECK:   %[[ONEPASS:.*]] = arith.cmpi ule, %{{.*}}, %c4096{{[_0-9]*}} : index
//       CHECK:   %[[COMPACTS:.*]] = arith.andi %[[ONEPASS]], %[[SHORTA]] : i1
// The histogram pass is launched here too: it lets the next kernel launch at
// its start (its last argument 1) unless the CTAs compact and the pass has
// more CTAs than the chip has SMs (then only as its CTAs finish).
//       CHECK:   %[[HISTXY:.*]] = arith.muli
//       CHECK:   %[[HISTCTAS:.*]] = arith.muli %[[HISTXY]], %c1 : index
//       CHECK:   %[[SPREAD:.*]] = arith.cmpi ule, %[[HISTCTAS]], %c132 : index
//       CHECK:   %[[NOTCOMPACTS:.*]] = arith.xori %[[COMPACTS]], %true
//       CHECK:   %[[EARLY:.*]] = arith.ori %[[SPREAD]], %[[NOTCOMPACTS]] : i1
//       CHECK:   %[[RELEASE:.*]] = arith.select %[[EARLY]], %c1{{[_0-9]*}}, %c0{{[_0-9]*}} : index
//       CHECK:   %[[FLAG:.*]] = arith.select %[[COMPACTS]], %c1{{[_0-9]*}}, %c0{{[_0-9]*}} : index
//       CHECK:   %[[ROWS:.*]] = arith.select %[[COMPACTS]], %c0{{[_0-9]*}}, %{{.*}} : index
//       CHECK:   %[[SHORTY:.*]] = arith.select %[[COMPACTS]], %c0{{[_0-9]*}}, %{{.*}} : index
//       CHECK:   %[[LONGY:.*]] = arith.select %[[COMPACTS]], %c0{{[_0-9]*}}, %{{.*}} : index
//       CHECK:   %[[HIST:.*]] = gpu.launch_func async {{.*}} @fused_kernels::@fused_select0_hist
//  CHECK-SAME:     %[[RELEASE]] : index)
//       CHECK:   %[[THRESHOLD:.*]] = gpu.launch_func async [%[[HIST]]] @fused_kernels::@fused_select0_threshold blocks in (%[[ROWS]],
//       CHECK:   %[[C1:.*]] = gpu.launch_func async [%[[THRESHOLD]]] @fused_kernels::@fused_select0_compact blocks in (%{{.*}}, %[[SHORTY]], %{{.*}})
//       CHECK:   %[[C2:.*]] = gpu.launch_func async [%[[C1]]] @fused_kernels::@fused_select0_compact_long blocks in (%{{.*}}, %[[LONGY]], %{{.*}})
//       CHECK:   gpu.launch_func async [%[[C2]]] @fused_kernels::@fused_attend0_cluster
//  CHECK-SAME:     args(%{{[a-z_0-9]+}} : memref<32xi32>,
//  CHECK-SAME:     %[[FLAG]] : index)
//       CHECK:   @fused_kernels::@fused_attend0_partial blocks
//  CHECK-SAME:     %[[FLAG]] : index)
//       CHECK:   @fused_kernels::@fused_attend0_partial_long blocks
//  CHECK-SAME:     %[[FLAG]] : index)
// The histogram pass: the next kernel's launch at its start where its
// last argument says so, else at its end.
//       CHECK: gpu.func @fused_select0_hist(
//  CHECK-NEXT:   nvvm.griddepcontrol  wait
//       CHECK:   %[[EARLYARG:.*]] = arith.cmpi ne, %arg12, %c0
//  CHECK-NEXT:   scf.if %[[EARLYARG]] {
//  CHECK-NEXT:     nvvm.griddepcontrol  launch_dependents
//       CHECK:   %[[LATE:.*]] = arith.xori %[[EARLYARG]], %true
//  CHECK-NEXT:   scf.if %[[LATE]] {
//  CHECK-NEXT:     nvvm.griddepcontrol  launch_dependents
//  CHECK-NEXT:   }
//  CHECK-NEXT:   gpu.return
// The CTA's plan (SelectCommon::planRow): the probes below `take` counted
// by a ballot and summed over the warps, one barrier; T's candidate bins
// summed over the chunks' lanes (5 values: xor shuffles), the two scans
// over the chunks (10 shuffles up). In the cluster form, after every CTA
// of the cluster runs (the wait of the start's relaxed arrive), each CTA
// compacts its share of the row's chunks into the slots of the CTAs that
// hold them (no ballot for a chunk range): each position by st.async on
// the holder's mbarrier (every CTA initialises its own for one arrival,
// the leader also the merge's, before the relaxed arrive); then thread 0
// arrives expecting 4 bytes per free slot of the CTA's 32 -- [max(32 r,
// sink = 4), min(32 r + 32, k - recent = 56)) -- every thread waits for
// the phase, and a CTA barrier (its own stores of the forced slots); no
// cluster barrier. The partial kernel's CTAs find the chunks that meet
// their slots (ballots).
//       CHECK: gpu.func @fused_attend0_cluster(
//  CHECK-SAME:     async_cluster_compaction = 1 : i64
//  CHECK-SAME:     compacts_selection = 1 : i64
//       CHECK:   %[[TID0:.*]] = arith.cmpi eq, %{{.*}}, %c0
//  CHECK-NEXT:   scf.if %[[TID0]] {
//       CHECK:       nvvm.mbarrier.init %{{.*}}, %c1_i32{{[_0-9]*}} : !llvm.ptr<3>, i32
//  CHECK-NEXT:     }
//       CHECK:     nvvm.mbarrier.init %{{.*}}, %c1_i32{{[_0-9]*}} : !llvm.ptr<3>, i32
//  CHECK-NEXT:     nvvm.fence.mbarrier.init
//       CHECK:   nvvm.cluster.arrive.relaxed
//       CHECK:   nvvm.cluster.wait
//       CHECK:   nvvm.vote.sync  ballot
//  CHECK-NEXT:   math.ctpop
//       CHECK:   gpu.barrier
//       CHECK:   gpu.shuffle  xor
//       CHECK-COUNT-10:   gpu.shuffle  up
//   CHECK-NOT:   nvvm.vote.sync
//       CHECK:   nvvm.mapa %{{.*}} : !llvm.ptr<3> -> !llvm.ptr<7>
//       CHECK:   nvvm.mapa %{{.*}} : !llvm.ptr<3> -> !llvm.ptr<7>
//  CHECK-NEXT:   nvvm.inline_ptx "st.async.shared::cluster.mbarrier::complete_tx::bytes.b32
//   CHECK-NOT:   nvvm.vote.sync
//       CHECK:   %[[LO:.*]] = arith.maxsi %{{.*}}, %c4{{[_0-9]*}} : index
//       CHECK:   %[[HI:.*]] = arith.minsi %{{.*}}, %c56{{[_0-9]*}} : index
//       CHECK:   nvvm.mbarrier.arrive.expect_tx
//       CHECK:   nvvm.mbarrier.try_wait.parity %{{.*}}, %c0_i32{{[_0-9]*}}, %c0_i32{{[_0-9]*}}
//       CHECK:   gpu.barrier
//   CHECK-NOT:   nvvm.cluster.arrive{{$}}
//       CHECK:   gpu.return
//       CHECK: gpu.func @fused_attend0_partial(
//  CHECK-SAME:     compacts_selection = 1 : i64
//   CHECK-NOT:   nvvm.cluster
//       CHECK:   nvvm.vote.sync  ballot
//       CHECK:   nvvm.vote.sync  ballot
//       CHECK: gpu.func @fused_attend0_partial_long(
//  CHECK-SAME:     compacts_selection = 0 : i64
//   CHECK-NOT:   nvvm.vote.sync
//       CHECK:   gpu.return
// With the option off the compaction kernels follow the threshold kernel in
// the select's launches, the attention takes only its own arguments, and
// the histogram pass lets the threshold kernel launch at its start.
// OFF-LABEL: func.func @fused(
//       OFF:   @fused_kernels::@fused_select0_hist
//  OFF-SAME:     %c1{{[_0-9]*}} : index)
//       OFF:   @fused_kernels::@fused_select0_threshold
//  OFF-NEXT:   arith.constant
//       OFF:   @fused_kernels::@fused_select0_compact blocks
//       OFF:   @fused_kernels::@fused_attend0_cluster
//  OFF-SAME:     args(%{{[a-z_0-9]+}} : memref<512xf16>,
//       OFF: gpu.func @fused_attend0_cluster(
//  OFF-SAME:     compacts_selection = 0 : i64
//   OFF-NOT:   nvvm.vote.sync
//       OFF:   gpu.return
// With attend-async-cluster-compaction=false the compaction's positions go
// by generic stores through mapa, then a cluster barrier.
// SYNC-LABEL: gpu.func @fused_attend0_cluster(
//  SYNC-SAME:     async_cluster_compaction = 0 : i64
//       SYNC:   nvvm.cluster.arrive.relaxed
//       SYNC:   nvvm.cluster.wait
//       SYNC:   nvvm.mapa %{{.*}}, %{{.*}} : !llvm.ptr -> !llvm.ptr
//  SYNC-NEXT:   llvm.store %{{.*}}, %{{.*}} : i32, !llvm.ptr
//   SYNC-NOT:   nvvm.vote.sync
//       SYNC:   nvvm.cluster.arrive
//  SYNC-NEXT:   nvvm.cluster.wait

// With cluster-select the MHA selection is one cluster kernel (its
// compaction inside): nothing is left to the attention.
// CLUSTER-LABEL: func.func @fused(
//   CLUSTER-NOT:   @fused_select0_compact
//       CLUSTER:   @fused_kernels::@fused_select0_cluster
//   CLUSTER-NOT:   @fused_select0_compact
//       CLUSTER: gpu.func @fused_attend0_cluster(
//  CLUSTER-SAME:     compacts_selection = 0 : i64
func.func @fused(%qc: tensor<1x4x1x8xi32>, %codes: tensor<1x4x?x8xi32>, %len: tensor<1xi32>,
                 %q: tensor<1x4x1x128xf16>, %keys: tensor<1x4x?x128xf16>,
                 %values: tensor<1x4x?x128xf16>) -> tensor<1x4x1x128xf16> {
  %idx = adamas.l1_topk %qc, %codes, %len {k = 64 : i64, sink = 4 : i64, recent = 8 : i64}
      : tensor<1x4x1x8xi32>, tensor<1x4x?x8xi32>, tensor<1xi32> -> tensor<1x4x1x64xi32>
  %o = adamas.sparse_attn %q, %keys, %values, %idx
      : tensor<1x4x1x128xf16>, tensor<1x4x?x128xf16>, tensor<1x4x?x128xf16>, tensor<1x4x1x64xi32> -> tensor<1x4x1x128xf16>
  return %o : tensor<1x4x1x128xf16>
}

// -----

// Indices the step also returns are written by the compaction kernels, as
// before: the attention reads them.
// CHECK-LABEL: func.func @indices_returned(
//       CHECK:   @indices_returned_kernels::@indices_returned_select0_threshold
//  CHECK-NEXT:   arith.constant
//       CHECK:   @indices_returned_kernels::@indices_returned_select0_compact blocks
//       CHECK:   @indices_returned_kernels::@indices_returned_attend0_cluster
//  CHECK-SAME:     args(%{{[a-z_0-9]+}} : memref<512xf16>,
//       CHECK: gpu.func @indices_returned_attend0_cluster(
//  CHECK-SAME:     compacts_selection = 0 : i64
func.func @indices_returned(%qc: tensor<1x4x1x8xi32>, %codes: tensor<1x4x?x8xi32>,
                            %len: tensor<1xi32>, %q: tensor<1x4x1x128xf16>,
                            %keys: tensor<1x4x?x128xf16>, %values: tensor<1x4x?x128xf16>)
    -> (tensor<1x4x1x128xf16>, tensor<1x4x1x64xi32>) {
  %idx = adamas.l1_topk %qc, %codes, %len {k = 64 : i64, sink = 4 : i64, recent = 8 : i64}
      : tensor<1x4x1x8xi32>, tensor<1x4x?x8xi32>, tensor<1xi32> -> tensor<1x4x1x64xi32>
  %o = adamas.sparse_attn %q, %keys, %values, %idx
      : tensor<1x4x1x128xf16>, tensor<1x4x?x128xf16>, tensor<1x4x?x128xf16>, tensor<1x4x1x64xi32> -> tensor<1x4x1x128xf16>
  return %o, %idx : tensor<1x4x1x128xf16>, tensor<1x4x1x64xi32>
}

// -----

// Two attentions over one selection: neither compacts it.
// CHECK-LABEL: func.func @two_attends(
//       CHECK:   @two_attends_kernels::@two_attends_select0_compact blocks
//       CHECK: gpu.func @two_attends_attend0_cluster(
//  CHECK-SAME:     compacts_selection = 0 : i64
//       CHECK: gpu.func @two_attends_attend1_cluster(
//  CHECK-SAME:     compacts_selection = 0 : i64
func.func @two_attends(%qc: tensor<1x4x1x8xi32>, %codes: tensor<1x4x?x8xi32>,
                       %len: tensor<1xi32>, %q: tensor<1x4x1x128xf16>,
                       %keys: tensor<1x4x?x128xf16>, %values: tensor<1x4x?x128xf16>)
    -> (tensor<1x4x1x128xf16>, tensor<1x4x1x128xf16>) {
  %idx = adamas.l1_topk %qc, %codes, %len {k = 64 : i64, sink = 4 : i64, recent = 8 : i64}
      : tensor<1x4x1x8xi32>, tensor<1x4x?x8xi32>, tensor<1xi32> -> tensor<1x4x1x64xi32>
  %o1 = adamas.sparse_attn %q, %keys, %values, %idx
      : tensor<1x4x1x128xf16>, tensor<1x4x?x128xf16>, tensor<1x4x?x128xf16>, tensor<1x4x1x64xi32> -> tensor<1x4x1x128xf16>
  %o2 = adamas.sparse_attn %q, %keys, %values, %idx
      : tensor<1x4x1x128xf16>, tensor<1x4x?x128xf16>, tensor<1x4x?x128xf16>, tensor<1x4x1x64xi32> -> tensor<1x4x1x128xf16>
  return %o1, %o2 : tensor<1x4x1x128xf16>, tensor<1x4x1x128xf16>
}
