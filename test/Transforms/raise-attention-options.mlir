// Options of adamas-raise-attention: each RUN line sets some and checks
// their effect on the functions below; bad values fail with an error that
// names the option.

// RUN: adamas-opt %s -adamas-raise-attention="budget=32 sink=4 recent=8" | FileCheck %s --check-prefix=BUDGET
// RUN: adamas-opt %s -adamas-raise-attention="bits=1" | FileCheck %s --check-prefix=BITS1
// RUN: adamas-opt %s -adamas-raise-attention="bits=3 thresholds=-1.5,-1,-0.5,0,0.5,1,1.5" | FileCheck %s --check-prefix=BITS3
// RUN: adamas-opt %s -adamas-raise-attention="thresholds=-0.5,0,0.5" | FileCheck %s --check-prefix=THRESH
// RUN: adamas-opt %s -adamas-raise-attention="shared-group=true budget=32" | FileCheck %s --check-prefix=SHARED
// RUN: adamas-opt %s -adamas-raise-attention="skip-layers=1" \
// RUN:   --remarks-filter-missed=adamas-raise-attention --remark-format=emitRemark 2>&1 \
// RUN:   | FileCheck %s --check-prefix=SKIP
// RUN: adamas-opt %s -adamas-raise-attention="max-queries=2" \
// RUN:   --remarks-filter-missed=adamas-raise-attention --remark-format=emitRemark 2>&1 \
// RUN:   | FileCheck %s --check-prefix=MAXQ

// RUN: not adamas-opt %s -adamas-raise-attention="budget=0" 2>&1 | FileCheck %s --check-prefix=ERR-BUDGET
// RUN: not adamas-opt %s -adamas-raise-attention="bits=4" 2>&1 | FileCheck %s --check-prefix=ERR-BITS
// RUN: not adamas-opt %s -adamas-raise-attention="bits=3" 2>&1 | FileCheck %s --check-prefix=ERR-BITS3
// RUN: not adamas-opt %s -adamas-raise-attention="thresholds=-1,1" 2>&1 | FileCheck %s --check-prefix=ERR-COUNT
// RUN: not adamas-opt %s -adamas-raise-attention="thresholds=1,0,2" 2>&1 | FileCheck %s --check-prefix=ERR-ORDER
// RUN: not adamas-opt %s -adamas-raise-attention="budget=8 sink=4 recent=5" 2>&1 | FileCheck %s --check-prefix=ERR-SINK
// RUN: not adamas-opt %s -adamas-raise-attention="sink=-1" 2>&1 | FileCheck %s --check-prefix=ERR-NEG
// RUN: not adamas-opt %s -adamas-raise-attention="max-queries=0" 2>&1 | FileCheck %s --check-prefix=ERR-MAXQ
// RUN: not adamas-opt %s -adamas-raise-attention="skip-layers=-2" 2>&1 | FileCheck %s --check-prefix=ERR-SKIP
// RUN: not adamas-opt %s -adamas-raise-attention="min-context=-1" 2>&1 | FileCheck %s --check-prefix=ERR-MINCTX

// ERR-BUDGET: error: adamas-raise-attention: option 'budget' must be positive, got 0
// ERR-BITS: error: adamas-raise-attention: option 'bits' must be 1, 2 or 3, got 4
// ERR-BITS3: error: adamas-raise-attention: option 'thresholds' is required with bits = 3
// ERR-COUNT: error: adamas-raise-attention: option 'thresholds' must have 2^bits - 1 = 3 values for bits = 2, got 2
// ERR-ORDER: error: adamas-raise-attention: option 'thresholds' must be strictly increasing, value #1 is not greater than value #0
// ERR-SINK: error: adamas-raise-attention: options 'sink' + 'recent' (9) must not exceed 'budget' (8)
// ERR-NEG: error: adamas-raise-attention: option 'sink' must be non-negative, got -1
// ERR-MAXQ: error: adamas-raise-attention: option 'max-queries' must be at least 1, got 0
// ERR-SKIP: error: adamas-raise-attention: option 'skip-layers' must be non-negative, got -2
// ERR-MINCTX: error: adamas-raise-attention: option 'min-context' must be non-negative, got -1

// BUDGET-LABEL: func.func @mha(
//       BUDGET:   adamas.l1_topk {{.+}} {k = 32 : i64, recent = 8 : i64, sink = 4 : i64} : {{.+}} -> tensor<1x8x1x32xi32>
// BITS1-LABEL: func.func @mha(
//       BITS1:   adamas.bucketize %{{.+}} [0.000000e+00] : tensor<1x8x1x64xf32> -> tensor<1x8x1x2xi32>
//       BITS1:   adamas.l1_topk {{.+}} {bits = 1 : i64, k = 128 : i64}
// BITS3-LABEL: func.func @mha(
//       BITS3:   adamas.bucketize %{{.+}} [-1.500000e+00, -1.000000e+00, -5.000000e-01, 0.000000e+00, 5.000000e-01, 1.000000e+00, 1.500000e+00] : tensor<1x8x1x64xf32> -> tensor<1x8x1x6xi32>
//       BITS3:   adamas.l1_topk {{.+}} {bits = 3 : i64, k = 128 : i64}
// THRESH-LABEL: func.func @mha(
//       THRESH:   adamas.bucketize %{{.+}} [-5.000000e-01, 0.000000e+00, 5.000000e-01] : tensor<1x8x1x64xf32> -> tensor<1x8x1x4xi32>
func.func @mha(%q: tensor<8x1x64xf32>, %k: tensor<8x128x64xf32>, %v: tensor<8x128x64xf32>) -> tensor<8x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %s_init = tensor.empty() : tensor<8x1x128xf32>
  %s_zero = linalg.fill ins(%zero : f32) outs(%s_init : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %s = linalg.batch_matmul
      indexing_maps = [affine_map<(b, m, n, d) -> (b, m, d)>, affine_map<(b, m, n, d) -> (b, n, d)>,
                       affine_map<(b, m, n, d) -> (b, m, n)>]
      ins(%q, %k : tensor<8x1x64xf32>, tensor<8x128x64xf32>) outs(%s_zero : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<8x1x128xf32>) outs(%s_init : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %o_init = tensor.empty() : tensor<8x1x64xf32>
  %o_zero = linalg.fill ins(%zero : f32) outs(%o_init : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x1x128xf32>, tensor<8x128x64xf32>) outs(%o_zero : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  return %o : tensor<8x1x64xf32>
}

// With shared-group, one selection serves the 4 query heads of a KV head.
// SHARED-LABEL: func.func @gqa(
//       SHARED:   adamas.l1_topk {{.+}} {k = 32 : i64, shared_group = true} : tensor<1x8x1x4xi32>, tensor<1x2x128x4xi32>, tensor<1xi32> -> tensor<1x2x1x32xi32>
//       SHARED:   adamas.sparse_attn {{.+}} : tensor<1x8x1x64xf32>, tensor<1x2x128x64xf32>, tensor<1x2x128x64xf32>, tensor<1x2x1x32xi32> -> tensor<1x8x1x64xf32>
func.func @gqa(%q: tensor<8x1x64xf32>, %k: tensor<2x128x64xf32>, %v: tensor<2x128x64xf32>) -> tensor<8x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %kb_init = tensor.empty() : tensor<2x4x128x64xf32>
  %kb = linalg.broadcast ins(%k : tensor<2x128x64xf32>) outs(%kb_init : tensor<2x4x128x64xf32>) dimensions = [1]
  %kr = tensor.collapse_shape %kb [[0, 1], [2], [3]] : tensor<2x4x128x64xf32> into tensor<8x128x64xf32>
  %vb = linalg.broadcast ins(%v : tensor<2x128x64xf32>) outs(%kb_init : tensor<2x4x128x64xf32>) dimensions = [1]
  %vr = tensor.collapse_shape %vb [[0, 1], [2], [3]] : tensor<2x4x128x64xf32> into tensor<8x128x64xf32>
  %s_init = tensor.empty() : tensor<8x1x128xf32>
  %s_zero = linalg.fill ins(%zero : f32) outs(%s_init : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %s = linalg.batch_matmul
      indexing_maps = [affine_map<(b, m, n, d) -> (b, m, d)>, affine_map<(b, m, n, d) -> (b, n, d)>,
                       affine_map<(b, m, n, d) -> (b, m, n)>]
      ins(%q, %kr : tensor<8x1x64xf32>, tensor<8x128x64xf32>) outs(%s_zero : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<8x1x128xf32>) outs(%s_init : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %o_init = tensor.empty() : tensor<8x1x64xf32>
  %o_zero = linalg.fill ins(%zero : f32) outs(%o_init : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  %o = linalg.batch_matmul ins(%p, %vr : tensor<8x1x128xf32>, tensor<8x128x64xf32>) outs(%o_zero : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  return %o : tensor<8x1x64xf32>
}

// skip-layers counts attention sites per function in program order.
// SKIP: remark: [Missed] AttentionNotRaised {{.*}} Function=two_layers {{.*}}attention site #0 stays dense (skip-layers=1)
// SKIP-NOT: remark: {{.*}} Function=two_layers
// SKIP-LABEL: func.func @two_layers(
//       SKIP:   linalg.softmax
//       SKIP:   adamas.sparse_attn
//   SKIP-NOT:   linalg.softmax
func.func @two_layers(%q: tensor<8x1x64xf32>, %k: tensor<8x128x64xf32>, %v: tensor<8x128x64xf32>,
                      %k2: tensor<8x128x64xf32>, %v2: tensor<8x128x64xf32>) -> tensor<8x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %s_init = tensor.empty() : tensor<8x1x128xf32>
  %s_zero = linalg.fill ins(%zero : f32) outs(%s_init : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %s = linalg.batch_matmul
      indexing_maps = [affine_map<(b, m, n, d) -> (b, m, d)>, affine_map<(b, m, n, d) -> (b, n, d)>,
                       affine_map<(b, m, n, d) -> (b, m, n)>]
      ins(%q, %k : tensor<8x1x64xf32>, tensor<8x128x64xf32>) outs(%s_zero : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<8x1x128xf32>) outs(%s_init : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %o_init = tensor.empty() : tensor<8x1x64xf32>
  %o_zero = linalg.fill ins(%zero : f32) outs(%o_init : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x1x128xf32>, tensor<8x128x64xf32>) outs(%o_zero : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  %l2s_init = tensor.empty() : tensor<8x1x128xf32>
  %l2s_zero = linalg.fill ins(%zero : f32) outs(%l2s_init : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %l2s = linalg.batch_matmul
      indexing_maps = [affine_map<(b, m, n, d) -> (b, m, d)>, affine_map<(b, m, n, d) -> (b, n, d)>,
                       affine_map<(b, m, n, d) -> (b, m, n)>]
      ins(%o, %k2 : tensor<8x1x64xf32>, tensor<8x128x64xf32>) outs(%l2s_zero : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %l2p = linalg.softmax dimension(2) ins(%l2s : tensor<8x1x128xf32>) outs(%l2s_init : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %l2o_init = tensor.empty() : tensor<8x1x64xf32>
  %l2o_zero = linalg.fill ins(%zero : f32) outs(%l2o_init : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  %l2o = linalg.batch_matmul ins(%l2p, %v2 : tensor<8x1x128xf32>, tensor<8x128x64xf32>) outs(%l2o_zero : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  return %l2o : tensor<8x1x64xf32>
}

// MAXQ: remark: [Missed] AttentionNotRaised {{.*}} Function=four_rows {{.*}}prefill (M = 4 query rows > max-queries = 2)
// SKIP-LABEL: func.func @four_rows(
// MAXQ-LABEL: func.func @four_rows(
//   MAXQ-NOT:   adamas.
func.func @four_rows(%q: tensor<8x4x64xf32>, %k: tensor<8x128x64xf32>, %v: tensor<8x128x64xf32>) -> tensor<8x4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %s_init = tensor.empty() : tensor<8x4x128xf32>
  %s_zero = linalg.fill ins(%zero : f32) outs(%s_init : tensor<8x4x128xf32>) -> tensor<8x4x128xf32>
  %s = linalg.batch_matmul
      indexing_maps = [affine_map<(b, m, n, d) -> (b, m, d)>, affine_map<(b, m, n, d) -> (b, n, d)>,
                       affine_map<(b, m, n, d) -> (b, m, n)>]
      ins(%q, %k : tensor<8x4x64xf32>, tensor<8x128x64xf32>) outs(%s_zero : tensor<8x4x128xf32>) -> tensor<8x4x128xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<8x4x128xf32>) outs(%s_init : tensor<8x4x128xf32>) -> tensor<8x4x128xf32>
  %o_init = tensor.empty() : tensor<8x4x64xf32>
  %o_zero = linalg.fill ins(%zero : f32) outs(%o_init : tensor<8x4x64xf32>) -> tensor<8x4x64xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x4x128xf32>, tensor<8x128x64xf32>) outs(%o_zero : tensor<8x4x64xf32>) -> tensor<8x4x64xf32>
  return %o : tensor<8x4x64xf32>
}
