// RUN: adamas-opt %s -split-input-file | FileCheck %s --enable-var-scope
// Round trip: the custom form prints and parses back to the same IR.
// RUN: adamas-opt %s -split-input-file | adamas-opt -split-input-file | FileCheck %s --enable-var-scope
// The generic form (what tests written against DESIGN.md section 2 use)
// parses and prints back in the custom form.
// RUN: adamas-opt %s -split-input-file -mlir-print-op-generic | adamas-opt -split-input-file | FileCheck %s --enable-var-scope

// CHECK-LABEL: func @hadamard
func.func @hadamard(%a: tensor<1x32x1x128xf16>, %b: tensor<?x2xbf16>, %c: tensor<32768xf32>)
    -> (tensor<1x32x1x128xf16>, tensor<?x2xbf16>, tensor<32768xf32>) {
  // CHECK: adamas.hadamard %{{.*}} : tensor<1x32x1x128xf16>
  %0 = adamas.hadamard %a : tensor<1x32x1x128xf16>
  // CHECK: adamas.hadamard %{{.*}} : tensor<?x2xbf16>
  %1 = adamas.hadamard %b : tensor<?x2xbf16>
  // CHECK: adamas.hadamard %{{.*}} : tensor<32768xf32>
  %2 = adamas.hadamard %c : tensor<32768xf32>
  return %0, %1, %2 : tensor<1x32x1x128xf16>, tensor<?x2xbf16>, tensor<32768xf32>
}

// -----

// CHECK-LABEL: func @hadamard_generic
func.func @hadamard_generic(%a: tensor<4x64xf32>) -> tensor<4x64xf32> {
  // CHECK: adamas.hadamard %{{.*}} : tensor<4x64xf32>
  %0 = "adamas.hadamard"(%a) : (tensor<4x64xf32>) -> tensor<4x64xf32>
  return %0 : tensor<4x64xf32>
}

// -----

// CHECK-LABEL: func @bucketize
func.func @bucketize(%k: tensor<1x8x?x128xf16>, %x: tensor<64xf32>, %y: tensor<3x96xbf16>)
    -> (tensor<1x8x?x8xi32>, tensor<2xi32>, tensor<3x9xi32>) {
  // CHECK: adamas.bucketize %{{.*}} [-1.000000e+01, 0.000000e+00, 1.000000e+01] : tensor<1x8x?x128xf16> -> tensor<1x8x?x8xi32>
  %0 = adamas.bucketize %k [-10.0, 0.0, 10.0] : tensor<1x8x?x128xf16> -> tensor<1x8x?x8xi32>
  // CHECK: adamas.bucketize %{{.*}} [0.000000e+00] : tensor<64xf32> -> tensor<2xi32>
  %1 = adamas.bucketize %x [0.0] : tensor<64xf32> -> tensor<2xi32>
  // CHECK: adamas.bucketize %{{.*}} [-3.000000e+00, -2.000000e+00, -1.000000e+00, 0.000000e+00, 1.000000e+00, 2.000000e+00, 3.000000e+00] : tensor<3x96xbf16> -> tensor<3x9xi32>
  %2 = adamas.bucketize %y [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0] : tensor<3x96xbf16> -> tensor<3x9xi32>
  return %0, %1, %2 : tensor<1x8x?x8xi32>, tensor<2xi32>, tensor<3x9xi32>
}

// -----

// CHECK-LABEL: func @bucketize_per_head
// CHECK-SAME: (%[[K:.*]]: tensor<1x8x?x128xf16>, %[[T:.*]]: tensor<8x3xf32>)
func.func @bucketize_per_head(%k: tensor<1x8x?x128xf16>, %t: tensor<8x3xf32>) -> tensor<1x8x?x8xi32> {
  // CHECK: adamas.bucketize %[[K]] [-1.000000e+00, 0.000000e+00, 1.000000e+00] per_head %[[T]] : tensor<1x8x?x128xf16>, tensor<8x3xf32> -> tensor<1x8x?x8xi32>
  %0 = adamas.bucketize %k [-1.0, 0.0, 1.0] per_head %t : tensor<1x8x?x128xf16>, tensor<8x3xf32> -> tensor<1x8x?x8xi32>
  return %0 : tensor<1x8x?x8xi32>
}

// -----

// CHECK-LABEL: func @bucketize_generic
func.func @bucketize_generic(%k: tensor<1x2x5x64xf32>, %t: tensor<?x1xf32>) -> (tensor<1x2x5x4xi32>, tensor<1x2x5x2xi32>) {
  // CHECK: adamas.bucketize %{{.*}} [-1.000000e+00, 0.000000e+00, 1.000000e+00] : tensor<1x2x5x64xf32> -> tensor<1x2x5x4xi32>
  %0 = "adamas.bucketize"(%k) {thresholds = array<f32: -1.0, 0.0, 1.0>} : (tensor<1x2x5x64xf32>) -> tensor<1x2x5x4xi32>
  // CHECK: adamas.bucketize %{{.*}} [5.000000e-01] per_head %{{.*}} : tensor<1x2x5x64xf32>, tensor<?x1xf32> -> tensor<1x2x5x2xi32>
  %1 = "adamas.bucketize"(%k, %t) {thresholds = array<f32: 0.5>} : (tensor<1x2x5x64xf32>, tensor<?x1xf32>) -> tensor<1x2x5x2xi32>
  return %0, %1 : tensor<1x2x5x4xi32>, tensor<1x2x5x2xi32>
}

// -----

// CHECK-LABEL: func @l1_topk
func.func @l1_topk(%qc: tensor<1x32x1x8xi32>, %kc: tensor<1x8x?x8xi32>, %len: tensor<1xi32>)
    -> (tensor<1x32x1x256xi32>, tensor<1x8x1x64xi32>) {
  // Defaults (bits = 2, sink = 0, recent = 1, shared_group = false) are elided.
  // CHECK: adamas.l1_topk %{{.*}}, %{{.*}}, %{{.*}} {k = 256 : i64} : tensor<1x32x1x8xi32>, tensor<1x8x?x8xi32>, tensor<1xi32> -> tensor<1x32x1x256xi32>
  %0 = adamas.l1_topk %qc, %kc, %len {k = 256 : i64} : tensor<1x32x1x8xi32>, tensor<1x8x?x8xi32>, tensor<1xi32> -> tensor<1x32x1x256xi32>
  // CHECK: adamas.l1_topk %{{.*}}, %{{.*}}, %{{.*}} {k = 64 : i64, recent = 16 : i64, shared_group = true, sink = 4 : i64} : tensor<1x32x1x8xi32>, tensor<1x8x?x8xi32>, tensor<1xi32> -> tensor<1x8x1x64xi32>
  %1 = adamas.l1_topk %qc, %kc, %len {k = 64 : i64, sink = 4 : i64, recent = 16 : i64, shared_group = true} : tensor<1x32x1x8xi32>, tensor<1x8x?x8xi32>, tensor<1xi32> -> tensor<1x8x1x64xi32>
  return %0, %1 : tensor<1x32x1x256xi32>, tensor<1x8x1x64xi32>
}

// -----

// CHECK-LABEL: func @l1_topk_generic
func.func @l1_topk_generic(%qc: tensor<?x4x3x12xi32>, %kc: tensor<?x2x?x12xi32>, %len: tensor<?xi32>) -> tensor<?x4x3x8xi32> {
  // CHECK: adamas.l1_topk %{{.*}}, %{{.*}}, %{{.*}} {bits = 3 : i64, k = 8 : i64, recent = 2 : i64, sink = 1 : i64} : tensor<?x4x3x12xi32>, tensor<?x2x?x12xi32>, tensor<?xi32> -> tensor<?x4x3x8xi32>
  %0 = "adamas.l1_topk"(%qc, %kc, %len) {k = 8 : i64, bits = 3 : i64, sink = 1 : i64, recent = 2 : i64, shared_group = false} : (tensor<?x4x3x12xi32>, tensor<?x2x?x12xi32>, tensor<?xi32>) -> tensor<?x4x3x8xi32>
  return %0 : tensor<?x4x3x8xi32>
}

// -----

// CHECK-LABEL: func @sparse_attn
func.func @sparse_attn(%q: tensor<1x32x1x128xf16>, %k: tensor<1x8x?x128xf16>, %v: tensor<1x8x?x64xf16>,
                       %i: tensor<1x32x1x256xi32>, %s: tensor<1x8x1x256xi32>)
    -> (tensor<1x32x1x64xf16>, tensor<1x32x1x64xf16>) {
  // CHECK: adamas.sparse_attn %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<1x32x1x128xf16>, tensor<1x8x?x128xf16>, tensor<1x8x?x64xf16>, tensor<1x32x1x256xi32> -> tensor<1x32x1x64xf16>
  %0 = adamas.sparse_attn %q, %k, %v, %i : tensor<1x32x1x128xf16>, tensor<1x8x?x128xf16>, tensor<1x8x?x64xf16>, tensor<1x32x1x256xi32> -> tensor<1x32x1x64xf16>
  // Shared-group indices (H' = Hkv) and an explicit scale.
  // CHECK: adamas.sparse_attn %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {scale = 1.250000e-01 : f32} : tensor<1x32x1x128xf16>, tensor<1x8x?x128xf16>, tensor<1x8x?x64xf16>, tensor<1x8x1x256xi32> -> tensor<1x32x1x64xf16>
  %1 = adamas.sparse_attn %q, %k, %v, %s {scale = 0.125 : f32} : tensor<1x32x1x128xf16>, tensor<1x8x?x128xf16>, tensor<1x8x?x64xf16>, tensor<1x8x1x256xi32> -> tensor<1x32x1x64xf16>
  return %0, %1 : tensor<1x32x1x64xf16>, tensor<1x32x1x64xf16>
}

// -----

// CHECK-LABEL: func @sparse_attn_generic
func.func @sparse_attn_generic(%q: tensor<?x4x?x16xbf16>, %k: tensor<?x4x?x16xbf16>, %i: tensor<?x4x?x5xi32>) -> tensor<?x4x?x16xbf16> {
  // CHECK: adamas.sparse_attn %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x4x?x16xbf16>, tensor<?x4x?x16xbf16>, tensor<?x4x?x16xbf16>, tensor<?x4x?x5xi32> -> tensor<?x4x?x16xbf16>
  %0 = "adamas.sparse_attn"(%q, %k, %k, %i) : (tensor<?x4x?x16xbf16>, tensor<?x4x?x16xbf16>, tensor<?x4x?x16xbf16>, tensor<?x4x?x5xi32>) -> tensor<?x4x?x16xbf16>
  return %0 : tensor<?x4x?x16xbf16>
}

// -----

// CHECK-LABEL: func @cache_write
func.func @cache_write(%rows: tensor<2x8x1x8xi32>, %cache: tensor<2x8x?x8xi32>, %len: tensor<2xi32>,
                       %kv: tensor<?x2x4x64xbf16>, %kcache: tensor<?x2x100x64xbf16>, %klen: tensor<?xi32>)
    -> (tensor<2x8x?x8xi32>, tensor<?x2x100x64xbf16>) {
  // CHECK: adamas.cache_write %{{.*}} into %{{.*}} at %{{.*}} : tensor<2x8x1x8xi32> into tensor<2x8x?x8xi32>, tensor<2xi32>
  %0 = adamas.cache_write %rows into %cache at %len : tensor<2x8x1x8xi32> into tensor<2x8x?x8xi32>, tensor<2xi32>
  // CHECK: adamas.cache_write %{{.*}} into %{{.*}} at %{{.*}} : tensor<?x2x4x64xbf16> into tensor<?x2x100x64xbf16>, tensor<?xi32>
  %1 = "adamas.cache_write"(%kv, %kcache, %klen) : (tensor<?x2x4x64xbf16>, tensor<?x2x100x64xbf16>, tensor<?xi32>) -> tensor<?x2x100x64xbf16>
  return %0, %1 : tensor<2x8x?x8xi32>, tensor<?x2x100x64xbf16>
}
