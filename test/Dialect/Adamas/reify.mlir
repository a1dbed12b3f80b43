// RUN: adamas-opt %s -resolve-ranked-shaped-type-result-dims -split-input-file | FileCheck %s --enable-var-scope
// Dynamic result sizes are reified from the operands that define them.

// CHECK-LABEL: func @hadamard_dims
// CHECK-SAME: (%[[X:.*]]: tensor<?x4x?x64xf16>)
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[D0:.*]] = tensor.dim %[[X]], %[[C0]]
// CHECK-DAG: %[[D2:.*]] = tensor.dim %[[X]], %[[C2]]
// CHECK: return %[[D0]], %[[D2]]
func.func @hadamard_dims(%x: tensor<?x4x?x64xf16>) -> (index, index) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %h = adamas.hadamard %x : tensor<?x4x?x64xf16>
  %d0 = tensor.dim %h, %c0 : tensor<?x4x?x64xf16>
  %d2 = tensor.dim %h, %c2 : tensor<?x4x?x64xf16>
  return %d0, %d2 : index, index
}

// -----

// CHECK-LABEL: func @bucketize_dims
// CHECK-SAME: (%[[X:.*]]: tensor<1x4x?x64xf32>)
// CHECK: %[[C2:.*]] = arith.constant 2 : index
// CHECK: %[[N:.*]] = tensor.dim %[[X]], %[[C2]]
// CHECK: return %[[N]]
func.func @bucketize_dims(%x: tensor<1x4x?x64xf32>) -> index {
  %c2 = arith.constant 2 : index
  %c = adamas.bucketize %x [0.0] : tensor<1x4x?x64xf32> -> tensor<1x4x?x2xi32>
  %n = tensor.dim %c, %c2 : tensor<1x4x?x2xi32>
  return %n : index
}

// -----

// With shared_group the heads of the result are the KV heads.
// CHECK-LABEL: func @l1_topk_dims
// CHECK-SAME: (%[[Q:.*]]: tensor<?x?x?x4xi32>, %[[K:.*]]: tensor<?x?x?x4xi32>, %{{.*}}: tensor<?xi32>)
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[B:.*]] = tensor.dim %[[Q]], %[[C0]]
// CHECK-DAG: %[[H:.*]] = tensor.dim %[[K]], %[[C1]]
// CHECK-DAG: %[[M:.*]] = tensor.dim %[[Q]], %[[C2]]
// CHECK: return %[[B]], %[[H]], %[[M]]
func.func @l1_topk_dims(%q: tensor<?x?x?x4xi32>, %k: tensor<?x?x?x4xi32>, %len: tensor<?xi32>) -> (index, index, index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %i = adamas.l1_topk %q, %k, %len {k = 8 : i64, shared_group = true} : tensor<?x?x?x4xi32>, tensor<?x?x?x4xi32>, tensor<?xi32> -> tensor<?x?x?x8xi32>
  %b = tensor.dim %i, %c0 : tensor<?x?x?x8xi32>
  %h = tensor.dim %i, %c1 : tensor<?x?x?x8xi32>
  %m = tensor.dim %i, %c2 : tensor<?x?x?x8xi32>
  return %b, %h, %m : index, index, index
}

// -----

// CHECK-LABEL: func @sparse_attn_dims
// CHECK-SAME: (%[[Q:.*]]: tensor<?x4x?x16xf32>, %{{.*}}: tensor<?x2x?x16xf32>, %{{.*}}: tensor<?x4x?x3xi32>)
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[B:.*]] = tensor.dim %[[Q]], %[[C0]]
// CHECK-DAG: %[[M:.*]] = tensor.dim %[[Q]], %[[C2]]
// CHECK: return %[[B]], %[[M]]
func.func @sparse_attn_dims(%q: tensor<?x4x?x16xf32>, %k: tensor<?x2x?x16xf32>, %i: tensor<?x4x?x3xi32>) -> (index, index) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %o = adamas.sparse_attn %q, %k, %k, %i : tensor<?x4x?x16xf32>, tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32>, tensor<?x4x?x3xi32> -> tensor<?x4x?x16xf32>
  %b = tensor.dim %o, %c0 : tensor<?x4x?x16xf32>
  %m = tensor.dim %o, %c2 : tensor<?x4x?x16xf32>
  return %b, %m : index, index
}

// -----

// CHECK-LABEL: func @cache_write_dims
// CHECK-SAME: (%{{.*}}: tensor<?x2x1x8xi32>, %[[C:.*]]: tensor<?x2x?x8xi32>, %{{.*}}: tensor<?xi32>)
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[B:.*]] = tensor.dim %[[C]], %[[C0]]
// CHECK-DAG: %[[N:.*]] = tensor.dim %[[C]], %[[C2]]
// CHECK: return %[[B]], %[[N]]
func.func @cache_write_dims(%r: tensor<?x2x1x8xi32>, %c: tensor<?x2x?x8xi32>, %l: tensor<?xi32>) -> (index, index) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %w = adamas.cache_write %r into %c at %l : tensor<?x2x1x8xi32> into tensor<?x2x?x8xi32>, tensor<?xi32>
  %b = tensor.dim %w, %c0 : tensor<?x2x?x8xi32>
  %n = tensor.dim %w, %c2 : tensor<?x2x?x8xi32>
  return %b, %n : index, index
}
