// Upstream mlir-opt gets the adamas dialect and passes from the plugin. Pass
// plugins load after the command line is parsed, so passes are named in
// --pass-pipeline rather than as flags.
// RUN: %plugin_env mlir-opt %s --load-dialect-plugin=%adamas_plugin --load-pass-plugin=%adamas_plugin \
// RUN:   --pass-pipeline="builtin.module(adamas-lower-to-linalg)" | FileCheck %s
// RUN: %plugin_env mlir-opt %s --load-dialect-plugin=%adamas_plugin --load-pass-plugin=%adamas_plugin \
// RUN:   --pass-pipeline="builtin.module(adamas-cpu-pipeline)" | FileCheck %s --check-prefix=LLVM

// CHECK-LABEL: func @hadamard
// CHECK-NOT: adamas.
// CHECK: scf.for
// LLVM-LABEL: llvm.func @hadamard
// LLVM-NOT: adamas.
func.func @hadamard(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %0 = adamas.hadamard %x : tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}
