// RUN: adamas-opt %s -adamas-lower-to-gpu -split-input-file | FileCheck %s
// RUN: adamas-opt %s -adamas-lower-to-gpu="select-pipelines-keys=false" -split-input-file | FileCheck %s --check-prefix=OFF

// select-pipelines-keys (default on): where a histogram CTA ranks one query
// (MHA), the popcount pass loads the thread's first keys (2 keys x 2
// 16-byte loads) before the barrier after the histogram's zeroing, then
// carries them into the pass, which loads the next iteration's keys (from
// the position 512 = 256 threads x 2 keys on) before it ranks the carried
// ones. Its grid is sized for 4 CTAs per SM, which the kernel asks for.

// CHECK-LABEL: gpu.func @mha_select0_hist(
//  CHECK-SAME:     pipelines_keys = 1 : i64
//  CHECK-SAME:     nvvm.minctasm = 4 : i32
//       CHECK:   %[[FIRST:.*]]:16 = scf.if %{{.*}} -> (i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32) {
// CHECK-COUNT-4:     nvvm.inline_ptx "ld.global.cs.v4.u32
//       CHECK:     scf.yield
//       CHECK:   } else {
//       CHECK:   gpu.barrier
//   CHECK-NOT:   nvvm.inline_ptx
//       CHECK:   %{{.*}}:16 = scf.for %[[POS:.*]] = %{{.*}} to %{{.*}} step %[[STEP:.*]] iter_args(%{{.*}} = %[[FIRST]]#0,
//       CHECK:     %[[NEXT:.*]] = arith.addi %[[POS]], %c512{{[_0-9]*}} : index
// CHECK-COUNT-4:     nvvm.inline_ptx "ld.global.cs.v4.u32
//       CHECK:     math.ctpop
//       CHECK:     memref.atomic_rmw addi
//       CHECK:     scf.yield
//       CHECK:   gpu.barrier

// OFF-LABEL: gpu.func @mha_select0_hist(
//  OFF-SAME:     pipelines_keys = 0 : i64
//   OFF-NOT:     nvvm.minctasm
//       OFF:   gpu.barrier
//   OFF-NOT:   nvvm.inline_ptx
//       OFF:   scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c512{{[_0-9]*}} {
// OFF-COUNT-4:     nvvm.inline_ptx "ld.global.cs.v4.u32
//       OFF:     math.ctpop
//       OFF:   gpu.barrier
func.func @mha(%qc: tensor<?x32x1x8xi32>, %kc: tensor<?x32x?x8xi32>, %len: tensor<?xi32>) -> tensor<?x32x1x256xi32> {
  %idx = adamas.l1_topk %qc, %kc, %len {k = 256 : i64} : tensor<?x32x1x8xi32>, tensor<?x32x?x8xi32>, tensor<?xi32> -> tensor<?x32x1x256xi32>
  return %idx : tensor<?x32x1x256xi32>
}

// -----

// Several queries per histogram CTA (GQA: 4 heads per KV head, tensor-core
// distances): nothing pipelined, no CTAs per SM asked for.

// CHECK-LABEL: gpu.func @gqa_select0_hist(
//  CHECK-SAME:     pipelines_keys = 0 : i64
//   CHECK-NOT:     nvvm.minctasm
//       CHECK:   gpu.barrier
func.func @gqa(%qc: tensor<?x32x1x8xi32>, %kc: tensor<?x8x?x8xi32>, %len: tensor<?xi32>) -> tensor<?x32x1x256xi32> {
  %idx = adamas.l1_topk %qc, %kc, %len {k = 256 : i64} : tensor<?x32x1x8xi32>, tensor<?x8x?x8xi32>, tensor<?xi32> -> tensor<?x32x1x256xi32>
  return %idx : tensor<?x32x1x256xi32>
}
