// RUN: adamas-opt %s -adamas-lower-to-gpu="chip=sm_70" -verify-diagnostics
// RUN: not adamas-opt %s -adamas-lower-to-gpu="chip=gfx90a" 2>&1 | FileCheck %s

// CHECK: adamas-lower-to-gpu: unsupported chip 'gfx90a' (expected sm_80 or newer, e.g. sm_90)
// expected-error @+1 {{adamas-lower-to-gpu: unsupported chip 'sm_70' (expected sm_80 or newer, e.g. sm_90)}}
module {
  func.func @f(%x: tensor<1x4x1x128xf16>) -> tensor<1x4x1x128xf16> {
    %h = adamas.hadamard %x : tensor<1x4x1x128xf16>
    return %h : tensor<1x4x1x128xf16>
  }
}
