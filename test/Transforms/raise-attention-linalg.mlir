// RUN: adamas-opt %s -split-input-file -adamas-raise-attention \
// RUN:   | FileCheck %s --enable-var-scope
// RUN: adamas-opt %s -split-input-file -adamas-raise-attention \
// RUN:   --remarks-filter-passed=adamas-raise-attention --remark-format=emitRemark \
// RUN:   -o /dev/null 2>&1 | FileCheck %s --check-prefix=REMARK

// Decode attention in the linalg-on-tensors forms exporters emit, each
// rewritten into hadamard -> bucketize -> l1_topk -> sparse_attn on BHND
// tensors with the original scale moved to sparse_attn.

// torch-mlir (TorchToLinalg) for q @ k.transpose(-2, -1) * scale, softmax,
// @ v on BHSD tensors: batch dims collapsed for linalg.batch_matmul, K
// transposed by a generic that permutes through its output map, the scale as
// a generic with the constant captured, softmax decomposed with keepdim
// reductions (the max also tracks its index, as aten.max.dim does).

#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#kd3 = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
#tr3 = affine_map<(d0, d1, d2) -> (d0, d2, d1)>
// CHECK-LABEL: func.func @torch_mlir_mha(
//  CHECK-SAME:     %[[Q:[^:]+]]: tensor<1x8x1x64xf32>, %[[K:[^:]+]]: tensor<1x8x128x64xf32>, %[[V:[^:]+]]: tensor<1x8x128x64xf32>)
//   CHECK-DAG:   %[[QH:.+]] = adamas.hadamard %[[Q]] : tensor<1x8x1x64xf32>
//   CHECK-DAG:   %[[KH:.+]] = adamas.hadamard %[[K]] : tensor<1x8x128x64xf32>
//   CHECK-DAG:   %[[QC:.+]] = adamas.bucketize %[[QH]] [-1.000000e+01, 0.000000e+00, 1.000000e+01] : tensor<1x8x1x64xf32> -> tensor<1x8x1x4xi32>
//   CHECK-DAG:   %[[KC:.+]] = adamas.bucketize %[[KH]] [-1.000000e+01, 0.000000e+00, 1.000000e+01] : tensor<1x8x128x64xf32> -> tensor<1x8x128x4xi32>
//   CHECK-DAG:   %[[N:.+]] = arith.constant 128 : i32
//       CHECK:   %[[LEN:.+]] = linalg.fill ins(%[[N]] : i32) outs(%{{.+}} : tensor<1xi32>)
//       CHECK:   %[[IDX:.+]] = adamas.l1_topk %[[QC]], %[[KC]], %[[LEN]] {k = 128 : i64}
//       CHECK:   %[[O:.+]] = adamas.sparse_attn %[[Q]], %[[K]], %[[V]], %[[IDX]] {scale = 1.250000e-01 : f32}
//  CHECK-SAME:     -> tensor<1x8x1x64xf32>
//       CHECK:   return %[[O]]
//   CHECK-NOT:   linalg.batch_matmul
//   CHECK-NOT:   math.exp
// REMARK: remark: [Passed] AttentionRaised {{.*}} Function=torch_mlir_mha {{.*}}M = 1, N = 128, D = 64, k = 128, scale = 0.125
func.func @torch_mlir_mha(%q: tensor<1x8x1x64xf32>, %k: tensor<1x8x128x64xf32>,
                          %v: tensor<1x8x128x64xf32>) -> tensor<1x8x1x64xf32> {
  %c0_i64 = arith.constant 0 : i64
  %zero = arith.constant 0.000000e+00 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %scale = arith.constant 1.250000e-01 : f32
  %q3 = tensor.collapse_shape %q [[0, 1], [2], [3]] : tensor<1x8x1x64xf32> into tensor<8x1x64xf32>
  %k3 = tensor.collapse_shape %k [[0, 1], [2], [3]] : tensor<1x8x128x64xf32> into tensor<8x128x64xf32>
  %v3 = tensor.collapse_shape %v [[0, 1], [2], [3]] : tensor<1x8x128x64xf32> into tensor<8x128x64xf32>
  %kt_init = tensor.empty() : tensor<8x64x128xf32>
  %kt = linalg.generic {indexing_maps = [#id3, #tr3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%k3 : tensor<8x128x64xf32>) outs(%kt_init : tensor<8x64x128xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<8x64x128xf32>
  %s_init = tensor.empty() : tensor<8x1x128xf32>
  %s_zero = linalg.fill ins(%zero : f32) outs(%s_init : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %s = linalg.batch_matmul ins(%q3, %kt : tensor<8x1x64xf32>, tensor<8x64x128xf32>) outs(%s_zero : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %ss = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s : tensor<8x1x128xf32>) outs(%s_init : tensor<8x1x128xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.mulf %in, %scale : f32
    linalg.yield %0 : f32
  } -> tensor<8x1x128xf32>
  %r_init = tensor.empty() : tensor<8x1x1xf32>
  %i_init = tensor.empty() : tensor<8x1x1xi64>
  %r_ninf = linalg.fill ins(%ninf : f32) outs(%r_init : tensor<8x1x1xf32>) -> tensor<8x1x1xf32>
  %i_zero = linalg.fill ins(%c0_i64 : i64) outs(%i_init : tensor<8x1x1xi64>) -> tensor<8x1x1xi64>
  %mx:2 = linalg.generic {indexing_maps = [#id3, #kd3, #kd3], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%ss : tensor<8x1x128xf32>) outs(%r_ninf, %i_zero : tensor<8x1x1xf32>, tensor<8x1x1xi64>) {
  ^bb0(%in: f32, %out: f32, %out_i: i64):
    %i = linalg.index 2 : index
    %ii = arith.index_cast %i : index to i64
    %m = arith.maximumf %in, %out : f32
    %gt = arith.cmpf ogt, %in, %out : f32
    %sel = arith.select %gt, %ii, %out_i : i64
    linalg.yield %m, %sel : f32, i64
  } -> (tensor<8x1x1xf32>, tensor<8x1x1xi64>)
  %sub = linalg.generic {indexing_maps = [#id3, #kd3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%ss, %mx#0 : tensor<8x1x128xf32>, tensor<8x1x1xf32>) outs(%s_init : tensor<8x1x128xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %0 = arith.subf %in, %in_1 : f32
    linalg.yield %0 : f32
  } -> tensor<8x1x128xf32>
  %ex = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%sub : tensor<8x1x128xf32>) outs(%s_init : tensor<8x1x128xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = math.exp %in : f32
    linalg.yield %0 : f32
  } -> tensor<8x1x128xf32>
  %r_zero = linalg.fill ins(%zero : f32) outs(%r_init : tensor<8x1x1xf32>) -> tensor<8x1x1xf32>
  %sum = linalg.generic {indexing_maps = [#id3, #kd3], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%ex : tensor<8x1x128xf32>) outs(%r_zero : tensor<8x1x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<8x1x1xf32>
  %p = linalg.generic {indexing_maps = [#id3, #kd3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%ex, %sum : tensor<8x1x128xf32>, tensor<8x1x1xf32>) outs(%s_init : tensor<8x1x128xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %0 = arith.divf %in, %in_1 : f32
    linalg.yield %0 : f32
  } -> tensor<8x1x128xf32>
  %o_init = tensor.empty() : tensor<8x1x64xf32>
  %o_zero = linalg.fill ins(%zero : f32) outs(%o_init : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  %o = linalg.batch_matmul ins(%p, %v3 : tensor<8x1x128xf32>, tensor<8x128x64xf32>) outs(%o_zero : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  %o4 = tensor.expand_shape %o [[0, 1], [2], [3]] output_shape [1, 8, 1, 64] : tensor<8x1x64xf32> into tensor<1x8x1x64xf32>
  return %o4 : tensor<1x8x1x64xf32>
}

// -----

// One head as 2-D linalg.matmul with K transposed by indexing_maps, the scale
// as arith.divf of q by sqrt(D) on tensors, linalg.softmax, Dv != D.

// CHECK-LABEL: func.func @matmul_transposed_maps_softmax(
//  CHECK-SAME:     %[[Q:[^:]+]]: tensor<1x64xf32>, %[[K:[^:]+]]: tensor<256x64xf32>, %[[V:[^:]+]]: tensor<256x32xf32>)
//   CHECK-DAG:   %[[Q4:.+]] = tensor.expand_shape %[[Q]] {{.+}} output_shape [1, 1, 1, 64]
//   CHECK-DAG:   %[[K4:.+]] = tensor.expand_shape %[[K]] {{\[\[}}0, 1, 2], [3]] output_shape [1, 1, 256, 64]
//   CHECK-DAG:   %[[V4:.+]] = tensor.expand_shape %[[V]] {{\[\[}}0, 1, 2], [3]] output_shape [1, 1, 256, 32]
//   CHECK-DAG:   adamas.hadamard %[[Q4]] : tensor<1x1x1x64xf32>
//   CHECK-DAG:   adamas.hadamard %[[K4]] : tensor<1x1x256x64xf32>
//       CHECK:   %[[IDX:.+]] = adamas.l1_topk {{.+}} {k = 256 : i64}
//       CHECK:   %[[O:.+]] = adamas.sparse_attn %[[Q4]], %[[K4]], %[[V4]], %[[IDX]] {scale = 1.250000e-01 : f32}
//  CHECK-SAME:     -> tensor<1x1x1x32xf32>
//       CHECK:   %[[R:.+]] = tensor.collapse_shape %[[O]] {{.+}} : tensor<1x1x1x32xf32> into tensor<1x32xf32>
//       CHECK:   return %[[R]]
// REMARK: remark: [Passed] AttentionRaised {{.*}} Function=matmul_transposed_maps_softmax {{.*}}M = 1, N = 256, D = 64, k = 256, scale = 0.125
func.func @matmul_transposed_maps_softmax(%q: tensor<1x64xf32>, %k: tensor<256x64xf32>,
                                          %v: tensor<256x32xf32>) -> tensor<1x32xf32> {
  %zero = arith.constant 0.0 : f32
  %sqrt_d = arith.constant dense<8.0> : tensor<1x64xf32>
  %qs = arith.divf %q, %sqrt_d : tensor<1x64xf32>
  %s_init = tensor.empty() : tensor<1x256xf32>
  %s_zero = linalg.fill ins(%zero : f32) outs(%s_init : tensor<1x256xf32>) -> tensor<1x256xf32>
  %s = linalg.matmul
      indexing_maps = [affine_map<(m, n, d) -> (m, d)>, affine_map<(m, n, d) -> (n, d)>,
                       affine_map<(m, n, d) -> (m, n)>]
      ins(%qs, %k : tensor<1x64xf32>, tensor<256x64xf32>) outs(%s_zero : tensor<1x256xf32>) -> tensor<1x256xf32>
  %p = linalg.softmax dimension(1) ins(%s : tensor<1x256xf32>) outs(%s_init : tensor<1x256xf32>) -> tensor<1x256xf32>
  %o_init = tensor.empty() : tensor<1x32xf32>
  %o_zero = linalg.fill ins(%zero : f32) outs(%o_init : tensor<1x32xf32>) -> tensor<1x32xf32>
  %o = linalg.matmul ins(%p, %v : tensor<1x256xf32>, tensor<256x32xf32>) outs(%o_zero : tensor<1x32xf32>) -> tensor<1x32xf32>
  return %o : tensor<1x32xf32>
}

// -----

// f16 as Hugging Face eager attention exports it through torch-mlir with a
// dynamic cache length: linalg.transpose of K, 4-D linalg.generic
// contractions (several dynamic batch dims), the scale in f16 on the
// scores, softmax in f32 between arith.extf and arith.truncf.

#c4q = affine_map<(b, h, m, n, d) -> (b, h, m, d)>
#c4k = affine_map<(b, h, m, n, d) -> (b, h, d, n)>
#c4s = affine_map<(b, h, m, n, d) -> (b, h, m, n)>
#c4p = affine_map<(b, h, m, d, n) -> (b, h, m, n)>
#c4v = affine_map<(b, h, m, d, n) -> (b, h, n, d)>
#c4o = affine_map<(b, h, m, d, n) -> (b, h, m, d)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @hf_f16_dynamic(
//  CHECK-SAME:     %[[Q:[^:]+]]: tensor<1x32x1x128xf16>, %[[K:[^:]+]]: tensor<1x32x?x128xf16>, %[[V:[^:]+]]: tensor<1x32x?x128xf16>)
//   CHECK-DAG:   %[[QC:.+]] = adamas.bucketize {{.+}} : tensor<1x32x1x128xf16> -> tensor<1x32x1x8xi32>
//   CHECK-DAG:   %[[KC:.+]] = adamas.bucketize {{.+}} : tensor<1x32x?x128xf16> -> tensor<1x32x?x8xi32>
//       CHECK:   %[[N:.+]] = tensor.dim %[[K]], %{{.+}} : tensor<1x32x?x128xf16>
//       CHECK:   %[[NI:.+]] = arith.index_cast %[[N]] : index to i32
//       CHECK:   %[[LEN:.+]] = linalg.fill ins(%[[NI]] : i32)
//       CHECK:   %[[IDX:.+]] = adamas.l1_topk %[[QC]], %[[KC]], %[[LEN]] {k = 256 : i64}
//       CHECK:   %[[O:.+]] = adamas.sparse_attn %[[Q]], %[[K]], %[[V]], %[[IDX]] {scale = 0.0883789062 : f32}
//  CHECK-SAME:     -> tensor<1x32x1x128xf16>
//       CHECK:   return %[[O]]
// The model multiplies by 1/sqrt(128) rounded to f16, so that is the scale.
// REMARK: remark: [Passed] AttentionRaised {{.*}} Function=hf_f16_dynamic {{.*}}M = 1, N = ?, D = 128, k = 256, scale = 0.08837891
func.func @hf_f16_dynamic(%q: tensor<1x32x1x128xf16>, %k: tensor<1x32x?x128xf16>,
                          %v: tensor<1x32x?x128xf16>) -> tensor<1x32x1x128xf16> {
  %c2 = arith.constant 2 : index
  %zero = arith.constant 0.0 : f16
  %scale64 = arith.constant 0.088388347648318433 : f64
  %n = tensor.dim %k, %c2 : tensor<1x32x?x128xf16>
  %kt_init = tensor.empty(%n) : tensor<1x32x128x?xf16>
  %kt = linalg.transpose ins(%k : tensor<1x32x?x128xf16>) outs(%kt_init : tensor<1x32x128x?xf16>) permutation = [0, 1, 3, 2]
  %s_init = tensor.empty(%n) : tensor<1x32x1x?xf16>
  %s_zero = linalg.fill ins(%zero : f16) outs(%s_init : tensor<1x32x1x?xf16>) -> tensor<1x32x1x?xf16>
  %s = linalg.generic {indexing_maps = [#c4q, #c4k, #c4s], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %kt : tensor<1x32x1x128xf16>, tensor<1x32x128x?xf16>) outs(%s_zero : tensor<1x32x1x?xf16>) {
  ^bb0(%a: f16, %b: f16, %acc: f16):
    %0 = arith.mulf %a, %b : f16
    %1 = arith.addf %acc, %0 : f16
    linalg.yield %1 : f16
  } -> tensor<1x32x1x?xf16>
  %ss = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%s : tensor<1x32x1x?xf16>) outs(%s_init : tensor<1x32x1x?xf16>) {
  ^bb0(%in: f16, %out: f16):
    %c = arith.truncf %scale64 : f64 to f16
    %0 = arith.mulf %in, %c : f16
    linalg.yield %0 : f16
  } -> tensor<1x32x1x?xf16>
  %w_init = tensor.empty(%n) : tensor<1x32x1x?xf32>
  %wide = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%ss : tensor<1x32x1x?xf16>) outs(%w_init : tensor<1x32x1x?xf32>) {
  ^bb0(%in: f16, %out: f32):
    %0 = arith.extf %in : f16 to f32
    linalg.yield %0 : f32
  } -> tensor<1x32x1x?xf32>
  %pw = linalg.softmax dimension(3) ins(%wide : tensor<1x32x1x?xf32>) outs(%w_init : tensor<1x32x1x?xf32>) -> tensor<1x32x1x?xf32>
  %p = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%pw : tensor<1x32x1x?xf32>) outs(%s_init : tensor<1x32x1x?xf16>) {
  ^bb0(%in: f32, %out: f16):
    %0 = arith.truncf %in : f32 to f16
    linalg.yield %0 : f16
  } -> tensor<1x32x1x?xf16>
  %o_init = tensor.empty() : tensor<1x32x1x128xf16>
  %o_zero = linalg.fill ins(%zero : f16) outs(%o_init : tensor<1x32x1x128xf16>) -> tensor<1x32x1x128xf16>
  %o = linalg.generic {indexing_maps = [#c4p, #c4v, #c4o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %v : tensor<1x32x1x?xf16>, tensor<1x32x?x128xf16>) outs(%o_zero : tensor<1x32x1x128xf16>) {
  ^bb0(%a: f16, %b: f16, %acc: f16):
    %0 = arith.mulf %a, %b : f16
    %1 = arith.addf %acc, %0 : f16
    linalg.yield %1 : f16
  } -> tensor<1x32x1x128xf16>
  return %o : tensor<1x32x1x128xf16>
}

// -----

// GQA as Hugging Face repeat_kv exports it: K goes through expand_shape
// (unsqueeze), a broadcasting linalg.generic and collapse_shape to 8 heads,
// V through linalg.broadcast. The raise keeps the 2 KV heads (the repeated
// keys are never built); K's transpose is in the contraction's maps.

#g5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#g5b = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, 0, d3, d4)>
#gq = affine_map<(b, h, m, n, d) -> (b, h, m, d)>
#gk = affine_map<(b, h, m, n, d) -> (b, h, n, d)>
#gs = affine_map<(b, h, m, n, d) -> (b, h, m, n)>
#gp = affine_map<(b, h, m, d, n) -> (b, h, m, n)>
#gv = affine_map<(b, h, m, d, n) -> (b, h, n, d)>
#go = affine_map<(b, h, m, d, n) -> (b, h, m, d)>
// CHECK-LABEL: func.func @gqa_repeat_kv(
//  CHECK-SAME:     %[[Q:[^:]+]]: tensor<1x8x1x64xf32>, %[[K:[^:]+]]: tensor<1x2x64x64xf32>, %[[V:[^:]+]]: tensor<1x2x64x64xf32>)
//   CHECK-DAG:   %[[KH:.+]] = adamas.hadamard %[[K]] : tensor<1x2x64x64xf32>
//   CHECK-DAG:   %[[KC:.+]] = adamas.bucketize %[[KH]] {{.+}} -> tensor<1x2x64x4xi32>
//       CHECK:   %[[IDX:.+]] = adamas.l1_topk %{{.+}}, %[[KC]], %{{.+}} {k = 64 : i64}
//  CHECK-SAME:     tensor<1x8x1x4xi32>, tensor<1x2x64x4xi32>, tensor<1xi32> -> tensor<1x8x1x64xi32>
//       CHECK:   %[[O:.+]] = adamas.sparse_attn %[[Q]], %[[K]], %[[V]], %[[IDX]] {scale = 1.250000e-01 : f32}
//       CHECK:   return %[[O]]
//   CHECK-NOT:   linalg.broadcast
// REMARK: remark: [Passed] AttentionRaised {{.*}} Function=gqa_repeat_kv
func.func @gqa_repeat_kv(%q: tensor<1x8x1x64xf32>, %k: tensor<1x2x64x64xf32>,
                         %v: tensor<1x2x64x64xf32>) -> tensor<1x8x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %ku = tensor.expand_shape %k [[0], [1, 2], [3], [4]] output_shape [1, 2, 1, 64, 64] : tensor<1x2x64x64xf32> into tensor<1x2x1x64x64xf32>
  %kb_init = tensor.empty() : tensor<1x2x4x64x64xf32>
  %kb = linalg.generic {indexing_maps = [#g5b, #g5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%ku : tensor<1x2x1x64x64xf32>) outs(%kb_init : tensor<1x2x4x64x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<1x2x4x64x64xf32>
  %kr = tensor.collapse_shape %kb [[0], [1, 2], [3], [4]] : tensor<1x2x4x64x64xf32> into tensor<1x8x64x64xf32>
  %vb = linalg.broadcast ins(%v : tensor<1x2x64x64xf32>) outs(%kb_init : tensor<1x2x4x64x64xf32>) dimensions = [2]
  %vr = tensor.collapse_shape %vb [[0], [1, 2], [3], [4]] : tensor<1x2x4x64x64xf32> into tensor<1x8x64x64xf32>
  %scale = arith.constant dense<0.125> : tensor<1x8x1x64xf32>
  %s_init = tensor.empty() : tensor<1x8x1x64xf32>
  %s_zero = linalg.fill ins(%zero : f32) outs(%s_init : tensor<1x8x1x64xf32>) -> tensor<1x8x1x64xf32>
  %s = linalg.generic {indexing_maps = [#gq, #gk, #gs], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %kr : tensor<1x8x1x64xf32>, tensor<1x8x64x64xf32>) outs(%s_zero : tensor<1x8x1x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %0 = arith.mulf %a, %b : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<1x8x1x64xf32>
  %ss = arith.mulf %s, %scale : tensor<1x8x1x64xf32>
  %p = linalg.softmax dimension(3) ins(%ss : tensor<1x8x1x64xf32>) outs(%s_init : tensor<1x8x1x64xf32>) -> tensor<1x8x1x64xf32>
  %o = linalg.generic {indexing_maps = [#gp, #gv, #go], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %vr : tensor<1x8x1x64xf32>, tensor<1x8x64x64xf32>) outs(%s_zero : tensor<1x8x1x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %0 = arith.mulf %a, %b : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<1x8x1x64xf32>
  return %o : tensor<1x8x1x64xf32>
}

// -----

// A static KV cache of 512 positions with the current position as an index
// argument: the mask (-inf beyond the position, built from linalg.index) is
// added to the scores, and becomes lengths = pos + 1. The softmax divides by
// multiplying with the reciprocal; the reductions are linalg.reduce.

#s4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#m4 = affine_map<(d0, d1, d2, d3) -> (0, 0, d2, d3)>
#r4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#i3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#hq = affine_map<(b, h, m, n, d) -> (b, h, m, d)>
#hk = affine_map<(b, h, m, n, d) -> (b, h, n, d)>
#hs = affine_map<(b, h, m, n, d) -> (b, h, m, n)>
#hp = affine_map<(b, h, m, d, n) -> (b, h, m, n)>
#hv = affine_map<(b, h, m, d, n) -> (b, h, n, d)>
#ho = affine_map<(b, h, m, d, n) -> (b, h, m, d)>
// CHECK-LABEL: func.func @static_cache_position(
//  CHECK-SAME:     %[[Q:[^:]+]]: tensor<1x8x1x64xf32>, %[[K:[^:]+]]: tensor<1x8x512x64xf32>, %[[V:[^:]+]]: tensor<1x8x512x64xf32>, %[[POS:[^:]+]]: index)
//   CHECK-DAG:   %[[ONE:.+]] = arith.constant 1 : i32
//   CHECK-DAG:   %[[P:.+]] = arith.index_cast %[[POS]] : index to i32
//       CHECK:   %[[L:.+]] = arith.addi %[[ONE]], %[[P]] : i32
//       CHECK:   %[[LEN:.+]] = linalg.fill ins(%[[L]] : i32)
//       CHECK:   %[[IDX:.+]] = adamas.l1_topk %{{.+}}, %{{.+}}, %[[LEN]] {k = 256 : i64}
//       CHECK:   adamas.sparse_attn %[[Q]], %[[K]], %[[V]], %[[IDX]] {scale = 1.250000e-01 : f32}
//   CHECK-NOT:   arith.cmpi
func.func @static_cache_position(%q: tensor<1x8x1x64xf32>, %k: tensor<1x8x512x64xf32>,
                                 %v: tensor<1x8x512x64xf32>, %pos: index) -> tensor<1x8x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %scale = arith.constant 0.125 : f32
  %m_init = tensor.empty() : tensor<1x1x1x512xf32>
  %mask = linalg.generic {indexing_maps = [#s4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      outs(%m_init : tensor<1x1x1x512xf32>) {
  ^bb0(%out: f32):
    %n = linalg.index 3 : index
    %after = arith.cmpi sgt, %n, %pos : index
    %m = arith.select %after, %ninf, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x1x1x512xf32>
  %s_init = tensor.empty() : tensor<1x8x1x512xf32>
  %s_zero = linalg.fill ins(%zero : f32) outs(%s_init : tensor<1x8x1x512xf32>) -> tensor<1x8x1x512xf32>
  %s = linalg.generic {indexing_maps = [#hq, #hk, #hs], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %k : tensor<1x8x1x64xf32>, tensor<1x8x512x64xf32>) outs(%s_zero : tensor<1x8x1x512xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %0 = arith.mulf %a, %b : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<1x8x1x512xf32>
  %x = linalg.generic {indexing_maps = [#s4, #m4, #s4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%s, %mask : tensor<1x8x1x512xf32>, tensor<1x1x1x512xf32>) outs(%s_init : tensor<1x8x1x512xf32>) {
  ^bb0(%a: f32, %m: f32, %out: f32):
    %0 = arith.mulf %a, %scale : f32
    %1 = arith.addf %0, %m : f32
    linalg.yield %1 : f32
  } -> tensor<1x8x1x512xf32>
  %r_init = tensor.empty() : tensor<1x8x1xf32>
  %r_ninf = linalg.fill ins(%ninf : f32) outs(%r_init : tensor<1x8x1xf32>) -> tensor<1x8x1xf32>
  %mx = linalg.reduce ins(%x : tensor<1x8x1x512xf32>) outs(%r_ninf : tensor<1x8x1xf32>) dimensions = [3]
    (%in: f32, %init: f32) {
      %0 = arith.maximumf %in, %init : f32
      linalg.yield %0 : f32
    }
  %e = linalg.generic {indexing_maps = [#s4, #r4, #s4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %mx : tensor<1x8x1x512xf32>, tensor<1x8x1xf32>) outs(%s_init : tensor<1x8x1x512xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %0 = arith.subf %a, %b : f32
    %1 = math.exp %0 : f32
    linalg.yield %1 : f32
  } -> tensor<1x8x1x512xf32>
  %r_zero = linalg.fill ins(%zero : f32) outs(%r_init : tensor<1x8x1xf32>) -> tensor<1x8x1xf32>
  %sum = linalg.reduce ins(%e : tensor<1x8x1x512xf32>) outs(%r_zero : tensor<1x8x1xf32>) dimensions = [3]
    (%in: f32, %init: f32) {
      %0 = arith.addf %in, %init : f32
      linalg.yield %0 : f32
    }
  %inv = linalg.generic {indexing_maps = [#i3, #i3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%sum : tensor<1x8x1xf32>) outs(%r_init : tensor<1x8x1xf32>) {
  ^bb0(%a: f32, %out: f32):
    %0 = arith.divf %one, %a : f32
    linalg.yield %0 : f32
  } -> tensor<1x8x1xf32>
  %p = linalg.generic {indexing_maps = [#s4, #r4, #s4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%e, %inv : tensor<1x8x1x512xf32>, tensor<1x8x1xf32>) outs(%s_init : tensor<1x8x1x512xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %0 = arith.mulf %a, %b : f32
    linalg.yield %0 : f32
  } -> tensor<1x8x1x512xf32>
  %o_init = tensor.empty() : tensor<1x8x1x64xf32>
  %o_zero = linalg.fill ins(%zero : f32) outs(%o_init : tensor<1x8x1x64xf32>) -> tensor<1x8x1x64xf32>
  %o = linalg.generic {indexing_maps = [#hp, #hv, #ho], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %v : tensor<1x8x1x512xf32>, tensor<1x8x512x64xf32>) outs(%o_zero : tensor<1x8x1x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %0 = arith.mulf %a, %b : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<1x8x1x64xf32>
  return %o : tensor<1x8x1x64xf32>
}

// -----

// bf16, 4 query rows (speculative decoding), a constant causal mask added
// through a broadcasting generic (masked entries hold bf16's lowest value),
// the scale on K as arith.mulf on tensors. lengths = N = 64: row m sees
// positions 0 .. 60 + m.

#b4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#bm = affine_map<(d0, d1, d2, d3) -> (0, 0, d2, d3)>
#bq = affine_map<(b, h, m, n, d) -> (b, h, m, d)>
#bk = affine_map<(b, h, m, n, d) -> (b, h, n, d)>
#bs = affine_map<(b, h, m, n, d) -> (b, h, m, n)>
#bp = affine_map<(b, h, m, d, n) -> (b, h, m, n)>
#bv = affine_map<(b, h, m, d, n) -> (b, h, n, d)>
#bo = affine_map<(b, h, m, d, n) -> (b, h, m, d)>
// CHECK-LABEL: func.func @bf16_rows4_causal_constant(
//  CHECK-SAME:     %[[Q:[^:]+]]: tensor<1x4x4x64xbf16>, %[[K:[^:]+]]: tensor<1x4x64x64xbf16>, %[[V:[^:]+]]: tensor<1x4x64x64xbf16>)
//       CHECK:   %[[L:.+]] = arith.constant 64 : i32
//       CHECK:   %[[LEN:.+]] = linalg.fill ins(%[[L]] : i32)
//       CHECK:   %[[IDX:.+]] = adamas.l1_topk %{{.+}}, %{{.+}}, %[[LEN]] {k = 64 : i64}
//  CHECK-SAME:     -> tensor<1x4x4x64xi32>
//       CHECK:   adamas.sparse_attn %[[Q]], %[[K]], %[[V]], %[[IDX]] {scale = 1.250000e-01 : f32}
//  CHECK-SAME:     -> tensor<1x4x4x64xbf16>
// REMARK: remark: [Passed] AttentionRaised {{.*}} Function=bf16_rows4_causal_constant {{.*}}M = 4, N = 64
func.func @bf16_rows4_causal_constant(%q: tensor<1x4x4x64xbf16>, %k: tensor<1x4x64x64xbf16>,
                                      %v: tensor<1x4x64x64xbf16>) -> tensor<1x4x4x64xbf16> {
  %zero = arith.constant 0.0 : bf16
  %scale = arith.constant dense<0.125> : tensor<1x4x64x64xbf16>
  %mask = arith.constant dense<[[[[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -3.38953139E+38, -3.38953139E+38, -3.38953139E+38],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -3.38953139E+38, -3.38953139E+38],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -3.38953139E+38],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]]]> : tensor<1x1x4x64xbf16>
  %ks = arith.mulf %k, %scale : tensor<1x4x64x64xbf16>
  %s_init = tensor.empty() : tensor<1x4x4x64xbf16>
  %s_zero = linalg.fill ins(%zero : bf16) outs(%s_init : tensor<1x4x4x64xbf16>) -> tensor<1x4x4x64xbf16>
  %s = linalg.generic {indexing_maps = [#bq, #bk, #bs], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %ks : tensor<1x4x4x64xbf16>, tensor<1x4x64x64xbf16>) outs(%s_zero : tensor<1x4x4x64xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %acc: bf16):
    %0 = arith.mulf %a, %b : bf16
    %1 = arith.addf %acc, %0 : bf16
    linalg.yield %1 : bf16
  } -> tensor<1x4x4x64xbf16>
  %x = linalg.generic {indexing_maps = [#b4, #bm, #b4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%s, %mask : tensor<1x4x4x64xbf16>, tensor<1x1x4x64xbf16>) outs(%s_init : tensor<1x4x4x64xbf16>) {
  ^bb0(%a: bf16, %m: bf16, %out: bf16):
    %0 = arith.addf %a, %m : bf16
    linalg.yield %0 : bf16
  } -> tensor<1x4x4x64xbf16>
  %p = linalg.softmax dimension(3) ins(%x : tensor<1x4x4x64xbf16>) outs(%s_init : tensor<1x4x4x64xbf16>) -> tensor<1x4x4x64xbf16>
  %o = linalg.generic {indexing_maps = [#bp, #bv, #bo], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %v : tensor<1x4x4x64xbf16>, tensor<1x4x64x64xbf16>) outs(%s_zero : tensor<1x4x4x64xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %acc: bf16):
    %0 = arith.mulf %a, %b : bf16
    %1 = arith.addf %acc, %0 : bf16
    linalg.yield %1 : bf16
  } -> tensor<1x4x4x64xbf16>
  return %o : tensor<1x4x4x64xbf16>
}

// -----

// Flash-style: 64^-1/4 folded into both q and K, log2(e) folded into the
// scores for exp2. Codes come from the unscaled q and K; the whole scale
// moves to sparse_attn: 0.125 up to the rounding of the f32 constants.

#f3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#f3r = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
// CHECK-LABEL: func.func @sqrt_scale_both_exp2(
//  CHECK-SAME:     %[[Q:[^:]+]]: tensor<4x1x64xf32>, %[[K:[^:]+]]: tensor<4x96x64xf32>, %[[V:[^:]+]]: tensor<4x96x64xf32>)
//   CHECK-DAG:   %[[Q4:.+]] = tensor.expand_shape %[[Q]] {{.+}} output_shape [1, 4, 1, 64]
//   CHECK-DAG:   %[[K4:.+]] = tensor.expand_shape %[[K]] {{.+}} output_shape [1, 4, 96, 64]
//   CHECK-DAG:   adamas.hadamard %[[Q4]]
//   CHECK-DAG:   adamas.hadamard %[[K4]]
//       CHECK:   adamas.sparse_attn %[[Q4]], %[[K4]], %{{.+}}, %{{.+}} {scale = 0.124999993 : f32}
//   CHECK-NOT:   math.exp2
func.func @sqrt_scale_both_exp2(%q: tensor<4x1x64xf32>, %k: tensor<4x96x64xf32>,
                                %v: tensor<4x96x64xf32>) -> tensor<4x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %quarter = arith.constant 0.353553390593273762 : f32
  %log2e = arith.constant 1.44269504088896341 : f32
  %q_init = tensor.empty() : tensor<4x1x64xf32>
  %qs = linalg.generic {indexing_maps = [#f3, #f3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%q : tensor<4x1x64xf32>) outs(%q_init : tensor<4x1x64xf32>) {
  ^bb0(%a: f32, %out: f32):
    %0 = arith.mulf %a, %quarter : f32
    linalg.yield %0 : f32
  } -> tensor<4x1x64xf32>
  %k_init = tensor.empty() : tensor<4x96x64xf32>
  %ks = linalg.generic {indexing_maps = [#f3, #f3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%k : tensor<4x96x64xf32>) outs(%k_init : tensor<4x96x64xf32>) {
  ^bb0(%a: f32, %out: f32):
    %0 = arith.mulf %quarter, %a : f32
    linalg.yield %0 : f32
  } -> tensor<4x96x64xf32>
  %s_init = tensor.empty() : tensor<4x1x96xf32>
  %s_zero = linalg.fill ins(%zero : f32) outs(%s_init : tensor<4x1x96xf32>) -> tensor<4x1x96xf32>
  %s = linalg.batch_matmul
      indexing_maps = [affine_map<(b, m, n, d) -> (b, m, d)>, affine_map<(b, m, n, d) -> (b, n, d)>,
                       affine_map<(b, m, n, d) -> (b, m, n)>]
      ins(%qs, %ks : tensor<4x1x64xf32>, tensor<4x96x64xf32>) outs(%s_zero : tensor<4x1x96xf32>) -> tensor<4x1x96xf32>
  %r_init = tensor.empty() : tensor<4x1x1xf32>
  %r_ninf = linalg.fill ins(%ninf : f32) outs(%r_init : tensor<4x1x1xf32>) -> tensor<4x1x1xf32>
  %mx = linalg.generic {indexing_maps = [#f3, #f3r], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%s : tensor<4x1x96xf32>) outs(%r_ninf : tensor<4x1x1xf32>) {
  ^bb0(%a: f32, %out: f32):
    %0 = arith.maximumf %a, %out : f32
    linalg.yield %0 : f32
  } -> tensor<4x1x1xf32>
  %e = linalg.generic {indexing_maps = [#f3, #f3r, #f3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s, %mx : tensor<4x1x96xf32>, tensor<4x1x1xf32>) outs(%s_init : tensor<4x1x96xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %0 = arith.subf %a, %b : f32
    %1 = arith.mulf %0, %log2e : f32
    %2 = math.exp2 %1 : f32
    linalg.yield %2 : f32
  } -> tensor<4x1x96xf32>
  %r_zero = linalg.fill ins(%zero : f32) outs(%r_init : tensor<4x1x1xf32>) -> tensor<4x1x1xf32>
  %sum = linalg.generic {indexing_maps = [#f3, #f3r], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%e : tensor<4x1x96xf32>) outs(%r_zero : tensor<4x1x1xf32>) {
  ^bb0(%a: f32, %out: f32):
    %0 = arith.addf %out, %a : f32
    linalg.yield %0 : f32
  } -> tensor<4x1x1xf32>
  %p = linalg.generic {indexing_maps = [#f3, #f3r, #f3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%e, %sum : tensor<4x1x96xf32>, tensor<4x1x1xf32>) outs(%s_init : tensor<4x1x96xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %0 = arith.divf %a, %b : f32
    linalg.yield %0 : f32
  } -> tensor<4x1x96xf32>
  %o_init = tensor.empty() : tensor<4x1x64xf32>
  %o_zero = linalg.fill ins(%zero : f32) outs(%o_init : tensor<4x1x64xf32>) -> tensor<4x1x64xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<4x1x96xf32>, tensor<4x96x64xf32>) outs(%o_zero : tensor<4x1x64xf32>) -> tensor<4x1x64xf32>
  return %o : tensor<4x1x64xf32>
}

// -----

// The first TOSA case of raise-attention-tosa.mlir after upstream
// tosa-to-linalg-named, tosa-to-linalg and canonicalize: linalg.reduce
// without keepdim, expand_shape of the reductions, broadcasting maps with
// constant 0 results, the reciprocal as 1 / x in a generic.

#tl_map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#tl_map1 = affine_map<(d0, d1, d2, d3) -> (d0, 0, d2, 0)>
#tl_map2 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>
// CHECK-LABEL: func.func @tosa_to_linalg_lowered(
//  CHECK-SAME:     %[[Q:[^:]+]]: tensor<1x8x1x64xf32>, %[[K:[^:]+]]: tensor<1x8x128x64xf32>, %[[V:[^:]+]]: tensor<1x8x128x64xf32>)
//       CHECK:   %[[O:.+]] = adamas.sparse_attn %[[Q]], %[[K]], %[[V]], %{{.+}} {scale = 1.250000e-01 : f32}
//       CHECK:   return %[[O]]
// REMARK: remark: [Passed] AttentionRaised {{.*}} Function=tosa_to_linalg_lowered
func.func @tosa_to_linalg_lowered(%arg0: tensor<1x8x1x64xf32>, %arg1: tensor<1x8x128x64xf32>, %arg2: tensor<1x8x128x64xf32>) -> tensor<1x8x1x64xf32> {
  %cst = arith.constant 1.000000e+00 : f32
  %cst_0 = arith.constant -3.40282347E+38 : f32
  %cst_1 = arith.constant 0.000000e+00 : f32
  %cst_2 = arith.constant dense<1.250000e-01> : tensor<1x1x1x1xf32>
  %0 = tensor.empty() : tensor<1x8x64x128xf32>
  %transposed = linalg.transpose ins(%arg1 : tensor<1x8x128x64xf32>) outs(%0 : tensor<1x8x64x128xf32>) permutation = [0, 1, 3, 2] 
  %collapsed = tensor.collapse_shape %arg0 [[0, 1], [2], [3]] : tensor<1x8x1x64xf32> into tensor<8x1x64xf32>
  %collapsed_3 = tensor.collapse_shape %transposed [[0, 1], [2], [3]] : tensor<1x8x64x128xf32> into tensor<8x64x128xf32>
  %1 = tensor.empty() : tensor<8x1x128xf32>
  %2 = linalg.fill ins(%cst_1 : f32) outs(%1 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %3 = linalg.batch_matmul ins(%collapsed, %collapsed_3 : tensor<8x1x64xf32>, tensor<8x64x128xf32>) outs(%2 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %expanded = tensor.expand_shape %3 [[0, 1], [2], [3]] output_shape [1, 8, 1, 128] : tensor<8x1x128xf32> into tensor<1x8x1x128xf32>
  %4 = tensor.empty() : tensor<1x8x1x128xf32>
  %5 = linalg.generic {indexing_maps = [#tl_map, #tl_map1, #tl_map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%expanded, %cst_2 : tensor<1x8x1x128xf32>, tensor<1x1x1x1xf32>) outs(%4 : tensor<1x8x1x128xf32>) {
  ^bb0(%in: f32, %in_10: f32, %out: f32):
    %21 = arith.mulf %in, %in_10 : f32
    linalg.yield %21 : f32
  } -> tensor<1x8x1x128xf32>
  %6 = tensor.empty() : tensor<1x8x1xf32>
  %7 = linalg.fill ins(%cst_0 : f32) outs(%6 : tensor<1x8x1xf32>) -> tensor<1x8x1xf32>
  %reduced = linalg.reduce ins(%5 : tensor<1x8x1x128xf32>) outs(%7 : tensor<1x8x1xf32>) dimensions = [3] 
    (%in: f32, %init: f32) {
      %21 = arith.maximumf %in, %init : f32
      linalg.yield %21 : f32
    }
  %expanded_4 = tensor.expand_shape %reduced [[0], [1], [2, 3]] output_shape [1, 8, 1, 1] : tensor<1x8x1xf32> into tensor<1x8x1x1xf32>
  %8 = tensor.empty() : tensor<1x8x1x128xf32>
  %9 = linalg.generic {indexing_maps = [#tl_map, #tl_map2, #tl_map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%5, %expanded_4 : tensor<1x8x1x128xf32>, tensor<1x8x1x1xf32>) outs(%8 : tensor<1x8x1x128xf32>) {
  ^bb0(%in: f32, %in_10: f32, %out: f32):
    %21 = arith.subf %in, %in_10 : f32
    linalg.yield %21 : f32
  } -> tensor<1x8x1x128xf32>
  %10 = tensor.empty() : tensor<1x8x1x128xf32>
  %11 = linalg.generic {indexing_maps = [#tl_map, #tl_map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%9 : tensor<1x8x1x128xf32>) outs(%10 : tensor<1x8x1x128xf32>) {
  ^bb0(%in: f32, %out: f32):
    %21 = math.exp %in : f32
    linalg.yield %21 : f32
  } -> tensor<1x8x1x128xf32>
  %12 = tensor.empty() : tensor<1x8x1xf32>
  %13 = linalg.fill ins(%cst_1 : f32) outs(%12 : tensor<1x8x1xf32>) -> tensor<1x8x1xf32>
  %reduced_5 = linalg.reduce ins(%11 : tensor<1x8x1x128xf32>) outs(%13 : tensor<1x8x1xf32>) dimensions = [3] 
    (%in: f32, %init: f32) {
      %21 = arith.addf %in, %init : f32
      linalg.yield %21 : f32
    }
  %expanded_6 = tensor.expand_shape %reduced_5 [[0], [1], [2, 3]] output_shape [1, 8, 1, 1] : tensor<1x8x1xf32> into tensor<1x8x1x1xf32>
  %14 = tensor.empty() : tensor<1x8x1x1xf32>
  %15 = linalg.generic {indexing_maps = [#tl_map, #tl_map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%expanded_6 : tensor<1x8x1x1xf32>) outs(%14 : tensor<1x8x1x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %21 = arith.divf %cst, %in : f32
    linalg.yield %21 : f32
  } -> tensor<1x8x1x1xf32>
  %16 = tensor.empty() : tensor<1x8x1x128xf32>
  %17 = linalg.generic {indexing_maps = [#tl_map, #tl_map2, #tl_map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%11, %15 : tensor<1x8x1x128xf32>, tensor<1x8x1x1xf32>) outs(%16 : tensor<1x8x1x128xf32>) {
  ^bb0(%in: f32, %in_10: f32, %out: f32):
    %21 = arith.mulf %in, %in_10 : f32
    linalg.yield %21 : f32
  } -> tensor<1x8x1x128xf32>
  %collapsed_7 = tensor.collapse_shape %17 [[0, 1], [2], [3]] : tensor<1x8x1x128xf32> into tensor<8x1x128xf32>
  %collapsed_8 = tensor.collapse_shape %arg2 [[0, 1], [2], [3]] : tensor<1x8x128x64xf32> into tensor<8x128x64xf32>
  %18 = tensor.empty() : tensor<8x1x64xf32>
  %19 = linalg.fill ins(%cst_1 : f32) outs(%18 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  %20 = linalg.batch_matmul ins(%collapsed_7, %collapsed_8 : tensor<8x1x128xf32>, tensor<8x128x64xf32>) outs(%19 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  %expanded_9 = tensor.expand_shape %20 [[0, 1], [2], [3]] output_shape [1, 8, 1, 64] : tensor<8x1x64xf32> into tensor<1x8x1x64xf32>
  return %expanded_9 : tensor<1x8x1x64xf32>
}

// -----

// GQA with the KV heads tiled rather than interleaved: query head h reads KV
// head h % 2 (K broadcast over an outer group dim). l1_topk and sparse_attn
// read KV head h / G, so the query heads are transposed into that order for
// the adamas ops and the output is transposed back; the keys stay as they
// are. The scale is folded into the body of the q·Kᵀ contraction.

#tq = affine_map<(b, h, m, n, d) -> (b, h, m, d)>
#tk = affine_map<(b, h, m, n, d) -> (b, h, n, d)>
#ts = affine_map<(b, h, m, n, d) -> (b, h, m, n)>
#tp = affine_map<(b, h, m, d, n) -> (b, h, m, n)>
#tv = affine_map<(b, h, m, d, n) -> (b, h, n, d)>
#to = affine_map<(b, h, m, d, n) -> (b, h, m, d)>
// CHECK-LABEL: func.func @gqa_tiled_heads(
//  CHECK-SAME:     %[[Q:[^:]+]]: tensor<1x8x1x64xf32>, %[[K:[^:]+]]: tensor<1x2x64x64xf32>, %[[V:[^:]+]]: tensor<1x2x64x64xf32>)
//       CHECK:   %[[QT:.+]] = linalg.transpose ins(%{{.+}} : tensor<4x2x64xf32>) outs(%{{.+}} : tensor<2x4x64xf32>) permutation = [1, 0, 2]
//       CHECK:   %[[Q4:.+]] = tensor.expand_shape %{{.+}} output_shape [1, 8, 1, 64]
//       CHECK:   adamas.hadamard %[[Q4]]
//       CHECK:   adamas.hadamard %[[K]] : tensor<1x2x64x64xf32>
//       CHECK:   %[[O:.+]] = adamas.sparse_attn %[[Q4]], %[[K]], %[[V]], %{{.+}}
//       CHECK:   linalg.transpose ins(%{{.+}} : tensor<2x4x64xf32>) outs(%{{.+}} : tensor<4x2x64xf32>) permutation = [1, 0, 2]
// REMARK: remark: [Passed] AttentionRaised {{.*}} Function=gqa_tiled_heads
func.func @gqa_tiled_heads(%q: tensor<1x8x1x64xf32>, %k: tensor<1x2x64x64xf32>,
                           %v: tensor<1x2x64x64xf32>) -> tensor<1x8x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %scale = arith.constant 0.125 : f32
  %kb_init = tensor.empty() : tensor<1x4x2x64x64xf32>
  %kb = linalg.broadcast ins(%k : tensor<1x2x64x64xf32>) outs(%kb_init : tensor<1x4x2x64x64xf32>) dimensions = [1]
  %kr = tensor.collapse_shape %kb [[0], [1, 2], [3], [4]] : tensor<1x4x2x64x64xf32> into tensor<1x8x64x64xf32>
  %vb = linalg.broadcast ins(%v : tensor<1x2x64x64xf32>) outs(%kb_init : tensor<1x4x2x64x64xf32>) dimensions = [1]
  %vr = tensor.collapse_shape %vb [[0], [1, 2], [3], [4]] : tensor<1x4x2x64x64xf32> into tensor<1x8x64x64xf32>
  %s_init = tensor.empty() : tensor<1x8x1x64xf32>
  %s_zero = linalg.fill ins(%zero : f32) outs(%s_init : tensor<1x8x1x64xf32>) -> tensor<1x8x1x64xf32>
  %s = linalg.generic {indexing_maps = [#tq, #tk, #ts], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %kr : tensor<1x8x1x64xf32>, tensor<1x8x64x64xf32>) outs(%s_zero : tensor<1x8x1x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %0 = arith.mulf %a, %b : f32
    %1 = arith.mulf %0, %scale : f32
    %2 = arith.addf %acc, %1 : f32
    linalg.yield %2 : f32
  } -> tensor<1x8x1x64xf32>
  %p = linalg.softmax dimension(3) ins(%s : tensor<1x8x1x64xf32>) outs(%s_init : tensor<1x8x1x64xf32>) -> tensor<1x8x1x64xf32>
  %o = linalg.generic {indexing_maps = [#tp, #tv, #to], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %vr : tensor<1x8x1x64xf32>, tensor<1x8x64x64xf32>) outs(%s_zero : tensor<1x8x1x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %0 = arith.mulf %a, %b : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<1x8x1x64xf32>
  return %o : tensor<1x8x1x64xf32>
}

// -----

// masked_fill: two query rows (a chunked decode step) with a causal mask
// computed as an i1 tensor from linalg.index in its own generic, applied by
// arith.select with f32's lowest value on the scaled scores. Row m keeps
// keys n <= m + 62: lengths = 64, all of the cache for the last row.

#c4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#cm = affine_map<(d0, d1, d2, d3) -> (0, 0, d2, d3)>
#cq = affine_map<(b, h, m, n, d) -> (b, h, m, d)>
#ck = affine_map<(b, h, m, n, d) -> (b, h, n, d)>
#cs = affine_map<(b, h, m, n, d) -> (b, h, m, n)>
#cp = affine_map<(b, h, m, d, n) -> (b, h, m, n)>
#cv = affine_map<(b, h, m, d, n) -> (b, h, n, d)>
#co = affine_map<(b, h, m, d, n) -> (b, h, m, d)>
// CHECK-LABEL: func.func @select_causal_rows2(
//  CHECK-SAME:     %[[Q:[^:]+]]: tensor<1x4x2x64xf32>, %[[K:[^:]+]]: tensor<1x4x64x64xf32>, %[[V:[^:]+]]: tensor<1x4x64x64xf32>)
//       CHECK:   %[[L:.+]] = arith.constant 64 : i32
//       CHECK:   %[[LEN:.+]] = linalg.fill ins(%[[L]] : i32)
//       CHECK:   %[[IDX:.+]] = adamas.l1_topk %{{.+}}, %{{.+}}, %[[LEN]] {k = 64 : i64} {{.+}} -> tensor<1x4x2x64xi32>
//       CHECK:   adamas.sparse_attn %[[Q]], %[[K]], %[[V]], %[[IDX]] {scale = 1.250000e-01 : f32}
//   CHECK-NOT:   arith.select
// REMARK: remark: [Passed] AttentionRaised {{.*}} Function=select_causal_rows2 {{.*}}M = 2, N = 64
func.func @select_causal_rows2(%q: tensor<1x4x2x64xf32>, %k: tensor<1x4x64x64xf32>,
                               %v: tensor<1x4x64x64xf32>) -> tensor<1x4x2x64xf32> {
  %zero = arith.constant 0.0 : f32
  %lowest = arith.constant -3.40282347E+38 : f32
  %scale = arith.constant 0.125 : f32
  %c62 = arith.constant 62 : index
  %m_init = tensor.empty() : tensor<1x1x2x64xi1>
  %hidden = linalg.generic {indexing_maps = [#c4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      outs(%m_init : tensor<1x1x2x64xi1>) {
  ^bb0(%out: i1):
    %m = linalg.index 2 : index
    %n = linalg.index 3 : index
    %last = arith.addi %m, %c62 : index
    %after = arith.cmpi sgt, %n, %last : index
    linalg.yield %after : i1
  } -> tensor<1x1x2x64xi1>
  %s_init = tensor.empty() : tensor<1x4x2x64xf32>
  %s_zero = linalg.fill ins(%zero : f32) outs(%s_init : tensor<1x4x2x64xf32>) -> tensor<1x4x2x64xf32>
  %s = linalg.generic {indexing_maps = [#cq, #ck, #cs], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %k : tensor<1x4x2x64xf32>, tensor<1x4x64x64xf32>) outs(%s_zero : tensor<1x4x2x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %0 = arith.mulf %a, %b : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<1x4x2x64xf32>
  %x = linalg.generic {indexing_maps = [#c4, #cm, #c4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%s, %hidden : tensor<1x4x2x64xf32>, tensor<1x1x2x64xi1>) outs(%s_init : tensor<1x4x2x64xf32>) {
  ^bb0(%a: f32, %h: i1, %out: f32):
    %0 = arith.mulf %a, %scale : f32
    %1 = arith.select %h, %lowest, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<1x4x2x64xf32>
  %p = linalg.softmax dimension(3) ins(%x : tensor<1x4x2x64xf32>) outs(%s_init : tensor<1x4x2x64xf32>) -> tensor<1x4x2x64xf32>
  %o = linalg.generic {indexing_maps = [#cp, #cv, #co], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %v : tensor<1x4x2x64xf32>, tensor<1x4x64x64xf32>) outs(%s_zero : tensor<1x4x2x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %0 = arith.mulf %a, %b : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<1x4x2x64xf32>
  return %o : tensor<1x4x2x64xf32>
}

// -----

// The f16 form with a dynamic batch too: lengths get one row per batch row.

#dbq = affine_map<(b, h, m, n, d) -> (b, h, m, d)>
#dbk = affine_map<(b, h, m, n, d) -> (b, h, d, n)>
#dbs = affine_map<(b, h, m, n, d) -> (b, h, m, n)>
#dbp = affine_map<(b, h, m, d, n) -> (b, h, m, n)>
#dbv = affine_map<(b, h, m, d, n) -> (b, h, n, d)>
#dbo = affine_map<(b, h, m, d, n) -> (b, h, m, d)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#dbid = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @dynamic_batch_and_keys(
//  CHECK-SAME:     %[[Q:[^:]+]]: tensor<?x32x1x128xf16>, %[[K:[^:]+]]: tensor<?x32x?x128xf16>, %[[V:[^:]+]]: tensor<?x32x?x128xf16>)
//       CHECK:   %[[B:.+]] = tensor.dim %[[Q]], %{{.+}} : tensor<?x32x1x128xf16>
//       CHECK:   %[[E:.+]] = tensor.empty(%[[B]]) : tensor<?xi32>
//       CHECK:   %[[LEN:.+]] = linalg.fill ins(%{{.+}} : i32) outs(%[[E]] : tensor<?xi32>)
//       CHECK:   %[[IDX:.+]] = adamas.l1_topk %{{.+}}, %{{.+}}, %[[LEN]] {k = 256 : i64} : tensor<?x32x1x8xi32>, tensor<?x32x?x8xi32>, tensor<?xi32> -> tensor<?x32x1x256xi32>
//       CHECK:   adamas.sparse_attn %[[Q]], %[[K]], %[[V]], %[[IDX]]
func.func @dynamic_batch_and_keys(%q: tensor<?x32x1x128xf16>, %k: tensor<?x32x?x128xf16>,
                          %v: tensor<?x32x?x128xf16>) -> tensor<?x32x1x128xf16> {
  %c2 = arith.constant 2 : index
  %zero = arith.constant 0.0 : f16
  %scale64 = arith.constant 0.088388347648318433 : f64
  %n = tensor.dim %k, %c2 : tensor<?x32x?x128xf16>
  %c0 = arith.constant 0 : index
  %bs = tensor.dim %q, %c0 : tensor<?x32x1x128xf16>
  %kt_init = tensor.empty(%bs, %n) : tensor<?x32x128x?xf16>
  %kt = linalg.transpose ins(%k : tensor<?x32x?x128xf16>) outs(%kt_init : tensor<?x32x128x?xf16>) permutation = [0, 1, 3, 2]
  %s_init = tensor.empty(%bs, %n) : tensor<?x32x1x?xf16>
  %s_zero = linalg.fill ins(%zero : f16) outs(%s_init : tensor<?x32x1x?xf16>) -> tensor<?x32x1x?xf16>
  %s = linalg.generic {indexing_maps = [#dbq, #dbk, #dbs], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %kt : tensor<?x32x1x128xf16>, tensor<?x32x128x?xf16>) outs(%s_zero : tensor<?x32x1x?xf16>) {
  ^bb0(%a: f16, %b: f16, %acc: f16):
    %0 = arith.mulf %a, %b : f16
    %1 = arith.addf %acc, %0 : f16
    linalg.yield %1 : f16
  } -> tensor<?x32x1x?xf16>
  %ss = linalg.generic {indexing_maps = [#dbid, #dbid], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%s : tensor<?x32x1x?xf16>) outs(%s_init : tensor<?x32x1x?xf16>) {
  ^bb0(%in: f16, %out: f16):
    %c = arith.truncf %scale64 : f64 to f16
    %0 = arith.mulf %in, %c : f16
    linalg.yield %0 : f16
  } -> tensor<?x32x1x?xf16>
  %w_init = tensor.empty(%bs, %n) : tensor<?x32x1x?xf32>
  %wide = linalg.generic {indexing_maps = [#dbid, #dbid], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%ss : tensor<?x32x1x?xf16>) outs(%w_init : tensor<?x32x1x?xf32>) {
  ^bb0(%in: f16, %out: f32):
    %0 = arith.extf %in : f16 to f32
    linalg.yield %0 : f32
  } -> tensor<?x32x1x?xf32>
  %pw = linalg.softmax dimension(3) ins(%wide : tensor<?x32x1x?xf32>) outs(%w_init : tensor<?x32x1x?xf32>) -> tensor<?x32x1x?xf32>
  %p = linalg.generic {indexing_maps = [#dbid, #dbid], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%pw : tensor<?x32x1x?xf32>) outs(%s_init : tensor<?x32x1x?xf16>) {
  ^bb0(%in: f32, %out: f16):
    %0 = arith.truncf %in : f32 to f16
    linalg.yield %0 : f16
  } -> tensor<?x32x1x?xf16>
  %o_init = tensor.empty(%bs) : tensor<?x32x1x128xf16>
  %o_zero = linalg.fill ins(%zero : f16) outs(%o_init : tensor<?x32x1x128xf16>) -> tensor<?x32x1x128xf16>
  %o = linalg.generic {indexing_maps = [#dbp, #dbv, #dbo], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %v : tensor<?x32x1x?xf16>, tensor<?x32x?x128xf16>) outs(%o_zero : tensor<?x32x1x128xf16>) {
  ^bb0(%a: f16, %b: f16, %acc: f16):
    %0 = arith.mulf %a, %b : f16
    %1 = arith.addf %acc, %0 : f16
    linalg.yield %1 : f16
  } -> tensor<?x32x1x128xf16>
  return %o : tensor<?x32x1x128xf16>
}
