// RUN: adamas-opt %s -split-input-file -verify-diagnostics
// One case per verifier rule of DESIGN.md section 2.

//===----------------------------------------------------------------------===//
// adamas.hadamard
//===----------------------------------------------------------------------===//

func.func @hadamard_rank0(%x: tensor<f32>) {
  // expected-error @+1 {{'input' must have rank >= 1}}
  %0 = adamas.hadamard %x : tensor<f32>
  return
}

// -----

func.func @hadamard_int(%x: tensor<4x8xi32>) {
  // expected-error @+1 {{'input' element type must be f16, bf16 or f32, got 'i32'}}
  %0 = adamas.hadamard %x : tensor<4x8xi32>
  return
}

// -----

func.func @hadamard_f64(%x: tensor<4x8xf64>) {
  // expected-error @+1 {{'input' element type must be f16, bf16 or f32, got 'f64'}}
  %0 = adamas.hadamard %x : tensor<4x8xf64>
  return
}

// -----

func.func @hadamard_dynamic_d(%x: tensor<4x?xf32>) {
  // expected-error @+1 {{'input' last dimension (D) must be static}}
  %0 = adamas.hadamard %x : tensor<4x?xf32>
  return
}

// -----

func.func @hadamard_not_pow2(%x: tensor<4x100xf32>) {
  // expected-error @+1 {{'input' last dimension (D = 100) must be a power of two in [2, 32768]}}
  %0 = adamas.hadamard %x : tensor<4x100xf32>
  return
}

// -----

func.func @hadamard_d1(%x: tensor<4x1xf32>) {
  // expected-error @+1 {{'input' last dimension (D = 1) must be a power of two in [2, 32768]}}
  %0 = adamas.hadamard %x : tensor<4x1xf32>
  return
}

// -----

func.func @hadamard_too_large(%x: tensor<65536xf16>) {
  // expected-error @+1 {{'input' last dimension (D = 65536) must be a power of two in [2, 32768]}}
  %0 = adamas.hadamard %x : tensor<65536xf16>
  return
}

// -----

func.func @hadamard_result_type(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{requires the same type for all operands and results}}
  %0 = "adamas.hadamard"(%x) : (tensor<4x8xf32>) -> tensor<4x8xf16>
  return
}

// -----

func.func @hadamard_unranked(%x: tensor<*xf32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of any type values}}
  %0 = "adamas.hadamard"(%x) : (tensor<*xf32>) -> tensor<*xf32>
  return
}

//===----------------------------------------------------------------------===//
// adamas.bucketize
//===----------------------------------------------------------------------===//

// -----

func.func @bucketize_rank0(%x: tensor<f32>) {
  // expected-error @+1 {{'input' must have rank >= 1}}
  %0 = "adamas.bucketize"(%x) {thresholds = array<f32: 0.0>} : (tensor<f32>) -> tensor<i32>
  return
}

// -----

func.func @bucketize_int_input(%x: tensor<2x32xi8>) {
  // expected-error @+1 {{'input' element type must be f16, bf16 or f32, got 'i8'}}
  %0 = adamas.bucketize %x [0.0] : tensor<2x32xi8> -> tensor<2x1xi32>
  return
}

// -----

func.func @bucketize_d_not_multiple_of_32(%x: tensor<2x48xf32>) {
  // expected-error @+1 {{'input' last dimension (D = 48) must be a static, positive multiple of 32}}
  %0 = adamas.bucketize %x [0.0] : tensor<2x48xf32> -> tensor<2x1xi32>
  return
}

// -----

func.func @bucketize_d_dynamic(%x: tensor<2x?xf32>) {
  // expected-error @+1 {{'input' last dimension (D = ?) must be a static, positive multiple of 32}}
  %0 = adamas.bucketize %x [0.0] : tensor<2x?xf32> -> tensor<2x1xi32>
  return
}

// -----

func.func @bucketize_two_thresholds(%x: tensor<2x32xf32>) {
  // expected-error @+1 {{'thresholds' must have 1, 3 or 7 values (b = 1, 2 or 3 bits), got 2}}
  %0 = adamas.bucketize %x [0.0, 1.0] : tensor<2x32xf32> -> tensor<2x2xi32>
  return
}

// -----

func.func @bucketize_no_thresholds(%x: tensor<2x32xf32>) {
  // expected-error @+1 {{'thresholds' must have 1, 3 or 7 values (b = 1, 2 or 3 bits), got 0}}
  %0 = "adamas.bucketize"(%x) {thresholds = array<f32>} : (tensor<2x32xf32>) -> tensor<2x1xi32>
  return
}

// -----

func.func @bucketize_inf_threshold(%x: tensor<2x32xf32>) {
  // expected-error @+1 {{'thresholds' must be finite, value #2 is INF}}
  %0 = "adamas.bucketize"(%x) {thresholds = array<f32: -1.0, 0.0, 0x7F800000>} : (tensor<2x32xf32>) -> tensor<2x2xi32>
  return
}

// -----

func.func @bucketize_nan_threshold(%x: tensor<2x32xf32>) {
  // expected-error @+1 {{'thresholds' must be finite, value #0 is nan}}
  %0 = "adamas.bucketize"(%x) {thresholds = array<f32: 0x7FC00000>} : (tensor<2x32xf32>) -> tensor<2x1xi32>
  return
}

// -----

func.func @bucketize_not_increasing(%x: tensor<2x32xf32>) {
  // expected-error @+1 {{'thresholds' must be strictly increasing, value #2 (0.000000e+00) is not greater than value #1 (0.000000e+00)}}
  %0 = adamas.bucketize %x [-1.0, 0.0, 0.0] : tensor<2x32xf32> -> tensor<2x2xi32>
  return
}

// -----

func.func @bucketize_decreasing(%x: tensor<2x32xf32>) {
  // expected-error @+1 {{'thresholds' must be strictly increasing, value #1 (-1.000000e+00) is not greater than value #0 (1.000000e+00)}}
  %0 = adamas.bucketize %x [1.0, -1.0, 2.0] : tensor<2x32xf32> -> tensor<2x2xi32>
  return
}

// -----

func.func @bucketize_result_rank(%x: tensor<2x32xf32>) {
  // expected-error @+1 {{'result' must have rank 2 (the rank of 'input'), got rank 1}}
  %0 = adamas.bucketize %x [0.0] : tensor<2x32xf32> -> tensor<2xi32>
  return
}

// -----

func.func @bucketize_result_type(%x: tensor<2x32xf32>) {
  // expected-error @+1 {{'result' element type must be i32, got 'i64'}}
  %0 = adamas.bucketize %x [0.0] : tensor<2x32xf32> -> tensor<2x1xi64>
  return
}

// -----

func.func @bucketize_result_batch(%x: tensor<2x32xf32>) {
  // expected-error @+1 {{'result' dimension 0 (size = 3) must equal the same dimension of 'input' (2)}}
  %0 = adamas.bucketize %x [0.0] : tensor<2x32xf32> -> tensor<3x1xi32>
  return
}

// -----

func.func @bucketize_result_words(%x: tensor<2x128xf32>) {
  // 128 dims at 2 bits are 8 words.
  // expected-error @+1 {{'result' dimension 1 (W = 4) must equal D * bits / 32 (8)}}
  %0 = adamas.bucketize %x [-1.0, 0.0, 1.0] : tensor<2x128xf32> -> tensor<2x4xi32>
  return
}

// -----

// Issue 11: D * bits overflowed for a huge D (2^62 * 2 wraps), so the verifier
// accepted a wrong W and rejected the right one (2^58). D is bounded first.
func.func @bucketize_huge_d(%x: tensor<2x4611686018427387904xf32>) {
  // expected-error @+1 {{'input' last dimension (D = 4611686018427387904) must be at most 32768}}
  %0 = adamas.bucketize %x [-1.0, 0.0, 1.0] : tensor<2x4611686018427387904xf32> -> tensor<2x288230376151711744xi32>
  return
}

// -----

func.func @bucketize_d_above_bound(%x: tensor<2x32800xf32>) {
  // expected-error @+1 {{'input' last dimension (D = 32800) must be at most 32768}}
  %0 = adamas.bucketize %x [0.0] : tensor<2x32800xf32> -> tensor<2x1025xi32>
  return
}

// -----

func.func @bucketize_head_thresholds_rank3(%x: tensor<2x3x32xf32>, %t: tensor<2x1xf32>) {
  // expected-error @+1 {{'head_thresholds' requires a rank-4 BHND 'input', got rank 3}}
  %0 = adamas.bucketize %x [0.0] per_head %t : tensor<2x3x32xf32>, tensor<2x1xf32> -> tensor<2x3x1xi32>
  return
}

// -----

func.func @bucketize_head_thresholds_rank(%x: tensor<1x2x3x32xf32>, %t: tensor<2xf32>) {
  // expected-error @+1 {{'head_thresholds' must have rank 2 (H x (2^b - 1)), got rank 1}}
  %0 = adamas.bucketize %x [0.0] per_head %t : tensor<1x2x3x32xf32>, tensor<2xf32> -> tensor<1x2x3x1xi32>
  return
}

// -----

func.func @bucketize_head_thresholds_type(%x: tensor<1x2x3x32xf32>, %t: tensor<2x1xf16>) {
  // expected-error @+1 {{'head_thresholds' element type must be f32, got 'f16'}}
  %0 = adamas.bucketize %x [0.0] per_head %t : tensor<1x2x3x32xf32>, tensor<2x1xf16> -> tensor<1x2x3x1xi32>
  return
}

// -----

func.func @bucketize_head_thresholds_heads(%x: tensor<1x2x3x32xf32>, %t: tensor<4x1xf32>) {
  // expected-error @+1 {{'head_thresholds' dimension 0 (H = 4) must equal the heads of 'input' (2)}}
  %0 = adamas.bucketize %x [0.0] per_head %t : tensor<1x2x3x32xf32>, tensor<4x1xf32> -> tensor<1x2x3x1xi32>
  return
}

// -----

func.func @bucketize_head_thresholds_row(%x: tensor<1x2x3x32xf32>, %t: tensor<2x3xf32>) {
  // expected-error @+1 {{'head_thresholds' dimension 1 (thresholds = 3) must equal 2^b - 1 for b fixed by 'thresholds' (1)}}
  %0 = adamas.bucketize %x [0.0] per_head %t : tensor<1x2x3x32xf32>, tensor<2x3xf32> -> tensor<1x2x3x1xi32>
  return
}

// -----

func.func @bucketize_head_thresholds_dynamic_row(%x: tensor<1x2x3x32xf32>, %t: tensor<2x?xf32>) {
  // expected-error @+1 {{'head_thresholds' dimension 1 (2^b - 1) must be static}}
  %0 = adamas.bucketize %x [0.0] per_head %t : tensor<1x2x3x32xf32>, tensor<2x?xf32> -> tensor<1x2x3x1xi32>
  return
}

//===----------------------------------------------------------------------===//
// adamas.l1_topk
//===----------------------------------------------------------------------===//

// -----

func.func @l1_topk_query_rank(%q: tensor<4x1x8xi32>, %k: tensor<1x4x16x8xi32>, %l: tensor<1xi32>) {
  // expected-error @+1 {{'query_codes' must have rank 4 (B x Hq x M x W), got rank 3}}
  %0 = "adamas.l1_topk"(%q, %k, %l) {k = 4 : i64} : (tensor<4x1x8xi32>, tensor<1x4x16x8xi32>, tensor<1xi32>) -> tensor<1x4x1x4xi32>
  return
}

// -----

func.func @l1_topk_query_type(%q: tensor<1x4x1x8xi64>, %k: tensor<1x4x16x8xi32>, %l: tensor<1xi32>) {
  // expected-error @+1 {{'query_codes' element type must be i32, got 'i64'}}
  %0 = "adamas.l1_topk"(%q, %k, %l) {k = 4 : i64} : (tensor<1x4x1x8xi64>, tensor<1x4x16x8xi32>, tensor<1xi32>) -> tensor<1x4x1x4xi32>
  return
}

// -----

func.func @l1_topk_key_rank(%q: tensor<1x4x1x8xi32>, %k: tensor<4x16x8xi32>, %l: tensor<1xi32>) {
  // expected-error @+1 {{'key_codes' must have rank 4 (B x Hkv x N x W), got rank 3}}
  %0 = "adamas.l1_topk"(%q, %k, %l) {k = 4 : i64} : (tensor<1x4x1x8xi32>, tensor<4x16x8xi32>, tensor<1xi32>) -> tensor<1x4x1x4xi32>
  return
}

// -----

func.func @l1_topk_key_type(%q: tensor<1x4x1x8xi32>, %k: tensor<1x4x16x8xf32>, %l: tensor<1xi32>) {
  // expected-error @+1 {{'key_codes' element type must be i32, got 'f32'}}
  %0 = "adamas.l1_topk"(%q, %k, %l) {k = 4 : i64} : (tensor<1x4x1x8xi32>, tensor<1x4x16x8xf32>, tensor<1xi32>) -> tensor<1x4x1x4xi32>
  return
}

// -----

func.func @l1_topk_lengths_rank(%q: tensor<1x4x1x8xi32>, %k: tensor<1x4x16x8xi32>, %l: tensor<i32>) {
  // expected-error @+1 {{'lengths' must have rank 1 (B), got rank 0}}
  %0 = "adamas.l1_topk"(%q, %k, %l) {k = 4 : i64} : (tensor<1x4x1x8xi32>, tensor<1x4x16x8xi32>, tensor<i32>) -> tensor<1x4x1x4xi32>
  return
}

// -----

func.func @l1_topk_lengths_type(%q: tensor<1x4x1x8xi32>, %k: tensor<1x4x16x8xi32>, %l: tensor<1xindex>) {
  // expected-error @+1 {{'lengths' element type must be i32, got 'index'}}
  %0 = "adamas.l1_topk"(%q, %k, %l) {k = 4 : i64} : (tensor<1x4x1x8xi32>, tensor<1x4x16x8xi32>, tensor<1xindex>) -> tensor<1x4x1x4xi32>
  return
}

// -----

func.func @l1_topk_k_zero(%q: tensor<1x4x1x8xi32>, %k: tensor<1x4x16x8xi32>, %l: tensor<1xi32>) {
  // expected-error @+1 {{'k' must be positive, got 0}}
  %0 = "adamas.l1_topk"(%q, %k, %l) {k = 0 : i64, recent = 0 : i64} : (tensor<1x4x1x8xi32>, tensor<1x4x16x8xi32>, tensor<1xi32>) -> tensor<1x4x1x0xi32>
  return
}

// -----

func.func @l1_topk_k_negative(%q: tensor<1x4x1x8xi32>, %k: tensor<1x4x16x8xi32>, %l: tensor<1xi32>) {
  // expected-error @+1 {{'k' must be positive, got -3}}
  %0 = "adamas.l1_topk"(%q, %k, %l) {k = -3 : i64} : (tensor<1x4x1x8xi32>, tensor<1x4x16x8xi32>, tensor<1xi32>) -> tensor<1x4x1x4xi32>
  return
}

// -----

func.func @l1_topk_missing_k(%q: tensor<1x4x1x8xi32>, %k: tensor<1x4x16x8xi32>, %l: tensor<1xi32>) {
  // expected-error @+1 {{requires attribute 'k'}}
  %0 = "adamas.l1_topk"(%q, %k, %l) : (tensor<1x4x1x8xi32>, tensor<1x4x16x8xi32>, tensor<1xi32>) -> tensor<1x4x1x4xi32>
  return
}

// -----

func.func @l1_topk_bits(%q: tensor<1x4x1x8xi32>, %k: tensor<1x4x16x8xi32>, %l: tensor<1xi32>) {
  // expected-error @+1 {{'bits' must be 1, 2 or 3, got 4}}
  %0 = "adamas.l1_topk"(%q, %k, %l) {k = 4 : i64, bits = 4 : i64} : (tensor<1x4x1x8xi32>, tensor<1x4x16x8xi32>, tensor<1xi32>) -> tensor<1x4x1x4xi32>
  return
}

// -----

func.func @l1_topk_bits_zero(%q: tensor<1x4x1x8xi32>, %k: tensor<1x4x16x8xi32>, %l: tensor<1xi32>) {
  // expected-error @+1 {{'bits' must be 1, 2 or 3, got 0}}
  %0 = "adamas.l1_topk"(%q, %k, %l) {k = 4 : i64, bits = 0 : i64} : (tensor<1x4x1x8xi32>, tensor<1x4x16x8xi32>, tensor<1xi32>) -> tensor<1x4x1x4xi32>
  return
}

// -----

func.func @l1_topk_sink(%q: tensor<1x4x1x8xi32>, %k: tensor<1x4x16x8xi32>, %l: tensor<1xi32>) {
  // expected-error @+1 {{'sink' must be non-negative, got -1}}
  %0 = "adamas.l1_topk"(%q, %k, %l) {k = 4 : i64, sink = -1 : i64} : (tensor<1x4x1x8xi32>, tensor<1x4x16x8xi32>, tensor<1xi32>) -> tensor<1x4x1x4xi32>
  return
}

// -----

func.func @l1_topk_recent(%q: tensor<1x4x1x8xi32>, %k: tensor<1x4x16x8xi32>, %l: tensor<1xi32>) {
  // expected-error @+1 {{'recent' must be non-negative, got -2}}
  %0 = "adamas.l1_topk"(%q, %k, %l) {k = 4 : i64, recent = -2 : i64} : (tensor<1x4x1x8xi32>, tensor<1x4x16x8xi32>, tensor<1xi32>) -> tensor<1x4x1x4xi32>
  return
}

// -----

func.func @l1_topk_sink_recent_exceed_k(%q: tensor<1x4x1x8xi32>, %k: tensor<1x4x16x8xi32>, %l: tensor<1xi32>) {
  // expected-error @+1 {{'sink' (3) + 'recent' (2) must not exceed 'k' (4)}}
  %0 = adamas.l1_topk %q, %k, %l {k = 4 : i64, sink = 3 : i64, recent = 2 : i64} : tensor<1x4x1x8xi32>, tensor<1x4x16x8xi32>, tensor<1xi32> -> tensor<1x4x1x4xi32>
  return
}

// -----

// Issue 11: sink + recent overflowed (2^62 + 2^62 wraps negative), so this
// verified and the lowered program wrote past slot k - 1.
func.func @l1_topk_sink_recent_overflow(%q: tensor<1x4x1x8xi32>, %k: tensor<1x4x16x8xi32>, %l: tensor<1xi32>) {
  // expected-error @+1 {{'sink' (4611686018427387904) + 'recent' (4611686018427387904) must not exceed 'k' (2)}}
  %0 = adamas.l1_topk %q, %k, %l {k = 2 : i64, sink = 4611686018427387904 : i64, recent = 4611686018427387904 : i64} : tensor<1x4x1x8xi32>, tensor<1x4x16x8xi32>, tensor<1xi32> -> tensor<1x4x1x2xi32>
  return
}

// -----

func.func @l1_topk_sink_exceeds_k(%q: tensor<1x4x1x8xi32>, %k: tensor<1x4x16x8xi32>, %l: tensor<1xi32>) {
  // expected-error @+1 {{'sink' (9223372036854775807) + 'recent' (0) must not exceed 'k' (2)}}
  %0 = adamas.l1_topk %q, %k, %l {k = 2 : i64, sink = 9223372036854775807 : i64, recent = 0 : i64} : tensor<1x4x1x8xi32>, tensor<1x4x16x8xi32>, tensor<1xi32> -> tensor<1x4x1x2xi32>
  return
}

// -----

func.func @l1_topk_k_above_i32(%q: tensor<1x4x1x8xi32>, %k: tensor<1x4x16x8xi32>, %l: tensor<1xi32>) {
  // expected-error @+1 {{'k' must be at most 2147483647 (positions are i32), got 2147483648}}
  %0 = adamas.l1_topk %q, %k, %l {k = 2147483648 : i64} : tensor<1x4x1x8xi32>, tensor<1x4x16x8xi32>, tensor<1xi32> -> tensor<1x4x1x2147483648xi32>
  return
}

// -----

func.func @l1_topk_key_batch(%q: tensor<2x4x1x8xi32>, %k: tensor<3x4x16x8xi32>, %l: tensor<2xi32>) {
  // expected-error @+1 {{'key_codes' dimension 0 (B = 3) must equal B of 'query_codes' (2)}}
  %0 = adamas.l1_topk %q, %k, %l {k = 4 : i64} : tensor<2x4x1x8xi32>, tensor<3x4x16x8xi32>, tensor<2xi32> -> tensor<2x4x1x4xi32>
  return
}

// -----

func.func @l1_topk_lengths_batch(%q: tensor<2x4x1x8xi32>, %k: tensor<2x4x16x8xi32>, %l: tensor<1xi32>) {
  // expected-error @+1 {{'lengths' dimension 0 (B = 1) must equal B of 'query_codes' (2)}}
  %0 = adamas.l1_topk %q, %k, %l {k = 4 : i64} : tensor<2x4x1x8xi32>, tensor<2x4x16x8xi32>, tensor<1xi32> -> tensor<2x4x1x4xi32>
  return
}

// -----

func.func @l1_topk_words(%q: tensor<1x4x1x8xi32>, %k: tensor<1x4x16x4xi32>, %l: tensor<1xi32>) {
  // expected-error @+1 {{'key_codes' dimension 3 (W = 4) must equal W of 'query_codes' (8)}}
  %0 = adamas.l1_topk %q, %k, %l {k = 4 : i64} : tensor<1x4x1x8xi32>, tensor<1x4x16x4xi32>, tensor<1xi32> -> tensor<1x4x1x4xi32>
  return
}

// -----

func.func @l1_topk_words_dynamic(%q: tensor<1x4x1x?xi32>, %k: tensor<1x4x16x?xi32>, %l: tensor<1xi32>) {
  // expected-error @+1 {{words per row (W) must be static in 'query_codes' or 'key_codes'}}
  %0 = adamas.l1_topk %q, %k, %l {k = 4 : i64} : tensor<1x4x1x?xi32>, tensor<1x4x16x?xi32>, tensor<1xi32> -> tensor<1x4x1x4xi32>
  return
}

// -----

func.func @l1_topk_words_not_multiple_of_bits(%q: tensor<1x4x1x8xi32>, %k: tensor<1x4x16x8xi32>, %l: tensor<1xi32>) {
  // expected-error @+1 {{'query_codes' words per row (W = 8) must be a multiple of 'bits' (3)}}
  %0 = adamas.l1_topk %q, %k, %l {k = 4 : i64, bits = 3 : i64} : tensor<1x4x1x8xi32>, tensor<1x4x16x8xi32>, tensor<1xi32> -> tensor<1x4x1x4xi32>
  return
}

// -----

// Issue 11: the histogram size (2^b - 1) * 32 * W / b + 1 overflowed for W
// near 2^58 and the pipeline printed memref<-9223372036854775807xindex>.
func.func @l1_topk_huge_words(%q: tensor<1x4x1x288230376151711744xi32>, %k: tensor<1x4x16x288230376151711744xi32>, %l: tensor<1xi32>) {
  // expected-error @+1 {{'query_codes' words per row (W = 288230376151711744) must be at most 2048 (D = 32 * W / 'bits' at most 32768)}}
  %0 = adamas.l1_topk %q, %k, %l {k = 2 : i64} : tensor<1x4x1x288230376151711744xi32>, tensor<1x4x16x288230376151711744xi32>, tensor<1xi32> -> tensor<1x4x1x2xi32>
  return
}

// -----

func.func @l1_topk_words_above_bound(%q: tensor<1x4x1x?xi32>, %k: tensor<1x4x16x3075xi32>, %l: tensor<1xi32>) {
  // expected-error @+1 {{'query_codes' words per row (W = 3075) must be at most 3072 (D = 32 * W / 'bits' at most 32768)}}
  %0 = adamas.l1_topk %q, %k, %l {k = 2 : i64, bits = 3 : i64} : tensor<1x4x1x?xi32>, tensor<1x4x16x3075xi32>, tensor<1xi32> -> tensor<1x4x1x2xi32>
  return
}

// -----

func.func @l1_topk_tokens_above_i32(%q: tensor<1x4x1x8xi32>, %k: tensor<1x4x2147483648x8xi32>, %l: tensor<1xi32>) {
  // expected-error @+1 {{'key_codes' dimension 2 (N = 2147483648) must be at most 2147483647 (positions are i32)}}
  %0 = adamas.l1_topk %q, %k, %l {k = 2 : i64} : tensor<1x4x1x8xi32>, tensor<1x4x2147483648x8xi32>, tensor<1xi32> -> tensor<1x4x1x2xi32>
  return
}

// -----

func.func @l1_topk_heads(%q: tensor<1x6x1x8xi32>, %k: tensor<1x4x16x8xi32>, %l: tensor<1xi32>) {
  // expected-error @+1 {{'query_codes' heads (Hq = 6) must be a multiple of 'key_codes' heads (Hkv = 4)}}
  %0 = adamas.l1_topk %q, %k, %l {k = 4 : i64} : tensor<1x6x1x8xi32>, tensor<1x4x16x8xi32>, tensor<1xi32> -> tensor<1x6x1x4xi32>
  return
}

// -----

// Issue 11: Hq = 0 with shared_group wrote hist[2147483647] (the minimum over
// an empty group).
func.func @l1_topk_zero_query_heads(%q: tensor<1x0x1x8xi32>, %k: tensor<1x4x16x8xi32>, %l: tensor<1xi32>) {
  // expected-error @+1 {{'query_codes' heads (Hq = 0) must be positive}}
  %0 = adamas.l1_topk %q, %k, %l {k = 4 : i64, shared_group = true} : tensor<1x0x1x8xi32>, tensor<1x4x16x8xi32>, tensor<1xi32> -> tensor<1x4x1x4xi32>
  return
}

// -----

// Issue 11: a static Hkv = 0 beside a dynamic Hq skipped the heads rule and
// the lowered program divided by zero (SIGFPE).
func.func @l1_topk_zero_kv_heads_dynamic_hq(%q: tensor<1x?x1x8xi32>, %k: tensor<1x0x16x8xi32>, %l: tensor<1xi32>) {
  // expected-error @+1 {{'key_codes' heads (Hkv = 0) must be positive}}
  %0 = adamas.l1_topk %q, %k, %l {k = 4 : i64} : tensor<1x?x1x8xi32>, tensor<1x0x16x8xi32>, tensor<1xi32> -> tensor<1x?x1x4xi32>
  return
}

// -----

func.func @l1_topk_result_rank(%q: tensor<1x4x1x8xi32>, %k: tensor<1x4x16x8xi32>, %l: tensor<1xi32>) {
  // expected-error @+1 {{'result' must have rank 4 (B x H' x M x k), got rank 3}}
  %0 = adamas.l1_topk %q, %k, %l {k = 4 : i64} : tensor<1x4x1x8xi32>, tensor<1x4x16x8xi32>, tensor<1xi32> -> tensor<4x1x4xi32>
  return
}

// -----

func.func @l1_topk_result_type(%q: tensor<1x4x1x8xi32>, %k: tensor<1x4x16x8xi32>, %l: tensor<1xi32>) {
  // expected-error @+1 {{'result' element type must be i32, got 'i64'}}
  %0 = adamas.l1_topk %q, %k, %l {k = 4 : i64} : tensor<1x4x1x8xi32>, tensor<1x4x16x8xi32>, tensor<1xi32> -> tensor<1x4x1x4xi64>
  return
}

// -----

func.func @l1_topk_result_batch(%q: tensor<1x4x1x8xi32>, %k: tensor<1x4x16x8xi32>, %l: tensor<1xi32>) {
  // expected-error @+1 {{'result' dimension 0 (B = 2) must equal B of 'query_codes' (1)}}
  %0 = adamas.l1_topk %q, %k, %l {k = 4 : i64} : tensor<1x4x1x8xi32>, tensor<1x4x16x8xi32>, tensor<1xi32> -> tensor<2x4x1x4xi32>
  return
}

// -----

func.func @l1_topk_result_heads(%q: tensor<1x8x1x8xi32>, %k: tensor<1x2x16x8xi32>, %l: tensor<1xi32>) {
  // expected-error @+1 {{'result' dimension 1 (H' = 2) must equal Hq of 'query_codes' (8)}}
  %0 = adamas.l1_topk %q, %k, %l {k = 4 : i64} : tensor<1x8x1x8xi32>, tensor<1x2x16x8xi32>, tensor<1xi32> -> tensor<1x2x1x4xi32>
  return
}

// -----

func.func @l1_topk_result_heads_shared(%q: tensor<1x8x1x8xi32>, %k: tensor<1x2x16x8xi32>, %l: tensor<1xi32>) {
  // expected-error @+1 {{'result' dimension 1 (H' = 8) must equal Hkv of 'key_codes' (shared_group) (2)}}
  %0 = adamas.l1_topk %q, %k, %l {k = 4 : i64, shared_group = true} : tensor<1x8x1x8xi32>, tensor<1x2x16x8xi32>, tensor<1xi32> -> tensor<1x8x1x4xi32>
  return
}

// -----

func.func @l1_topk_result_rows(%q: tensor<1x4x3x8xi32>, %k: tensor<1x4x16x8xi32>, %l: tensor<1xi32>) {
  // expected-error @+1 {{'result' dimension 2 (M = 1) must equal M of 'query_codes' (3)}}
  %0 = adamas.l1_topk %q, %k, %l {k = 4 : i64} : tensor<1x4x3x8xi32>, tensor<1x4x16x8xi32>, tensor<1xi32> -> tensor<1x4x1x4xi32>
  return
}

// -----

func.func @l1_topk_result_k(%q: tensor<1x4x1x8xi32>, %k: tensor<1x4x16x8xi32>, %l: tensor<1xi32>) {
  // expected-error @+1 {{'result' dimension 3 must equal 'k' (4), got 5}}
  %0 = adamas.l1_topk %q, %k, %l {k = 4 : i64} : tensor<1x4x1x8xi32>, tensor<1x4x16x8xi32>, tensor<1xi32> -> tensor<1x4x1x5xi32>
  return
}

// -----

func.func @l1_topk_result_k_dynamic(%q: tensor<1x4x1x8xi32>, %k: tensor<1x4x16x8xi32>, %l: tensor<1xi32>) {
  // expected-error @+1 {{'result' dimension 3 must equal 'k' (4), got ?}}
  %0 = adamas.l1_topk %q, %k, %l {k = 4 : i64} : tensor<1x4x1x8xi32>, tensor<1x4x16x8xi32>, tensor<1xi32> -> tensor<1x4x1x?xi32>
  return
}

//===----------------------------------------------------------------------===//
// adamas.sparse_attn
//===----------------------------------------------------------------------===//

// -----

func.func @sparse_attn_query_rank(%q: tensor<4x1x16xf32>, %k: tensor<1x4x8x16xf32>, %i: tensor<1x4x1x2xi32>) {
  // expected-error @+1 {{'query' must have rank 4 (B x Hq x M x D), got rank 3}}
  %0 = "adamas.sparse_attn"(%q, %k, %k, %i) : (tensor<4x1x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x1x2xi32>) -> tensor<1x4x1x16xf32>
  return
}

// -----

func.func @sparse_attn_query_type(%q: tensor<1x4x1x16xi32>, %k: tensor<1x4x8x16xi32>, %i: tensor<1x4x1x2xi32>) {
  // expected-error @+1 {{'query' element type must be f16, bf16 or f32, got 'i32'}}
  %0 = adamas.sparse_attn %q, %k, %k, %i : tensor<1x4x1x16xi32>, tensor<1x4x8x16xi32>, tensor<1x4x8x16xi32>, tensor<1x4x1x2xi32> -> tensor<1x4x1x16xi32>
  return
}

// -----

func.func @sparse_attn_keys_rank(%q: tensor<1x4x1x16xf32>, %k: tensor<4x8x16xf32>, %v: tensor<1x4x8x16xf32>, %i: tensor<1x4x1x2xi32>) {
  // expected-error @+1 {{'keys' must have rank 4 (B x Hkv x N x D), got rank 3}}
  %0 = adamas.sparse_attn %q, %k, %v, %i : tensor<1x4x1x16xf32>, tensor<4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x1x2xi32> -> tensor<1x4x1x16xf32>
  return
}

// -----

func.func @sparse_attn_values_rank(%q: tensor<1x4x1x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16x1xf32>, %i: tensor<1x4x1x2xi32>) {
  // expected-error @+1 {{'values' must have rank 4 (B x Hkv x N x Dv), got rank 5}}
  %0 = adamas.sparse_attn %q, %k, %v, %i : tensor<1x4x1x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16x1xf32>, tensor<1x4x1x2xi32> -> tensor<1x4x1x16xf32>
  return
}

// -----

func.func @sparse_attn_indices_rank(%q: tensor<1x4x1x16xf32>, %k: tensor<1x4x8x16xf32>, %i: tensor<1x4x2xi32>) {
  // expected-error @+1 {{'indices' must have rank 4 (B x H' x M x K), got rank 3}}
  %0 = adamas.sparse_attn %q, %k, %k, %i : tensor<1x4x1x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x2xi32> -> tensor<1x4x1x16xf32>
  return
}

// -----

func.func @sparse_attn_indices_type(%q: tensor<1x4x1x16xf32>, %k: tensor<1x4x8x16xf32>, %i: tensor<1x4x1x2xi64>) {
  // expected-error @+1 {{'indices' element type must be i32, got 'i64'}}
  %0 = adamas.sparse_attn %q, %k, %k, %i : tensor<1x4x1x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x1x2xi64> -> tensor<1x4x1x16xf32>
  return
}

// -----

func.func @sparse_attn_keys_type(%q: tensor<1x4x1x16xf32>, %k: tensor<1x4x8x16xf16>, %v: tensor<1x4x8x16xf32>, %i: tensor<1x4x1x2xi32>) {
  // expected-error @+1 {{'keys' element type must match 'query' ('f32'), got 'f16'}}
  %0 = adamas.sparse_attn %q, %k, %v, %i : tensor<1x4x1x16xf32>, tensor<1x4x8x16xf16>, tensor<1x4x8x16xf32>, tensor<1x4x1x2xi32> -> tensor<1x4x1x16xf32>
  return
}

// -----

func.func @sparse_attn_values_type(%q: tensor<1x4x1x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xbf16>, %i: tensor<1x4x1x2xi32>) {
  // expected-error @+1 {{'values' element type must match 'query' ('f32'), got 'bf16'}}
  %0 = adamas.sparse_attn %q, %k, %v, %i : tensor<1x4x1x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xbf16>, tensor<1x4x1x2xi32> -> tensor<1x4x1x16xf32>
  return
}

// -----

func.func @sparse_attn_dynamic_d(%q: tensor<1x4x1x?xf32>, %k: tensor<1x4x8x?xf32>, %i: tensor<1x4x1x2xi32>) {
  // expected-error @+1 {{'query' dimension 3 (D) must be static}}
  %0 = adamas.sparse_attn %q, %k, %k, %i : tensor<1x4x1x?xf32>, tensor<1x4x8x?xf32>, tensor<1x4x8x?xf32>, tensor<1x4x1x2xi32> -> tensor<1x4x1x?xf32>
  return
}

// -----

func.func @sparse_attn_zero_d(%q: tensor<1x4x1x0xf32>, %k: tensor<1x4x8x0xf32>, %i: tensor<1x4x1x2xi32>) {
  // expected-error @+1 {{'query' dimension 3 (D) must be positive}}
  %0 = adamas.sparse_attn %q, %k, %k, %i : tensor<1x4x1x0xf32>, tensor<1x4x8x0xf32>, tensor<1x4x8x0xf32>, tensor<1x4x1x2xi32> -> tensor<1x4x1x0xf32>
  return
}

// -----

func.func @sparse_attn_keys_batch(%q: tensor<2x4x1x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<2x4x8x16xf32>, %i: tensor<2x4x1x2xi32>) {
  // expected-error @+1 {{'keys' dimension 0 (B = 1) must equal B of 'query' (2)}}
  %0 = adamas.sparse_attn %q, %k, %v, %i : tensor<2x4x1x16xf32>, tensor<1x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x1x2xi32> -> tensor<2x4x1x16xf32>
  return
}

// -----

func.func @sparse_attn_values_batch(%q: tensor<2x4x1x16xf32>, %k: tensor<2x4x8x16xf32>, %v: tensor<3x4x8x16xf32>, %i: tensor<2x4x1x2xi32>) {
  // expected-error @+1 {{'values' dimension 0 (B = 3) must equal B of 'query' (2)}}
  %0 = adamas.sparse_attn %q, %k, %v, %i : tensor<2x4x1x16xf32>, tensor<2x4x8x16xf32>, tensor<3x4x8x16xf32>, tensor<2x4x1x2xi32> -> tensor<2x4x1x16xf32>
  return
}

// -----

func.func @sparse_attn_indices_batch(%q: tensor<2x4x1x16xf32>, %k: tensor<2x4x8x16xf32>, %i: tensor<1x4x1x2xi32>) {
  // expected-error @+1 {{'indices' dimension 0 (B = 1) must equal B of 'query' (2)}}
  %0 = adamas.sparse_attn %q, %k, %k, %i : tensor<2x4x1x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<1x4x1x2xi32> -> tensor<2x4x1x16xf32>
  return
}

// -----

func.func @sparse_attn_keys_dim(%q: tensor<1x4x1x16xf32>, %k: tensor<1x4x8x32xf32>, %v: tensor<1x4x8x16xf32>, %i: tensor<1x4x1x2xi32>) {
  // expected-error @+1 {{'keys' dimension 3 (D = 32) must equal D of 'query' (16)}}
  %0 = adamas.sparse_attn %q, %k, %v, %i : tensor<1x4x1x16xf32>, tensor<1x4x8x32xf32>, tensor<1x4x8x16xf32>, tensor<1x4x1x2xi32> -> tensor<1x4x1x16xf32>
  return
}

// -----

func.func @sparse_attn_values_heads(%q: tensor<1x4x1x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x2x8x16xf32>, %i: tensor<1x4x1x2xi32>) {
  // expected-error @+1 {{'values' dimension 1 (Hkv = 2) must equal Hkv of 'keys' (4)}}
  %0 = adamas.sparse_attn %q, %k, %v, %i : tensor<1x4x1x16xf32>, tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x4x1x2xi32> -> tensor<1x4x1x16xf32>
  return
}

// -----

func.func @sparse_attn_values_tokens(%q: tensor<1x4x1x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x9x16xf32>, %i: tensor<1x4x1x2xi32>) {
  // expected-error @+1 {{'values' dimension 2 (N = 9) must equal N of 'keys' (8)}}
  %0 = adamas.sparse_attn %q, %k, %v, %i : tensor<1x4x1x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x9x16xf32>, tensor<1x4x1x2xi32> -> tensor<1x4x1x16xf32>
  return
}

// -----

func.func @sparse_attn_heads(%q: tensor<1x6x1x16xf32>, %k: tensor<1x4x8x16xf32>, %i: tensor<1x6x1x2xi32>) {
  // expected-error @+1 {{'query' heads (Hq = 6) must be a multiple of 'keys' heads (Hkv = 4)}}
  %0 = adamas.sparse_attn %q, %k, %k, %i : tensor<1x6x1x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x6x1x2xi32> -> tensor<1x6x1x16xf32>
  return
}

// -----

// Issue 11: a static Hkv = 0 beside a dynamic Hq divided by zero (SIGFPE).
func.func @sparse_attn_zero_kv_heads_dynamic_hq(%q: tensor<1x?x1x16xf32>, %k: tensor<1x0x8x16xf32>, %i: tensor<1x?x1x2xi32>) {
  // expected-error @+1 {{'keys' heads (Hkv = 0) must be positive}}
  %0 = adamas.sparse_attn %q, %k, %k, %i : tensor<1x?x1x16xf32>, tensor<1x0x8x16xf32>, tensor<1x0x8x16xf32>, tensor<1x?x1x2xi32> -> tensor<1x?x1x16xf32>
  return
}

// -----

func.func @sparse_attn_zero_query_heads(%q: tensor<1x0x1x16xf32>, %k: tensor<1x?x8x16xf32>, %i: tensor<1x0x1x2xi32>) {
  // expected-error @+1 {{'query' heads (Hq = 0) must be positive}}
  %0 = adamas.sparse_attn %q, %k, %k, %i : tensor<1x0x1x16xf32>, tensor<1x?x8x16xf32>, tensor<1x?x8x16xf32>, tensor<1x0x1x2xi32> -> tensor<1x0x1x16xf32>
  return
}

// -----

func.func @sparse_attn_indices_rows(%q: tensor<1x4x2x16xf32>, %k: tensor<1x4x8x16xf32>, %i: tensor<1x4x1x2xi32>) {
  // expected-error @+1 {{'indices' dimension 2 (M = 1) must equal M of 'query' (2)}}
  %0 = adamas.sparse_attn %q, %k, %k, %i : tensor<1x4x2x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x1x2xi32> -> tensor<1x4x2x16xf32>
  return
}

// -----

func.func @sparse_attn_indices_heads(%q: tensor<1x8x1x16xf32>, %k: tensor<1x2x8x16xf32>, %i: tensor<1x4x1x2xi32>) {
  // expected-error @+1 {{'indices' heads (H' = 4) must equal the heads of 'query' (Hq = 8) or of 'keys' (Hkv = 2)}}
  %0 = adamas.sparse_attn %q, %k, %k, %i : tensor<1x8x1x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x4x1x2xi32> -> tensor<1x8x1x16xf32>
  return
}

// -----

// With Hkv dynamic, H' = Hkv would still have to divide Hq.
func.func @sparse_attn_indices_heads_not_divisor(%q: tensor<1x8x1x16xf32>, %k: tensor<1x?x8x16xf32>, %i: tensor<1x3x1x2xi32>) {
  // expected-error @+1 {{'indices' heads (H' = 3) must equal the heads of 'query' (Hq = 8) or of 'keys' (Hkv = ?)}}
  %0 = adamas.sparse_attn %q, %k, %k, %i : tensor<1x8x1x16xf32>, tensor<1x?x8x16xf32>, tensor<1x?x8x16xf32>, tensor<1x3x1x2xi32> -> tensor<1x8x1x16xf32>
  return
}

// -----

func.func @sparse_attn_indices_zero_heads(%q: tensor<1x?x1x16xf32>, %k: tensor<1x?x8x16xf32>, %i: tensor<1x0x1x2xi32>) {
  // expected-error @+1 {{'indices' heads (H' = 0) must be positive}}
  %0 = adamas.sparse_attn %q, %k, %k, %i : tensor<1x?x1x16xf32>, tensor<1x?x8x16xf32>, tensor<1x?x8x16xf32>, tensor<1x0x1x2xi32> -> tensor<1x?x1x16xf32>
  return
}

// -----

// With Hq dynamic, H' = Hq would still have to be a multiple of Hkv.
func.func @sparse_attn_indices_heads_not_multiple(%q: tensor<1x?x1x16xf32>, %k: tensor<1x2x8x16xf32>, %i: tensor<1x3x1x2xi32>) {
  // expected-error @+1 {{'indices' heads (H' = 3) must equal the heads of 'query' (Hq = ?) or of 'keys' (Hkv = 2)}}
  %0 = adamas.sparse_attn %q, %k, %k, %i : tensor<1x?x1x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x3x1x2xi32> -> tensor<1x?x1x16xf32>
  return
}

// -----

func.func @sparse_attn_result_rank(%q: tensor<1x4x1x16xf32>, %k: tensor<1x4x8x16xf32>, %i: tensor<1x4x1x2xi32>) {
  // expected-error @+1 {{'result' must have rank 4 (B x Hq x M x Dv), got rank 2}}
  %0 = adamas.sparse_attn %q, %k, %k, %i : tensor<1x4x1x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x1x2xi32> -> tensor<4x16xf32>
  return
}

// -----

func.func @sparse_attn_result_type(%q: tensor<1x4x1x16xf16>, %k: tensor<1x4x8x16xf16>, %i: tensor<1x4x1x2xi32>) {
  // expected-error @+1 {{'result' element type must match 'query' ('f16'), got 'f32'}}
  %0 = adamas.sparse_attn %q, %k, %k, %i : tensor<1x4x1x16xf16>, tensor<1x4x8x16xf16>, tensor<1x4x8x16xf16>, tensor<1x4x1x2xi32> -> tensor<1x4x1x16xf32>
  return
}

// -----

func.func @sparse_attn_result_batch(%q: tensor<1x4x1x16xf32>, %k: tensor<1x4x8x16xf32>, %i: tensor<1x4x1x2xi32>) {
  // expected-error @+1 {{'result' dimension 0 (B = 2) must equal B of 'query' (1)}}
  %0 = adamas.sparse_attn %q, %k, %k, %i : tensor<1x4x1x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x1x2xi32> -> tensor<2x4x1x16xf32>
  return
}

// -----

func.func @sparse_attn_result_heads(%q: tensor<1x4x1x16xf32>, %k: tensor<1x2x8x16xf32>, %i: tensor<1x4x1x2xi32>) {
  // expected-error @+1 {{'result' dimension 1 (Hq = 2) must equal Hq of 'query' (4)}}
  %0 = adamas.sparse_attn %q, %k, %k, %i : tensor<1x4x1x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x4x1x2xi32> -> tensor<1x2x1x16xf32>
  return
}

// -----

func.func @sparse_attn_result_rows(%q: tensor<1x4x3x16xf32>, %k: tensor<1x4x8x16xf32>, %i: tensor<1x4x3x2xi32>) {
  // expected-error @+1 {{'result' dimension 2 (M = 1) must equal M of 'query' (3)}}
  %0 = adamas.sparse_attn %q, %k, %k, %i : tensor<1x4x3x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x3x2xi32> -> tensor<1x4x1x16xf32>
  return
}

// -----

func.func @sparse_attn_result_dv(%q: tensor<1x4x1x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x32xf32>, %i: tensor<1x4x1x2xi32>) {
  // expected-error @+1 {{'result' dimension 3 (Dv = 16) must equal Dv of 'values' (32)}}
  %0 = adamas.sparse_attn %q, %k, %v, %i : tensor<1x4x1x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x32xf32>, tensor<1x4x1x2xi32> -> tensor<1x4x1x16xf32>
  return
}

// -----

func.func @sparse_attn_scale(%q: tensor<1x4x1x16xf32>, %k: tensor<1x4x8x16xf32>, %i: tensor<1x4x1x2xi32>) {
  // expected-error @+1 {{'scale' must be finite}}
  %0 = adamas.sparse_attn %q, %k, %k, %i {scale = 0x7F800000 : f32} : tensor<1x4x1x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x1x2xi32> -> tensor<1x4x1x16xf32>
  return
}

// -----

func.func @sparse_attn_scale_type(%q: tensor<1x4x1x16xf32>, %k: tensor<1x4x8x16xf32>, %i: tensor<1x4x1x2xi32>) {
  // expected-error @+1 {{attribute 'scale' failed to satisfy constraint: 32-bit float attribute}}
  %0 = adamas.sparse_attn %q, %k, %k, %i {scale = 2 : i32} : tensor<1x4x1x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x1x2xi32> -> tensor<1x4x1x16xf32>
  return
}

// -----

func.func @cache_write_rank(%r: tensor<2x8x8xi32>, %c: tensor<2x8x9x8xi32>, %l: tensor<2xi32>) {
  // expected-error @+1 {{'rows' must have rank 4 (B x H x M x F), got rank 3}}
  %0 = "adamas.cache_write"(%r, %c, %l) : (tensor<2x8x8xi32>, tensor<2x8x9x8xi32>, tensor<2xi32>) -> tensor<2x8x9x8xi32>
  return
}

// -----

func.func @cache_write_element(%r: tensor<2x8x1x8xf16>, %c: tensor<2x8x9x8xi32>, %l: tensor<2xi32>) {
  // expected-error @+1 {{'rows' element type must match 'cache' ('i32'), got 'f16'}}
  %0 = "adamas.cache_write"(%r, %c, %l) : (tensor<2x8x1x8xf16>, tensor<2x8x9x8xi32>, tensor<2xi32>) -> tensor<2x8x9x8xi32>
  return
}

// -----

func.func @cache_write_heads(%r: tensor<2x4x1x8xi32>, %c: tensor<2x8x9x8xi32>, %l: tensor<2xi32>) {
  // expected-error @+1 {{'rows' dimension 1 (H = 4) must equal H of 'cache' (8)}}
  %0 = adamas.cache_write %r into %c at %l : tensor<2x4x1x8xi32> into tensor<2x8x9x8xi32>, tensor<2xi32>
  return
}

// -----

func.func @cache_write_features(%r: tensor<2x8x1x4xi32>, %c: tensor<2x8x9x8xi32>, %l: tensor<2xi32>) {
  // expected-error @+1 {{'rows' dimension 3 (F = 4) must equal F of 'cache' (8)}}
  %0 = adamas.cache_write %r into %c at %l : tensor<2x8x1x4xi32> into tensor<2x8x9x8xi32>, tensor<2xi32>
  return
}

// -----

func.func @cache_write_lengths(%r: tensor<2x8x1x8xi32>, %c: tensor<2x8x9x8xi32>, %l: tensor<3xi32>) {
  // expected-error @+1 {{'lengths' dimension 0 (B = 3) must equal B of 'cache' (2)}}
  %0 = adamas.cache_write %r into %c at %l : tensor<2x8x1x8xi32> into tensor<2x8x9x8xi32>, tensor<3xi32>
  return
}

// -----

func.func @cache_write_lengths_type(%r: tensor<2x8x1x8xi32>, %c: tensor<2x8x9x8xi32>, %l: tensor<2xi64>) {
  // expected-error @+1 {{'lengths' element type must be i32, got 'i64'}}
  %0 = adamas.cache_write %r into %c at %l : tensor<2x8x1x8xi32> into tensor<2x8x9x8xi32>, tensor<2xi64>
  return
}

// -----

func.func @cache_write_result(%r: tensor<2x8x1x8xi32>, %c: tensor<2x8x9x8xi32>, %l: tensor<2xi32>) {
  // expected-error @+1 {{failed to verify that all of {cache, result} have same type}}
  %0 = "adamas.cache_write"(%r, %c, %l) : (tensor<2x8x1x8xi32>, tensor<2x8x9x8xi32>, tensor<2xi32>) -> tensor<2x8x?x8xi32>
  return
}
