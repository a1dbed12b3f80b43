// RUN: adamas-opt %s -adamas-cpu-pipeline -split-input-file \
// RUN:   | FileCheck %s --implicit-check-not="{{[^.[:alnum:]_](adamas|affine|arith|bufferization|builtin|cf|func|linalg|math|memref|scf|tensor|vector)\.}}"

// adamas-cpu-pipeline takes the adamas ops and the tensor program around them
// all the way to the LLVM dialect: only llvm.* ops may remain (the implicit
// check rejects any other dialect's op anywhere in the output).

// CHECK-LABEL: llvm.func @decode_step(
//       CHECK:   llvm.call @malloc
//       CHECK:   llvm.fpext %{{.*}} : f16 to f32
//       CHECK:   llvm.fptrunc %{{.*}} : f32 to f16
//       CHECK:   llvm.intr.ctpop(%{{.*}}) : (i32) -> i32
//       CHECK:   llvm.intr.exp(%{{.*}}) : (f32) -> f32
//       CHECK:   llvm.call @free
//       CHECK:   llvm.return
func.func @decode_step(%q: tensor<1x4x1x64xf16>, %k: tensor<1x2x?x64xf16>,
                       %v: tensor<1x2x?x64xf16>, %len: tensor<1xi32>)
    -> tensor<1x4x1x64xf16> {
  %qh = adamas.hadamard %q : tensor<1x4x1x64xf16>
  %kh = adamas.hadamard %k : tensor<1x2x?x64xf16>
  %qc = adamas.bucketize %qh [-1.0, 0.0, 1.0] : tensor<1x4x1x64xf16> -> tensor<1x4x1x4xi32>
  %kc = adamas.bucketize %kh [-1.0, 0.0, 1.0] : tensor<1x2x?x64xf16> -> tensor<1x2x?x4xi32>
  %idx = adamas.l1_topk %qc, %kc, %len {k = 16 : i64, sink = 2 : i64, recent = 2 : i64}
      : tensor<1x4x1x4xi32>, tensor<1x2x?x4xi32>, tensor<1xi32> -> tensor<1x4x1x16xi32>
  %o = adamas.sparse_attn %q, %k, %v, %idx
      : tensor<1x4x1x64xf16>, tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16>, tensor<1x4x1x16xi32>
      -> tensor<1x4x1x64xf16>
  return %o : tensor<1x4x1x64xf16>
}

// -----

// Dynamic B, M and N, bf16 (expanded into integer ops: x86 has no native bf16
// conversions), 3-bit codes, shared GQA selection, per-head thresholds.

// CHECK-LABEL: llvm.func @dynamic_bf16_shared(
//       CHECK:   llvm.intr.ctpop
//       CHECK:   llvm.intr.exp
//       CHECK:   llvm.return
func.func @dynamic_bf16_shared(%q: tensor<?x4x?x32xbf16>, %k: tensor<?x2x?x32xbf16>,
                               %v: tensor<?x2x?x16xbf16>, %len: tensor<?xi32>,
                               %t: tensor<2x7xf32>) -> tensor<?x4x?x16xbf16> {
  %qc = adamas.bucketize %q [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0]
      : tensor<?x4x?x32xbf16> -> tensor<?x4x?x3xi32>
  %kc = adamas.bucketize %k [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0] per_head %t
      : tensor<?x2x?x32xbf16>, tensor<2x7xf32> -> tensor<?x2x?x3xi32>
  %idx = adamas.l1_topk %qc, %kc, %len {k = 8 : i64, bits = 3 : i64, shared_group = true}
      : tensor<?x4x?x3xi32>, tensor<?x2x?x3xi32>, tensor<?xi32> -> tensor<?x2x?x8xi32>
  %o = adamas.sparse_attn %q, %k, %v, %idx {scale = 0.25 : f32}
      : tensor<?x4x?x32xbf16>, tensor<?x2x?x32xbf16>, tensor<?x2x?x16xbf16>, tensor<?x2x?x8xi32>
      -> tensor<?x4x?x16xbf16>
  return %o : tensor<?x4x?x16xbf16>
}

// -----

// A runnable program: tensor-typed calls to the runner utils become memref
// calls (function boundaries are bufferized with identity layouts).

// CHECK-LABEL: llvm.func @printMemrefF32(
// CHECK-LABEL: llvm.func @main()
//       CHECK:   llvm.call @printMemrefF32(
//       CHECK:   llvm.return
func.func private @printMemrefF32(tensor<*xf32>)

func.func @main() {
  %x = arith.constant dense<[1.0, 0.0, 0.0, 0.0]> : tensor<4xf32>
  %y = adamas.hadamard %x : tensor<4xf32>
  %u = tensor.cast %y : tensor<4xf32> to tensor<*xf32>
  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()
  return
}
