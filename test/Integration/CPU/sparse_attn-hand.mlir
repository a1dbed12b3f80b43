// RUN: adamas-opt %s -adamas-cpu-pipeline | %cpu_run | FileCheck %s

// adamas.sparse_attn on inputs whose softmax weights are known by hand.

func.func private @printMemrefF32(tensor<*xf32>)

func.func @main() {
  // Row 0: q = 0, so every score is 0 and the output is the mean of the selected
  // values; indices [0, 2, -1] -> mean of [1, 0] and [3, 4] = [2, 2].
  // Row 1: indices -1, 3 (= N) and -7 are all outside [0, N) -> zeros.
  %q = arith.constant dense<0.0> : tensor<1x1x2x2xf32>
  %k = arith.constant dense<1.0> : tensor<1x1x3x2xf32>
  %v = arith.constant dense<[[[[1.0, 0.0], [7.0, 7.0], [3.0, 4.0]]]]> : tensor<1x1x3x2xf32>
  %i = arith.constant dense<[[[[0, 2, -1], [-1, 3, -7]]]]> : tensor<1x1x2x3xi32>
  %kd = tensor.cast %k : tensor<1x1x3x2xf32> to tensor<1x1x?x2xf32>
  %vd = tensor.cast %v : tensor<1x1x3x2xf32> to tensor<1x1x?x2xf32>
  %o = "adamas.sparse_attn"(%q, %kd, %vd, %i)
      : (tensor<1x1x2x2xf32>, tensor<1x1x?x2xf32>, tensor<1x1x?x2xf32>, tensor<1x1x2x3xi32>) -> tensor<1x1x2x2xf32>
  %ou = tensor.cast %o : tensor<1x1x2x2xf32> to tensor<*xf32>
  call @printMemrefF32(%ou) : (tensor<*xf32>) -> ()
  // CHECK:      sizes = [1, 1, 2, 2]
  // CHECK-NEXT: {{\[\[\[\[}}2, 2],
  // CHECK-NEXT:    [0, 0]]]]

  // Scores scale * q.k_j = [0, ln 3] give weights [1/4, 3/4]; with values [4, 0]
  // and [0, 4] the output is [1, 3]. Explicit scale 1 with q = [1, 0, 0, 0], and the
  // default scale 1/sqrt(4) with q = [2, 0, 0, 0], give the same scores.
  %q1 = arith.constant dense<[[[[1.0, 0.0, 0.0, 0.0]]]]> : tensor<1x1x1x4xf32>
  %q2 = arith.constant dense<[[[[2.0, 0.0, 0.0, 0.0]]]]> : tensor<1x1x1x4xf32>
  %k2 = arith.constant dense<[[[[0.0, 0.0, 0.0, 0.0], [1.09861229, 0.0, 0.0, 0.0]]]]> : tensor<1x1x2x4xf32>
  %v2 = arith.constant dense<[[[[4.0, 0.0], [0.0, 4.0]]]]> : tensor<1x1x2x2xf32>
  %i2 = arith.constant dense<[[[[1, 0]]]]> : tensor<1x1x1x2xi32>
  %o1 = "adamas.sparse_attn"(%q1, %k2, %v2, %i2) {scale = 1.0 : f32}
      : (tensor<1x1x1x4xf32>, tensor<1x1x2x4xf32>, tensor<1x1x2x2xf32>, tensor<1x1x1x2xi32>) -> tensor<1x1x1x2xf32>
  %o1u = tensor.cast %o1 : tensor<1x1x1x2xf32> to tensor<*xf32>
  call @printMemrefF32(%o1u) : (tensor<*xf32>) -> ()
  // CHECK:      sizes = [1, 1, 1, 2]
  // CHECK-NEXT: {{\[\[\[\[}}1, 3]]]]
  %o2 = "adamas.sparse_attn"(%q2, %k2, %v2, %i2)
      : (tensor<1x1x1x4xf32>, tensor<1x1x2x4xf32>, tensor<1x1x2x2xf32>, tensor<1x1x1x2xi32>) -> tensor<1x1x1x2xf32>
  %o2u = tensor.cast %o2 : tensor<1x1x1x2xf32> to tensor<*xf32>
  call @printMemrefF32(%o2u) : (tensor<*xf32>) -> ()
  // CHECK:      sizes = [1, 1, 1, 2]
  // CHECK-NEXT: {{\[\[\[\[}}1, 3]]]]

  // GQA, Hq = 2 over Hkv = 1, indices with one (KV) head shared by both query
  // heads: q = 0 -> both rows are the mean of v1 = [7, 7] and v2 = [3, 4] = [5, 5.5].
  // In f16 these are exact.
  %qg = arith.constant dense<0.0> : tensor<1x2x1x2xf16>
  %kg = arith.constant dense<1.0> : tensor<1x1x3x2xf16>
  %vg = arith.constant dense<[[[[1.0, 0.0], [7.0, 7.0], [3.0, 4.0]]]]> : tensor<1x1x3x2xf16>
  %ig = arith.constant dense<[[[[2, 1]]]]> : tensor<1x1x1x2xi32>
  %og = "adamas.sparse_attn"(%qg, %kg, %vg, %ig)
      : (tensor<1x2x1x2xf16>, tensor<1x1x3x2xf16>, tensor<1x1x3x2xf16>, tensor<1x1x1x2xi32>) -> tensor<1x2x1x2xf16>
  %ogw = arith.extf %og : tensor<1x2x1x2xf16> to tensor<1x2x1x2xf32>
  %ogu = tensor.cast %ogw : tensor<1x2x1x2xf32> to tensor<*xf32>
  call @printMemrefF32(%ogu) : (tensor<*xf32>) -> ()
  // CHECK:      sizes = [1, 2, 1, 2]
  // CHECK-NEXT: {{\[\[\[\[}}5, 5.5]],
  // CHECK-NEXT:  {{\[\[}}5, 5.5]]]]
  return
}
