// RUN: adamas-opt %s -adamas-cpu-pipeline | %cpu_run | FileCheck %s

// adamas.bucketize: code = #{t : x > t} (strict, NaN -> 0), packed as bit
// planes: word g*b + p holds at bit i bit p of the code of dim 32g + i.
// Every expected word below is worked out by hand.

func.func private @printMemrefI32(tensor<*xi32>)

func.func @main() {
  // b = 2, thresholds [-1, 0, 1]. Dims 0..9 are
  //   -2  -1  -0.5  0  0.5  1  2  NaN  inf  -inf    (the rest 0)
  // codes 0   0    1   1   2   2  3   0    3     0     (the rest 1: 0 > -1 only)
  // Low plane: dims 2, 3, 6, 8, 10..31 = 0x14C | 0xFFFFFC00 = 0xFFFFFD4C = -692.
  // High plane: dims 4, 5, 6, 8 = 0x170 = 368.
  %x = arith.constant dense<[[-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 0x7FC00000, 0x7F800000, 0xFF800000,
                              0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                              0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]> : tensor<1x32xf32>
  %c = "adamas.bucketize"(%x) {thresholds = array<f32: -1.0, 0.0, 1.0>} : (tensor<1x32xf32>) -> tensor<1x2xi32>
  %cu = tensor.cast %c : tensor<1x2xi32> to tensor<*xi32>
  call @printMemrefI32(%cu) : (tensor<*xi32>) -> ()
  // CHECK:      sizes = [1, 2]
  // CHECK-NEXT: {{\[\[}}-692, 368]]

  // b = 1, threshold [0], f16. Dims 0..3 = 0, smallest subnormal (0x0001), -0, inf;
  // the rest -1. Codes 0, 1, 0, 1 -> one word 0b1010 = 10.
  %h = arith.constant dense<[[0.0, 0x0001, 0x8000, 0x7C00, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0,
                              -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0,
                              -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0]]> : tensor<1x32xf16>
  %hc = "adamas.bucketize"(%h) {thresholds = array<f32: 0.0>} : (tensor<1x32xf16>) -> tensor<1x1xi32>
  %hcu = tensor.cast %hc : tensor<1x1xi32> to tensor<*xi32>
  call @printMemrefI32(%hcu) : (tensor<*xi32>) -> ()
  // CHECK:      sizes = [1, 1]
  // CHECK-NEXT: {{\[\[}}10]]

  // b = 3, thresholds [-3 .. 3], bf16, D = 64 (two groups, six words). Group 0:
  // dim 0 = 2.5 -> code 6 (0b110), dim 30 = inf -> 7, dim 31 = 3.0 -> 6 (not > 3);
  // group 1: dim 33 = -2.5 -> code 1. The rest -inf -> 0.
  // Group 0 planes: p0 = bit 30 = 1073741824; p1 = p2 = bits 0, 30, 31 = 0xC0000001 = -1073741823.
  // Group 1 planes: p0 = bit 1 = 2; p1 = p2 = 0.
  %b = arith.constant dense<[[2.5, 0xFF80, 0xFF80, 0xFF80, 0xFF80, 0xFF80, 0xFF80, 0xFF80, 0xFF80, 0xFF80,
                              0xFF80, 0xFF80, 0xFF80, 0xFF80, 0xFF80, 0xFF80, 0xFF80, 0xFF80, 0xFF80, 0xFF80,
                              0xFF80, 0xFF80, 0xFF80, 0xFF80, 0xFF80, 0xFF80, 0xFF80, 0xFF80, 0xFF80, 0xFF80,
                              0x7F80, 3.0,
                              0xFF80, -2.5, 0xFF80, 0xFF80, 0xFF80, 0xFF80, 0xFF80, 0xFF80, 0xFF80, 0xFF80,
                              0xFF80, 0xFF80, 0xFF80, 0xFF80, 0xFF80, 0xFF80, 0xFF80, 0xFF80, 0xFF80, 0xFF80,
                              0xFF80, 0xFF80, 0xFF80, 0xFF80, 0xFF80, 0xFF80, 0xFF80, 0xFF80, 0xFF80, 0xFF80,
                              0xFF80, 0xFF80]]> : tensor<1x64xbf16>
  %bc = "adamas.bucketize"(%b) {thresholds = array<f32: -3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0>}
      : (tensor<1x64xbf16>) -> tensor<1x6xi32>
  %bcu = tensor.cast %bc : tensor<1x6xi32> to tensor<*xi32>
  call @printMemrefI32(%bcu) : (tensor<*xi32>) -> ()
  // CHECK:      sizes = [1, 6]
  // CHECK-NEXT: {{\[\[}}1073741824, -1073741823, -1073741823, 2, 0, 0]]

  // head_thresholds replace the attribute's values per head. Input <1x3x1x32>, all 5.
  // Head 0 [-1, 0, 1]: code 3, both planes all ones (-1). Head 1 [10, 20, 30]: code 0.
  // Head 2 [0, 10, -10] (rows need no order): 5 > 0 and 5 > -10 -> code 2: low plane 0,
  // high plane all ones. The attribute [100, 200, 300] only fixes b = 2.
  %p = arith.constant dense<5.0> : tensor<1x3x1x32xf32>
  %t = arith.constant dense<[[-1.0, 0.0, 1.0], [10.0, 20.0, 30.0], [0.0, 10.0, -10.0]]> : tensor<3x3xf32>
  %pd = tensor.cast %p : tensor<1x3x1x32xf32> to tensor<1x3x?x32xf32>
  %pc = "adamas.bucketize"(%pd, %t) {thresholds = array<f32: 100.0, 200.0, 300.0>}
      : (tensor<1x3x?x32xf32>, tensor<3x3xf32>) -> tensor<1x3x?x2xi32>
  %pcu = tensor.cast %pc : tensor<1x3x?x2xi32> to tensor<*xi32>
  call @printMemrefI32(%pcu) : (tensor<*xi32>) -> ()
  // CHECK:      sizes = [1, 3, 1, 2]
  // CHECK-NEXT: {{\[\[\[\[}}-1, -1]],
  // CHECK-NEXT:  {{\[\[}}0, 0]],
  // CHECK-NEXT:  {{\[\[}}0, -1]]]]
  return
}
