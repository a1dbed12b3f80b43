// RUN: adamas-opt %s -split-input-file -adamas-outline-decode-steps -verify-diagnostics | FileCheck %s --enable-var-scope

// A layer whose code cache grows by tensor.concat (what adamas-cache-key-codes
// makes of a KV cache grown that way) between the encode of the new keys and
// the select: two steps, encode then select + attend, called in order; the
// concat stays in the model between the calls, and the op that used the
// query codes between the encode ops moves after the first call.

// CHECK-LABEL: func.func @layer(
//  CHECK-SAME:     %[[X:[^:]+]]: tensor<1x4x1x64xf32>, %[[NEWK:[^:]+]]: tensor<1x4x1x64xf32>,
//  CHECK-SAME:     %[[K:[^:]+]]: tensor<1x4x?x64xf32>, %[[V:[^:]+]]: tensor<1x4x?x64xf32>,
//  CHECK-SAME:     %[[CODES:[^:]+]]: tensor<1x4x?x4xi32>, %[[LEN:[^:]+]]: tensor<1xi32>)
//  CHECK-SAME:     attributes {llvm.emit_c_interface}
//       CHECK:   %[[Q:.+]] = linalg.generic
//   CHECK-NOT:   adamas.
//       CHECK:   %[[DUP:.+]] = tensor.empty
//  CHECK-NEXT:   %[[S0:.+]]:2 = call @layer_adamas_step_0(%[[Q]], %[[NEWK]]) : (tensor<1x4x1x64xf32>, tensor<1x4x1x64xf32>) -> (tensor<1x4x1x4xi32>, tensor<1x4x1x4xi32>)
//  CHECK-NEXT:   %[[USE:.+]] = linalg.copy ins(%[[S0]]#0 : tensor<1x4x1x4xi32>) outs(%[[DUP]] :
//  CHECK-NEXT:   %[[KC:.+]] = tensor.concat dim(2) %[[CODES]], %[[S0]]#1
//  CHECK-NEXT:   %[[O:.+]] = call @layer_adamas_step_1(%[[S0]]#0, %[[KC]], %[[LEN]], %[[Q]], %[[K]], %[[V]])
//  CHECK-SAME:     -> tensor<1x4x1x64xf32>
//  CHECK-NEXT:   return %[[O]], %[[KC]], %[[USE]]

// CHECK-LABEL: func.func private @layer_adamas_step_0(
//  CHECK-SAME:     %[[A0:[^:]+]]: tensor<1x4x1x64xf32>, %[[A1:[^:]+]]: tensor<1x4x1x64xf32>)
//       CHECK:   %[[H0:.+]] = adamas.hadamard %[[A0]]
//       CHECK:   %[[C0:.+]] = adamas.bucketize %[[H0]]
//       CHECK:   %[[H1:.+]] = adamas.hadamard %[[A1]]
//       CHECK:   %[[C1:.+]] = adamas.bucketize %[[H1]]
//       CHECK:   return %[[C0]], %[[C1]]

// CHECK-LABEL: func.func private @layer_adamas_step_1(
//       CHECK:   adamas.l1_topk
//       CHECK:   adamas.sparse_attn
//  CHECK-NEXT:   return
func.func @layer(%x: tensor<1x4x1x64xf32>, %new_k: tensor<1x4x1x64xf32>,
                 %k: tensor<1x4x?x64xf32>, %v: tensor<1x4x?x64xf32>,
                 %codes: tensor<1x4x?x4xi32>, %len: tensor<1xi32>)
    -> (tensor<1x4x1x64xf32>, tensor<1x4x?x4xi32>, tensor<1x4x1x4xi32>) {
  %init = tensor.empty() : tensor<1x4x1x64xf32>
  %q = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x4x1x64xf32>) outs(%init : tensor<1x4x1x64xf32>) {
  ^bb0(%a: f32, %o: f32):
    %n = arith.negf %a : f32
    linalg.yield %n : f32
  } -> tensor<1x4x1x64xf32>
  %qh = adamas.hadamard %q : tensor<1x4x1x64xf32>
  %qc = adamas.bucketize %qh [-1.0, 0.0, 1.0] : tensor<1x4x1x64xf32> -> tensor<1x4x1x4xi32>
  %dup_init = tensor.empty() : tensor<1x4x1x4xi32>
  %dup = linalg.copy ins(%qc : tensor<1x4x1x4xi32>) outs(%dup_init : tensor<1x4x1x4xi32>) -> tensor<1x4x1x4xi32>
  %kh = adamas.hadamard %new_k : tensor<1x4x1x64xf32>
  %nc = adamas.bucketize %kh [-1.0, 0.0, 1.0] : tensor<1x4x1x64xf32> -> tensor<1x4x1x4xi32>
  %kc = tensor.concat dim(2) %codes, %nc : (tensor<1x4x?x4xi32>, tensor<1x4x1x4xi32>) -> tensor<1x4x?x4xi32>
  %idx = adamas.l1_topk %qc, %kc, %len {k = 16 : i64}
      : tensor<1x4x1x4xi32>, tensor<1x4x?x4xi32>, tensor<1xi32> -> tensor<1x4x1x16xi32>
  %o = adamas.sparse_attn %q, %k, %v, %idx
      : tensor<1x4x1x64xf32>, tensor<1x4x?x64xf32>, tensor<1x4x?x64xf32>, tensor<1x4x1x16xi32> -> tensor<1x4x1x64xf32>
  return %o, %kc, %dup : tensor<1x4x1x64xf32>, tensor<1x4x?x4xi32>, tensor<1x4x1x4xi32>
}

// -----

// A step that writes its codes into the cache in place (cache_write) stays
// one step; its cache is an argument and the updated cache a result.

// CHECK-LABEL: func.func @in_place(
//       CHECK:   %[[R:.+]]:2 = call @in_place_adamas_step_0(
//       CHECK:   return %[[R]]#1, %[[R]]#0
// CHECK-LABEL: func.func private @in_place_adamas_step_0(
//  CHECK-SAME:     -> (tensor<1x2x?x4xi32>, tensor<1x4x1x64xf32>)
//       CHECK:   adamas.cache_write
//       CHECK:   adamas.l1_topk
//       CHECK:   adamas.sparse_attn
func.func @in_place(%q: tensor<1x4x1x64xf32>, %new_k: tensor<1x2x1x64xf32>,
                    %k: tensor<1x2x?x64xf32>, %v: tensor<1x2x?x64xf32>,
                    %codes: tensor<1x2x?x4xi32>, %len: tensor<1xi32>)
    -> (tensor<1x4x1x64xf32>, tensor<1x2x?x4xi32>) {
  %scaled = arith.addf %q, %q : tensor<1x4x1x64xf32>
  %qh = adamas.hadamard %scaled : tensor<1x4x1x64xf32>
  %qc = adamas.bucketize %qh [-1.0, 0.0, 1.0] : tensor<1x4x1x64xf32> -> tensor<1x4x1x4xi32>
  %kh = adamas.hadamard %new_k : tensor<1x2x1x64xf32>
  %nc = adamas.bucketize %kh [-1.0, 0.0, 1.0] : tensor<1x2x1x64xf32> -> tensor<1x2x1x4xi32>
  %cache = adamas.cache_write %nc into %codes at %len : tensor<1x2x1x4xi32> into tensor<1x2x?x4xi32>, tensor<1xi32>
  %idx = adamas.l1_topk %qc, %cache, %len {k = 16 : i64}
      : tensor<1x4x1x4xi32>, tensor<1x2x?x4xi32>, tensor<1xi32> -> tensor<1x4x1x16xi32>
  %o = adamas.sparse_attn %scaled, %k, %v, %idx
      : tensor<1x4x1x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x4x1x16xi32> -> tensor<1x4x1x64xf32>
  return %o, %cache : tensor<1x4x1x64xf32>, tensor<1x2x?x4xi32>
}

// -----

// A function that already is a decode step is left as it is.

// CHECK-LABEL: func.func @step(
//  CHECK-NEXT:   adamas.hadamard
//  CHECK-NEXT:   return
//   CHECK-NOT:   adamas_step
func.func @step(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  %h = adamas.hadamard %x : tensor<2x64xf32>
  return %h : tensor<2x64xf32>
}

// -----

// Steps of a model called in a loop: the loop body is not a function body.

func.func @nested(%x: tensor<2x64xf32>, %n: index) -> tensor<2x64xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %x) -> tensor<2x64xf32> {
    // expected-error @below {{'adamas.hadamard' op cannot be outlined into a decode step: it is inside a nested region (only adamas ops directly in a function's body form steps)}}
    %h = adamas.hadamard %acc : tensor<2x64xf32>
    scf.yield %h : tensor<2x64xf32>
  }
  return %r : tensor<2x64xf32>
}

// -----

// The step's name is taken.

func.func private @taken_adamas_step_0()

// expected-error @below {{'func.func' op cannot outline its adamas ops: the step function name 'taken_adamas_step_0' is taken}}
func.func @taken(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  %y = arith.addf %x, %x : tensor<2x64xf32>
  %h = adamas.hadamard %y : tensor<2x64xf32>
  return %h : tensor<2x64xf32>
}

// -----

// A group of one op.

// CHECK-LABEL: func.func @single(
//       CHECK:   %[[R:.+]] = call @single_adamas_step_0(%{{.+}}) : (tensor<2x64xf32>) -> tensor<2x64xf32>
//       CHECK:   return %[[R]]
func.func @single(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  %y = arith.addf %x, %x : tensor<2x64xf32>
  %h = adamas.hadamard %y : tensor<2x64xf32>
  return %h : tensor<2x64xf32>
}
