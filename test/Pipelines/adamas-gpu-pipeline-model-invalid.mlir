// RUN: not adamas-opt %s -adamas-gpu-pipeline="chip=sm_90 format=isa" -o /dev/null 2>&1 | FileCheck %s
//
// A model whose non-adamas part cannot become GPU kernels (a 0-d tensor has
// no parallel loop to map): the host would store into device memory, and
// the pipeline says which op and why instead of compiling it.

// CHECK: error: 'memref.store' op cannot run on the host of a GPU program: it accesses a buffer, and every buffer is device memory (a loop nest that was not mapped to a GPU kernel?)
func.func @model(%q: tensor<1x1x1x64xf32>) -> (tensor<f32>, tensor<1x1x1x64xf32>) {
  %c0 = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  // A 0-d fill (not a reduction: linalg.reduce's upstream parser crashes on
  // the fuzzer's mutations of this file, which is in its corpus).
  %s = linalg.fill ins(%c0 : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %h = adamas.hadamard %q : tensor<1x1x1x64xf32>
  return %s, %h : tensor<f32>, tensor<1x1x1x64xf32>
}
