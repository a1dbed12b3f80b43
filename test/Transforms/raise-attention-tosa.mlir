// RUN: adamas-opt %s -split-input-file -adamas-raise-attention \
// RUN:   | FileCheck %s --enable-var-scope
// RUN: adamas-opt %s -split-input-file -adamas-raise-attention \
// RUN:   --remarks-filter-passed=adamas-raise-attention --remark-format=emitRemark \
// RUN:   -o /dev/null 2>&1 | FileCheck %s --check-prefix=REMARK

// Decode attention in TOSA as torch-mlir's TorchToTosa emits it: rank-4
// BHSD tensors reshaped to rank 3 around tosa.matmul, K transposed with
// tosa.transpose, the softmax decomposed into reduce_max, sub, exp,
// reduce_sum, reciprocal and mul with TOSA's implicit broadcasting.

// CHECK-LABEL: func.func @tosa_mha(
//  CHECK-SAME:     %[[Q:[^:]+]]: tensor<1x8x1x64xf32>, %[[K:[^:]+]]: tensor<1x8x128x64xf32>, %[[V:[^:]+]]: tensor<1x8x128x64xf32>)
//   CHECK-DAG:   %[[QH:.+]] = adamas.hadamard %[[Q]] : tensor<1x8x1x64xf32>
//   CHECK-DAG:   %[[KH:.+]] = adamas.hadamard %[[K]] : tensor<1x8x128x64xf32>
//       CHECK:   %[[IDX:.+]] = adamas.l1_topk {{.+}} {k = 128 : i64}
//       CHECK:   %[[O:.+]] = adamas.sparse_attn %[[Q]], %[[K]], %[[V]], %[[IDX]] {scale = 1.250000e-01 : f32}
//       CHECK:   return %[[O]] : tensor<1x8x1x64xf32>
//   CHECK-NOT:   tosa.matmul
//   CHECK-NOT:   tosa.exp
// REMARK: remark: [Passed] AttentionRaised {{.*}} Function=tosa_mha {{.*}}M = 1, N = 128, D = 64, k = 128, scale = 0.125
func.func @tosa_mha(%q: tensor<1x8x1x64xf32>, %k: tensor<1x8x128x64xf32>,
                    %v: tensor<1x8x128x64xf32>) -> tensor<1x8x1x64xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %scale = "tosa.const"() <{values = dense<0.125> : tensor<1x1x1x1xf32>}> : () -> tensor<1x1x1x1xf32>
  %s_q = tosa.const_shape {values = dense<[8, 1, 64]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %s_k = tosa.const_shape {values = dense<[8, 64, 128]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %s_s4 = tosa.const_shape {values = dense<[1, 8, 1, 128]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %s_p = tosa.const_shape {values = dense<[8, 1, 128]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %s_v = tosa.const_shape {values = dense<[8, 128, 64]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %s_o = tosa.const_shape {values = dense<[1, 8, 1, 64]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %kt = tosa.transpose %k {perms = array<i32: 0, 1, 3, 2>} : (tensor<1x8x128x64xf32>) -> tensor<1x8x64x128xf32>
  %q3 = tosa.reshape %q, %s_q : (tensor<1x8x1x64xf32>, !tosa.shape<3>) -> tensor<8x1x64xf32>
  %k3 = tosa.reshape %kt, %s_k : (tensor<1x8x64x128xf32>, !tosa.shape<3>) -> tensor<8x64x128xf32>
  %s3 = tosa.matmul %q3, %k3, %zp, %zp : (tensor<8x1x64xf32>, tensor<8x64x128xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<8x1x128xf32>
  %s = tosa.reshape %s3, %s_s4 : (tensor<8x1x128xf32>, !tosa.shape<4>) -> tensor<1x8x1x128xf32>
  %ss = tosa.mul %s, %scale, %shift : (tensor<1x8x1x128xf32>, tensor<1x1x1x1xf32>, tensor<1xi8>) -> tensor<1x8x1x128xf32>
  %mx = tosa.reduce_max %ss {axis = 3 : i32} : (tensor<1x8x1x128xf32>) -> tensor<1x8x1x1xf32>
  %d = tosa.sub %ss, %mx : (tensor<1x8x1x128xf32>, tensor<1x8x1x1xf32>) -> tensor<1x8x1x128xf32>
  %e = tosa.exp %d : (tensor<1x8x1x128xf32>) -> tensor<1x8x1x128xf32>
  %sum = tosa.reduce_sum %e {axis = 3 : i32} : (tensor<1x8x1x128xf32>) -> tensor<1x8x1x1xf32>
  %r = tosa.reciprocal %sum : (tensor<1x8x1x1xf32>) -> tensor<1x8x1x1xf32>
  %p = tosa.mul %e, %r, %shift : (tensor<1x8x1x128xf32>, tensor<1x8x1x1xf32>, tensor<1xi8>) -> tensor<1x8x1x128xf32>
  %p3 = tosa.reshape %p, %s_p : (tensor<1x8x1x128xf32>, !tosa.shape<3>) -> tensor<8x1x128xf32>
  %v3 = tosa.reshape %v, %s_v : (tensor<1x8x128x64xf32>, !tosa.shape<3>) -> tensor<8x128x64xf32>
  %o3 = tosa.matmul %p3, %v3, %zp, %zp : (tensor<8x1x128xf32>, tensor<8x128x64xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<8x1x64xf32>
  %o = tosa.reshape %o3, %s_o : (tensor<8x1x64xf32>, !tosa.shape<4>) -> tensor<1x8x1x64xf32>
  return %o : tensor<1x8x1x64xf32>
}

// -----

// f16 with tosa.cast to f32 around the softmax, a constant mask added with
// tosa.add that hides the unused tail of a 128-slot cache (lengths = 100),
// and the attention output transposed and reshaped to [B, M, H * D] for the
// output projection, as the model does next.

// CHECK-LABEL: func.func @tosa_f16_padding_mask(
//  CHECK-SAME:     %[[Q:[^:]+]]: tensor<1x4x1x64xf16>, %[[K:[^:]+]]: tensor<1x4x128x64xf16>, %[[V:[^:]+]]: tensor<1x4x128x64xf16>)
//       CHECK:   %[[L:.+]] = arith.constant 100 : i32
//       CHECK:   %[[LEN:.+]] = linalg.fill ins(%[[L]] : i32)
//       CHECK:   %[[IDX:.+]] = adamas.l1_topk %{{.+}}, %{{.+}}, %[[LEN]] {k = 128 : i64}
//       CHECK:   %[[O:.+]] = adamas.sparse_attn %[[Q]], %[[K]], %[[V]], %[[IDX]] {scale = 1.250000e-01 : f32}
//       CHECK:   %[[T:.+]] = tosa.transpose %[[O]] {perms = array<i32: 0, 2, 1, 3>}
//       CHECK:   %[[R:.+]] = tosa.reshape %[[T]]
//       CHECK:   return %[[R]] : tensor<1x1x256xf16>
func.func @tosa_f16_padding_mask(%q: tensor<1x4x1x64xf16>, %k: tensor<1x4x128x64xf16>,
                                 %v: tensor<1x4x128x64xf16>) -> tensor<1x1x256xf16> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf16>}> : () -> tensor<1xf16>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %scale = "tosa.const"() <{values = dense<0.125> : tensor<1x1x1xf16>}> : () -> tensor<1x1x1xf16>
  %mask = "tosa.const"() <{values = dense<[[[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000]]]> : tensor<1x1x128xf32>}> : () -> tensor<1x1x128xf32>
  %s_q = tosa.const_shape {values = dense<[4, 1, 64]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %s_k = tosa.const_shape {values = dense<[4, 64, 128]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %s_v = tosa.const_shape {values = dense<[4, 128, 64]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %s_o = tosa.const_shape {values = dense<[1, 4, 1, 64]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %s_h = tosa.const_shape {values = dense<[1, 1, 256]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %q3 = tosa.reshape %q, %s_q : (tensor<1x4x1x64xf16>, !tosa.shape<3>) -> tensor<4x1x64xf16>
  %kt = tosa.transpose %k {perms = array<i32: 0, 1, 3, 2>} : (tensor<1x4x128x64xf16>) -> tensor<1x4x64x128xf16>
  %k3 = tosa.reshape %kt, %s_k : (tensor<1x4x64x128xf16>, !tosa.shape<3>) -> tensor<4x64x128xf16>
  %s = tosa.matmul %q3, %k3, %zp, %zp : (tensor<4x1x64xf16>, tensor<4x64x128xf16>, tensor<1xf16>, tensor<1xf16>) -> tensor<4x1x128xf16>
  %ss = tosa.mul %s, %scale, %shift : (tensor<4x1x128xf16>, tensor<1x1x1xf16>, tensor<1xi8>) -> tensor<4x1x128xf16>
  %w = tosa.cast %ss : (tensor<4x1x128xf16>) -> tensor<4x1x128xf32>
  %x = tosa.add %w, %mask : (tensor<4x1x128xf32>, tensor<1x1x128xf32>) -> tensor<4x1x128xf32>
  %mx = tosa.reduce_max %x {axis = 2 : i32} : (tensor<4x1x128xf32>) -> tensor<4x1x1xf32>
  %d = tosa.sub %x, %mx : (tensor<4x1x128xf32>, tensor<4x1x1xf32>) -> tensor<4x1x128xf32>
  %e = tosa.exp %d : (tensor<4x1x128xf32>) -> tensor<4x1x128xf32>
  %sum = tosa.reduce_sum %e {axis = 2 : i32} : (tensor<4x1x128xf32>) -> tensor<4x1x1xf32>
  %r = tosa.reciprocal %sum : (tensor<4x1x1xf32>) -> tensor<4x1x1xf32>
  %pw = tosa.mul %e, %r, %shift : (tensor<4x1x128xf32>, tensor<4x1x1xf32>, tensor<1xi8>) -> tensor<4x1x128xf32>
  %p = tosa.cast %pw : (tensor<4x1x128xf32>) -> tensor<4x1x128xf16>
  %v3 = tosa.reshape %v, %s_v : (tensor<1x4x128x64xf16>, !tosa.shape<3>) -> tensor<4x128x64xf16>
  %o3 = tosa.matmul %p, %v3, %zp, %zp : (tensor<4x1x128xf16>, tensor<4x128x64xf16>, tensor<1xf16>, tensor<1xf16>) -> tensor<4x1x64xf16>
  %o = tosa.reshape %o3, %s_o : (tensor<4x1x64xf16>, !tosa.shape<4>) -> tensor<1x4x1x64xf16>
  %ot = tosa.transpose %o {perms = array<i32: 0, 2, 1, 3>} : (tensor<1x4x1x64xf16>) -> tensor<1x1x4x64xf16>
  %h = tosa.reshape %ot, %s_h : (tensor<1x1x4x64xf16>, !tosa.shape<3>) -> tensor<1x1x256xf16>
  return %h : tensor<1x1x256xf16>
}

// -----

// GQA in TOSA: repeat_kv as reshape (unsqueeze) + tosa.tile of the unit dim
// + reshape, for K and V. Key codes stay on the 2 KV heads.

// CHECK-LABEL: func.func @tosa_gqa_tile(
//  CHECK-SAME:     %[[Q:[^:]+]]: tensor<1x8x1x64xf32>, %[[K:[^:]+]]: tensor<1x2x64x64xf32>, %[[V:[^:]+]]: tensor<1x2x64x64xf32>)
//       CHECK:   %[[KH:.+]] = adamas.hadamard %[[K]] : tensor<1x2x64x64xf32>
//       CHECK:   adamas.l1_topk {{.+}} : tensor<1x8x1x4xi32>, tensor<1x2x64x4xi32>, tensor<1xi32> -> tensor<1x8x1x64xi32>
//       CHECK:   adamas.sparse_attn %[[Q]], %[[K]], %[[V]], %{{.+}} {scale = 1.250000e-01 : f32}
//   CHECK-NOT:   tosa.tile
func.func @tosa_gqa_tile(%q: tensor<1x8x1x64xf32>, %k: tensor<1x2x64x64xf32>,
                         %v: tensor<1x2x64x64xf32>) -> tensor<1x8x1x64xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %scale = "tosa.const"() <{values = dense<0.125> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %s_u = tosa.const_shape {values = dense<[1, 2, 1, 64, 64]> : tensor<5xindex>} : () -> !tosa.shape<5>
  %mult = tosa.const_shape {values = dense<[1, 1, 4, 1, 1]> : tensor<5xindex>} : () -> !tosa.shape<5>
  %s_r = tosa.const_shape {values = dense<[8, 64, 64]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %s_q = tosa.const_shape {values = dense<[8, 1, 64]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %s_o = tosa.const_shape {values = dense<[1, 8, 1, 64]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %ku = tosa.reshape %k, %s_u : (tensor<1x2x64x64xf32>, !tosa.shape<5>) -> tensor<1x2x1x64x64xf32>
  %kt5 = tosa.tile %ku, %mult : (tensor<1x2x1x64x64xf32>, !tosa.shape<5>) -> tensor<1x2x4x64x64xf32>
  %k3 = tosa.reshape %kt5, %s_r : (tensor<1x2x4x64x64xf32>, !tosa.shape<3>) -> tensor<8x64x64xf32>
  %kt = tosa.transpose %k3 {perms = array<i32: 0, 2, 1>} : (tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %vu = tosa.reshape %v, %s_u : (tensor<1x2x64x64xf32>, !tosa.shape<5>) -> tensor<1x2x1x64x64xf32>
  %vt5 = tosa.tile %vu, %mult : (tensor<1x2x1x64x64xf32>, !tosa.shape<5>) -> tensor<1x2x4x64x64xf32>
  %v3 = tosa.reshape %vt5, %s_r : (tensor<1x2x4x64x64xf32>, !tosa.shape<3>) -> tensor<8x64x64xf32>
  %q3 = tosa.reshape %q, %s_q : (tensor<1x8x1x64xf32>, !tosa.shape<3>) -> tensor<8x1x64xf32>
  %s = tosa.matmul %q3, %kt, %zp, %zp : (tensor<8x1x64xf32>, tensor<8x64x64xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<8x1x64xf32>
  %ss = tosa.mul %s, %scale, %shift : (tensor<8x1x64xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<8x1x64xf32>
  %mx = tosa.reduce_max %ss {axis = 2 : i32} : (tensor<8x1x64xf32>) -> tensor<8x1x1xf32>
  %d = tosa.sub %ss, %mx : (tensor<8x1x64xf32>, tensor<8x1x1xf32>) -> tensor<8x1x64xf32>
  %e = tosa.exp %d : (tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  %sum = tosa.reduce_sum %e {axis = 2 : i32} : (tensor<8x1x64xf32>) -> tensor<8x1x1xf32>
  %r = tosa.reciprocal %sum : (tensor<8x1x1xf32>) -> tensor<8x1x1xf32>
  %p = tosa.mul %e, %r, %shift : (tensor<8x1x64xf32>, tensor<8x1x1xf32>, tensor<1xi8>) -> tensor<8x1x64xf32>
  %o3 = tosa.matmul %p, %v3, %zp, %zp : (tensor<8x1x64xf32>, tensor<8x64x64xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<8x1x64xf32>
  %o = tosa.reshape %o3, %s_o : (tensor<8x1x64xf32>, !tosa.shape<4>) -> tensor<1x8x1x64xf32>
  return %o : tensor<1x8x1x64xf32>
}
