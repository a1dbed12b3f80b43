// RUN: adamas-opt %s -adamas-lower-to-gpu="chip=sm_90" -split-input-file | FileCheck %s --check-prefix=SM90
// RUN: adamas-opt %s -adamas-lower-to-gpu="chip=sm_80" -split-input-file | FileCheck %s --check-prefix=SM80

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

// -----

// Before its wait, each histogram CTA asks the L2 for the first 32 KB of
// its chunk's key codes (a 128-byte piece per thread): the first wave's
// CTAs start while the kernel before them runs, and their first reads then
// hit the L2. It reads only the batch row's length there (which nothing of
// the step writes), aims nothing but the prefetch, and branches only on
// the kernel's arguments. The threshold and compaction kernels wait first
// thing. sm_80 has neither the wait nor the bulk prefetch.

// SM90-LABEL: func.func @select(
//       SM90: gpu.func @select_select0_hist(
//  SM90-SAME:   prefetch_bytes = 32768 : i64
//   SM90-NOT:   nvvm.griddepcontrol
//       SM90:   scf.if
//       SM90:     memref.load {{.*}} : memref<?xi32>
//   SM90-NOT:     scf.if
//       SM90:     arith.constant 128 : index
//       SM90:     nvvm.cp.async.bulk.prefetch {{.*}} : <1>
//       SM90:   }
//  SM90-NEXT:   nvvm.griddepcontrol  wait
//  SM90-NEXT:   nvvm.griddepcontrol  launch_dependents
//       SM90: gpu.func @select_select0_threshold(
//  SM90-NEXT:   nvvm.griddepcontrol  wait
//       SM90: gpu.func @select_select0_compact(
//  SM90-NEXT:   nvvm.griddepcontrol  wait

// SM80-LABEL: func.func @select(
//       SM80: gpu.func @select_select0_hist(
//  SM80-SAME:   prefetch_bytes = 0 : i64
//   SM80-NOT:   nvvm.cp.async.bulk.prefetch
//       SM80:   gpu.return

func.func @select(%qc: tensor<?x32x1x8xi32>, %kc: tensor<?x32x?x8xi32>, %len: tensor<?xi32>) -> tensor<?x32x1x256xi32> {
  %idx = adamas.l1_topk %qc, %kc, %len {k = 256 : i64} : tensor<?x32x1x8xi32>, tensor<?x32x?x8xi32>, tensor<?xi32> -> tensor<?x32x1x256xi32>
  return %idx : tensor<?x32x1x256xi32>
}
