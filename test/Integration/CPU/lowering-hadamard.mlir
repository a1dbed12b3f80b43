// RUN: adamas-opt %s -adamas-cpu-pipeline | %cpu_run | FileCheck %s

// adamas.hadamard on inputs whose transforms are known by hand: impulses give
// a column of H_D / sqrt(D) (Sylvester order: H[i][j] = (-1)^popcount(i & j)),
// and small integer vectors give exact sums.

func.func private @printMemrefF32(tensor<*xf32>)

func.func @main() {
  // D = 4: e0 -> all 1/2; [1, 2, 3, 4] -> [10, -2, -4, 0] / 2.
  %a = arith.constant dense<[[1.0, 0.0, 0.0, 0.0], [1.0, 2.0, 3.0, 4.0]]> : tensor<2x4xf32>
  %ay = "adamas.hadamard"(%a) : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %au = tensor.cast %ay : tensor<2x4xf32> to tensor<*xf32>
  call @printMemrefF32(%au) : (tensor<*xf32>) -> ()
  // CHECK:      sizes = [2, 4]
  // CHECK-NEXT: {{\[\[}}0.5, 0.5, 0.5, 0.5],
  // CHECK-NEXT:  [5, -1, -2, 0]]

  // D = 2 (1/sqrt(2) is not a power of two): [3, 1] -> [4, 2] / sqrt(2).
  %b = arith.constant dense<[3.0, 1.0]> : tensor<2xf32>
  %by = "adamas.hadamard"(%b) : (tensor<2xf32>) -> tensor<2xf32>
  %bu = tensor.cast %by : tensor<2xf32> to tensor<*xf32>
  call @printMemrefF32(%bu) : (tensor<*xf32>) -> ()
  // CHECK:      sizes = [2]
  // CHECK-NEXT: [2.82843, 1.41421]

  // D = 8, e3: column 3 of H_8 is the sign pattern of popcount(i & 3), i.e.
  // + - - + + - - +, times 1/sqrt(8).
  %c = arith.constant dense<[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]> : tensor<8xf32>
  %cy = "adamas.hadamard"(%c) : (tensor<8xf32>) -> tensor<8xf32>
  %cu = tensor.cast %cy : tensor<8xf32> to tensor<*xf32>
  call @printMemrefF32(%cu) : (tensor<*xf32>) -> ()
  // CHECK:      sizes = [8]
  // CHECK-NEXT: [0.353553, -0.353553, -0.353553, 0.353553, 0.353553, -0.353553, -0.353553, 0.353553]

  // Dynamic leading dims, f16 and bf16 (computed in f32, rounded once).
  // [2, 2, 2, 2] -> [4, 0, 0, 0]; [0, 1, 0, 0] -> [1, -1, 1, -1] / 2.
  %h = arith.constant dense<[[[2.0, 2.0, 2.0, 2.0]], [[0.0, 1.0, 0.0, 0.0]]]> : tensor<2x1x4xf16>
  %hd = tensor.cast %h : tensor<2x1x4xf16> to tensor<?x?x4xf16>
  %hy = "adamas.hadamard"(%hd) : (tensor<?x?x4xf16>) -> tensor<?x?x4xf16>
  %hf = arith.extf %hy : tensor<?x?x4xf16> to tensor<?x?x4xf32>
  %hu = tensor.cast %hf : tensor<?x?x4xf32> to tensor<*xf32>
  call @printMemrefF32(%hu) : (tensor<*xf32>) -> ()
  // CHECK:      sizes = [2, 1, 4]
  // CHECK-NEXT: {{\[\[\[}}4, 0, 0, 0]],
  // CHECK-NEXT: {{\[\[}}0.5, -0.5, 0.5, -0.5]]]
  %g = arith.constant dense<[[[2.0, 2.0, 2.0, 2.0]], [[0.0, 1.0, 0.0, 0.0]]]> : tensor<2x1x4xbf16>
  %gd = tensor.cast %g : tensor<2x1x4xbf16> to tensor<?x1x4xbf16>
  %gy = "adamas.hadamard"(%gd) : (tensor<?x1x4xbf16>) -> tensor<?x1x4xbf16>
  %gf = arith.extf %gy : tensor<?x1x4xbf16> to tensor<?x1x4xf32>
  %gu = tensor.cast %gf : tensor<?x1x4xf32> to tensor<*xf32>
  call @printMemrefF32(%gu) : (tensor<*xf32>) -> ()
  // CHECK:      sizes = [2, 1, 4]
  // CHECK-NEXT: {{\[\[\[}}4, 0, 0, 0]],
  // CHECK-NEXT: {{\[\[}}0.5, -0.5, 0.5, -0.5]]]

  // The f32 intermediate is not rounded to f16: 2049 is not an f16 value
  // (f16 has 11 significant bits), but (2048 + 1) / 2 is. Over [2048, 1]:
  // [2049, 2047] / sqrt(2), each rounded once to f16 (ulp 1 in [1024, 2048)):
  // 1448.86 -> 1449, 1447.45 -> 1447.
  %r = arith.constant dense<[2048.0, 1.0]> : tensor<2xf16>
  %ry = "adamas.hadamard"(%r) : (tensor<2xf16>) -> tensor<2xf16>
  %rf = arith.extf %ry : tensor<2xf16> to tensor<2xf32>
  %ru = tensor.cast %rf : tensor<2xf32> to tensor<*xf32>
  call @printMemrefF32(%ru) : (tensor<*xf32>) -> ()
  // CHECK:      sizes = [2]
  // CHECK-NEXT: [1449, 1447]

  // D = 32768, the largest D, impulse at 0: every output is 2^-7.5, which
  // f16 rounds to 0.0055236816 (printed 0.00552368); check the first and last.
  %z = arith.constant dense<0.0> : tensor<32767xf16>
  %one = arith.constant dense<1.0> : tensor<1xf16>
  %e0 = tensor.concat dim(0) %one, %z : (tensor<1xf16>, tensor<32767xf16>) -> tensor<32768xf16>
  %ey = "adamas.hadamard"(%e0) : (tensor<32768xf16>) -> tensor<32768xf16>
  %ends = tensor.extract_slice %ey[0] [2] [32767] : tensor<32768xf16> to tensor<2xf16>
  %endsf = arith.extf %ends : tensor<2xf16> to tensor<2xf32>
  %eu = tensor.cast %endsf : tensor<2xf32> to tensor<*xf32>
  call @printMemrefF32(%eu) : (tensor<*xf32>) -> ()
  // CHECK:      sizes = [2]
  // CHECK-NEXT: [0.00552368, 0.00552368]
  return
}
