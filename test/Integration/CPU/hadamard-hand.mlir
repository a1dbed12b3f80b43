// RUN: adamas-opt %s -adamas-cpu-pipeline | %cpu_run | FileCheck %s

// adamas.hadamard on inputs small enough to derive by hand (DESIGN.md 2).

func.func private @printMemrefF32(tensor<*xf32>)

func.func @main() {
  // H_4 / 2 in Sylvester order has rows [1,1,1,1], [1,-1,1,-1], [1,1,-1,-1],
  // [1,-1,-1,1] (halved) and is symmetric, so e_j maps to row j / 2, and
  // [1,1,1,1] to the column sums / 2 = [2,0,0,0].
  %x = arith.constant dense<[[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0],
                             [0.0, 0.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0]]> : tensor<4x4xf32>
  %y = "adamas.hadamard"(%x) : (tensor<4x4xf32>) -> tensor<4x4xf32>
  %yu = tensor.cast %y : tensor<4x4xf32> to tensor<*xf32>
  call @printMemrefF32(%yu) : (tensor<*xf32>) -> ()
  // CHECK:      sizes = [4, 4]
  // CHECK-NEXT: {{\[\[}}0.5, 0.5, 0.5, 0.5],
  // CHECK-NEXT:  [0.5, -0.5, 0.5, -0.5],
  // CHECK-NEXT:  [0.5, -0.5, -0.5, 0.5],
  // CHECK-NEXT:  [2, 0, 0, 0]]

  // D = 2 in f16, rounded once: [1, 0] -> [1/sqrt2, 1/sqrt2] = 0.7071068, and
  // f16 near 0.7 has spacing 2^-11: 1448.15 * 2^-11 -> 1448 * 2^-11 = 0.70703125.
  // Applied again: 2 * 0.70703125 / sqrt2 = 0.9998932, within 2^-12 of 1, so
  // f16 gives back exactly [1, 0].
  %h = arith.constant dense<[[1.0, 0.0]]> : tensor<1x2xf16>
  %h1 = "adamas.hadamard"(%h) : (tensor<1x2xf16>) -> tensor<1x2xf16>
  %h2 = "adamas.hadamard"(%h1) : (tensor<1x2xf16>) -> tensor<1x2xf16>
  %h1w = arith.extf %h1 : tensor<1x2xf16> to tensor<1x2xf32>
  %h1u = tensor.cast %h1w : tensor<1x2xf32> to tensor<*xf32>
  call @printMemrefF32(%h1u) : (tensor<*xf32>) -> ()
  // CHECK:      sizes = [1, 2]
  // CHECK-NEXT: {{\[\[}}0.707031, 0.707031]]
  %h2w = arith.extf %h2 : tensor<1x2xf16> to tensor<1x2xf32>
  %h2u = tensor.cast %h2w : tensor<1x2xf32> to tensor<*xf32>
  call @printMemrefF32(%h2u) : (tensor<*xf32>) -> ()
  // CHECK:      sizes = [1, 2]
  // CHECK-NEXT: {{\[\[}}1, 0]]

  // bf16, rank 4, dynamic N: y_j = sum_i x_i H[i][j] / 2 for x = [3, -1, 1, 1]:
  // (3-1+1+1, 3+1+1-1, 3-1-1-1, 3+1-1+1) / 2 = [2, 2, 0, 2].
  %b = arith.constant dense<[[[[3.0, -1.0, 1.0, 1.0]]]]> : tensor<1x1x1x4xbf16>
  %bd = tensor.cast %b : tensor<1x1x1x4xbf16> to tensor<1x1x?x4xbf16>
  %by = "adamas.hadamard"(%bd) : (tensor<1x1x?x4xbf16>) -> tensor<1x1x?x4xbf16>
  %byw = arith.extf %by : tensor<1x1x?x4xbf16> to tensor<1x1x?x4xf32>
  %byu = tensor.cast %byw : tensor<1x1x?x4xf32> to tensor<*xf32>
  call @printMemrefF32(%byu) : (tensor<*xf32>) -> ()
  // CHECK:      sizes = [1, 1, 1, 4]
  // CHECK-NEXT: {{\[\[\[\[}}2, 2, 0, 2]]]]
  return
}
