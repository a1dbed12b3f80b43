// RUN: adamas-opt %s -adamas-lower-to-gpu -split-input-file -verify-diagnostics
// What the GPU lowering cannot do is a diagnostic on the op, never a kernel.

func.func @not_a_step(%x: tensor<1x4x1x128xf16>) -> tensor<1x4x1x128xf16> {
  %h = adamas.hadamard %x : tensor<1x4x1x128xf16>
  // expected-error @+1 {{'arith.addf' op cannot be lowered by adamas-lower-to-gpu: a decode-step function may hold only adamas ops}}
  %y = arith.addf %h, %h : tensor<1x4x1x128xf16>
  return %y : tensor<1x4x1x128xf16>
}

// -----

func.func @short_rows(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{'adamas.hadamard' op cannot be lowered to the GPU: the GPU encode kernel needs a row length D that is a power of two in [32, 1024], got D = 16}}
  %h = adamas.hadamard %x : tensor<4x16xf32>
  return %h : tensor<4x16xf32>
}

// -----

func.func @dynamic_heads(%qc: tensor<1x?x1x8xi32>, %kc: tensor<1x?x?x8xi32>, %len: tensor<1xi32>) -> tensor<1x?x1x16xi32> {
  // expected-error @+1 {{'adamas.l1_topk' op cannot be lowered to the GPU: heads and M must be static}}
  %idx = adamas.l1_topk %qc, %kc, %len {k = 16 : i64} : tensor<1x?x1x8xi32>, tensor<1x?x?x8xi32>, tensor<1xi32> -> tensor<1x?x1x16xi32>
  return %idx : tensor<1x?x1x16xi32>
}

// -----

func.func @wide_heads(%q: tensor<1x4x1x512xf16>, %k: tensor<1x4x?x512xf16>, %i: tensor<1x4x1x8xi32>) -> tensor<1x4x1x512xf16> {
  // expected-error @+1 {{'adamas.sparse_attn' op cannot be lowered to the GPU: the GPU attend kernel needs D and Dv multiples of 32 up to 256, got D = 512, Dv = 512}}
  %o = adamas.sparse_attn %q, %k, %k, %i : tensor<1x4x1x512xf16>, tensor<1x4x?x512xf16>, tensor<1x4x?x512xf16>, tensor<1x4x1x8xi32> -> tensor<1x4x1x512xf16>
  return %o : tensor<1x4x1x512xf16>
}

// -----

func.func @too_many_bins(%qc: tensor<1x1x1x96xi32>, %kc: tensor<1x1x?x96xi32>, %len: tensor<1xi32>) -> tensor<1x1x1x8xi32> {
  // expected-error @+1 {{'adamas.l1_topk' op cannot be lowered to the GPU: D = 1024 with bits = 3 has 7169 distance bins, too many for shared memory}}
  %idx = adamas.l1_topk %qc, %kc, %len {k = 8 : i64, bits = 3 : i64} : tensor<1x1x1x96xi32>, tensor<1x1x?x96xi32>, tensor<1xi32> -> tensor<1x1x1x8xi32>
  return %idx : tensor<1x1x1x8xi32>
}

// -----

func.func @raw_rows_into_cache(%rows: tensor<1x2x1x8xi32>, %cache: tensor<1x2x?x8xi32>, %len: tensor<1xi32>) -> tensor<1x2x?x8xi32> {
  // expected-error @+1 {{'adamas.cache_write' op cannot be lowered to the GPU: only the codes of a bucketize (used by nothing else) can be written into a cache}}
  %c = adamas.cache_write %rows into %cache at %len : tensor<1x2x1x8xi32> into tensor<1x2x?x8xi32>, tensor<1xi32>
  return %c : tensor<1x2x?x8xi32>
}

// -----

func.func @old_cache_read(%k: tensor<1x2x1x128xf16>, %cache: tensor<1x2x?x8xi32>, %len: tensor<1xi32>, %qc: tensor<1x2x1x8xi32>)
    -> (tensor<1x2x?x8xi32>, tensor<1x2x1x8xi32>) {
  %h = adamas.hadamard %k : tensor<1x2x1x128xf16>
  %kc = adamas.bucketize %h [-10.0, 0.0, 10.0] : tensor<1x2x1x128xf16> -> tensor<1x2x1x8xi32>
  // expected-error @+1 {{'adamas.cache_write' op cannot be lowered to the GPU: its 'cache' is updated in place, so the cache before the write may have no other use}}
  %c = adamas.cache_write %kc into %cache at %len : tensor<1x2x1x8xi32> into tensor<1x2x?x8xi32>, tensor<1xi32>
  %idx = adamas.l1_topk %qc, %cache, %len {k = 8 : i64} : tensor<1x2x1x8xi32>, tensor<1x2x?x8xi32>, tensor<1xi32> -> tensor<1x2x1x8xi32>
  return %c, %idx : tensor<1x2x?x8xi32>, tensor<1x2x1x8xi32>
}

// -----

// expected-error @+1 {{'func.func' op cannot be lowered to the GPU: an argument is returned unchanged}}
func.func @passthrough(%x: tensor<1x4x1x128xf16>) -> (tensor<1x4x1x128xf16>, tensor<1x4x1x128xf16>) {
  %h = adamas.hadamard %x : tensor<1x4x1x128xf16>
  return %h, %x : tensor<1x4x1x128xf16>, tensor<1x4x1x128xf16>
}
