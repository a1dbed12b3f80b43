// REQUIRES: cuda-toolkit
// RUN: adamas-opt %s -adamas-gpu-pipeline="chip=sm_90 format=bin" | FileCheck %s
// RUN: not adamas-opt %s -adamas-gpu-pipeline="format=bin toolkit=%t.missing" 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not adamas-opt %s -adamas-gpu-pipeline="format=cubin" 2>&1 | FileCheck %s --check-prefix=FORMAT
//
// With a CUDA toolkit (ptxas) the kernels are embedded as a cubin for sm_90;
// a toolkit that is not there, or a format that does not exist, is an error.

// CHECK: gpu.binary @f_kernels  [#gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx81">, properties = {{.*}}, bin = "
// MISSING: adamas-lower-to-gpu: CUDA toolkit '{{.*}}.missing' is not a directory (option 'toolkit')
// FORMAT: for the --format option: Cannot find option named 'cubin'!

func.func @f(%qc: tensor<1x8x1x8xi32>, %kc: tensor<1x8x?x8xi32>, %len: tensor<1xi32>) -> tensor<1x8x1x64xi32> {
  %idx = adamas.l1_topk %qc, %kc, %len {k = 64 : i64} : tensor<1x8x1x8xi32>, tensor<1x8x?x8xi32>, tensor<1xi32> -> tensor<1x8x1x64xi32>
  return %idx : tensor<1x8x1x64xi32>
}
