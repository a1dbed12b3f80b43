// RUN: adamas-opt %s -adamas-lower-to-gpu -split-input-file | FileCheck %s --enable-var-scope
// RUN: adamas-opt %s -adamas-lower-to-gpu="chip=sm_80" -split-input-file | FileCheck %s --check-prefix=SM80

// select-encodes-queries (the default): where l1_topk's query codes are a
// bucketize (of a hadamard) of the query that nothing else reads, the
// histogram pass encodes the queries itself; and where the step's other
// encode jobs only write new keys' codes into caches that every selection
// reads with recent >= M (the new positions are forced, never ranked), the
// encode kernel runs after the attention, waiting on the kernels before it
// last. Either decision stands alone.

// GQA 8/2 with shared_group and per-head thresholds: the histogram pass takes
// its distances from tensor-core products, whose thermometer words it now
// builds from the 4 query heads it encoded (a warp each); the query's
// per-head thresholds are the kernels' last argument, loaded by row.
// CHECK-LABEL: func.func @gqa_per_head_thresholds(
//  CHECK-SAME:   %[[Q:[a-z0-9]+]]: memref<1x8x1x128xf16>, %[[NK:[a-z0-9]+]]: memref<1x2x1x128xf16>,
//  CHECK-SAME:   %[[QT:[a-z0-9]+]]: memref<8x3xf32>, %[[KT:[a-z0-9]+]]: memref<2x3xf32>,
//   CHECK-NOT:   @gqa_per_head_thresholds_encode
//       CHECK:   gpu.launch_func async {{.*}} @gqa_per_head_thresholds_kernels::@gqa_per_head_thresholds_select0_hist
//  CHECK-SAME:     args(%{{.*}} : memref<1024xf16>, {{.*}}, %{{.*}} : memref<24xf32>)
//       CHECK:   @gqa_per_head_thresholds_attend0_
//       CHECK:   gpu.launch_func async {{.*}} @gqa_per_head_thresholds_kernels::@gqa_per_head_thresholds_encode
//  CHECK-SAME:     args(%{{.*}} : memref<256xf16>, %{{.*}} : memref<6xf32>,
//       CHECK: gpu.func @gqa_per_head_thresholds_select0_hist(
//  CHECK-SAME:   %[[THRESHOLDS:arg[0-9]+]]: memref<24xf32>)
//  CHECK-SAME:   encodes_queries = 1 : i64
//  CHECK-SAME:   query_heads_per_row = 4 : i64
//  CHECK-SAME:   tensor_core_distances = 1 : i64
//       CHECK:   scf.for
// CHECK-COUNT-3:   memref.load %[[THRESHOLDS]]
// CHECK-COUNT-8:   nvvm.vote.sync  ballot
//       CHECK:   gpu.barrier
//       CHECK:   scf.for
//       CHECK:     memref.load {{.*}} : memref<32xi32, #gpu.address_space<workgroup>>
//       CHECK:   nvvm.mma.sync
//       CHECK: gpu.func @gqa_per_head_thresholds_encode(
//  CHECK-NEXT:   nvvm.griddepcontrol  launch_dependents
//       CHECK:   nvvm.griddepcontrol  wait
//  CHECK-NEXT:   gpu.return
// On sm_80 (no programmatic dependent launch) the same order, no waits.
// SM80-LABEL: func.func @gqa_per_head_thresholds(
//       SM80:   @gqa_per_head_thresholds_select0_hist
//       SM80:   @gqa_per_head_thresholds_encode
//       SM80: gpu.func @gqa_per_head_thresholds_encode(
//   SM80-NOT:   griddepcontrol
//       SM80:   gpu.return
func.func @gqa_per_head_thresholds(%q: tensor<1x8x1x128xf16>, %newk: tensor<1x2x1x128xf16>,
                                   %qt: tensor<8x3xf32>, %kt: tensor<2x3xf32>,
                                   %keys: tensor<1x2x?x128xf16>, %values: tensor<1x2x?x128xf16>,
                                   %codes: tensor<1x2x?x8xi32>, %len: tensor<1xi32>)
    -> (tensor<1x8x1x128xf16>, tensor<1x2x?x8xi32>) {
  %hq = adamas.hadamard %q : tensor<1x8x1x128xf16>
  %qc = adamas.bucketize %hq [-1.0, 0.0, 1.0] per_head %qt : tensor<1x8x1x128xf16>, tensor<8x3xf32> -> tensor<1x8x1x8xi32>
  %hk = adamas.hadamard %newk : tensor<1x2x1x128xf16>
  %kc = adamas.bucketize %hk [-1.0, 0.0, 1.0] per_head %kt : tensor<1x2x1x128xf16>, tensor<2x3xf32> -> tensor<1x2x1x8xi32>
  %cache = adamas.cache_write %kc into %codes at %len : tensor<1x2x1x8xi32> into tensor<1x2x?x8xi32>, tensor<1xi32>
  %idx = adamas.l1_topk %qc, %cache, %len {k = 64 : i64, recent = 1 : i64, shared_group = true}
      : tensor<1x8x1x8xi32>, tensor<1x2x?x8xi32>, tensor<1xi32> -> tensor<1x2x1x64xi32>
  %o = adamas.sparse_attn %q, %keys, %values, %idx
      : tensor<1x8x1x128xf16>, tensor<1x2x?x128xf16>, tensor<1x2x?x128xf16>, tensor<1x2x1x64xi32> -> tensor<1x8x1x128xf16>
  return %o, %cache : tensor<1x8x1x128xf16>, tensor<1x2x?x8xi32>
}

// -----

// recent = 0: the new key ranks, so its codes must be in the cache before the
// selection: the encode kernel (the new keys only) runs first and waits
// first; the query is still encoded by the histogram pass.
// CHECK-LABEL: func.func @new_key_ranks(
//       CHECK:   gpu.launch_func async {{.*}} @new_key_ranks_kernels::@new_key_ranks_encode
//  CHECK-SAME:     args(%{{.*}} : memref<128xf16>,
//       CHECK:   gpu.launch_func async {{.*}} @new_key_ranks_kernels::@new_key_ranks_select0_hist
//  CHECK-SAME:     args(%{{.*}} : memref<128xf16>,
//   CHECK-NOT:   @new_key_ranks_encode
//       CHECK: gpu.func @new_key_ranks_encode(
//  CHECK-NEXT:   nvvm.griddepcontrol  wait
//  CHECK-NEXT:   nvvm.griddepcontrol  launch_dependents
//   CHECK-NOT:   nvvm.griddepcontrol
//       CHECK:   gpu.return
func.func @new_key_ranks(%q: tensor<1x1x1x128xf16>, %newk: tensor<1x1x1x128xf16>,
                         %codes: tensor<1x1x?x8xi32>, %len: tensor<1xi32>)
    -> (tensor<1x1x1x64xi32>, tensor<1x1x?x8xi32>) {
  %hq = adamas.hadamard %q : tensor<1x1x1x128xf16>
  %qc = adamas.bucketize %hq [-1.0, 0.0, 1.0] : tensor<1x1x1x128xf16> -> tensor<1x1x1x8xi32>
  %hk = adamas.hadamard %newk : tensor<1x1x1x128xf16>
  %kc = adamas.bucketize %hk [-1.0, 0.0, 1.0] : tensor<1x1x1x128xf16> -> tensor<1x1x1x8xi32>
  %cache = adamas.cache_write %kc into %codes at %len : tensor<1x1x1x8xi32> into tensor<1x1x?x8xi32>, tensor<1xi32>
  %idx = adamas.l1_topk %qc, %cache, %len {k = 64 : i64, recent = 0 : i64}
      : tensor<1x1x1x8xi32>, tensor<1x1x?x8xi32>, tensor<1xi32> -> tensor<1x1x1x64xi32>
  return %idx, %cache : tensor<1x1x1x64xi32>, tensor<1x1x?x8xi32>
}

// -----

// Query codes the step also returns are made by the encode kernel, first,
// and read by the histogram pass (nothing fused, so nothing moves).
// CHECK-LABEL: func.func @codes_returned(
//       CHECK:   gpu.launch_func async {{.*}} @codes_returned_kernels::@codes_returned_encode
//       CHECK:   gpu.launch_func async {{.*}} @codes_returned_kernels::@codes_returned_select0_hist
//  CHECK-SAME:     args(%{{.*}} : memref<8xi32>,
//   CHECK-NOT:   @codes_returned_encode
//       CHECK:   gpu.dealloc
//       CHECK: gpu.func @codes_returned_select0_hist(
//  CHECK-SAME:   encodes_queries = 0 : i64
func.func @codes_returned(%q: tensor<1x1x1x128xf16>, %codes: tensor<1x1x?x8xi32>, %len: tensor<1xi32>)
    -> (tensor<1x1x1x64xi32>, tensor<1x1x1x8xi32>) {
  %hq = adamas.hadamard %q : tensor<1x1x1x128xf16>
  %qc = adamas.bucketize %hq [-1.0, 0.0, 1.0] : tensor<1x1x1x128xf16> -> tensor<1x1x1x8xi32>
  %idx = adamas.l1_topk %qc, %codes, %len {k = 64 : i64}
      : tensor<1x1x1x8xi32>, tensor<1x1x?x8xi32>, tensor<1xi32> -> tensor<1x1x1x64xi32>
  return %idx, %qc : tensor<1x1x1x64xi32>, tensor<1x1x1x8xi32>
}

// -----

// A step that only writes new keys' codes has no kernel before its encode,
// which therefore waits first (running last needs a kernel that waited
// before it).
// CHECK-LABEL: func.func @cache_write_only(
//       CHECK: gpu.func @cache_write_only_encode(
//  CHECK-NEXT:   nvvm.griddepcontrol  wait
//  CHECK-NEXT:   nvvm.griddepcontrol  launch_dependents
//   CHECK-NOT:   nvvm.griddepcontrol
//       CHECK:   gpu.return
func.func @cache_write_only(%newk: tensor<1x1x1x128xf16>, %codes: tensor<1x1x?x8xi32>, %len: tensor<1xi32>)
    -> tensor<1x1x?x8xi32> {
  %hk = adamas.hadamard %newk : tensor<1x1x1x128xf16>
  %kc = adamas.bucketize %hk [-1.0, 0.0, 1.0] : tensor<1x1x1x128xf16> -> tensor<1x1x1x8xi32>
  %cache = adamas.cache_write %kc into %codes at %len : tensor<1x1x1x8xi32> into tensor<1x1x?x8xi32>, tensor<1xi32>
  return %cache : tensor<1x1x?x8xi32>
}
