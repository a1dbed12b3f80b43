// RUN: adamas-opt %s -adamas-lower-to-gpu | FileCheck %s
// RUN: adamas-opt %s -adamas-lower-to-gpu="select-releases-late=true" | FileCheck %s
// RUN: adamas-opt %s -adamas-lower-to-gpu="select-releases-late=false" | FileCheck %s --check-prefix=EARLY

// select-releases-late (default on): l1_topk's threshold and compaction
// kernels let the next kernel launch (griddepcontrol.launch_dependents) only
// as their CTAs finish, after their last store; with it off, right after
// their wait. The histogram pass keeps its run-time choice (its last
// argument) either way.

// CHECK-LABEL: gpu.func @select_select0_threshold(
//  CHECK-SAME:     releases_late = 1 : i64
//  CHECK-NEXT:   nvvm.griddepcontrol  wait
//   CHECK-NOT:   nvvm.griddepcontrol
//       CHECK:   memref.store
//   CHECK-NOT:   nvvm.griddepcontrol
//       CHECK:   nvvm.griddepcontrol  launch_dependents
//  CHECK-NEXT:   gpu.return
// CHECK-LABEL: gpu.func @select_select0_compact(
//  CHECK-NEXT:   nvvm.griddepcontrol  wait
//   CHECK-NOT:   nvvm.griddepcontrol
//       CHECK:   nvvm.griddepcontrol  launch_dependents
//  CHECK-NEXT:   gpu.return
// CHECK-LABEL: gpu.func @select_select0_compact_long(
//  CHECK-NEXT:   nvvm.griddepcontrol  wait
//   CHECK-NOT:   nvvm.griddepcontrol
//       CHECK:   nvvm.griddepcontrol  launch_dependents
//  CHECK-NEXT:   gpu.return

// EARLY-LABEL: gpu.func @select_select0_threshold(
//  EARLY-SAME:     releases_late = 0 : i64
//  EARLY-NEXT:   nvvm.griddepcontrol  wait
//  EARLY-NEXT:   nvvm.griddepcontrol  launch_dependents
//   EARLY-NOT:   nvvm.griddepcontrol
//       EARLY:   gpu.return
// EARLY-LABEL: gpu.func @select_select0_compact(
//  EARLY-NEXT:   nvvm.griddepcontrol  wait
//  EARLY-NEXT:   nvvm.griddepcontrol  launch_dependents
//   EARLY-NOT:   nvvm.griddepcontrol
//       EARLY:   gpu.return
func.func @select(%qc: tensor<?x32x1x8xi32>, %kc: tensor<?x8x?x8xi32>, %len: tensor<?xi32>) -> tensor<?x32x1x256xi32> {
  %idx = adamas.l1_topk %qc, %kc, %len {k = 256 : i64} : tensor<?x32x1x8xi32>, tensor<?x8x?x8xi32>, tensor<?xi32> -> tensor<?x32x1x256xi32>
  return %idx : tensor<?x32x1x256xi32>
}
