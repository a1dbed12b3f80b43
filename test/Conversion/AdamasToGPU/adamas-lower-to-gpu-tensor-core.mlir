// RUN: adamas-opt %s -adamas-lower-to-gpu="max-cluster-size=0" -split-input-file | FileCheck %s --enable-var-scope
// RUN: adamas-opt %s -adamas-lower-to-gpu="max-cluster-size=0 tensor-core-distances=false" -split-input-file | FileCheck %s --check-prefix=OFF

// The histogram pass's distances from binary tensor-core products
// (SelectConfig::tensorCoreDistances): where a CTA ranks several queries,
// a warp multiplies the thermometer planes of 16 keys (A, rows) by 4
// queries and 4 all-ones columns (B) with mma.sync .b1.and.popc; the
// distance is S(q) + S(k) - 2 popc(U(q) & U(k)). tensor-core-distances=false
// keeps the per-thread popcounts (adamas-lower-to-gpu.mlir checks that form).

// GQA 32/8, D 128, 2 bits, per head: 4 queries per CTA (one query tile), 12
// thermometer words per key = 3 slabs: one k256 and one k128 product per
// tile of 16 keys, 6 tiles per warp in flight, each lane's two keys of a
// tile one 8-byte load each (its code group's two planes). The CTA's
// queries' thermometer words (4 x 12) and sums (4) sit in shared memory, and
// each warp's distances of an iteration in a stage (8 warps x 5 rows x 96
// keys of i16) that goes out in 16-byte pieces.
// CHECK-LABEL: func.func @gqa_per_head(
//       CHECK: gpu.func @gqa_per_head_select0_hist(
//  CHECK-SAME:   workgroup(%{{.*}} : memref<1540xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<48xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<4xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<3840xi16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
//  CHECK-SAME:   key_tiles_per_warp = 6 : i64
//  CHECK-SAME:   staged_distance_stores = 1 : i64
//  CHECK-SAME:   tensor_core_distances = 1 : i64
// The query words: thermometer planes and their popcounts, summed per query.
//       CHECK:   math.ctpop
//       CHECK:   memref.atomic_rmw addi {{.*}} : (i32, memref<4xi32, #gpu.address_space<workgroup>>) -> i32
//       CHECK:   scf.for
// CHECK-COUNT-12:   nvvm.inline_ptx "ld.global.cs.v2.u32 {$0, $1}, [$2];" ro(%{{.*}} : !llvm.ptr<1>) -> i32, i32
//   CHECK-NOT:   math.ctpop
//       CHECK:   nvvm.mma.sync A[{{.*}}, {{.*}}, {{.*}}, {{.*}}]  B[{{.*}}, {{.*}}]  C[{{.*}}]  {b1Op = #nvvm.mma_b1op<and_popc>, {{.*}}shape = #nvvm.shape<m = 16, n = 8, k = 256>}
//  CHECK-NEXT:   llvm.extractvalue
//       CHECK:   nvvm.mma.sync A[{{.*}}, {{.*}}]  B[{{.*}}]  C[{{.*}}]  {b1Op = #nvvm.mma_b1op<and_popc>, {{.*}}shape = #nvvm.shape<m = 16, n = 8, k = 128>}
// Each lane stages its query's distance to its two keys and counts those
// of free positions.
//       CHECK:   memref.store {{.*}} : memref<3840xi16, #gpu.address_space<workgroup>>
//       CHECK:   memref.atomic_rmw addi {{.*}} : (i32, memref<1540xi32, #gpu.address_space<workgroup>>) -> i32
//       CHECK:   memref.store {{.*}} : memref<3840xi16, #gpu.address_space<workgroup>>
//       CHECK:   memref.atomic_rmw addi {{.*}} : (i32, memref<1540xi32, #gpu.address_space<workgroup>>) -> i32
//       CHECK:   nvvm.mma.sync
// CHECK-COUNT-9:   nvvm.mma.sync
//   CHECK-NOT:   nvvm.mma.sync
// The stage (4 rows x 12 pieces of 8 keys: 48 pieces, two per lane) to the
// distance rows, between warp barriers, no 2-byte global store.
//   CHECK-NOT:   memref.store {{.*}} : memref<?xi16>
//       CHECK:   nvvm.bar.warp.sync
// CHECK-COUNT-2:   vector.store {{.*}} {alignment = 16 : i64} : memref<?xi16>, vector<8xi16>
//       CHECK:   nvvm.bar.warp.sync
//       CHECK:   gpu.return
// OFF-LABEL: func.func @gqa_per_head(
//       OFF: gpu.func @gqa_per_head_select0_hist(
//  OFF-SAME:   workgroup(%{{.*}} : memref<1540xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
//  OFF-SAME:   key_tiles_per_warp = 0 : i64
//  OFF-SAME:   tensor_core_distances = 0 : i64
//   OFF-NOT:   nvvm.mma.sync
//       OFF: gpu.return
func.func @gqa_per_head(%qc: tensor<?x32x1x8xi32>, %kc: tensor<?x8x?x8xi32>, %len: tensor<?xi32>) -> tensor<?x32x1x256xi32> {
  %idx = adamas.l1_topk %qc, %kc, %len {k = 256 : i64} : tensor<?x32x1x8xi32>, tensor<?x8x?x8xi32>, tensor<?xi32> -> tensor<?x32x1x256xi32>
  return %idx : tensor<?x32x1x256xi32>
}

// -----

// shared_group with G = 4: a row's four heads are the four query columns
// of a tile; the row's distance is their minimum over the lanes of a quad
// (xor 1, xor 2), recorded by the lane whose column index is the key's.
// CHECK-LABEL: func.func @gqa_shared(
//       CHECK: gpu.func @gqa_shared_select0_hist(
//  CHECK-SAME:   query_heads_per_row = 4 : i64
//  CHECK-SAME:   tensor_core_distances = 1 : i64
//       CHECK:   nvvm.mma.sync
//       CHECK:   nvvm.mma.sync
//       CHECK:   arith.minui
//       CHECK:   gpu.shuffle  xor %{{.*}}, %c1_i32
//       CHECK:   arith.minui
//       CHECK:   gpu.shuffle  xor %{{.*}}, %c2_i32
//       CHECK:   arith.minui
//       CHECK:   memref.atomic_rmw addi
func.func @gqa_shared(%qc: tensor<?x32x1x8xi32>, %kc: tensor<?x8x?x8xi32>, %len: tensor<?xi32>) -> tensor<?x8x1x256xi32> {
  %idx = adamas.l1_topk %qc, %kc, %len {k = 256 : i64, shared_group = true} : tensor<?x32x1x8xi32>, tensor<?x8x?x8xi32>, tensor<?xi32> -> tensor<?x8x1x256xi32>
  return %idx : tensor<?x8x1x256xi32>
}

// -----

// D = 64, 3 bits, G = 7, M = 4, per head: 10 rows (queries) per CTA in 3
// query tiles (2 columns unused), 7 planes x 2 groups = 14 thermometer words
// padded to 4 slabs (2 x k256 per tile); a lane's code group is its column
// index mod 2, loaded as three words.
// CHECK-LABEL: func.func @g7_d64_b3(
//       CHECK: gpu.func @g7_d64_b3_select0_hist(
//  CHECK-SAME:   memref<192xi32, #gpu.address_space<workgroup>>
//  CHECK-SAME:   key_tiles_per_warp = 4 : i64
//  CHECK-SAME:   rows_per_cta = 10 : i64
//  CHECK-SAME:   tensor_core_distances = 1 : i64
//       CHECK:   scf.for
//   CHECK-NOT:   vector.load
//   CHECK-NOT:   ld.global.cs.v2
//       CHECK:   nvvm.inline_ptx "ld.global.cs.u32 $0, [$1];"
// CHECK-COUNT-6:   nvvm.mma.sync {{.*}} k = 256>}
func.func @g7_d64_b3(%qc: tensor<?x28x4x6xi32>, %kc: tensor<?x4x?x6xi32>, %len: tensor<?xi32>) -> tensor<?x28x4x64xi32> {
  %idx = adamas.l1_topk %qc, %kc, %len {k = 64 : i64, bits = 3 : i64} : tensor<?x28x4x6xi32>, tensor<?x4x?x6xi32>, tensor<?xi32> -> tensor<?x28x4x64xi32>
  return %idx : tensor<?x28x4x64xi32>
}

// -----

// Where it does not apply: one query per CTA (MHA: the pass is bound by
// memory), D / 32 = 3 code groups (neither a multiple of 4 nor dividing 4;
// below), and shared_group rows of G = 3 heads (they do not tile 4 columns).
// CHECK-LABEL: func.func @mha(
//       CHECK: gpu.func @mha_select0_hist(
//  CHECK-SAME:   tensor_core_distances = 0 : i64
//   CHECK-NOT:   nvvm.mma.sync
func.func @mha(%qc: tensor<?x32x1x8xi32>, %kc: tensor<?x32x?x8xi32>, %len: tensor<?xi32>) -> tensor<?x32x1x256xi32> {
  %idx = adamas.l1_topk %qc, %kc, %len {k = 256 : i64} : tensor<?x32x1x8xi32>, tensor<?x32x?x8xi32>, tensor<?xi32> -> tensor<?x32x1x256xi32>
  return %idx : tensor<?x32x1x256xi32>
}

// -----

// CHECK-LABEL: func.func @gqa_d96(
//       CHECK: gpu.func @gqa_d96_select0_hist(
//  CHECK-SAME:   tensor_core_distances = 0 : i64
func.func @gqa_d96(%qc: tensor<?x32x1x6xi32>, %kc: tensor<?x8x?x6xi32>, %len: tensor<?xi32>) -> tensor<?x32x1x256xi32> {
  %idx = adamas.l1_topk %qc, %kc, %len {k = 256 : i64} : tensor<?x32x1x6xi32>, tensor<?x8x?x6xi32>, tensor<?xi32> -> tensor<?x32x1x256xi32>
  return %idx : tensor<?x32x1x256xi32>
}

// -----

// CHECK-LABEL: func.func @g3_shared(
//       CHECK: gpu.func @g3_shared_select0_hist(
//  CHECK-SAME:   tensor_core_distances = 0 : i64
func.func @g3_shared(%qc: tensor<?x24x1x8xi32>, %kc: tensor<?x8x?x8xi32>, %len: tensor<?xi32>) -> tensor<?x8x1x256xi32> {
  %idx = adamas.l1_topk %qc, %kc, %len {k = 256 : i64, shared_group = true} : tensor<?x24x1x8xi32>, tensor<?x8x?x8xi32>, tensor<?xi32> -> tensor<?x8x1x256xi32>
  return %idx : tensor<?x8x1x256xi32>
}
