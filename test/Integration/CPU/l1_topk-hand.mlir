// RUN: adamas-opt %s -adamas-cpu-pipeline | %cpu_run | FileCheck %s

// adamas.l1_topk on codes chosen so that every distance is known by hand.
// b = 2, D = 32: each code vector is two words [low plane, high plane], and
// only dims 0 and 1 are ever non-zero.

func.func private @printMemrefI32(tensor<*xi32>)

func.func @main() {
  // Query head 0: all codes 0 -> [0, 0]. Query head 1: codes 3 on dims 0, 1 -> [3, 3].
  %q = arith.constant dense<[[[[0, 0]], [[3, 3]]]]> : tensor<1x2x1x2xi32>
  // One KV head, six keys; (code dim 0, code dim 1) and their words:
  //   key 0 (0, 0) [0, 0]   key 1 (3, 0) [1, 1]   key 2 (3, 3) [3, 3]
  //   key 3 (3, 0) [1, 1]   key 4 (1, 0) [1, 0]   key 5 (3, 0) [1, 1]
  // Distances to query head 0 (sum of codes): [0, 3, 6, 3, 1, 3];
  // to query head 1 (6 - sum):                 [6, 3, 0, 3, 5, 3].
  %k = arith.constant dense<[[[[0, 0], [1, 1], [3, 3], [1, 1], [1, 0], [1, 1]]]]> : tensor<1x1x6x2xi32>
  %kd = tensor.cast %k : tensor<1x1x6x2xi32> to tensor<1x1x?x2xi32>
  %len = arith.constant dense<6> : tensor<1xi32>

  // k = 3 with the default attributes (bits 2, sink 0, recent 1): position 5 is
  // forced; head 0 takes 0 (distance 0) and 4 (1); head 1 takes 2 (0), then the
  // tie of distance 3 between positions 1 and 3 goes to the larger, 3.
  %a = "adamas.l1_topk"(%q, %kd, %len) {k = 3 : i64}
      : (tensor<1x2x1x2xi32>, tensor<1x1x?x2xi32>, tensor<1xi32>) -> tensor<1x2x1x3xi32>
  %au = tensor.cast %a : tensor<1x2x1x3xi32> to tensor<*xi32>
  call @printMemrefI32(%au) : (tensor<*xi32>) -> ()
  // CHECK:      sizes = [1, 2, 1, 3]
  // CHECK-NEXT: {{\[\[\[\[}}0, 4, 5]],
  // CHECK-NEXT:  {{\[\[}}2, 3, 5]]]]

  // shared_group: one selection from the minimum over both heads,
  // [0, 3, 0, 3, 1, 3]: recent 5, then 0 and 2 (both distance 0).
  %b = "adamas.l1_topk"(%q, %kd, %len) {k = 3 : i64, bits = 2 : i64, sink = 0 : i64, recent = 1 : i64, shared_group = true}
      : (tensor<1x2x1x2xi32>, tensor<1x1x?x2xi32>, tensor<1xi32>) -> tensor<1x1x1x3xi32>
  %bu = tensor.cast %b : tensor<1x1x1x3xi32> to tensor<*xi32>
  call @printMemrefI32(%bu) : (tensor<*xi32>) -> ()
  // CHECK:      sizes = [1, 1, 1, 3]
  // CHECK-NEXT: {{\[\[\[\[}}0, 2, 5]]]]

  // sink 1 (recent keeps its default 1), k = 3: both heads force 0 and 5; head 0
  // takes 4 (distance 1 among [3, 6, 3, 1]), head 1 takes 2 (0 among [3, 0, 3, 5]).
  %c = "adamas.l1_topk"(%q, %kd, %len) {k = 3 : i64, sink = 1 : i64}
      : (tensor<1x2x1x2xi32>, tensor<1x1x?x2xi32>, tensor<1xi32>) -> tensor<1x2x1x3xi32>
  %cu = tensor.cast %c : tensor<1x2x1x3xi32> to tensor<*xi32>
  call @printMemrefI32(%cu) : (tensor<*xi32>) -> ()
  // CHECK:      sizes = [1, 2, 1, 3]
  // CHECK-NEXT: {{\[\[\[\[}}0, 4, 5]],
  // CHECK-NEXT:  {{\[\[}}0, 2, 5]]]]

  // L <= k: all six positions, then -1 padding.
  %d = "adamas.l1_topk"(%q, %kd, %len) {k = 8 : i64}
      : (tensor<1x2x1x2xi32>, tensor<1x1x?x2xi32>, tensor<1xi32>) -> tensor<1x2x1x8xi32>
  %du = tensor.cast %d : tensor<1x2x1x8xi32> to tensor<*xi32>
  call @printMemrefI32(%du) : (tensor<*xi32>) -> ()
  // CHECK:      sizes = [1, 2, 1, 8]
  // CHECK-NEXT: {{\[\[\[\[}}0, 1, 2, 3, 4, 5, -1, -1]],
  // CHECK-NEXT:  {{\[\[}}0, 1, 2, 3, 4, 5, -1, -1]]]]

  // Causal rows, lengths shorter than N: M = 3 queries (head 0's codes) are the
  // last 3 of lengths = 5 tokens, so row m sees L = 5 - 3 + m + 1 = 3 + m positions. k = 2, recent 1:
  // row 0 forces 2 and takes 0 (distance 0); row 1 forces 3, takes 0; row 2 forces 4, takes 0.
  %qm = arith.constant dense<0> : tensor<1x1x3x2xi32>
  %len5 = arith.constant dense<5> : tensor<1xi32>
  %e = "adamas.l1_topk"(%qm, %kd, %len5) {k = 2 : i64}
      : (tensor<1x1x3x2xi32>, tensor<1x1x?x2xi32>, tensor<1xi32>) -> tensor<1x1x3x2xi32>
  %eu = tensor.cast %e : tensor<1x1x3x2xi32> to tensor<*xi32>
  call @printMemrefI32(%eu) : (tensor<*xi32>) -> ()
  // CHECK:      sizes = [1, 1, 3, 2]
  // CHECK-NEXT: {{\[\[\[\[}}0, 2],
  // CHECK-NEXT:    [0, 3],
  // CHECK-NEXT:    [0, 4]]]]

  // lengths 2 with M = 3: L = 0, 1, 2 <= k, so rows are [], [0], [0, 1], padded.
  %len2 = arith.constant dense<2> : tensor<1xi32>
  %f = "adamas.l1_topk"(%qm, %kd, %len2) {k = 2 : i64}
      : (tensor<1x1x3x2xi32>, tensor<1x1x?x2xi32>, tensor<1xi32>) -> tensor<1x1x3x2xi32>
  %fu = tensor.cast %f : tensor<1x1x3x2xi32> to tensor<*xi32>
  call @printMemrefI32(%fu) : (tensor<*xi32>) -> ()
  // CHECK:      sizes = [1, 1, 3, 2]
  // CHECK-NEXT: {{\[\[\[\[}}-1, -1],
  // CHECK-NEXT:    [0, -1],
  // CHECK-NEXT:    [0, 1]]]]
  return
}
