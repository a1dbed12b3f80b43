// RUN: adamas-opt %s -adamas-lower-to-gpu="chip=sm_70" -verify-diagnostics
// RUN: not adamas-opt %s -adamas-lower-to-gpu="chip=gfx90a" 2>&1 | FileCheck %s
// RUN: not adamas-opt %s -adamas-lower-to-gpu="chip=sm_80 max-cluster-size=8" 2>&1 | FileCheck %s --check-prefix=SM80
// RUN: not adamas-opt %s -adamas-lower-to-gpu="max-cluster-size=17" 2>&1 | FileCheck %s --check-prefix=SM90
// RUN: not adamas-opt %s -adamas-lower-to-gpu="attend-long-form-ctas-per-sm=-1" 2>&1 | FileCheck %s --check-prefix=LONGFORM
// RUN: not adamas-opt %s -adamas-lower-to-gpu="attend-cluster-waves=-2" 2>&1 | FileCheck %s --check-prefix=WAVES

// CHECK: adamas-lower-to-gpu: unsupported chip 'gfx90a' (expected sm_80 or newer, e.g. sm_90)
// SM80: adamas-lower-to-gpu: max-cluster-size = 8 is more than sm_80 allows (0)
// SM90: adamas-lower-to-gpu: max-cluster-size = 17 is more than sm_90 allows (16)
// LONGFORM: adamas-lower-to-gpu: option 'attend-long-form-ctas-per-sm' must be non-negative, got -1
// WAVES: adamas-lower-to-gpu: option 'attend-cluster-waves' must be non-negative, got -2
// expected-error @+1 {{adamas-lower-to-gpu: unsupported chip 'sm_70' (expected sm_80 or newer, e.g. sm_90)}}
module {
  func.func @f(%x: tensor<1x4x1x128xf16>) -> tensor<1x4x1x128xf16> {
    %h = adamas.hadamard %x : tensor<1x4x1x128xf16>
    return %h : tensor<1x4x1x128xf16>
  }
}
