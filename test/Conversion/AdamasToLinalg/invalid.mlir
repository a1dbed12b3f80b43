// RUN: adamas-opt %s -split-input-file -verify-diagnostics \
// RUN:   --mlir-very-unsafe-disable-verifier-on-parsing -verify-each=0 \
// RUN:   -adamas-lower-to-linalg
//
// An op that the lowering cannot build valid IR for (only reachable with the
// verifier off) makes the pass fail with a diagnostic; it never prints a
// type that does not parse again.

// Issue 11: the histogram size overflowed for W near 2^58 and the pipeline
// exited 0 printing memref<-9223372036854775807xindex>.
func.func @l1_topk_huge_words(%q: tensor<1x4x1x288230376151711744xi32>, %k: tensor<1x4x16x288230376151711744xi32>, %l: tensor<1xi32>) -> tensor<1x4x1x2xi32> {
  // expected-error @+2 {{'adamas.l1_topk' op cannot be lowered: words per row (W) must be static, a multiple of 'bits' and at most 2048}}
  // expected-error @+1 {{failed to legalize operation 'adamas.l1_topk'}}
  %0 = adamas.l1_topk %q, %k, %l {k = 2 : i64} : tensor<1x4x1x288230376151711744xi32>, tensor<1x4x16x288230376151711744xi32>, tensor<1xi32> -> tensor<1x4x1x2xi32>
  return %0 : tensor<1x4x1x2xi32>
}

// -----

func.func @bucketize_huge_d(%x: tensor<2x4611686018427387904xf32>) -> tensor<2x288230376151711744xi32> {
  // expected-error @+2 {{'adamas.bucketize' op cannot be lowered: the last dimension of 'input' (D) must be a static multiple of 32 in [32, 32768]}}
  // expected-error @+1 {{failed to legalize operation 'adamas.bucketize'}}
  %0 = adamas.bucketize %x [-1.0, 0.0, 1.0] : tensor<2x4611686018427387904xf32> -> tensor<2x288230376151711744xi32>
  return %0 : tensor<2x288230376151711744xi32>
}
