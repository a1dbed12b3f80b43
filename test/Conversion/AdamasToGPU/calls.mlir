// RUN: adamas-opt %s -split-input-file -adamas-lower-to-gpu -verify-diagnostics | FileCheck %s --enable-var-scope

// A model calls a decode step on tensors (what adamas-outline-decode-steps
// makes): the step becomes a host function on memrefs with its result as a
// trailing output argument, and the call passes buffers: the arguments
// read-only, a fresh output buffer sized from the arguments, and the result
// a tensor over it, for one-shot bufferization of the model.

// CHECK-LABEL: func.func @model(
//  CHECK-SAME:     %[[QC:[^:]+]]: tensor<?x4x1x4xi32>, %[[KC:[^:]+]]: tensor<?x4x?x4xi32>, %[[LEN:[^:]+]]: tensor<?xi32>)
//       CHECK:   %[[B0:.+]] = bufferization.to_buffer %[[QC]] read_only : tensor<?x4x1x4xi32> to memref<?x4x1x4xi32>
//       CHECK:   %[[B1:.+]] = bufferization.to_buffer %[[KC]] read_only
//       CHECK:   %[[B2:.+]] = bufferization.to_buffer %[[LEN]] read_only
//       CHECK:   %[[B:.+]] = tensor.dim %[[QC]], %{{.+}} : tensor<?x4x1x4xi32>
//       CHECK:   %[[OUT:.+]] = memref.alloc(%[[B]]) : memref<?x4x1x16xi32>
//       CHECK:   call @step(%[[B0]], %[[B1]], %[[B2]], %[[OUT]]) : (memref<?x4x1x4xi32>, memref<?x4x?x4xi32>, memref<?xi32>, memref<?x4x1x16xi32>) -> ()
//       CHECK:   %[[R:.+]] = bufferization.to_tensor %[[OUT]] restrict writable : memref<?x4x1x16xi32> to tensor<?x4x1x16xi32>
//       CHECK:   return %[[R]]
// CHECK-LABEL: func.func private @step(
//  CHECK-SAME:     memref<?x4x1x4xi32>, %{{.+}}: memref<?x4x?x4xi32>, %{{.+}}: memref<?xi32>, %{{.+}}: memref<?x4x1x16xi32>)
//  CHECK-SAME:     attributes {llvm.emit_c_interface}
func.func @model(%qc: tensor<?x4x1x4xi32>, %kc: tensor<?x4x?x4xi32>, %len: tensor<?xi32>) -> tensor<?x4x1x16xi32> {
  %idx = call @step(%qc, %kc, %len) : (tensor<?x4x1x4xi32>, tensor<?x4x?x4xi32>, tensor<?xi32>) -> tensor<?x4x1x16xi32>
  return %idx : tensor<?x4x1x16xi32>
}
func.func private @step(%qc: tensor<?x4x1x4xi32>, %kc: tensor<?x4x?x4xi32>, %len: tensor<?xi32>) -> tensor<?x4x1x16xi32> {
  %idx = adamas.l1_topk %qc, %kc, %len {k = 16 : i64} : tensor<?x4x1x4xi32>, tensor<?x4x?x4xi32>, tensor<?xi32> -> tensor<?x4x1x16xi32>
  return %idx : tensor<?x4x1x16xi32>
}

// -----

// A step that updates its code cache in place: the call passes the cache
// writable, and the updated cache is a tensor over that same buffer.

// CHECK-LABEL: func.func @in_place(
//  CHECK-SAME:     %[[K:[^:]+]]: tensor<1x4x1x64xf32>, %[[CACHE:[^:]+]]: tensor<1x4x?x4xi32>, %[[LEN:[^:]+]]: tensor<1xi32>)
//       CHECK:   %[[BK:.+]] = bufferization.to_buffer %[[K]] read_only
//       CHECK:   %[[BC:.+]] = bufferization.to_buffer %[[CACHE]] : tensor<1x4x?x4xi32> to memref<1x4x?x4xi32>
//       CHECK:   %[[BL:.+]] = bufferization.to_buffer %[[LEN]] read_only
//       CHECK:   call @in_place_step(%[[BK]], %[[BC]], %[[BL]]) : (memref<1x4x1x64xf32>, memref<1x4x?x4xi32>, memref<1xi32>) -> ()
//       CHECK:   %[[R:.+]] = bufferization.to_tensor %[[BC]] restrict writable
//       CHECK:   return %[[R]]
func.func @in_place(%k: tensor<1x4x1x64xf32>, %cache: tensor<1x4x?x4xi32>, %len: tensor<1xi32>) -> tensor<1x4x?x4xi32> {
  %r = call @in_place_step(%k, %cache, %len) : (tensor<1x4x1x64xf32>, tensor<1x4x?x4xi32>, tensor<1xi32>) -> tensor<1x4x?x4xi32>
  return %r : tensor<1x4x?x4xi32>
}
func.func private @in_place_step(%k: tensor<1x4x1x64xf32>, %cache: tensor<1x4x?x4xi32>, %len: tensor<1xi32>) -> tensor<1x4x?x4xi32> {
  %h = adamas.hadamard %k : tensor<1x4x1x64xf32>
  %c = adamas.bucketize %h [-1.0, 0.0, 1.0] : tensor<1x4x1x64xf32> -> tensor<1x4x1x4xi32>
  %w = adamas.cache_write %c into %cache at %len : tensor<1x4x1x4xi32> into tensor<1x4x?x4xi32>, tensor<1xi32>
  return %w : tensor<1x4x?x4xi32>
}

// -----

// A step used other than by a call.

func.func @model() -> ((tensor<2x64xf32>) -> tensor<2x64xf32>) {
  // expected-error @below {{'func.constant' op cannot use decode step 'taken' lowered by adamas-lower-to-gpu other than by func.call}}
  %f = func.constant @taken : (tensor<2x64xf32>) -> tensor<2x64xf32>
  return %f : (tensor<2x64xf32>) -> tensor<2x64xf32>
}
func.func private @taken(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  %h = adamas.hadamard %x : tensor<2x64xf32>
  return %h : tensor<2x64xf32>
}
