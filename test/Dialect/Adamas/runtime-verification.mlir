// RUN: adamas-opt %s -split-input-file -generate-runtime-verification | FileCheck %s --enable-var-scope
// RUN: adamas-opt %s -split-input-file -generate-runtime-verification=verbose-level=0 | FileCheck %s --check-prefix=TERSE

// The RuntimeVerifiableOpInterface models: one cf.assert before the op per
// size rule of DESIGN.md section 2 that involves a dynamic size, with the
// verifier's wording, naming the op (also at verbose-level=0, where the op is
// not printed), the operand and the rule. Rules over static sizes only are
// the verifier's and get no check. The run-time behaviour is in
// test/Integration/CPU/runtime-verification.mlir.

// CHECK-LABEL: func.func @static_sizes
//   CHECK-NOT:   cf.assert
//       CHECK:   adamas.hadamard
//   CHECK-NOT:   cf.assert
//       CHECK:   adamas.bucketize
//   CHECK-NOT:   cf.assert
//       CHECK:   adamas.l1_topk
//   CHECK-NOT:   cf.assert
//       CHECK:   adamas.sparse_attn
func.func @static_sizes(%x: tensor<1x4x8x32xf32>, %q: tensor<1x4x1x2xi32>, %k: tensor<1x2x8x2xi32>,
                        %l: tensor<1xi32>, %qf: tensor<1x4x1x32xf32>, %kf: tensor<1x2x8x32xf32>,
                        %i: tensor<1x2x1x4xi32>) {
  %0 = adamas.hadamard %x : tensor<1x4x8x32xf32>
  %1 = adamas.bucketize %x [0.0, 1.0, 2.0] : tensor<1x4x8x32xf32> -> tensor<1x4x8x2xi32>
  %2 = adamas.l1_topk %q, %k, %l {k = 4 : i64} : tensor<1x4x1x2xi32>, tensor<1x2x8x2xi32>, tensor<1xi32> -> tensor<1x4x1x4xi32>
  %3 = adamas.sparse_attn %qf, %kf, %kf, %i : tensor<1x4x1x32xf32>, tensor<1x2x8x32xf32>, tensor<1x2x8x32xf32>, tensor<1x2x1x4xi32> -> tensor<1x4x1x32xf32>
  return
}

// -----

// hadamard: one operand of the result's type and a static D, nothing to check.
// CHECK-LABEL: func.func @hadamard_dynamic
//   CHECK-NOT:   cf.assert
func.func @hadamard_dynamic(%x: tensor<?x?x64xf16>) -> tensor<?x?x64xf16> {
  %0 = adamas.hadamard %x : tensor<?x?x64xf16>
  return %0 : tensor<?x?x64xf16>
}

// -----

// CHECK-LABEL: func.func @bucketize_dynamic(
//  CHECK-SAME:     %[[X:.*]]: tensor<?x?x?x32xf32>, %[[T:.*]]: tensor<?x3xf32>)
// The static result dimensions 0 and 1 against the dynamic input ones.
//       CHECK:   %[[B:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<?x?x?x32xf32>
//       CHECK:   %[[EQB:.*]] = arith.cmpi eq, %{{.*}}, %[[B]] : index
//       CHECK:   cf.assert %[[EQB]], "ERROR: Runtime op verification failed\0A{{.*}}adamas.bucketize{{.*}}^ 'adamas.bucketize' op 'result' dimension 0 (size) must equal the same dimension of 'input'
//       CHECK:   cf.assert %{{.*}}, "{{.*}}'result' dimension 1 (size) must equal the same dimension of 'input'
//   CHECK-NOT:   'result' dimension 2
//       CHECK:   %[[ROWS:.*]] = tensor.dim %[[T]], %{{.*}} : tensor<?x3xf32>
//       CHECK:   %[[H:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<?x?x?x32xf32>
//       CHECK:   %[[EQH:.*]] = arith.cmpi eq, %[[ROWS]], %[[H]] : index
//       CHECK:   cf.assert %[[EQH]], "{{.*}}'head_thresholds' dimension 0 (H) must equal the heads of 'input'
//  CHECK-NEXT:   adamas.bucketize
// TERSE-LABEL: func.func @bucketize_dynamic(
//       TERSE:   cf.assert %{{.*}}, "ERROR: Runtime op verification failed\0A^ 'adamas.bucketize' op 'result' dimension 0 (size) must equal the same dimension of 'input'\0ALocation: loc(
func.func @bucketize_dynamic(%x: tensor<?x?x?x32xf32>, %t: tensor<?x3xf32>) -> tensor<2x4x?x2xi32> {
  %0 = adamas.bucketize %x [0.0, 1.0, 2.0] per_head %t : tensor<?x?x?x32xf32>, tensor<?x3xf32> -> tensor<2x4x?x2xi32>
  return %0 : tensor<2x4x?x2xi32>
}

// -----

// CHECK-LABEL: func.func @l1_topk_dynamic(
//       CHECK:   cf.assert %{{.*}}, "{{.*}}'adamas.l1_topk' op 'key_codes' dimension 0 (B) must equal B of 'query_codes'
//       CHECK:   cf.assert %{{.*}}, "{{.*}}'adamas.l1_topk' op 'lengths' dimension 0 (B) must equal B of 'query_codes'
//       CHECK:   cf.assert %{{.*}}, "{{.*}}'adamas.l1_topk' op 'key_codes' dimension 3 (W) must equal W of 'query_codes'
//       CHECK:   cf.assert %{{.*}}, "{{.*}}'adamas.l1_topk' op 'query_codes' heads (Hq) must be positive
//       CHECK:   cf.assert %{{.*}}, "{{.*}}'adamas.l1_topk' op 'key_codes' heads (Hkv) must be positive
// The remainder divides by max(Hkv, 1): the check itself never divides by 0.
//       CHECK:   %[[SAFE:.*]] = arith.maxsi %{{.*}}, %{{.*}} : index
//       CHECK:   arith.remui %{{.*}}, %[[SAFE]] : index
//       CHECK:   cf.assert %{{.*}}, "{{.*}}'adamas.l1_topk' op 'query_codes' heads (Hq) must be a multiple of 'key_codes' heads (Hkv)
//       CHECK:   %[[MAXN:.*]] = arith.constant 2147483647 : index
//       CHECK:   %[[N:.*]] = tensor.dim
//       CHECK:   %[[NOK:.*]] = arith.cmpi sle, %[[N]], %[[MAXN]] : index
//       CHECK:   cf.assert %[[NOK]], "{{.*}}'adamas.l1_topk' op 'key_codes' dimension 2 (N) must be at most 2147483647 (positions are i32)
//       CHECK:   cf.assert %{{.*}}, "{{.*}}'adamas.l1_topk' op 'result' dimension 1 (H') must equal Hkv of 'key_codes' (shared_group)
//  CHECK-NEXT:   adamas.l1_topk
func.func @l1_topk_dynamic(%q: tensor<?x?x1x8xi32>, %k: tensor<?x?x?x?xi32>, %l: tensor<?xi32>) -> tensor<?x2x1x4xi32> {
  %0 = adamas.l1_topk %q, %k, %l {k = 4 : i64, shared_group = true}
      : tensor<?x?x1x8xi32>, tensor<?x?x?x?xi32>, tensor<?xi32> -> tensor<?x2x1x4xi32>
  return %0 : tensor<?x2x1x4xi32>
}

// -----

// Only Hkv is dynamic: Hq (static 4) needs no positivity check.
// CHECK-LABEL: func.func @l1_topk_dynamic_kv_heads(
//   CHECK-NOT:   'query_codes' heads (Hq) must be positive
//       CHECK:   cf.assert %{{.*}}, "{{.*}}'key_codes' heads (Hkv) must be positive
//       CHECK:   cf.assert %{{.*}}, "{{.*}}'query_codes' heads (Hq) must be a multiple of 'key_codes' heads (Hkv)
//  CHECK-NEXT:   adamas.l1_topk
func.func @l1_topk_dynamic_kv_heads(%q: tensor<1x4x1x8xi32>, %k: tensor<1x?x16x8xi32>, %l: tensor<1xi32>) -> tensor<1x4x1x4xi32> {
  %0 = adamas.l1_topk %q, %k, %l {k = 4 : i64}
      : tensor<1x4x1x8xi32>, tensor<1x?x16x8xi32>, tensor<1xi32> -> tensor<1x4x1x4xi32>
  return %0 : tensor<1x4x1x4xi32>
}

// -----

// CHECK-LABEL: func.func @sparse_attn_dynamic(
//       CHECK:   cf.assert %{{.*}}, "{{.*}}'adamas.sparse_attn' op 'keys' dimension 0 (B) must equal B of 'query'
//       CHECK:   cf.assert %{{.*}}, "{{.*}}'adamas.sparse_attn' op 'values' dimension 0 (B) must equal B of 'query'
//       CHECK:   cf.assert %{{.*}}, "{{.*}}'adamas.sparse_attn' op 'indices' dimension 0 (B) must equal B of 'query'
//       CHECK:   cf.assert %{{.*}}, "{{.*}}'adamas.sparse_attn' op 'keys' dimension 3 (D) must equal D of 'query'
//       CHECK:   cf.assert %{{.*}}, "{{.*}}'adamas.sparse_attn' op 'values' dimension 1 (Hkv) must equal Hkv of 'keys'
//       CHECK:   cf.assert %{{.*}}, "{{.*}}'adamas.sparse_attn' op 'values' dimension 2 (N) must equal N of 'keys'
//       CHECK:   cf.assert %{{.*}}, "{{.*}}'adamas.sparse_attn' op 'query' heads (Hq) must be positive
//       CHECK:   cf.assert %{{.*}}, "{{.*}}'adamas.sparse_attn' op 'keys' heads (Hkv) must be positive
//       CHECK:   cf.assert %{{.*}}, "{{.*}}'adamas.sparse_attn' op 'query' heads (Hq) must be a multiple of 'keys' heads (Hkv)
//       CHECK:   cf.assert %{{.*}}, "{{.*}}'adamas.sparse_attn' op 'indices' dimension 2 (M) must equal M of 'query'
//       CHECK:   %[[PERQ:.*]] = arith.cmpi eq
//       CHECK:   %[[PERKV:.*]] = arith.cmpi eq
//       CHECK:   %[[EITHER:.*]] = arith.ori %[[PERQ]], %[[PERKV]] : i1
//       CHECK:   cf.assert %[[EITHER]], "{{.*}}'adamas.sparse_attn' op 'indices' heads (H') must equal the heads of 'query' (Hq) or of 'keys' (Hkv)
//       CHECK:   cf.assert %{{.*}}, "{{.*}}'adamas.sparse_attn' op 'result' dimension 3 (Dv) must equal Dv of 'values'
//  CHECK-NEXT:   adamas.sparse_attn
func.func @sparse_attn_dynamic(%q: tensor<?x?x?x4xf32>, %k: tensor<?x?x?x?xf32>, %v: tensor<?x?x?x?xf32>, %i: tensor<?x?x?x?xi32>) -> tensor<?x?x?x2xf32> {
  %0 = adamas.sparse_attn %q, %k, %v, %i
      : tensor<?x?x?x4xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xi32> -> tensor<?x?x?x2xf32>
  return %0 : tensor<?x?x?x2xf32>
}
