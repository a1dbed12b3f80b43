// RUN: adamas-opt %s -adamas-cpu-pipeline | %cpu_run | FileCheck %s

// Edge cases of the histogram select of adamas.l1_topk, worked by hand.
//
// b = 1, D = 32: a code vector is one word and the distance to a query word q
// is popcount(q ^ w). The ten keys below have the words
//   [31, 1, 2, 7, 4, 3, 8, 0, 15, 63]
// so their distances to the all-zero query (query head 0) are the popcounts
//   [ 5, 1, 1, 3, 1, 2, 1, 0,  4,  6].

func.func private @printMemrefI32(tensor<*xi32>)

func.func @print(%t: tensor<?x?x?x?xi32>) {
  %u = tensor.cast %t : tensor<?x?x?x?xi32> to tensor<*xi32>
  call @printMemrefI32(%u) : (tensor<*xi32>) -> ()
  return
}

func.func @main() {
  %q = arith.constant dense<0> : tensor<1x1x1x1xi32>
  %k = arith.constant dense<[[[[31], [1], [2], [7], [4], [3], [8], [0], [15], [63]]]]> : tensor<1x1x10x1xi32>
  %kd = tensor.cast %k : tensor<1x1x10x1xi32> to tensor<1x1x?x1xi32>
  %len = arith.constant dense<10> : tensor<1xi32>

  // sink 1 and recent 1 force 0 and 9; 3 slots for the free positions 1..8,
  // distances [1, 1, 3, 1, 2, 1, 0, 4]: 7 (distance 0), then the threshold is
  // 1, tied by 1, 2, 4, 6, of which the two largest, 4 and 6, are taken.
  %a = "adamas.l1_topk"(%q, %kd, %len) {k = 5 : i64, bits = 1 : i64, sink = 1 : i64, recent = 1 : i64}
      : (tensor<1x1x1x1xi32>, tensor<1x1x?x1xi32>, tensor<1xi32>) -> tensor<1x1x1x5xi32>
  %ac = tensor.cast %a : tensor<1x1x1x5xi32> to tensor<?x?x?x?xi32>
  call @print(%ac) : (tensor<?x?x?x?xi32>) -> ()
  // CHECK:      sizes = [1, 1, 1, 5]
  // CHECK-NEXT: {{\[\[\[\[}}0, 4, 6, 7, 9]]]]

  // k = sink + recent: no slot is left for the free positions.
  %b = "adamas.l1_topk"(%q, %kd, %len) {k = 2 : i64, bits = 1 : i64, sink = 1 : i64, recent = 1 : i64}
      : (tensor<1x1x1x1xi32>, tensor<1x1x?x1xi32>, tensor<1xi32>) -> tensor<1x1x1x2xi32>
  %bc = tensor.cast %b : tensor<1x1x1x2xi32> to tensor<?x?x?x?xi32>
  call @print(%bc) : (tensor<?x?x?x?xi32>) -> ()
  // CHECK:      sizes = [1, 1, 1, 2]
  // CHECK-NEXT: {{\[\[\[\[}}0, 9]]]]

  // Nothing forced (recent 0): 7, then 4 and 6 of the ties at distance 1.
  %c = "adamas.l1_topk"(%q, %kd, %len) {k = 3 : i64, bits = 1 : i64, recent = 0 : i64}
      : (tensor<1x1x1x1xi32>, tensor<1x1x?x1xi32>, tensor<1xi32>) -> tensor<1x1x1x3xi32>
  %cc = tensor.cast %c : tensor<1x1x1x3xi32> to tensor<?x?x?x?xi32>
  call @print(%cc) : (tensor<?x?x?x?xi32>) -> ()
  // CHECK:      sizes = [1, 1, 1, 3]
  // CHECK-NEXT: {{\[\[\[\[}}4, 6, 7]]]]

  // M = 3 causal rows, lengths = 5: row m sees L = 3 + m. k = 3, recent 1.
  // Row 0: L = 3 <= k, all of it. Row 1: 3 forced, free [5, 1, 1] -> 1, 2.
  // Row 2: 4 forced, free [5, 1, 1, 3] -> 1, 2.
  %qm = arith.constant dense<0> : tensor<1x1x3x1xi32>
  %len5 = arith.constant dense<5> : tensor<1xi32>
  %d = "adamas.l1_topk"(%qm, %kd, %len5) {k = 3 : i64, bits = 1 : i64}
      : (tensor<1x1x3x1xi32>, tensor<1x1x?x1xi32>, tensor<1xi32>) -> tensor<1x1x3x3xi32>
  %dc = tensor.cast %d : tensor<1x1x3x3xi32> to tensor<?x?x?x?xi32>
  call @print(%dc) : (tensor<?x?x?x?xi32>) -> ()
  // CHECK:      sizes = [1, 1, 3, 3]
  // CHECK-NEXT: {{\[\[\[\[}}0, 1, 2],
  // CHECK-NEXT:    [1, 2, 3],
  // CHECK-NEXT:    [1, 2, 4]]]]

  // Dynamic B = 3 with lengths clamped to [0, N]: -4 sees nothing; 100 sees
  // all ten (9 forced, then 7 and the largest tie at distance 1, 6); 7 sees
  // 0..6 (6 forced, free [5, 1, 1, 3, 1, 2] -> the two largest ties, 2 and 4).
  %q3 = arith.constant dense<0> : tensor<3x1x1x1xi32>
  %k3 = arith.constant dense<[[[[31], [1], [2], [7], [4], [3], [8], [0], [15], [63]]],
                              [[[31], [1], [2], [7], [4], [3], [8], [0], [15], [63]]],
                              [[[31], [1], [2], [7], [4], [3], [8], [0], [15], [63]]]]> : tensor<3x1x10x1xi32>
  %q3d = tensor.cast %q3 : tensor<3x1x1x1xi32> to tensor<?x1x?x1xi32>
  %k3d = tensor.cast %k3 : tensor<3x1x10x1xi32> to tensor<?x1x?x1xi32>
  %len3 = arith.constant dense<[-4, 100, 7]> : tensor<3xi32>
  %len3d = tensor.cast %len3 : tensor<3xi32> to tensor<?xi32>
  %e = "adamas.l1_topk"(%q3d, %k3d, %len3d) {k = 3 : i64, bits = 1 : i64}
      : (tensor<?x1x?x1xi32>, tensor<?x1x?x1xi32>, tensor<?xi32>) -> tensor<?x1x?x3xi32>
  %ec = tensor.cast %e : tensor<?x1x?x3xi32> to tensor<?x?x?x?xi32>
  call @print(%ec) : (tensor<?x?x?x?xi32>) -> ()
  // CHECK:      sizes = [3, 1, 1, 3]
  // CHECK-NEXT: {{\[\[\[\[}}-1, -1, -1]]],
  // CHECK-NEXT: {{\[\[\[}}6, 7, 9]]],
  // CHECK-NEXT: {{\[\[\[}}2, 4, 6]]]]

  // GQA, 3 query heads on one KV head, query words 0, 63 and 1. Distances:
  //   head 0: [5, 1, 1, 3, 1, 2, 1, 0, 4, 6]
  //   head 1: [1, 5, 5, 3, 5, 4, 5, 6, 2, 0]
  //   head 2: [4, 0, 2, 2, 2, 1, 2, 1, 3, 5]
  // Per head, k = 2 and recent 0: head 0 -> 7, 6; head 1 -> 9, 0; head 2 ->
  // 1, then 7 of the ties 5, 7 at distance 1.
  %qg = arith.constant dense<[[[[0]], [[63]], [[1]]]]> : tensor<1x3x1x1xi32>
  %f = "adamas.l1_topk"(%qg, %kd, %len) {k = 2 : i64, bits = 1 : i64, recent = 0 : i64}
      : (tensor<1x3x1x1xi32>, tensor<1x1x?x1xi32>, tensor<1xi32>) -> tensor<1x3x1x2xi32>
  %fc = tensor.cast %f : tensor<1x3x1x2xi32> to tensor<?x?x?x?xi32>
  call @print(%fc) : (tensor<?x?x?x?xi32>) -> ()
  // CHECK:      sizes = [1, 3, 1, 2]
  // CHECK-NEXT: {{\[\[\[\[}}6, 7]],
  // CHECK-NEXT:  {{\[\[}}0, 9]],
  // CHECK-NEXT:  {{\[\[}}1, 7]]]]

  // shared_group: the minimum over the three heads is
  //   [1, 0, 1, 2, 1, 1, 1, 0, 2, 0]
  // k = 4, recent 1: 9 forced; 1 and 7 (distance 0), then the largest of the
  // ties at distance 1 among the free positions 0..8, 6.
  %g = "adamas.l1_topk"(%qg, %kd, %len) {k = 4 : i64, bits = 1 : i64, shared_group = true}
      : (tensor<1x3x1x1xi32>, tensor<1x1x?x1xi32>, tensor<1xi32>) -> tensor<1x1x1x4xi32>
  %gc = tensor.cast %g : tensor<1x1x1x4xi32> to tensor<?x?x?x?xi32>
  call @print(%gc) : (tensor<?x?x?x?xi32>) -> ()
  // CHECK:      sizes = [1, 1, 1, 4]
  // CHECK-NEXT: {{\[\[\[\[}}1, 6, 7, 9]]]]

  // b = 3, D = 32: words [plane 0, plane 1, plane 2]. The query has code 3 on
  // dim 0 ([1, 1, 0]); the keys have codes 7, 0, 4, 3, 6, 5 on dim 0, so the
  // distances are |3 - c| = [4, 3, 1, 0, 3, 2]. k = 3 takes 3, 2, 5; k = 4
  // adds 4, the larger of the ties 1, 4 at distance 3.
  %q7 = arith.constant dense<[[[[1, 1, 0]]]]> : tensor<1x1x1x3xi32>
  %k7 = arith.constant dense<[[[[1, 1, 1], [0, 0, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 1]]]]> : tensor<1x1x6x3xi32>
  %len6 = arith.constant dense<6> : tensor<1xi32>
  %h = "adamas.l1_topk"(%q7, %k7, %len6) {k = 3 : i64, bits = 3 : i64, recent = 0 : i64}
      : (tensor<1x1x1x3xi32>, tensor<1x1x6x3xi32>, tensor<1xi32>) -> tensor<1x1x1x3xi32>
  %hc = tensor.cast %h : tensor<1x1x1x3xi32> to tensor<?x?x?x?xi32>
  call @print(%hc) : (tensor<?x?x?x?xi32>) -> ()
  // CHECK:      sizes = [1, 1, 1, 3]
  // CHECK-NEXT: {{\[\[\[\[}}2, 3, 5]]]]
  %i = "adamas.l1_topk"(%q7, %k7, %len6) {k = 4 : i64, bits = 3 : i64, recent = 0 : i64}
      : (tensor<1x1x1x3xi32>, tensor<1x1x6x3xi32>, tensor<1xi32>) -> tensor<1x1x1x4xi32>
  %ic = tensor.cast %i : tensor<1x1x1x4xi32> to tensor<?x?x?x?xi32>
  call @print(%ic) : (tensor<?x?x?x?xi32>) -> ()
  // CHECK:      sizes = [1, 1, 1, 4]
  // CHECK-NEXT: {{\[\[\[\[}}2, 3, 4, 5]]]]
  return
}
