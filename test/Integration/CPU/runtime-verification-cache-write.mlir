// Run-time verification of adamas.cache_write's dynamic sizes (as
// runtime-verification.mlir does for the four ops): the write stops before
// the op with a message naming the op, the operand and the rule.

// DEFINE: %{run} = mlir-runner -entry-point-result=void -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils
// RUN: adamas-opt %s -adamas-cpu-pipeline="runtime-verification=1" > %t.checked.mlir
// RUN: %{run} -e write_ok %t.checked.mlir | FileCheck %s --check-prefix=OK
// RUN: not --crash %{run} -e write_batch %t.checked.mlir 2> %t.err
// RUN: FileCheck %s --check-prefix=BATCH < %t.err
// RUN: not --crash %{run} -e write_lengths %t.checked.mlir 2> %t.err
// RUN: FileCheck %s --check-prefix=LENGTHS < %t.err
// RUN: not --crash %{run} -e write_features %t.checked.mlir 2> %t.err
// RUN: FileCheck %s --check-prefix=FEATURES < %t.err

func.func private @printMemrefI32(tensor<*xi32>)

func.func @append(%r: tensor<?x?x?x?xi32>, %c: tensor<?x?x?x?xi32>, %l: tensor<?xi32>) {
  %w = adamas.cache_write %r into %c at %l : tensor<?x?x?x?xi32> into tensor<?x?x?x?xi32>, tensor<?xi32>
  %u = tensor.cast %w : tensor<?x?x?x?xi32> to tensor<*xi32>
  call @printMemrefI32(%u) : (tensor<*xi32>) -> ()
  return
}

// One head, two positions: batch row 0 (length 2) gets its row at position
// 1, batch row 1 (length 0) writes nothing.
// OK:      sizes = [2, 1, 2, 1]
// OK-NEXT: {{\[\[\[\[}}0],
// OK-NEXT:    [7]]],
// OK-NEXT:  {{\[\[\[}}0],
// OK-NEXT:    [0]]]]
func.func @write_ok() {
  %r = arith.constant dense<7> : tensor<2x1x1x1xi32>
  %c = arith.constant dense<0> : tensor<2x1x2x1xi32>
  %l = arith.constant dense<[2, 0]> : tensor<2xi32>
  %rd = tensor.cast %r : tensor<2x1x1x1xi32> to tensor<?x?x?x?xi32>
  %cd = tensor.cast %c : tensor<2x1x2x1xi32> to tensor<?x?x?x?xi32>
  %ld = tensor.cast %l : tensor<2xi32> to tensor<?xi32>
  call @append(%rd, %cd, %ld) : (tensor<?x?x?x?xi32>, tensor<?x?x?x?xi32>, tensor<?xi32>) -> ()
  return
}

// BATCH: ^ 'adamas.cache_write' op 'rows' dimension 0 (B) must equal B of 'cache'
func.func @write_batch() {
  %r = arith.constant dense<7> : tensor<1x1x1x1xi32>
  %c = arith.constant dense<0> : tensor<2x1x2x1xi32>
  %l = arith.constant dense<[2, 0]> : tensor<2xi32>
  %rd = tensor.cast %r : tensor<1x1x1x1xi32> to tensor<?x?x?x?xi32>
  %cd = tensor.cast %c : tensor<2x1x2x1xi32> to tensor<?x?x?x?xi32>
  %ld = tensor.cast %l : tensor<2xi32> to tensor<?xi32>
  call @append(%rd, %cd, %ld) : (tensor<?x?x?x?xi32>, tensor<?x?x?x?xi32>, tensor<?xi32>) -> ()
  return
}

// LENGTHS: ^ 'adamas.cache_write' op 'lengths' dimension 0 (B) must equal B of 'cache'
func.func @write_lengths() {
  %r = arith.constant dense<7> : tensor<2x1x1x1xi32>
  %c = arith.constant dense<0> : tensor<2x1x2x1xi32>
  %l = arith.constant dense<[2]> : tensor<1xi32>
  %rd = tensor.cast %r : tensor<2x1x1x1xi32> to tensor<?x?x?x?xi32>
  %cd = tensor.cast %c : tensor<2x1x2x1xi32> to tensor<?x?x?x?xi32>
  %ld = tensor.cast %l : tensor<1xi32> to tensor<?xi32>
  call @append(%rd, %cd, %ld) : (tensor<?x?x?x?xi32>, tensor<?x?x?x?xi32>, tensor<?xi32>) -> ()
  return
}

// FEATURES: ^ 'adamas.cache_write' op 'rows' dimension 3 (F) must equal F of 'cache'
func.func @write_features() {
  %r = arith.constant dense<7> : tensor<2x1x1x2xi32>
  %c = arith.constant dense<0> : tensor<2x1x2x1xi32>
  %l = arith.constant dense<[2, 0]> : tensor<2xi32>
  %rd = tensor.cast %r : tensor<2x1x1x2xi32> to tensor<?x?x?x?xi32>
  %cd = tensor.cast %c : tensor<2x1x2x1xi32> to tensor<?x?x?x?xi32>
  %ld = tensor.cast %l : tensor<2xi32> to tensor<?xi32>
  call @append(%rd, %cd, %ld) : (tensor<?x?x?x?xi32>, tensor<?x?x?x?xi32>, tensor<?xi32>) -> ()
  return
}
