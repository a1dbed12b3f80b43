// RUN: adamas-opt %s -adamas-cpu-pipeline | %cpu_run | FileCheck %s

// Edge cases of adamas.sparse_attn, worked by hand. D = Dv = 2, N = 3 keys
//   k0 = [0, 0], k1 = [1, 0], k2 = [0, 1]
// with values
//   v0 = [4, 0], v1 = [0, 4], v2 = [3, 3].
// Results are f16, so that softmax weights such as 1/4 and 3/4 computed from
// exp(ln 3) come out exact after the single rounding.

func.func private @printMemrefF32(tensor<*xf32>)

func.func @print(%t: tensor<?x?x?x?xf16>) {
  %f = arith.extf %t : tensor<?x?x?x?xf16> to tensor<?x?x?x?xf32>
  %u = tensor.cast %f : tensor<?x?x?x?xf32> to tensor<*xf32>
  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()
  return
}

func.func @main() {
  %k = arith.constant dense<[[[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]]]> : tensor<1x1x3x2xf16>
  %v = arith.constant dense<[[[[4.0, 0.0], [0.0, 4.0], [3.0, 3.0]]]]> : tensor<1x1x3x2xf16>
  %kd = tensor.cast %k : tensor<1x1x3x2xf16> to tensor<1x1x?x2xf16>
  %vd = tensor.cast %v : tensor<1x1x3x2xf16> to tensor<1x1x?x2xf16>

  // Four rows (M = 4) of one head, q = 0 (all scores equal):
  //   row 0: no valid index (-1, N, large, negative) -> zeros;
  //   row 1: one valid index among invalid ones -> exactly v2;
  //   row 2: 1 twice and 2 once -> (2 v1 + v2) / 3 = [1, 11/3];
  //   row 3: 0 and 1 -> (v0 + v1) / 2.
  %q0 = arith.constant dense<0.0> : tensor<1x1x4x2xf16>
  %i0 = arith.constant dense<[[[[-1, 3, 1000, -7], [-1, 2, 3, -1], [1, 1, 2, -1], [-1, 0, -1, 1]]]]> : tensor<1x1x4x4xi32>
  %a = "adamas.sparse_attn"(%q0, %kd, %vd, %i0)
      : (tensor<1x1x4x2xf16>, tensor<1x1x?x2xf16>, tensor<1x1x?x2xf16>, tensor<1x1x4x4xi32>) -> tensor<1x1x4x2xf16>
  %ac = tensor.cast %a : tensor<1x1x4x2xf16> to tensor<?x?x?x?xf16>
  call @print(%ac) : (tensor<?x?x?x?xf16>) -> ()
  // CHECK:      sizes = [1, 1, 4, 2]
  // CHECK-NEXT: {{\[\[\[\[}}0, 0],
  // CHECK-NEXT:    [3, 3],
  // CHECK-NEXT:    [1, 3.66{{[0-9]*}}],
  // CHECK-NEXT:    [2, 2]]]]

  // Softmax weights: q = [ln 3, 0] and scale 1 give scores 0 (k0) and ln 3
  // (k1), weights 1/4 and 3/4: [1, 3]. A second query head (GQA, Hq = 2,
  // Hkv = 1) with q = 0 weighs them equally: [2, 2]. The index row is shared
  // by the group (H' = Hkv = 1, only known at run time here).
  %q1 = arith.constant dense<[[[[1.0986123, 0.0]], [[0.0, 0.0]]]]> : tensor<1x2x1x2xf16>
  %i1 = arith.constant dense<[[[[0, 1]]]]> : tensor<1x1x1x2xi32>
  %i1d = tensor.cast %i1 : tensor<1x1x1x2xi32> to tensor<1x?x1x2xi32>
  %b = "adamas.sparse_attn"(%q1, %kd, %vd, %i1d) {scale = 1.0 : f32}
      : (tensor<1x2x1x2xf16>, tensor<1x1x?x2xf16>, tensor<1x1x?x2xf16>, tensor<1x?x1x2xi32>) -> tensor<1x2x1x2xf16>
  %bc = tensor.cast %b : tensor<1x2x1x2xf16> to tensor<?x?x?x?xf16>
  call @print(%bc) : (tensor<?x?x?x?xf16>) -> ()
  // CHECK:      sizes = [1, 2, 1, 2]
  // CHECK-NEXT: {{\[\[\[\[}}1, 3]],
  // CHECK-NEXT:  {{\[\[}}2, 2]]]]

  // The same with one index row per query head (H' = Hq = 2): head 0 reads
  // [1, 2] (scores ln 3 and 0: [3/4 v1 + 1/4 v2] = [0.75, 3.75]), head 1 reads
  // [0, -1] (v0 alone).
  %i2 = arith.constant dense<[[[[1, 2]], [[0, -1]]]]> : tensor<1x2x1x2xi32>
  %i2d = tensor.cast %i2 : tensor<1x2x1x2xi32> to tensor<1x?x1x2xi32>
  %c = "adamas.sparse_attn"(%q1, %kd, %vd, %i2d) {scale = 1.0 : f32}
      : (tensor<1x2x1x2xf16>, tensor<1x1x?x2xf16>, tensor<1x1x?x2xf16>, tensor<1x?x1x2xi32>) -> tensor<1x2x1x2xf16>
  %cc = tensor.cast %c : tensor<1x2x1x2xf16> to tensor<?x?x?x?xf16>
  call @print(%cc) : (tensor<?x?x?x?xf16>) -> ()
  // CHECK:      sizes = [1, 2, 1, 2]
  // CHECK-NEXT: {{\[\[\[\[}}0.75, 3.75]],
  // CHECK-NEXT:  {{\[\[}}4, 0]]]]
  return
}
