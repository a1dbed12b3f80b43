// RUN: adamas-opt %s -canonicalize -split-input-file | FileCheck %s --enable-var-scope

// The Hadamard transform is an involution only up to rounding, so the
// canonicalizer must not fold hadamard(hadamard(x)) to x (DESIGN.md §2).
// CHECK-LABEL: func @hadamard_twice_is_not_folded
// CHECK-SAME: (%[[X:.*]]: tensor<4x128xf16>)
// CHECK: %[[H:.*]] = adamas.hadamard %[[X]]
// CHECK: %[[HH:.*]] = adamas.hadamard %[[H]]
// CHECK: return %[[HH]]
func.func @hadamard_twice_is_not_folded(%x: tensor<4x128xf16>) -> tensor<4x128xf16> {
  %0 = adamas.hadamard %x : tensor<4x128xf16>
  %1 = adamas.hadamard %0 : tensor<4x128xf16>
  return %1 : tensor<4x128xf16>
}

// -----

// The ops are pure: unused results are erased.
// CHECK-LABEL: func @dead_ops_are_erased
// CHECK-NOT: adamas.
// CHECK: return
func.func @dead_ops_are_erased(%q: tensor<1x4x1x64xf32>, %k: tensor<1x2x?x64xf32>, %len: tensor<1xi32>) {
  %hq = adamas.hadamard %q : tensor<1x4x1x64xf32>
  %qc = adamas.bucketize %hq [-1.0, 0.0, 1.0] : tensor<1x4x1x64xf32> -> tensor<1x4x1x4xi32>
  %kc = adamas.bucketize %k [-1.0, 0.0, 1.0] : tensor<1x2x?x64xf32> -> tensor<1x2x?x4xi32>
  %idx = adamas.l1_topk %qc, %kc, %len {k = 8 : i64} : tensor<1x4x1x4xi32>, tensor<1x2x?x4xi32>, tensor<1xi32> -> tensor<1x4x1x8xi32>
  %o = adamas.sparse_attn %q, %k, %k, %idx : tensor<1x4x1x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x4x1x8xi32> -> tensor<1x4x1x64xf32>
  return
}

// -----

// A used chain stays whole.
// CHECK-LABEL: func @live_chain_is_kept
// CHECK: adamas.bucketize
// CHECK: adamas.l1_topk
// CHECK: adamas.sparse_attn
func.func @live_chain_is_kept(%q: tensor<1x4x1x64xf32>, %k: tensor<1x2x?x64xf32>, %len: tensor<1xi32>) -> tensor<1x4x1x64xf32> {
  %qc = adamas.bucketize %q [0.0] : tensor<1x4x1x64xf32> -> tensor<1x4x1x2xi32>
  %kc = adamas.bucketize %k [0.0] : tensor<1x2x?x64xf32> -> tensor<1x2x?x2xi32>
  %idx = adamas.l1_topk %qc, %kc, %len {k = 8 : i64, bits = 1 : i64} : tensor<1x4x1x2xi32>, tensor<1x2x?x2xi32>, tensor<1xi32> -> tensor<1x4x1x8xi32>
  %o = adamas.sparse_attn %q, %k, %k, %idx : tensor<1x4x1x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x4x1x8xi32> -> tensor<1x4x1x64xf32>
  return %o : tensor<1x4x1x64xf32>
}
