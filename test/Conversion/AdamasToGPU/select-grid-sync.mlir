// RUN: adamas-opt %s -adamas-lower-to-gpu="select-precompacts-candidates=true" -split-input-file | FileCheck %s --enable-var-scope
// RUN: adamas-opt %s -adamas-lower-to-gpu="select-grid-sync=false" -split-input-file | FileCheck %s --check-prefix=OFF
// RUN: adamas-opt %s -adamas-lower-to-gpu -split-input-file | FileCheck %s --check-prefix=WHOLE

// select-grid-sync (default on): where a histogram CTA ranks one selection
// row (MHA here), the selection is also built as one kernel over the
// histogram pass's grid, in three forms: `_gridsync` (short runs),
// `_long_gridsync` (long runs) with the chunk's distances in shared memory,
// `_long_global_gridsync` (long runs) with them through global memory. Each
// is the pass, its histograms stored, a grid-wide barrier (its counter a
// zero-initialised global; the name's suffix makes the runtime launch it
// cooperatively), then the CTA's row plan and the compaction of its chunk.
// The host takes one where the grid fits 4 CTAs per SM of the device:
// short runs up to 4096 positions per chunk, long runs in shared memory up
// to 8192, beyond through L2; the histogram pass, the threshold and both
// compaction kernels then get empty grids.

// The grid must fit the device the step runs on (the runtime's count of its
// multiprocessors, asked once per step before the stream chain starts).
//       CHECK: func.func private @mgpuDeviceMultiprocessorCount() -> i32
// CHECK-LABEL: func.func @mha(
//  CHECK-NEXT:   %[[SMS:.*]] = call @mgpuDeviceMultiprocessorCount() : () -> i32
//  CHECK-NEXT:   %[[SMSIDX:.*]] = arith.index_cast %[[SMS]] : i32 to index
//       CHECK:   gpu.wait async
//       CHECK:   %[[LONG:.*]] = arith.cmpi ugt, %[[LEN:.*]], %c4096 : index
//       CHECK:   %[[RESIDENT:.*]] = arith.muli %[[SMSIDX]], %c4{{[_0-9]*}} : index
//       CHECK:   %[[FITS:.*]] = arith.cmpi ule, %{{.*}}, %[[RESIDENT]] : index
//       CHECK:   %[[SHARED:.*]] = arith.cmpi ule, %[[LEN]], %c8192 : index
//       CHECK:   %[[PASSX:.*]] = arith.select %[[FITS]], %c0{{[_0-9]*}}, %[[CHUNKS:.*]] : index
//       CHECK:   %[[ROWS:.*]] = arith.select %[[FITS]], %c0{{[_0-9]*}}, %{{.*}} : index
//       CHECK:   %[[SHORTY:.*]] = arith.select %[[FITS]], %c0{{[_0-9]*}}, %{{.*}} : index
//       CHECK:   %[[LONGY:.*]] = arith.select %[[FITS]], %c0{{[_0-9]*}}, %{{.*}} : index
//       CHECK:   %[[SHORT:.*]] = arith.xori %[[LONG]], %true
//       CHECK:   %[[GSHORT:.*]] = arith.andi %[[FITS]], %[[SHORT]] : i1
//       CHECK:   %[[GRIDX:.*]] = arith.select %[[GSHORT]], %[[CHUNKS]], %c0{{[_0-9]*}} : index
//       CHECK:   %[[GLONG:.*]] = arith.andi %[[FITS]], %[[LONG]] : i1
//       CHECK:   %[[GLONGSHARED:.*]] = arith.andi %[[GLONG]], %[[SHARED]] : i1
//       CHECK:   %[[LONGX:.*]] = arith.select %[[GLONGSHARED]], %[[CHUNKS]], %c0{{[_0-9]*}} : index
//       CHECK:   %[[NOTSHARED:.*]] = arith.xori %[[SHARED]], %true
//       CHECK:   %[[GLONGGLOBAL:.*]] = arith.andi %[[GLONG]], %[[NOTSHARED]] : i1
//       CHECK:   %[[GLOBALX:.*]] = arith.select %[[GLONGGLOBAL]], %[[CHUNKS]], %c0{{[_0-9]*}} : index
//       CHECK:   gpu.launch_func async [%{{.*}}] @mha_kernels::@mha_select0_hist blocks in (%[[PASSX]],
//       CHECK:   gpu.launch_func async [%{{.*}}] @mha_kernels::@mha_select0_gridsync blocks in (%[[GRIDX]],
//       CHECK:   gpu.launch_func async [%{{.*}}] @mha_kernels::@mha_select0_long_gridsync blocks in (%[[LONGX]],
//       CHECK:   gpu.launch_func async [%{{.*}}] @mha_kernels::@mha_select0_long_global_gridsync blocks in (%[[GLOBALX]],
//       CHECK:   gpu.launch_func async [%{{.*}}] @mha_kernels::@mha_select0_threshold blocks in (%[[ROWS]],
//       CHECK:   gpu.launch_func async [%{{.*}}] @mha_kernels::@mha_select0_compact blocks in (%{{.*}}, %[[SHORTY]],
//       CHECK:   gpu.launch_func async [%{{.*}}] @mha_kernels::@mha_select0_compact_long blocks in (%{{.*}}, %[[LONGY]],
//       CHECK:   llvm.mlir.global external @mha_select0_long_global_gridsync_barrier(0 : i32) {addr_space = 1 : i32
//       CHECK:   llvm.mlir.global external @mha_select0_long_gridsync_barrier(0 : i32) {addr_space = 1 : i32
//       CHECK:   llvm.mlir.global external @mha_select0_gridsync_barrier(0 : i32) {addr_space = 1 : i32
// The kernel: the pass (its keys, distances into shared memory, aligned as
// a run's load, and histogram), the histograms stored, the barrier's
// arrival (thread 0, with a release, after a CTA barrier), the chunk's
// candidates (select-precompacts-candidates=true, off by default: its runs against
// T_c, the first bin where the chunk's own running count reaches the row's
// free slots; the selected positions and their distances into two buffers
// of 1024) while the other CTAs arrive, the barrier's wait (thread 0 polls
// with acquires until bit 31 differs from what its arrival saw, then a CTA
// barrier), the next kernel's launch (its CTAs placed and waiting while
// these finish), the plan (one ballot per warp over the probes, whose loads
// come first) and the compaction (runs of 16 from shared memory, a ballot
// per run) of the candidates, or of the chunk where they did not fit.
//       CHECK: gpu.func @mha_select0_gridsync(
//  CHECK-SAME:     %[[DIST:[a-z0-9]+]] : memref<4096xi16, #gpu.address_space<workgroup>> {llvm.align = 32 : i64}
//  CHECK-SAME:     %[[CPOS:[a-z0-9]+]] : memref<1024xi32, #gpu.address_space<workgroup>>
//  CHECK-SAME:     %[[CDIST:[a-z0-9]+]] : memref<1024xi16, #gpu.address_space<workgroup>> {llvm.align = 64 : i64}
//  CHECK-SAME:     grid_sync = 1 : i64
//  CHECK-SAME:     precompacts_candidates = 1 : i64
//  CHECK-SAME:     nvvm.minctasm = 4 : i32
//  CHECK-NEXT:   nvvm.griddepcontrol  wait
//   CHECK-NOT:   nvvm.griddepcontrol
//       CHECK:   nvvm.inline_ptx "ld.global.cs.v4.u32
//       CHECK:   memref.store %{{.*}}, %[[DIST]][%{{.*}}] : memref<4096xi16, #gpu.address_space<workgroup>>
//       CHECK:   memref.store %{{.*}}, %arg4[%{{.*}}] : memref<?xi32>
//       CHECK:   gpu.barrier
//       CHECK:   %[[ARRIVAL:.*]] = scf.if
//  CHECK-NEXT:     llvm.mlir.addressof @mha_select0_gridsync_barrier : !llvm.ptr<1>
//       CHECK:     %[[OLD:.*]] = nvvm.inline_ptx "atom.add.release.gpu.u32 $0, [$1], $2;"
//  CHECK-NEXT:     scf.yield %[[OLD]] : i32
//   CHECK-NOT:   ld.acquire
//       CHECK:   vector.load %[[DIST]][%{{.*}}] {alignment = 32 : i64} : memref<4096xi16, #gpu.address_space<workgroup>>, vector<16xi16>
//   CHECK-NOT:   ld.acquire
//       CHECK:   memref.store %{{.*}}, %[[CPOS]][%{{.*}}] : memref<1024xi32, #gpu.address_space<workgroup>>
//       CHECK:   memref.store %{{.*}}, %[[CDIST]][%{{.*}}] : memref<1024xi16, #gpu.address_space<workgroup>>
//       CHECK:   %[[NOW:.*]] = nvvm.inline_ptx "ld.acquire.gpu.u32 $0, [$1];"
//  CHECK-NEXT:   arith.xori %[[NOW]], %[[ARRIVAL]] : i32
//       CHECK:   gpu.barrier
//  CHECK-NEXT:   nvvm.griddepcontrol  launch_dependents
//   CHECK-NOT:   nvvm.griddepcontrol
//       CHECK:   nvvm.vote.sync  ballot
//       CHECK:   vector.load %[[CDIST]][%{{.*}}] {alignment = 32 : i64} : memref<1024xi16, #gpu.address_space<workgroup>>, vector<16xi16>
//       CHECK:   %[[POS:.*]] = memref.load %[[CPOS]][%{{.*}}] : memref<1024xi32, #gpu.address_space<workgroup>>
//       CHECK:   memref.store %[[POS]], %arg5[%{{.*}}] : memref<?xi32>
//       CHECK:   vector.load %[[DIST]][%{{.*}}] {alignment = 32 : i64} : memref<4096xi16, #gpu.address_space<workgroup>>, vector<16xi16>
//       CHECK:   memref.store %{{.*}}, %arg5[%{{.*}}] : memref<?xi32>
//   CHECK-NOT:   nvvm.griddepcontrol
//       CHECK:   gpu.return
// Long runs: 8192 positions (16 KB) of shared memory, runs of 32; the
// candidates too.
//       CHECK: gpu.func @mha_select0_long_gridsync(
//  CHECK-SAME:     %[[LDIST:[a-z0-9]+]] : memref<8192xi16, #gpu.address_space<workgroup>> {llvm.align = 64 : i64}
//  CHECK-SAME:     memref<1024xi16, #gpu.address_space<workgroup>>
//  CHECK-SAME:     nvvm.minctasm = 4 : i32
//       CHECK:   llvm.mlir.addressof @mha_select0_long_gridsync_barrier
//       CHECK:   vector.load %[[LDIST]][%{{.*}}] {alignment = 64 : i64} : memref<8192xi16, #gpu.address_space<workgroup>>, vector<32xi16>
// Longer chunks: the distance rows in global memory, as the compaction
// kernels read them (and no candidates).
//       CHECK: gpu.func @mha_select0_long_global_gridsync(
//   CHECK-NOT:     xi16, #gpu.address_space<workgroup>>
//  CHECK-SAME:     nvvm.minctasm = 4 : i32
//       CHECK:   memref.store %{{.*}}, %arg3[%{{.*}}] : memref<?xi16>
//       CHECK:   llvm.mlir.addressof @mha_select0_long_global_gridsync_barrier
//       CHECK:   vector.load %arg3[%{{.*}}] {alignment = 64 : i64} : memref<?xi16>, vector<32xi16>

// Without candidates (the default): one barrier,
// thread 0 arriving and polling between two CTA barriers, then the plan and
// the chunk's compaction.
//       WHOLE: gpu.func @mha_select0_gridsync(
//   WHOLE-NOT:     1024xi16
//  WHOLE-SAME:     precompacts_candidates = 0 : i64
//       WHOLE:   memref.store %{{.*}}, %arg4[%{{.*}}] : memref<?xi32>
//       WHOLE:   gpu.barrier
//       WHOLE:   scf.if
//  WHOLE-NEXT:     llvm.mlir.addressof @mha_select0_gridsync_barrier : !llvm.ptr<1>
//       WHOLE:     %[[OLD:.*]] = nvvm.inline_ptx "atom.add.release.gpu.u32 $0, [$1], $2;"
//       WHOLE:     scf.while
//  WHOLE-NEXT:       %[[NOW:.*]] = nvvm.inline_ptx "ld.acquire.gpu.u32 $0, [$1];"
//  WHOLE-NEXT:       arith.xori %[[NOW]], %[[OLD]] : i32
//       WHOLE:   gpu.barrier
//  WHOLE-NEXT:   nvvm.griddepcontrol  launch_dependents
//       WHOLE:   nvvm.vote.sync  ballot
//       WHOLE:   vector.load %{{.*}} {alignment = 32 : i64} : memref<4096xi16, #gpu.address_space<workgroup>>, vector<16xi16>
//       WHOLE:   memref.store %{{.*}}, %arg5[%{{.*}}] : memref<?xi32>
//   WHOLE-NOT:   1024xi16
//       WHOLE:   gpu.return
// OFF-LABEL: func.func @mha(
//   OFF-NOT:   select0_grid
//       OFF:   @mha_kernels::@mha_select0_hist
//   OFF-NOT:   select0_grid
//       OFF:   @mha_kernels::@mha_select0_threshold
//   OFF-NOT:   select0_grid
//       OFF: gpu.func @mha_select0_hist(
//  OFF-SAME:     grid_sync = 0 : i64
//   OFF-NOT:   select0_grid
func.func @mha(%qc: tensor<?x32x1x8xi32>, %kc: tensor<?x32x?x8xi32>, %len: tensor<?xi32>) -> tensor<?x32x1x256xi32> {
  %idx = adamas.l1_topk %qc, %kc, %len {k = 256 : i64} : tensor<?x32x1x8xi32>, tensor<?x32x?x8xi32>, tensor<?xi32> -> tensor<?x32x1x256xi32>
  return %idx : tensor<?x32x1x256xi32>
}

// -----

// Several selection rows per histogram CTA (per-head GQA: 4 query heads per
// KV head): their plans and compactions would run in series, so no grid
// kernel is built.

// CHECK-LABEL: func.func @gqa(
//   CHECK-NOT:   select0_grid
//       CHECK:   @gqa_kernels::@gqa_select0_threshold
//       CHECK: gpu.func @gqa_select0_hist(
//  CHECK-SAME:     grid_sync = 0 : i64
//   CHECK-NOT:   select0_grid
func.func @gqa(%qc: tensor<?x32x1x8xi32>, %kc: tensor<?x8x?x8xi32>, %len: tensor<?xi32>) -> tensor<?x32x1x256xi32> {
  %idx = adamas.l1_topk %qc, %kc, %len {k = 256 : i64} : tensor<?x32x1x8xi32>, tensor<?x8x?x8xi32>, tensor<?xi32> -> tensor<?x32x1x256xi32>
  return %idx : tensor<?x32x1x256xi32>
}

// -----

// Where sparse_attn may compact the selection (its only reader), the grid
// kernel runs where it fits and the attention does not compact; the
// threshold and compaction kernels where neither plans.

// CHECK-LABEL: func.func @fused(
//       CHECK:   %[[LONG:.*]] = arith.cmpi ugt, %{{.*}}, %c4096 : index
//       CHECK:   %[[FITS:.*]] = arith.cmpi ule, %{{.*}}, %{{.*}} : index
//       CHECK:   %[[COMPACTS:.*]] = arith.andi %{{.*}}, %{{.*}} : i1
//       CHECK:   arith.select %[[COMPACTS]], %c1{{[_0-9]*}}, %c0{{[_0-9]*}} : index
//       CHECK:   %[[NOTCOMPACTS:.*]] = arith.xori %[[COMPACTS]], %true
//       CHECK:   %[[GRID:.*]] = arith.andi %[[FITS]], %[[NOTCOMPACTS]] : i1
//       CHECK:   %[[SKIP:.*]] = arith.ori %[[COMPACTS]], %[[GRID]] : i1
//       CHECK:   %[[PASSX:.*]] = arith.select %[[GRID]], %c0{{[_0-9]*}}, %{{.*}} : index
//       CHECK:   %[[ROWS:.*]] = arith.select %[[SKIP]], %c0{{[_0-9]*}}, %{{.*}} : index
//       CHECK:   @fused_kernels::@fused_select0_hist blocks in (%[[PASSX]],
//       CHECK:   @fused_kernels::@fused_select0_gridsync blocks
//       CHECK:   @fused_kernels::@fused_select0_long_gridsync blocks
//       CHECK:   @fused_kernels::@fused_select0_long_global_gridsync blocks
//       CHECK:   @fused_kernels::@fused_select0_threshold blocks in (%[[ROWS]],
//       CHECK:   @fused_kernels::@fused_attend0_cluster
func.func @fused(%qc: tensor<1x4x1x8xi32>, %codes: tensor<1x4x?x8xi32>, %len: tensor<1xi32>,
                 %q: tensor<1x4x1x128xf16>, %keys: tensor<1x4x?x128xf16>,
                 %values: tensor<1x4x?x128xf16>) -> tensor<1x4x1x128xf16> {
  %idx = adamas.l1_topk %qc, %codes, %len {k = 64 : i64, sink = 4 : i64, recent = 8 : i64}
      : tensor<1x4x1x8xi32>, tensor<1x4x?x8xi32>, tensor<1xi32> -> tensor<1x4x1x64xi32>
  %o = adamas.sparse_attn %q, %keys, %values, %idx
      : tensor<1x4x1x128xf16>, tensor<1x4x?x128xf16>, tensor<1x4x?x128xf16>, tensor<1x4x1x64xi32> -> tensor<1x4x1x128xf16>
  return %o : tensor<1x4x1x128xf16>
}
