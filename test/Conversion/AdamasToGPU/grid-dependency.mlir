// RUN: adamas-opt %s -adamas-lower-to-gpu="chip=sm_90" | FileCheck %s --check-prefix=SM90
// RUN: adamas-opt %s -adamas-lower-to-gpu="chip=sm_80" | FileCheck %s --check-prefix=SM80

// Programmatic dependent launch is a Hopper feature: for sm_90 the kernel
// module declares adamas_grid_dependency_wait (the runtime looks it up and
// launches the module's kernels with programmatic stream serialization) and
// every kernel waits on the kernel before it before touching memory. sm_80
// gets neither: its launches stay ordinary.

// SM90-LABEL: gpu.module @encode_kernels
//  SM90-NEXT:   llvm.mlir.global external constant @adamas_grid_dependency_wait(1 : i32) {addr_space = 1 : i32, alignment = 4 : i64} : i32
//      SM90:   gpu.func @encode_encode(
//  SM90-NEXT:     nvvm.griddepcontrol  wait
//  SM90-NEXT:     nvvm.griddepcontrol  launch_dependents

// SM80-LABEL: gpu.module @encode_kernels
//   SM80-NOT:   adamas_grid_dependency_wait
//   SM80-NOT:   griddepcontrol
//       SM80:   gpu.func @encode_encode(
//   SM80-NOT:   griddepcontrol

func.func @encode(%keys: tensor<2x8x1x128xf16>) -> tensor<2x8x1x8xi32> {
  %h = adamas.hadamard %keys : tensor<2x8x1x128xf16>
  %c = adamas.bucketize %h [-1.0, 0.0, 1.0] : tensor<2x8x1x128xf16> -> tensor<2x8x1x8xi32>
  return %c : tensor<2x8x1x8xi32>
}
