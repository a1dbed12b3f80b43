// RUN: adamas-opt %s -adamas-lower-to-gpu="max-cluster-size=0 select-async-key-copies=true" -split-input-file | FileCheck %s --enable-var-scope
// RUN: adamas-opt %s -adamas-lower-to-gpu="max-cluster-size=0 tensor-core-distances=false" -split-input-file | FileCheck %s --check-prefix=OFF
// RUN: adamas-opt %s -adamas-lower-to-gpu="max-cluster-size=0" -split-input-file | FileCheck %s --check-prefix=NORING
// RUN: adamas-opt %s -adamas-lower-to-gpu="max-cluster-size=0 select-short-pass-key-copies=false" -split-input-file | FileCheck %s --check-prefix=NOSHORT

// The histogram pass's distances from binary tensor-core products
// (SelectConfig::tensorCoreDistances): where a CTA ranks several queries,
// a warp multiplies the thermometer planes of 16 keys (A, rows) by 4
// queries and 4 all-ones columns (B) with mma.sync .b1.and.popc; the
// distance is S(q) + S(k) - 2 popc(U(q) & U(k)). tensor-core-distances=false
// keeps the per-thread popcounts (adamas-lower-to-gpu.mlir checks that form).

// GQA 32/8, D 128, 2 bits, per head: 4 queries per CTA (one query tile), 12
// thermometer words per key = 3 slabs: one k256 and one k128 product per
// tile of 16 keys, each lane's two keys of a tile one 8-byte load each (its
// code group's two planes). The CTA's queries' thermometer words (4 x 12)
// and sums (4) sit in shared memory, and each warp's distances of an
// iteration in a stage (8 warps x 5 rows x keys of i16) that goes out in
// 16-byte pieces.
//
// With select-async-key-copies=true (SelectConfig::asyncKeyStages) the keys
// come from a ring in shared memory: per warp 3 slots of 3 tiles (48 keys x
// 8 words), each filled by one group of the lanes' 16-byte cp.async copies
// (96 pieces: 3 per lane) 2 iterations ahead (the first two before the
// pass), with an evict-first cache policy created once.
// CHECK-LABEL: func.func @gqa_per_head(
//       CHECK: gpu.func @gqa_per_head_select0_hist(
//  CHECK-SAME:   workgroup(%{{.*}} : memref<1540xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<48xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<4xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<1920xi16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[RING:.*]] : memref<9216xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
//  CHECK-SAME:   async_key_stages = 3 : i64
//  CHECK-SAME:   key_tiles_per_warp = 3 : i64
//  CHECK-SAME:   staged_distance_stores = 1 : i64
//  CHECK-SAME:   tensor_core_distances = 1 : i64
// The prologue: iterations 0 and 1, a group each.
//       CHECK:   %[[POLICY:.*]] = nvvm.inline_ptx "createpolicy.fractional.L2::evict_first.b64 $0, 1.0;" -> i64
//   CHECK-NOT:   createpolicy
// CHECK-COUNT-3:   nvvm.inline_ptx "cp.async.cg.shared.global.L2::cache_hint [$0], [$1], 16, $2;" ro(%{{.*}}, %{{.*}}, %[[POLICY]] : !llvm.ptr<3>, !llvm.ptr<1>, i64)
//  CHECK-NEXT:   }
//  CHECK-NEXT:   nvvm.cp.async.commit.group
// CHECK-COUNT-3:   cp.async.cg.shared.global
//       CHECK:   nvvm.cp.async.commit.group
// The query words: thermometer planes and their popcounts, summed per query.
//       CHECK:   math.ctpop
//       CHECK:   memref.atomic_rmw addi {{.*}} : (i32, memref<4xi32, #gpu.address_space<workgroup>>) -> i32
// Each iteration: a warp barrier, the refill 2 ahead, the wait for the
// oldest group (its own) and a warp barrier, then its 6 keys' words from
// shared memory, nothing from global.
//       CHECK:   scf.for {{.*}} step %c384
//       CHECK:     nvvm.bar.warp.sync
// CHECK-COUNT-3:     cp.async.cg.shared.global
//       CHECK:     nvvm.cp.async.commit.group
//  CHECK-NEXT:     nvvm.cp.async.wait.group 2
//  CHECK-NEXT:     arith.constant -1
//  CHECK-NEXT:     nvvm.bar.warp.sync
//   CHECK-NOT:     ld.global.cs
// CHECK-COUNT-6:   vector.load %[[RING]][%{{.*}}] {alignment = 8 : i64} : memref<9216xi32, #gpu.address_space<workgroup>>, vector<2xi32>
//   CHECK-NOT:   ld.global.cs
//   CHECK-NOT:   math.ctpop
//       CHECK:   nvvm.mma.sync A[{{.*}}, {{.*}}, {{.*}}, {{.*}}]  B[{{.*}}, {{.*}}]  C[{{.*}}]  {b1Op = #nvvm.mma_b1op<and_popc>, {{.*}}shape = #nvvm.shape<m = 16, n = 8, k = 256>}
//  CHECK-NEXT:   llvm.extractvalue
//       CHECK:   nvvm.mma.sync A[{{.*}}, {{.*}}]  B[{{.*}}]  C[{{.*}}]  {b1Op = #nvvm.mma_b1op<and_popc>, {{.*}}shape = #nvvm.shape<m = 16, n = 8, k = 128>}
// Each lane stages its query's distance to its two keys and counts those
// of free positions.
//       CHECK:   memref.store {{.*}} : memref<1920xi16, #gpu.address_space<workgroup>>
//       CHECK:   memref.atomic_rmw addi {{.*}} : (i32, memref<1540xi32, #gpu.address_space<workgroup>>) -> i32
//       CHECK:   memref.store {{.*}} : memref<1920xi16, #gpu.address_space<workgroup>>
//       CHECK:   memref.atomic_rmw addi {{.*}} : (i32, memref<1540xi32, #gpu.address_space<workgroup>>) -> i32
//       CHECK:   nvvm.mma.sync
// CHECK-COUNT-3:   nvvm.mma.sync
//   CHECK-NOT:   nvvm.mma.sync
// The stage (4 rows x 6 pieces of 8 keys: 24 pieces, one per lane) to the
// distance rows, between warp barriers, no 2-byte global store.
//   CHECK-NOT:   memref.store {{.*}} : memref<?xi16>
//       CHECK:   nvvm.bar.warp.sync
//       CHECK:   vector.store {{.*}} {alignment = 16 : i64} : memref<?xi16>, vector<8xi16>
//   CHECK-NOT:   vector.store
//       CHECK:   nvvm.bar.warp.sync
//       CHECK:   gpu.return
//
// By default: 6 tiles per warp in flight from global memory
// (ld.global.cs), no ring.
// Beside it the pass with the ring, `_hist_ring` (SelectConfig::
// ringPassMaxCtas), which the host takes where the pass's grid (chunks x
// Hkv x B CTAs) is at most 2 per SM (264): B = 1 GQA, whose short passes
// the ring's first copies, issued before the query encoding, speed up;
// the form not taken gets an empty grid. select-short-pass-key-copies=false
// builds no such kernel.
// NORING-LABEL: func.func @gqa_per_head(
//       NORING:   %[[SMALL:.*]] = arith.cmpi ule, %{{.*}}, %c264 : index
//       NORING:   %[[RINGX:.*]] = arith.select %[[SMALL]], %[[CHUNKS:.*]], %c0{{[_0-9]*}} : index
//  NORING-NEXT:   %[[PASSX:.*]] = arith.select %[[SMALL]], %c0{{[_0-9]*}}, %[[CHUNKS]] : index
//       NORING:   gpu.launch_func async {{.*}} @gqa_per_head_kernels::@gqa_per_head_select0_hist blocks in (%[[PASSX]], %c8{{[_0-9]*}}, %{{.*}})
//       NORING:   gpu.launch_func async {{.*}} @gqa_per_head_kernels::@gqa_per_head_select0_hist_ring blocks in (%[[RINGX]], %c8{{[_0-9]*}}, %{{.*}})
//       NORING: gpu.func @gqa_per_head_select0_hist(
//  NORING-SAME:   workgroup(%{{.*}} : memref<1540xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<48xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<4xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<3840xi16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
//  NORING-SAME:   async_key_stages = 0 : i64
//  NORING-SAME:   key_tiles_per_warp = 6 : i64
//   NORING-NOT:   cp.async
//       NORING:   scf.for
// NORING-COUNT-12:   nvvm.inline_ptx "ld.global.cs.v2.u32 {$0, $1}, [$2];" ro(%{{.*}} : !llvm.ptr<1>) -> i32, i32
//   NORING-NOT:   cp.async
//       NORING:   nvvm.mma.sync A[{{.*}}, {{.*}}, {{.*}}, {{.*}}]  B[{{.*}}, {{.*}}]  C[{{.*}}]  {b1Op = #nvvm.mma_b1op<and_popc>, {{.*}}shape = #nvvm.shape<m = 16, n = 8, k = 256>}
//       NORING:   memref.store {{.*}} : memref<3840xi16, #gpu.address_space<workgroup>>
// NORING-COUNT-10:   nvvm.mma.sync
//   NORING-NOT:   nvvm.mma.sync
//       NORING:   nvvm.bar.warp.sync
// NORING-COUNT-2:   vector.store {{.*}} {alignment = 16 : i64} : memref<?xi16>, vector<8xi16>
//       NORING:   nvvm.bar.warp.sync
//       NORING:   gpu.return
//       NORING: gpu.func @gqa_per_head_select0_hist_ring(
//  NORING-SAME:   async_key_stages = 3 : i64
//  NORING-SAME:   key_tiles_per_warp = 3 : i64
//  NORING-SAME:   ring_pass_max_ctas = 0 : i64
// NORING-COUNT-9:   cp.async.cg.shared.global
// NOSHORT-LABEL: func.func @gqa_per_head(
//   NOSHORT-NOT:   select0_hist_ring
//       NOSHORT: gpu.func @gqa_per_head_select0_hist(
//  NOSHORT-SAME:   ring_pass_max_ctas = 0 : i64
//   NOSHORT-NOT:   select0_hist_ring
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
// The key ring takes what a kernel's other buffers leave of 48 KB: the grid
// kernel, with a short chunk's distances (4096 x i16) in shared memory, 3
// slots per warp; the long one (8192 x i16) 2. (With
// select-precompacts-candidates=true the candidates' buffers, 6 KB, come
// first: 2 slots and none.)
//       CHECK: gpu.func @gqa_shared_select0_gridsync(
//  CHECK-SAME:   memref<4096xi16, {{.*}} memref<9216xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
//       CHECK: gpu.func @gqa_shared_select0_long_gridsync(
//  CHECK-SAME:   memref<8192xi16, {{.*}} memref<6144xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
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
