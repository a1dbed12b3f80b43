// Run-time verification of the dynamic-size rules of DESIGN.md section 2
// (issue 11): each kernel below takes fully dynamic operands, and each entry
// point calls one with sizes that break one rule. With
// adamas-cpu-pipeline{runtime-verification=1} the program stops before the
// op with a message on stderr that names the op, the operand and the rule.
// Without it, the sizes that used to divide by zero or write out of bounds
// give a defined result.

// DEFINE: %{run} = mlir-runner -entry-point-result=void -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils
// RUN: adamas-opt %s -adamas-cpu-pipeline="runtime-verification=1" > %t.checked.mlir
// RUN: adamas-opt %s -adamas-cpu-pipeline > %t.plain.mlir

// Consistent sizes pass the checks and compute what they compute unchecked.
// RUN: %{run} -e topk_ok %t.checked.mlir | FileCheck %s --check-prefix=TOPK-OK
// RUN: %{run} -e attn_ok %t.checked.mlir | FileCheck %s --check-prefix=ATTN-OK
// RUN: %{run} -e codes_ok %t.checked.mlir | FileCheck %s --check-prefix=CODES-OK

// RUN: not --crash %{run} -e topk_lengths_batch %t.checked.mlir 2> %t.err
// RUN: FileCheck %s --check-prefix=TOPK-LENGTHS < %t.err
// RUN: not --crash %{run} -e topk_key_batch %t.checked.mlir 2> %t.err
// RUN: FileCheck %s --check-prefix=TOPK-KEY-BATCH < %t.err
// RUN: not --crash %{run} -e topk_words %t.checked.mlir 2> %t.err
// RUN: FileCheck %s --check-prefix=TOPK-WORDS < %t.err
// RUN: not --crash %{run} -e topk_heads_divide %t.checked.mlir 2> %t.err
// RUN: FileCheck %s --check-prefix=TOPK-HEADS < %t.err
// RUN: not --crash %{run} -e topk_zero_kv_heads %t.checked.mlir 2> %t.err
// RUN: FileCheck %s --check-prefix=TOPK-ZERO-KV < %t.err
// RUN: not --crash %{run} -e topk_shared_zero_q_heads %t.checked.mlir 2> %t.err
// RUN: FileCheck %s --check-prefix=TOPK-ZERO-Q < %t.err
// RUN: not --crash %{run} -e topk_static_result %t.checked.mlir 2> %t.err
// RUN: FileCheck %s --check-prefix=TOPK-RESULT < %t.err

// RUN: not --crash %{run} -e attn_values_tokens %t.checked.mlir 2> %t.err
// RUN: FileCheck %s --check-prefix=ATTN-VALUES-N < %t.err
// RUN: not --crash %{run} -e attn_index_heads %t.checked.mlir 2> %t.err
// RUN: FileCheck %s --check-prefix=ATTN-INDEX-HEADS < %t.err
// RUN: not --crash %{run} -e attn_zero_kv_heads %t.checked.mlir 2> %t.err
// RUN: FileCheck %s --check-prefix=ATTN-ZERO-KV < %t.err
// RUN: not --crash %{run} -e attn_keys_dim %t.checked.mlir 2> %t.err
// RUN: FileCheck %s --check-prefix=ATTN-KEYS-D < %t.err
// RUN: not --crash %{run} -e attn_index_batch %t.checked.mlir 2> %t.err
// RUN: FileCheck %s --check-prefix=ATTN-INDEX-B < %t.err

// RUN: not --crash %{run} -e codes_head_thresholds %t.checked.mlir 2> %t.err
// RUN: FileCheck %s --check-prefix=CODES-HEADS < %t.err
// RUN: not --crash %{run} -e codes_static_result %t.checked.mlir 2> %t.err
// RUN: FileCheck %s --check-prefix=CODES-RESULT < %t.err

// Unchecked, zero heads neither divide by zero (SIGFPE before issue 11) nor
// index the histogram out of bounds (hist[2147483647] before issue 11).
// RUN: %{run} -e topk_zero_kv_heads %t.plain.mlir | FileCheck %s --check-prefix=PLAIN-TOPK-ZERO-KV
// RUN: %{run} -e topk_shared_zero_q_heads %t.plain.mlir | FileCheck %s --check-prefix=PLAIN-TOPK-ZERO-Q
// RUN: %{run} -e attn_zero_kv_heads %t.plain.mlir | FileCheck %s --check-prefix=PLAIN-ATTN-ZERO-KV

func.func private @printMemrefI32(tensor<*xi32>)
func.func private @printMemrefF32(tensor<*xf32>)

//===----------------------------------------------------------------------===//
// l1_topk (b = 2, D = 32: W = 2 words; k = 2, recent 1)
//===----------------------------------------------------------------------===//

func.func @topk(%q: tensor<?x?x?x2xi32>, %k: tensor<?x?x?x?xi32>, %len: tensor<?xi32>) {
  %r = adamas.l1_topk %q, %k, %len {k = 2 : i64}
      : tensor<?x?x?x2xi32>, tensor<?x?x?x?xi32>, tensor<?xi32> -> tensor<?x?x?x2xi32>
  %u = tensor.cast %r : tensor<?x?x?x2xi32> to tensor<*xi32>
  call @printMemrefI32(%u) : (tensor<*xi32>) -> ()
  return
}

func.func @topk_shared(%q: tensor<?x?x?x2xi32>, %k: tensor<?x?x?x?xi32>, %len: tensor<?xi32>) {
  %r = adamas.l1_topk %q, %k, %len {k = 2 : i64, shared_group = true}
      : tensor<?x?x?x2xi32>, tensor<?x?x?x?xi32>, tensor<?xi32> -> tensor<?x?x?x2xi32>
  %u = tensor.cast %r : tensor<?x?x?x2xi32> to tensor<*xi32>
  call @printMemrefI32(%u) : (tensor<*xi32>) -> ()
  return
}

// Hq = 2, Hkv = 1, N = 5, all codes 0: every distance is 0. Position 4 is
// recent; the tie for the other slot goes to the larger position, 3.
// TOPK-OK:      sizes = [1, 2, 1, 2]
// TOPK-OK-NEXT: {{\[\[\[\[}}3, 4]],
// TOPK-OK-NEXT:  {{\[\[}}3, 4]]]]
func.func @topk_ok() {
  %q = arith.constant dense<0> : tensor<1x2x1x2xi32>
  %k = arith.constant dense<0> : tensor<1x1x5x2xi32>
  %len = arith.constant dense<5> : tensor<1xi32>
  %qd = tensor.cast %q : tensor<1x2x1x2xi32> to tensor<?x?x?x2xi32>
  %kd = tensor.cast %k : tensor<1x1x5x2xi32> to tensor<?x?x?x?xi32>
  %ld = tensor.cast %len : tensor<1xi32> to tensor<?xi32>
  call @topk(%qd, %kd, %ld) : (tensor<?x?x?x2xi32>, tensor<?x?x?x?xi32>, tensor<?xi32>) -> ()
  return
}

// TOPK-LENGTHS:      ERROR: Runtime op verification failed
// TOPK-LENGTHS-NEXT: adamas.l1_topk
// TOPK-LENGTHS-NEXT: ^ 'adamas.l1_topk' op 'lengths' dimension 0 (B) must equal B of 'query_codes'
// TOPK-LENGTHS-NEXT: Location: loc(
func.func @topk_lengths_batch() {
  %q = arith.constant dense<0> : tensor<2x1x1x2xi32>
  %k = arith.constant dense<0> : tensor<2x1x5x2xi32>
  %len = arith.constant dense<5> : tensor<1xi32>
  %qd = tensor.cast %q : tensor<2x1x1x2xi32> to tensor<?x?x?x2xi32>
  %kd = tensor.cast %k : tensor<2x1x5x2xi32> to tensor<?x?x?x?xi32>
  %ld = tensor.cast %len : tensor<1xi32> to tensor<?xi32>
  call @topk(%qd, %kd, %ld) : (tensor<?x?x?x2xi32>, tensor<?x?x?x?xi32>, tensor<?xi32>) -> ()
  return
}

// TOPK-KEY-BATCH: ^ 'adamas.l1_topk' op 'key_codes' dimension 0 (B) must equal B of 'query_codes'
func.func @topk_key_batch() {
  %q = arith.constant dense<0> : tensor<2x1x1x2xi32>
  %k = arith.constant dense<0> : tensor<1x1x5x2xi32>
  %len = arith.constant dense<5> : tensor<2xi32>
  %qd = tensor.cast %q : tensor<2x1x1x2xi32> to tensor<?x?x?x2xi32>
  %kd = tensor.cast %k : tensor<1x1x5x2xi32> to tensor<?x?x?x?xi32>
  %ld = tensor.cast %len : tensor<2xi32> to tensor<?xi32>
  call @topk(%qd, %kd, %ld) : (tensor<?x?x?x2xi32>, tensor<?x?x?x?xi32>, tensor<?xi32>) -> ()
  return
}

// TOPK-WORDS: ^ 'adamas.l1_topk' op 'key_codes' dimension 3 (W) must equal W of 'query_codes'
func.func @topk_words() {
  %q = arith.constant dense<0> : tensor<1x1x1x2xi32>
  %k = arith.constant dense<0> : tensor<1x1x5x4xi32>
  %len = arith.constant dense<5> : tensor<1xi32>
  %qd = tensor.cast %q : tensor<1x1x1x2xi32> to tensor<?x?x?x2xi32>
  %kd = tensor.cast %k : tensor<1x1x5x4xi32> to tensor<?x?x?x?xi32>
  %ld = tensor.cast %len : tensor<1xi32> to tensor<?xi32>
  call @topk(%qd, %kd, %ld) : (tensor<?x?x?x2xi32>, tensor<?x?x?x?xi32>, tensor<?xi32>) -> ()
  return
}

// TOPK-HEADS: ^ 'adamas.l1_topk' op 'query_codes' heads (Hq) must be a multiple of 'key_codes' heads (Hkv)
func.func @topk_heads_divide() {
  %q = arith.constant dense<0> : tensor<1x3x1x2xi32>
  %k = arith.constant dense<0> : tensor<1x2x5x2xi32>
  %len = arith.constant dense<5> : tensor<1xi32>
  %qd = tensor.cast %q : tensor<1x3x1x2xi32> to tensor<?x?x?x2xi32>
  %kd = tensor.cast %k : tensor<1x2x5x2xi32> to tensor<?x?x?x?xi32>
  %ld = tensor.cast %len : tensor<1xi32> to tensor<?xi32>
  call @topk(%qd, %kd, %ld) : (tensor<?x?x?x2xi32>, tensor<?x?x?x?xi32>, tensor<?xi32>) -> ()
  return
}

// TOPK-ZERO-KV: ^ 'adamas.l1_topk' op 'key_codes' heads (Hkv) must be positive
// Unchecked: no query head has a KV head, so every row sees nothing.
// PLAIN-TOPK-ZERO-KV:      sizes = [1, 2, 1, 2]
// PLAIN-TOPK-ZERO-KV-NEXT: {{\[\[\[\[}}-1, -1]],
// PLAIN-TOPK-ZERO-KV-NEXT:  {{\[\[}}-1, -1]]]]
func.func @topk_zero_kv_heads() {
  %q = arith.constant dense<0> : tensor<1x2x1x2xi32>
  %k = tensor.empty() : tensor<1x0x5x2xi32>
  %len = arith.constant dense<5> : tensor<1xi32>
  %qd = tensor.cast %q : tensor<1x2x1x2xi32> to tensor<?x?x?x2xi32>
  %kd = tensor.cast %k : tensor<1x0x5x2xi32> to tensor<?x?x?x?xi32>
  %ld = tensor.cast %len : tensor<1xi32> to tensor<?xi32>
  call @topk(%qd, %kd, %ld) : (tensor<?x?x?x2xi32>, tensor<?x?x?x?xi32>, tensor<?xi32>) -> ()
  return
}

// TOPK-ZERO-Q: ^ 'adamas.l1_topk' op 'query_codes' heads (Hq) must be positive
// Unchecked: the empty group ranks every position at the largest distance;
// recent 4, then the tie goes to the larger position, 3.
// PLAIN-TOPK-ZERO-Q:      sizes = [1, 1, 1, 2]
// PLAIN-TOPK-ZERO-Q-NEXT: {{\[\[\[\[}}3, 4]]]]
func.func @topk_shared_zero_q_heads() {
  %q = tensor.empty() : tensor<1x0x1x2xi32>
  %k = arith.constant dense<0> : tensor<1x1x5x2xi32>
  %len = arith.constant dense<5> : tensor<1xi32>
  %qd = tensor.cast %q : tensor<1x0x1x2xi32> to tensor<?x?x?x2xi32>
  %kd = tensor.cast %k : tensor<1x1x5x2xi32> to tensor<?x?x?x?xi32>
  %ld = tensor.cast %len : tensor<1xi32> to tensor<?xi32>
  call @topk_shared(%qd, %kd, %ld) : (tensor<?x?x?x2xi32>, tensor<?x?x?x?xi32>, tensor<?xi32>) -> ()
  return
}

// A static result beside dynamic operands: the rows it has must be the rows
// the operands have, or the lowering would write past the result.
// TOPK-RESULT: ^ 'adamas.l1_topk' op 'result' dimension 1 (H') must equal Hq of 'query_codes'
func.func @topk_to_static(%q: tensor<1x?x1x2xi32>, %k: tensor<1x?x?x2xi32>, %len: tensor<1xi32>) {
  %r = adamas.l1_topk %q, %k, %len {k = 2 : i64}
      : tensor<1x?x1x2xi32>, tensor<1x?x?x2xi32>, tensor<1xi32> -> tensor<1x2x1x2xi32>
  %u = tensor.cast %r : tensor<1x2x1x2xi32> to tensor<*xi32>
  call @printMemrefI32(%u) : (tensor<*xi32>) -> ()
  return
}

func.func @topk_static_result() {
  %q = arith.constant dense<0> : tensor<1x4x1x2xi32>
  %k = arith.constant dense<0> : tensor<1x1x5x2xi32>
  %len = arith.constant dense<5> : tensor<1xi32>
  %qd = tensor.cast %q : tensor<1x4x1x2xi32> to tensor<1x?x1x2xi32>
  %kd = tensor.cast %k : tensor<1x1x5x2xi32> to tensor<1x?x?x2xi32>
  call @topk_to_static(%qd, %kd, %len) : (tensor<1x?x1x2xi32>, tensor<1x?x?x2xi32>, tensor<1xi32>) -> ()
  return
}

//===----------------------------------------------------------------------===//
// sparse_attn (D = 4)
//===----------------------------------------------------------------------===//

func.func @attn(%q: tensor<?x?x?x4xf32>, %k: tensor<?x?x?x?xf32>, %v: tensor<?x?x?x?xf32>, %i: tensor<?x?x?x?xi32>) {
  %r = adamas.sparse_attn %q, %k, %v, %i
      : tensor<?x?x?x4xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xi32> -> tensor<?x?x?x?xf32>
  %u = tensor.cast %r : tensor<?x?x?x?xf32> to tensor<*xf32>
  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()
  return
}

// Hq = 2 sharing the index row of the one KV head; every value is 2, so any
// softmax over valid positions gives 2.
// ATTN-OK:      sizes = [1, 2, 1, 2]
// ATTN-OK-NEXT: {{\[\[\[\[}}2, 2]],
// ATTN-OK-NEXT:  {{\[\[}}2, 2]]]]
func.func @attn_ok() {
  %q = arith.constant dense<0.5> : tensor<1x2x1x4xf32>
  %k = arith.constant dense<1.0> : tensor<1x1x3x4xf32>
  %v = arith.constant dense<2.0> : tensor<1x1x3x2xf32>
  %i = arith.constant dense<[[[[0, 2]]]]> : tensor<1x1x1x2xi32>
  %qd = tensor.cast %q : tensor<1x2x1x4xf32> to tensor<?x?x?x4xf32>
  %kd = tensor.cast %k : tensor<1x1x3x4xf32> to tensor<?x?x?x?xf32>
  %vd = tensor.cast %v : tensor<1x1x3x2xf32> to tensor<?x?x?x?xf32>
  %id = tensor.cast %i : tensor<1x1x1x2xi32> to tensor<?x?x?x?xi32>
  call @attn(%qd, %kd, %vd, %id) : (tensor<?x?x?x4xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xi32>) -> ()
  return
}

// ATTN-VALUES-N:      ERROR: Runtime op verification failed
// ATTN-VALUES-N-NEXT: adamas.sparse_attn
// ATTN-VALUES-N-NEXT: ^ 'adamas.sparse_attn' op 'values' dimension 2 (N) must equal N of 'keys'
func.func @attn_values_tokens() {
  %q = arith.constant dense<0.5> : tensor<1x2x1x4xf32>
  %k = arith.constant dense<1.0> : tensor<1x1x3x4xf32>
  %v = arith.constant dense<2.0> : tensor<1x1x2x2xf32>
  %i = arith.constant dense<[[[[0, 2]]]]> : tensor<1x1x1x2xi32>
  %qd = tensor.cast %q : tensor<1x2x1x4xf32> to tensor<?x?x?x4xf32>
  %kd = tensor.cast %k : tensor<1x1x3x4xf32> to tensor<?x?x?x?xf32>
  %vd = tensor.cast %v : tensor<1x1x2x2xf32> to tensor<?x?x?x?xf32>
  %id = tensor.cast %i : tensor<1x1x1x2xi32> to tensor<?x?x?x?xi32>
  call @attn(%qd, %kd, %vd, %id) : (tensor<?x?x?x4xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xi32>) -> ()
  return
}

// ATTN-INDEX-HEADS: ^ 'adamas.sparse_attn' op 'indices' heads (H') must equal the heads of 'query' (Hq) or of 'keys' (Hkv)
func.func @attn_index_heads() {
  %q = arith.constant dense<0.5> : tensor<1x2x1x4xf32>
  %k = arith.constant dense<1.0> : tensor<1x1x3x4xf32>
  %v = arith.constant dense<2.0> : tensor<1x1x3x2xf32>
  %i = arith.constant dense<0> : tensor<1x3x1x2xi32>
  %qd = tensor.cast %q : tensor<1x2x1x4xf32> to tensor<?x?x?x4xf32>
  %kd = tensor.cast %k : tensor<1x1x3x4xf32> to tensor<?x?x?x?xf32>
  %vd = tensor.cast %v : tensor<1x1x3x2xf32> to tensor<?x?x?x?xf32>
  %id = tensor.cast %i : tensor<1x3x1x2xi32> to tensor<?x?x?x?xi32>
  call @attn(%qd, %kd, %vd, %id) : (tensor<?x?x?x4xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xi32>) -> ()
  return
}

// ATTN-ZERO-KV: ^ 'adamas.sparse_attn' op 'keys' heads (Hkv) must be positive
// Unchecked: no row has a KV head, so every row yields zeros.
// PLAIN-ATTN-ZERO-KV:      sizes = [1, 2, 1, 2]
// PLAIN-ATTN-ZERO-KV-NEXT: {{\[\[\[\[}}0, 0]],
// PLAIN-ATTN-ZERO-KV-NEXT:  {{\[\[}}0, 0]]]]
func.func @attn_zero_kv_heads() {
  %q = arith.constant dense<0.5> : tensor<1x2x1x4xf32>
  %k = tensor.empty() : tensor<1x0x3x4xf32>
  %v = tensor.empty() : tensor<1x0x3x2xf32>
  %i = arith.constant dense<0> : tensor<1x2x1x2xi32>
  %qd = tensor.cast %q : tensor<1x2x1x4xf32> to tensor<?x?x?x4xf32>
  %kd = tensor.cast %k : tensor<1x0x3x4xf32> to tensor<?x?x?x?xf32>
  %vd = tensor.cast %v : tensor<1x0x3x2xf32> to tensor<?x?x?x?xf32>
  %id = tensor.cast %i : tensor<1x2x1x2xi32> to tensor<?x?x?x?xi32>
  call @attn(%qd, %kd, %vd, %id) : (tensor<?x?x?x4xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xi32>) -> ()
  return
}

// ATTN-KEYS-D: ^ 'adamas.sparse_attn' op 'keys' dimension 3 (D) must equal D of 'query'
func.func @attn_keys_dim() {
  %q = arith.constant dense<0.5> : tensor<1x2x1x4xf32>
  %k = arith.constant dense<1.0> : tensor<1x1x3x2xf32>
  %v = arith.constant dense<2.0> : tensor<1x1x3x2xf32>
  %i = arith.constant dense<0> : tensor<1x1x1x2xi32>
  %qd = tensor.cast %q : tensor<1x2x1x4xf32> to tensor<?x?x?x4xf32>
  %kd = tensor.cast %k : tensor<1x1x3x2xf32> to tensor<?x?x?x?xf32>
  %vd = tensor.cast %v : tensor<1x1x3x2xf32> to tensor<?x?x?x?xf32>
  %id = tensor.cast %i : tensor<1x1x1x2xi32> to tensor<?x?x?x?xi32>
  call @attn(%qd, %kd, %vd, %id) : (tensor<?x?x?x4xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xi32>) -> ()
  return
}

// ATTN-INDEX-B: ^ 'adamas.sparse_attn' op 'indices' dimension 0 (B) must equal B of 'query'
func.func @attn_index_batch() {
  %q = arith.constant dense<0.5> : tensor<2x2x1x4xf32>
  %k = arith.constant dense<1.0> : tensor<2x1x3x4xf32>
  %v = arith.constant dense<2.0> : tensor<2x1x3x2xf32>
  %i = arith.constant dense<0> : tensor<1x1x1x2xi32>
  %qd = tensor.cast %q : tensor<2x2x1x4xf32> to tensor<?x?x?x4xf32>
  %kd = tensor.cast %k : tensor<2x1x3x4xf32> to tensor<?x?x?x?xf32>
  %vd = tensor.cast %v : tensor<2x1x3x2xf32> to tensor<?x?x?x?xf32>
  %id = tensor.cast %i : tensor<1x1x1x2xi32> to tensor<?x?x?x?xi32>
  call @attn(%qd, %kd, %vd, %id) : (tensor<?x?x?x4xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xi32>) -> ()
  return
}

//===----------------------------------------------------------------------===//
// bucketize (D = 32, b = 1: one word)
//===----------------------------------------------------------------------===//

func.func @codes(%x: tensor<?x?x?x32xf32>, %t: tensor<?x1xf32>) {
  %r = adamas.bucketize %x [0.0] per_head %t
      : tensor<?x?x?x32xf32>, tensor<?x1xf32> -> tensor<?x?x?x1xi32>
  %u = tensor.cast %r : tensor<?x?x?x1xi32> to tensor<*xi32>
  call @printMemrefI32(%u) : (tensor<*xi32>) -> ()
  return
}

// Every element is 1: head 0 (threshold 0) sets all 32 bits, head 1
// (threshold 2) none.
// CODES-OK:      sizes = [1, 2, 1, 1]
// CODES-OK-NEXT: {{\[\[\[\[}}-1]],
// CODES-OK-NEXT:  {{\[\[}}0]]]]
func.func @codes_ok() {
  %x = arith.constant dense<1.0> : tensor<1x2x1x32xf32>
  %t = arith.constant dense<[[0.0], [2.0]]> : tensor<2x1xf32>
  %xd = tensor.cast %x : tensor<1x2x1x32xf32> to tensor<?x?x?x32xf32>
  %td = tensor.cast %t : tensor<2x1xf32> to tensor<?x1xf32>
  call @codes(%xd, %td) : (tensor<?x?x?x32xf32>, tensor<?x1xf32>) -> ()
  return
}

// CODES-HEADS:      ERROR: Runtime op verification failed
// CODES-HEADS-NEXT: adamas.bucketize
// CODES-HEADS-NEXT: ^ 'adamas.bucketize' op 'head_thresholds' dimension 0 (H) must equal the heads of 'input'
func.func @codes_head_thresholds() {
  %x = arith.constant dense<1.0> : tensor<1x2x1x32xf32>
  %t = arith.constant dense<0.0> : tensor<1x1xf32>
  %xd = tensor.cast %x : tensor<1x2x1x32xf32> to tensor<?x?x?x32xf32>
  %td = tensor.cast %t : tensor<1x1xf32> to tensor<?x1xf32>
  call @codes(%xd, %td) : (tensor<?x?x?x32xf32>, tensor<?x1xf32>) -> ()
  return
}

// CODES-RESULT: ^ 'adamas.bucketize' op 'result' dimension 0 (size) must equal the same dimension of 'input'
func.func @codes_to_static(%x: tensor<?x32xf32>) {
  %r = adamas.bucketize %x [0.0] : tensor<?x32xf32> -> tensor<2x1xi32>
  %u = tensor.cast %r : tensor<2x1xi32> to tensor<*xi32>
  call @printMemrefI32(%u) : (tensor<*xi32>) -> ()
  return
}

func.func @codes_static_result() {
  %x = arith.constant dense<1.0> : tensor<3x32xf32>
  %xd = tensor.cast %x : tensor<3x32xf32> to tensor<?x32xf32>
  call @codes_to_static(%xd) : (tensor<?x32xf32>) -> ()
  return
}
