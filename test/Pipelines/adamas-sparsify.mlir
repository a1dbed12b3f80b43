// RUN: adamas-opt %s -adamas-sparsify="budget=64 sink=2" | FileCheck %s --enable-var-scope
// Upstream mlir-opt gets the pipeline from the plugin (named in
// --pass-pipeline: pass plugins load after the command line is parsed).
// RUN: %plugin_env mlir-opt %s --load-dialect-plugin=%adamas_plugin --load-pass-plugin=%adamas_plugin \
// RUN:   --pass-pipeline="builtin.module(adamas-sparsify{budget=64 sink=2})" \
// RUN:   | FileCheck %s --enable-var-scope
// RUN: not adamas-opt %s -adamas-sparsify="bits=5" 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: error: adamas-raise-attention: option 'bits' must be 1, 2 or 3, got 5

// adamas-sparsify = adamas-raise-attention + adamas-cache-key-codes: two
// attention layers of a decode step that read one cache grown by
// tensor.concat become adamas ops; the key codes are cached once for both.

// CHECK-LABEL: func.func @two_layer_step(
//  CHECK-SAME:     %[[Q:[^:]+]]: tensor<1x4x1x64xf32>, %[[PK:[^:]+]]: tensor<1x2x?x64xf32>, %[[NK:[^:]+]]: tensor<1x2x1x64xf32>,
//  CHECK-SAME:     %[[PV:[^:]+]]: tensor<1x2x?x64xf32>, %[[NV:[^:]+]]: tensor<1x2x1x64xf32>,
//  CHECK-SAME:     %[[PC:[^:]+]]: tensor<1x2x?x4xi32> {adamas.key_codes_of = 1 : i64})
//  CHECK-SAME:     -> (tensor<1x4x1x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x4xi32> {adamas.key_codes_of = 1 : i64})
//       CHECK:   %[[K:.+]] = tensor.concat dim(2) %[[PK]], %[[NK]]
//       CHECK:   %[[V:.+]] = tensor.concat dim(2) %[[PV]], %[[NV]]
//       CHECK:   %[[NH:.+]] = adamas.hadamard %[[NK]]
//       CHECK:   %[[NC:.+]] = adamas.bucketize %[[NH]]
//       CHECK:   %[[KC:.+]] = tensor.concat dim(2) %[[PC]], %[[NC]]
//       CHECK:   %[[I1:.+]] = adamas.l1_topk %{{.+}}, %[[KC]], %{{.+}} {k = 64 : i64, sink = 2 : i64}
//       CHECK:   %[[O1:.+]] = adamas.sparse_attn %[[Q]], %[[K]], %[[V]], %[[I1]] {scale = 1.250000e-01 : f32}
//       CHECK:   adamas.l1_topk %{{.+}}, %[[KC]], %{{.+}} {k = 64 : i64, sink = 2 : i64}
//       CHECK:   return %{{.+}}, %[[K]], %[[V]], %[[KC]]
//   CHECK-NOT:   linalg.softmax
#q = affine_map<(b, h, m, n, d) -> (b, h, m, d)>
#k = affine_map<(b, h, m, n, d) -> (b, h, n, d)>
#s = affine_map<(b, h, m, n, d) -> (b, h, m, n)>
#p = affine_map<(b, h, m, d, n) -> (b, h, m, n)>
#v = affine_map<(b, h, m, d, n) -> (b, h, n, d)>
#o = affine_map<(b, h, m, d, n) -> (b, h, m, d)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
func.func @two_layer_step(%q: tensor<1x4x1x64xf32>, %past_k: tensor<1x2x?x64xf32>,
                          %new_k: tensor<1x2x1x64xf32>, %past_v: tensor<1x2x?x64xf32>,
                          %new_v: tensor<1x2x1x64xf32>)
    -> (tensor<1x4x1x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>) {
  %zero = arith.constant 0.0 : f32
  %scale = arith.constant 0.125 : f32
  %c2 = arith.constant 2 : index
  %k = tensor.concat dim(2) %past_k, %new_k : (tensor<1x2x?x64xf32>, tensor<1x2x1x64xf32>) -> tensor<1x2x?x64xf32>
  %v = tensor.concat dim(2) %past_v, %new_v : (tensor<1x2x?x64xf32>, tensor<1x2x1x64xf32>) -> tensor<1x2x?x64xf32>
  %n = tensor.dim %k, %c2 : tensor<1x2x?x64xf32>
  %kb_init = tensor.empty(%n) : tensor<1x2x2x?x64xf32>
  %kb = linalg.broadcast ins(%k : tensor<1x2x?x64xf32>) outs(%kb_init : tensor<1x2x2x?x64xf32>) dimensions = [2]
  %kr = tensor.collapse_shape %kb [[0], [1, 2], [3], [4]] : tensor<1x2x2x?x64xf32> into tensor<1x4x?x64xf32>
  %vb = linalg.broadcast ins(%v : tensor<1x2x?x64xf32>) outs(%kb_init : tensor<1x2x2x?x64xf32>) dimensions = [2]
  %vr = tensor.collapse_shape %vb [[0], [1, 2], [3], [4]] : tensor<1x2x2x?x64xf32> into tensor<1x4x?x64xf32>
  %s_init = tensor.empty(%n) : tensor<1x4x1x?xf32>
  %s_zero = linalg.fill ins(%zero : f32) outs(%s_init : tensor<1x4x1x?xf32>) -> tensor<1x4x1x?xf32>
  %o_init = tensor.empty() : tensor<1x4x1x64xf32>
  %o_zero = linalg.fill ins(%zero : f32) outs(%o_init : tensor<1x4x1x64xf32>) -> tensor<1x4x1x64xf32>
  // Layer 1 (the second layer reads the same cache, as a test of sharing).
  %s = linalg.generic {indexing_maps = [#q, #k, #s], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %kr : tensor<1x4x1x64xf32>, tensor<1x4x?x64xf32>) outs(%s_zero : tensor<1x4x1x?xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %0 = arith.mulf %a, %b : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<1x4x1x?xf32>
  %ss = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%s : tensor<1x4x1x?xf32>) outs(%s_init : tensor<1x4x1x?xf32>) {
  ^bb0(%a: f32, %out: f32):
    %0 = arith.mulf %a, %scale : f32
    linalg.yield %0 : f32
  } -> tensor<1x4x1x?xf32>
  %p = linalg.softmax dimension(3) ins(%ss : tensor<1x4x1x?xf32>) outs(%s_init : tensor<1x4x1x?xf32>) -> tensor<1x4x1x?xf32>
  %o = linalg.generic {indexing_maps = [#p, #v, #o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %vr : tensor<1x4x1x?xf32>, tensor<1x4x?x64xf32>) outs(%o_zero : tensor<1x4x1x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %0 = arith.mulf %a, %b : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<1x4x1x64xf32>
  // Layer 2: its query is layer 1's output.
  %s2 = linalg.generic {indexing_maps = [#q, #k, #s], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%o, %kr : tensor<1x4x1x64xf32>, tensor<1x4x?x64xf32>) outs(%s_zero : tensor<1x4x1x?xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %0 = arith.mulf %a, %b : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<1x4x1x?xf32>
  %ss2 = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%s2 : tensor<1x4x1x?xf32>) outs(%s_init : tensor<1x4x1x?xf32>) {
  ^bb0(%a: f32, %out: f32):
    %0 = arith.mulf %a, %scale : f32
    linalg.yield %0 : f32
  } -> tensor<1x4x1x?xf32>
  %p2 = linalg.softmax dimension(3) ins(%ss2 : tensor<1x4x1x?xf32>) outs(%s_init : tensor<1x4x1x?xf32>) -> tensor<1x4x1x?xf32>
  %o2 = linalg.generic {indexing_maps = [#p, #v, #o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%p2, %vr : tensor<1x4x1x?xf32>, tensor<1x4x?x64xf32>) outs(%o_zero : tensor<1x4x1x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %0 = arith.mulf %a, %b : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<1x4x1x64xf32>
  return %o2, %k, %v : tensor<1x4x1x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>
}
