// RUN: adamas-opt %s -adamas-lower-to-linalg -split-input-file | FileCheck %s --enable-var-scope

// hadamard: an f32 scratch row, log2(D) butterfly stages (a runtime loop over
// the stages, doubling the half-width), a single 1/sqrt(D) scaling.

// CHECK-LABEL: func.func @hadamard_f32(
//  CHECK-SAME:     %[[X:.*]]: tensor<2x8x128xf32>)
//   CHECK-NOT:   adamas.
//       CHECK:   %[[EMPTY:.*]] = tensor.empty() : tensor<2x8x128xf32>
//       CHECK:   %[[ROW:.*]] = memref.alloc() : memref<128xf32>
//       CHECK:   %[[NORM:.*]] = arith.constant 0.0883883461 : f32
//       CHECK:   %[[RES:.*]] = scf.for {{.*}} iter_args(%{{.*}} = %[[EMPTY]])
//       CHECK:     scf.for {{.*}} -> (tensor<2x8x128xf32>)
//       CHECK:       tensor.extract %[[X]]
//       CHECK:       memref.store {{.*}}, %[[ROW]]
//       CHECK:       %[[C7:.*]] = arith.constant 7 : index
//       CHECK:       scf.for %{{.*}} = %{{.*}} to %[[C7]] {{.*}} iter_args(%[[HALF:.*]] = %{{.*}}) -> (index)
//       CHECK:         %[[WIDTH:.*]] = arith.addi %[[HALF]], %[[HALF]]
//       CHECK:         scf.for {{.*}} step %[[WIDTH]]
//       CHECK:           scf.for
//       CHECK:             arith.addf
//       CHECK:             arith.subf
//       CHECK:         scf.yield %[[WIDTH]] : index
//       CHECK:       scf.for
//       CHECK:         memref.load %[[ROW]]
//       CHECK:         arith.mulf %{{.*}}, %[[NORM]]
//   CHECK-NOT:         arith.truncf
//       CHECK:         tensor.insert
//       CHECK:   return %[[RES]]
func.func @hadamard_f32(%x: tensor<2x8x128xf32>) -> tensor<2x8x128xf32> {
  %0 = adamas.hadamard %x : tensor<2x8x128xf32>
  return %0 : tensor<2x8x128xf32>
}

// -----

// Dynamic leading dims; bf16 is extended to f32 and rounded once at the end.

// CHECK-LABEL: func.func @hadamard_bf16_dynamic(
//  CHECK-SAME:     %[[X:.*]]: tensor<?x?x1x64xbf16>)
//   CHECK-NOT:   adamas.
//       CHECK:   %[[D0:.*]] = tensor.dim %[[X]], %{{.*}}
//       CHECK:   %[[D1:.*]] = tensor.dim %[[X]], %{{.*}}
//       CHECK:   tensor.empty(%[[D0]], %[[D1]]) : tensor<?x?x1x64xbf16>
//       CHECK:   memref.alloc() : memref<64xf32>
//       CHECK:   arith.constant 1.250000e-01 : f32
//       CHECK:   scf.for
//       CHECK:     scf.for
//       CHECK:       scf.for
//       CHECK:         arith.extf %{{.*}} : bf16 to f32
//       CHECK:         arith.addf
//       CHECK:         arith.subf
//       CHECK:         arith.mulf
//       CHECK:         arith.truncf %{{.*}} : f32 to bf16
//       CHECK:         tensor.insert
func.func @hadamard_bf16_dynamic(%x: tensor<?x?x1x64xbf16>) -> tensor<?x?x1x64xbf16> {
  %0 = adamas.hadamard %x : tensor<?x?x1x64xbf16>
  return %0 : tensor<?x?x1x64xbf16>
}

// -----

// A rank-1 input is a single row: no loop nest around it.

// CHECK-LABEL: func.func @hadamard_rank1(
//   CHECK-NOT:   adamas.
//       CHECK:   %[[EMPTY:.*]] = tensor.empty() : tensor<4xf16>
//       CHECK:   arith.constant 5.000000e-01 : f32
//   CHECK-NOT:   iter_args(%{{.*}} = %[[EMPTY]]) -> (tensor<4xf16>) {
//       CHECK:   scf.for
//       CHECK:     arith.extf %{{.*}} : f16 to f32
//       CHECK:   scf.for {{.*}} iter_args(%{{.*}} = %[[EMPTY]]) -> (tensor<4xf16>)
//       CHECK:     arith.truncf %{{.*}} : f32 to f16
func.func @hadamard_rank1(%x: tensor<4xf16>) -> tensor<4xf16> {
  %0 = adamas.hadamard %x : tensor<4xf16>
  return %0 : tensor<4xf16>
}

// -----

// bucketize: one linalg.generic on <... x G x 32> -> <... x G x b>, reducing
// over the 32 bits of a word with a bitwise or.

//   CHECK-DAG: #[[$IN:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d5)>
//   CHECK-DAG: #[[$OUT:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4)>
// CHECK-LABEL: func.func @bucketize_2bit(
//  CHECK-SAME:     %[[X:.*]]: tensor<1x8x?x128xf16>)
//   CHECK-NOT:   adamas.
//       CHECK:   %[[N:.*]] = tensor.dim %[[X]], %{{.*}}
//       CHECK:   %[[GROUPS:.*]] = tensor.expand_shape %[[X]] {{\[}}[0], [1], [2], [3, 4]] output_shape [1, 8, %[[N]], 4, 32] : tensor<1x8x?x128xf16> into tensor<1x8x?x4x32xf16>
//       CHECK:   %[[EMPTY:.*]] = tensor.empty(%[[N]]) : tensor<1x8x?x4x2xi32>
//       CHECK:   %[[ZERO:.*]] = linalg.fill ins(%{{.*}} : i32) outs(%[[EMPTY]]
//       CHECK:   %[[WORDS:.*]] = linalg.generic {indexing_maps = [#[[$IN]], #[[$OUT]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction"]}
//  CHECK-SAME:       ins(%[[GROUPS]] : tensor<1x8x?x4x32xf16>) outs(%[[ZERO]] : tensor<1x8x?x4x2xi32>)
//       CHECK:     ^bb0(%[[IN_X:.*]]: f16, %[[ACC:.*]]: i32):
//       CHECK:     %[[XF:.*]] = arith.extf %[[IN_X]] : f16 to f32
//   CHECK-DAG:     %[[T0:.*]] = arith.constant -1.000000e+01 : f32
//   CHECK-DAG:     %[[T1:.*]] = arith.constant 0.000000e+00 : f32
//   CHECK-DAG:     %[[T2:.*]] = arith.constant 1.000000e+01 : f32
//       CHECK:     arith.cmpf ogt, %[[XF]], %[[T0]] : f32
//       CHECK:     arith.cmpf ogt, %[[XF]], %[[T1]] : f32
//       CHECK:     arith.cmpf ogt, %[[XF]], %[[T2]] : f32
//       CHECK:     linalg.index 4 : index
//       CHECK:     linalg.index 5 : index
//       CHECK:     arith.shrui
//       CHECK:     arith.andi
//       CHECK:     arith.shli
//       CHECK:     %[[WORD:.*]] = arith.ori %[[ACC]], %{{.*}} : i32
//       CHECK:     linalg.yield %[[WORD]] : i32
//       CHECK:   %[[RES:.*]] = tensor.collapse_shape %[[WORDS]] {{\[}}[0], [1], [2], [3, 4]] : tensor<1x8x?x4x2xi32> into tensor<1x8x?x8xi32>
//       CHECK:   return %[[RES]]
func.func @bucketize_2bit(%x: tensor<1x8x?x128xf16>) -> tensor<1x8x?x8xi32> {
  %0 = adamas.bucketize %x [-10.0, 0.0, 10.0] : tensor<1x8x?x128xf16> -> tensor<1x8x?x8xi32>
  return %0 : tensor<1x8x?x8xi32>
}

// -----

// Per-head thresholds are read from row `linalg.index 1` (the head).

// CHECK-LABEL: func.func @bucketize_per_head(
//  CHECK-SAME:     %[[X:.*]]: tensor<2x8x3x64xf32>, %[[T:.*]]: tensor<8x1xf32>)
//   CHECK-NOT:   adamas.
//       CHECK:   linalg.generic
//  CHECK-SAME:       ins(%{{.*}} : tensor<2x8x3x2x32xf32>) outs(%{{.*}} : tensor<2x8x3x2x1xi32>)
//       CHECK:     ^bb0(%[[IN_X:.*]]: f32, %{{.*}}: i32):
//       CHECK:     %[[HEAD:.*]] = linalg.index 1 : index
//       CHECK:     %[[THR:.*]] = tensor.extract %[[T]][%[[HEAD]], %{{.*}}] : tensor<8x1xf32>
//       CHECK:     arith.cmpf ogt, %[[IN_X]], %[[THR]] : f32
//       CHECK:   tensor.collapse_shape {{.*}} into tensor<2x8x3x2xi32>
func.func @bucketize_per_head(%x: tensor<2x8x3x64xf32>, %t: tensor<8x1xf32>) -> tensor<2x8x3x2xi32> {
  %0 = adamas.bucketize %x [0.0] per_head %t : tensor<2x8x3x64xf32>, tensor<8x1xf32> -> tensor<2x8x3x2xi32>
  return %0 : tensor<2x8x3x2xi32>
}

// -----

// b = 3: seven comparisons, words grouped as <... x G x 3>.

// CHECK-LABEL: func.func @bucketize_3bit(
//   CHECK-NOT:   adamas.
//       CHECK:   tensor.expand_shape {{.*}} into tensor<5x1x32xbf16>
//       CHECK:   linalg.generic
//       CHECK:     arith.extf %{{.*}} : bf16 to f32
// CHECK-COUNT-7:   arith.cmpf ogt
//       CHECK:     linalg.yield
//       CHECK:   tensor.collapse_shape {{.*}} : tensor<5x1x3xi32> into tensor<5x3xi32>
func.func @bucketize_3bit(%x: tensor<5x32xbf16>) -> tensor<5x3xi32> {
  %0 = adamas.bucketize %x [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0] : tensor<5x32xbf16> -> tensor<5x3xi32>
  return %0 : tensor<5x3xi32>
}

// -----

// l1_topk: per row, distances by popcount of the thermometer planes into a
// (2^b-1)*D+1 = 385-bin histogram (b = 2, D = 128), a prefix scan for the
// threshold, one ascending compaction, -1 padding. No sort.

// CHECK-LABEL: func.func @l1_topk(
//  CHECK-SAME:     %[[Q:.*]]: tensor<1x4x1x8xi32>, %[[K:.*]]: tensor<1x2x?x8xi32>, %[[LEN:.*]]: tensor<1xi32>)
//   CHECK-NOT:   adamas.
//   CHECK-NOT:   sort
//       CHECK:   %[[N:.*]] = tensor.dim %[[K]], %{{.*}} : tensor<1x2x?x8xi32>
// G = max(Hq / max(Hkv, 1), 1): no division by zero whatever the sizes.
//       CHECK:   %[[SAFEHKV:.*]] = arith.maxui %{{.*}}, %{{.*}} : index
//       CHECK:   %[[GROUP:.*]] = arith.divui %{{.*}}, %[[SAFEHKV]]
//       CHECK:   %[[G:.*]] = arith.maxui %[[GROUP]], %{{.*}} : index
//       CHECK:   %[[EMPTY:.*]] = tensor.empty() : tensor<1x4x1x16xi32>
//       CHECK:   %[[DIST:.*]] = memref.alloc(%[[N]]) : memref<?xindex>
//       CHECK:   %[[HIST:.*]] = memref.alloc() : memref<385xindex>
//       CHECK:   scf.for {{.*}} iter_args(%{{.*}} = %[[EMPTY]])
//       CHECK:     scf.for
//       CHECK:       scf.for
//       CHECK:         %[[LENGTH:.*]] = tensor.extract %[[LEN]]
//       CHECK:         arith.index_cast %[[LENGTH]] : i32 to index
//       CHECK:         arith.maxsi
//       CHECK:         arith.minsi %{{.*}}, %[[N]]
//       CHECK:         %[[KVHEAD:.*]] = arith.divui %{{.*}}, %[[G]]
// A query head without a KV head sees no position.
//       CHECK:         %[[HASKV:.*]] = arith.cmpi ult, %[[KVHEAD]]
//       CHECK:         arith.select %[[HASKV]]
//       CHECK:         %[[ALL:.*]] = arith.cmpi sle
//       CHECK:         %[[BEGIN:.*]] = arith.select %[[ALL]]
//       CHECK:         %[[END:.*]] = arith.select %[[ALL]]
//       CHECK:         %[[TAKE:.*]] = arith.select %[[ALL]]
//       CHECK:         scf.for
//       CHECK:           memref.store %{{.*}}, %[[HIST]]
//       CHECK:         scf.for %[[POS:arg[0-9]+]] = %[[BEGIN]] to %[[END]]
//       CHECK:           scf.for {{.*}} -> (i32)
//       CHECK:             tensor.extract %[[Q]]
//       CHECK:             tensor.extract %[[K]][%{{.*}}, %[[KVHEAD]], %[[POS]], %{{.*}}]
// Exact 2-bit L1 of 32 dims in two popcounts (CodeArithmetic.h).
//       CHECK:             arith.xori
//       CHECK:             arith.xori
//       CHECK:             math.ctpop
//       CHECK:             math.ctpop
//   CHECK-NOT:             math.ctpop
//       CHECK:             scf.yield
//       CHECK:           %[[D:.*]] = arith.index_cast %{{.*}} : i32 to index
//       CHECK:           memref.store %[[D]], %[[DIST]][%[[POS]]]
//       CHECK:           %[[COUNT:.*]] = memref.load %[[HIST]][%[[D]]]
//       CHECK:           %[[INC:.*]] = arith.addi %[[COUNT]]
//       CHECK:           memref.store %[[INC]], %[[HIST]][%[[D]]]
//       CHECK:         %[[SCAN:.*]]:3 = scf.for {{.*}} -> (index, index, index)
//       CHECK:           memref.load %[[HIST]]
//       CHECK:           arith.cmpi sge, %{{.*}}, %[[TAKE]]
//       CHECK:         memref.load %[[HIST]][%[[SCAN]]#1]
//       CHECK:         %[[OUT:.*]]:3 = scf.for {{.*}} -> (tensor<1x4x1x16xi32>, index, index)
//       CHECK:           scf.if
//       CHECK:           } else {
//       CHECK:             memref.load %[[DIST]]
//       CHECK:           scf.if
//       CHECK:             tensor.insert
//       CHECK:         scf.for %{{.*}} = %[[OUT]]#1 to %{{.*}} iter_args(%[[PAD:arg[0-9]+]] = %[[OUT]]#0)
//       CHECK:           tensor.insert %{{.*}} into %[[PAD]]
func.func @l1_topk(%q: tensor<1x4x1x8xi32>, %k: tensor<1x2x?x8xi32>, %len: tensor<1xi32>) -> tensor<1x4x1x16xi32> {
  %0 = adamas.l1_topk %q, %k, %len {k = 16 : i64, sink = 2 : i64, recent = 4 : i64}
      : tensor<1x4x1x8xi32>, tensor<1x2x?x8xi32>, tensor<1xi32> -> tensor<1x4x1x16xi32>
  return %0 : tensor<1x4x1x16xi32>
}

// -----

// shared_group, b = 3 (W = 6, D = 64): 7 * 64 + 1 = 449 bins, seven popcounts
// per group of words, minimum over the G query heads of a KV head.

// CHECK-LABEL: func.func @l1_topk_shared_3bit(
//   CHECK-NOT:   adamas.
//   CHECK-NOT:   sort
//       CHECK:   tensor.empty(%{{.*}}, %{{.*}}) : tensor<?x2x?x8xi32>
//       CHECK:   memref.alloc() : memref<449xindex>
//       CHECK:   scf.for
//       CHECK:     scf.for
//       CHECK:       scf.for
//       CHECK:         %[[FIRST:.*]] = arith.muli
//       CHECK:         scf.for
//       CHECK:           scf.for %[[QH:arg[0-9]+]] = {{.*}} -> (i32)
//       CHECK:             arith.addi %[[FIRST]], %[[QH]]
// CHECK-COUNT-7:             math.ctpop
//       CHECK:             arith.minsi
func.func @l1_topk_shared_3bit(%q: tensor<?x4x?x6xi32>, %k: tensor<?x2x?x6xi32>, %len: tensor<?xi32>) -> tensor<?x2x?x8xi32> {
  %0 = adamas.l1_topk %q, %k, %len {k = 8 : i64, bits = 3 : i64, sink = 1 : i64, recent = 2 : i64, shared_group = true}
      : tensor<?x4x?x6xi32>, tensor<?x2x?x6xi32>, tensor<?xi32> -> tensor<?x2x?x8xi32>
  return %0 : tensor<?x2x?x8xi32>
}

// -----

// b = 1 (W = 2, D = 64): 65 bins, one popcount per word.

// CHECK-LABEL: func.func @l1_topk_1bit(
//   CHECK-NOT:   adamas.
//       CHECK:   memref.alloc() : memref<65xindex>
//       CHECK:   math.ctpop
//   CHECK-NOT:   math.ctpop
//       CHECK:   return
func.func @l1_topk_1bit(%q: tensor<1x1x1x2xi32>, %k: tensor<1x1x?x2xi32>, %len: tensor<1xi32>) -> tensor<1x1x1x4xi32> {
  %0 = adamas.l1_topk %q, %k, %len {k = 4 : i64, bits = 1 : i64}
      : tensor<1x1x1x2xi32>, tensor<1x1x?x2xi32>, tensor<1xi32> -> tensor<1x1x1x4xi32>
  return %0 : tensor<1x1x1x4xi32>
}

// -----

// sparse_attn: per row, f32 scores of the valid indices (kept in scratch)
// with their max, the softmax denominator, the f32 weighted sum of values,
// then one rounding to f16.

// CHECK-LABEL: func.func @sparse_attn_gqa(
//  CHECK-SAME:     %[[Q:.*]]: tensor<1x4x1x64xf16>, %[[K:.*]]: tensor<1x2x?x64xf16>, %[[V:.*]]: tensor<1x2x?x32xf16>, %[[I:.*]]: tensor<1x4x1x16xi32>)
//   CHECK-NOT:   adamas.
//       CHECK:   %[[N:.*]] = tensor.dim %[[K]]
//       CHECK:   %[[EMPTY:.*]] = tensor.empty() : tensor<1x4x1x32xf16>
//       CHECK:   %[[SAFEHKV:.*]] = arith.maxui %{{.*}}, %{{.*}} : index
//       CHECK:   %[[GROUP:.*]] = arith.divui %{{.*}}, %[[SAFEHKV]]
//       CHECK:   %[[G:.*]] = arith.maxui %[[GROUP]], %{{.*}} : index
//       CHECK:   %[[SCALE:.*]] = arith.constant 1.250000e-01 : f32
//       CHECK:   %[[SCORES:.*]] = memref.alloc() : memref<16xf32>
//       CHECK:   %[[ACC:.*]] = memref.alloc() : memref<32xf32>
//       CHECK:   scf.for {{.*}} iter_args(%{{.*}} = %[[EMPTY]])
//       CHECK:     scf.for
//       CHECK:       scf.for
//       CHECK:         %[[KVHEAD:.*]] = arith.divui %{{.*}}, %[[G]]
//       CHECK:         %[[IHEAD:.*]] = arith.select %{{.*}}, %{{.*}}, %[[KVHEAD]] : index
// A row whose KV head or index row does not exist reads no slot.
//       CHECK:         arith.cmpi ult, %[[IHEAD]]
//       CHECK:         arith.cmpi ult, %[[KVHEAD]]
//       CHECK:         %[[EXIST:.*]] = arith.andi
//       CHECK:         %[[SLOTS:.*]] = arith.select %[[EXIST]]
//       CHECK:         %[[MAX:.*]] = scf.for %{{.*}} = %{{.*}} to %[[SLOTS]] {{.*}} -> (f32)
//       CHECK:           %[[J:.*]] = tensor.extract %[[I]][%{{.*}}, %[[IHEAD]], %{{.*}}, %{{.*}}]
//       CHECK:           %[[POS:.*]] = arith.index_cast %[[J]]
//       CHECK:           arith.cmpi sge, %[[POS]]
//       CHECK:           arith.cmpi slt, %[[POS]], %[[N]]
//       CHECK:           scf.if
//       CHECK:             scf.for {{.*}} -> (f32)
//       CHECK:               arith.extf %{{.*}} : f16 to f32
//       CHECK:               arith.mulf
//       CHECK:               arith.addf
//       CHECK:             %[[SCORE:.*]] = arith.mulf %[[SCALE]]
//       CHECK:             memref.store %[[SCORE]], %[[SCORES]]
//       CHECK:             arith.maximumf
//       CHECK:         %[[SUM:.*]] = scf.for {{.*}} -> (f32)
//       CHECK:             arith.subf %{{.*}}, %[[MAX]]
//       CHECK:             math.exp
//       CHECK:         scf.for
//       CHECK:           memref.store %{{.*}}, %[[ACC]]
//       CHECK:         scf.for
//       CHECK:             math.exp
//       CHECK:             %[[W:.*]] = arith.divf %{{.*}}, %[[SUM]]
//       CHECK:             scf.for
//       CHECK:               tensor.extract %[[V]][%{{.*}}, %[[KVHEAD]], %{{.*}}, %{{.*}}]
//       CHECK:               arith.mulf %[[W]]
//       CHECK:               memref.store %{{.*}}, %[[ACC]]
//       CHECK:         scf.for
//       CHECK:           memref.load %[[ACC]]
//       CHECK:           arith.truncf %{{.*}} : f32 to f16
//       CHECK:           tensor.insert
func.func @sparse_attn_gqa(%q: tensor<1x4x1x64xf16>, %k: tensor<1x2x?x64xf16>, %v: tensor<1x2x?x32xf16>, %i: tensor<1x4x1x16xi32>) -> tensor<1x4x1x32xf16> {
  %0 = adamas.sparse_attn %q, %k, %v, %i
      : tensor<1x4x1x64xf16>, tensor<1x2x?x64xf16>, tensor<1x2x?x32xf16>, tensor<1x4x1x16xi32> -> tensor<1x4x1x32xf16>
  return %0 : tensor<1x4x1x32xf16>
}

// -----

// Dynamic everything, indices shared per KV head, explicit scale, f32 (no
// extension or rounding).

// CHECK-LABEL: func.func @sparse_attn_dynamic(
//  CHECK-SAME:     %[[Q:.*]]: tensor<?x?x?x16xf32>, %[[K:.*]]: tensor<?x?x?x16xf32>, %[[V:.*]]: tensor<?x?x?x?xf32>, %[[I:.*]]: tensor<?x?x?x?xi32>)
//   CHECK-NOT:   adamas.
//       CHECK:   %[[B:.*]] = tensor.dim %[[Q]], %{{.*}}
//       CHECK:   %[[HQ:.*]] = tensor.dim %[[Q]], %{{.*}}
//       CHECK:   %[[M:.*]] = tensor.dim %[[Q]], %{{.*}}
//       CHECK:   %[[DV:.*]] = tensor.dim %[[V]], %{{.*}}
//       CHECK:   %[[SLOTS:.*]] = tensor.dim %[[I]], %{{.*}}
//       CHECK:   %[[IH:.*]] = tensor.dim %[[I]], %{{.*}}
//       CHECK:   %[[EMPTY:.*]] = tensor.empty(%[[B]], %[[HQ]], %[[M]], %[[DV]]) : tensor<?x?x?x?xf32>
//       CHECK:   arith.cmpi eq, %[[IH]], %[[HQ]] : index
//       CHECK:   arith.constant 5.000000e-01 : f32
//       CHECK:   memref.alloc(%[[SLOTS]]) : memref<?xf32>
//       CHECK:   memref.alloc(%[[DV]]) : memref<?xf32>
//       CHECK:   scf.for {{.*}} iter_args(%{{.*}} = %[[EMPTY]])
//   CHECK-NOT:   arith.extf
//   CHECK-NOT:   arith.truncf
//       CHECK:   return
func.func @sparse_attn_dynamic(%q: tensor<?x?x?x16xf32>, %k: tensor<?x?x?x16xf32>, %v: tensor<?x?x?x?xf32>, %i: tensor<?x?x?x?xi32>) -> tensor<?x?x?x?xf32> {
  %0 = adamas.sparse_attn %q, %k, %v, %i {scale = 0.5 : f32}
      : tensor<?x?x?x16xf32>, tensor<?x?x?x16xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xi32> -> tensor<?x?x?x?xf32>
  return %0 : tensor<?x?x?x?xf32>
}

// -----

// cache_write threads the cache through a (batch, head, row) nest and inserts
// each row whose position lengths[b] - M + m lies in [0, N).
// CHECK-LABEL: func.func @cache_write(
//  CHECK-SAME:     %[[ROWS:.*]]: tensor<2x8x1x8xi32>, %[[CACHE:.*]]: tensor<2x8x?x8xi32>, %[[LEN:.*]]: tensor<2xi32>)
//   CHECK-NOT:   adamas.
//       CHECK:   %[[N:.*]] = tensor.dim %[[CACHE]]
//       CHECK:   scf.for %[[B:[a-z0-9_]+]] = {{.*}} iter_args(%{{.*}} = %[[CACHE]])
//       CHECK:     scf.for %[[H:[a-z0-9_]+]] = {{.*}} iter_args
//       CHECK:       scf.for %[[M:[a-z0-9_]+]] = {{.*}} iter_args(%[[ACC:[a-z0-9_]+]] = %{{.*}})
//       CHECK:         %[[L:.*]] = tensor.extract %[[LEN]][%[[B]]]
//       CHECK:         %[[LI:.*]] = arith.index_cast %[[L]] : i32 to index
//       CHECK:         %[[FIRST:.*]] = arith.subi %[[LI]]
//       CHECK:         %[[POS:.*]] = arith.addi %[[FIRST]], %[[M]]
//   CHECK-DAG:         arith.cmpi sge, %[[POS]]
//   CHECK-DAG:         arith.cmpi slt, %[[POS]], %[[N]]
//       CHECK:         scf.if
//       CHECK:           %[[ROW:.*]] = tensor.extract_slice %[[ROWS]][%[[B]], %[[H]], %[[M]], 0] [1, 1, 1, 8]
//       CHECK:           tensor.insert_slice %[[ROW]] into %[[ACC]][%[[B]], %[[H]], %[[POS]], 0] [1, 1, 1, 8]
func.func @cache_write(%rows: tensor<2x8x1x8xi32>, %cache: tensor<2x8x?x8xi32>, %len: tensor<2xi32>) -> tensor<2x8x?x8xi32> {
  %0 = adamas.cache_write %rows into %cache at %len : tensor<2x8x1x8xi32> into tensor<2x8x?x8xi32>, tensor<2xi32>
  return %0 : tensor<2x8x?x8xi32>
}
