//===- Passes.td - Adamas conversion passes ----------------*- tablegen -*-===//

#ifndef ADAMAS_CONVERSION_PASSES_TD
#define ADAMAS_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def AdamasLowerToLinalg : Pass<"adamas-lower-to-linalg"> {
  let summary = "Lower adamas ops to portable linalg/scf/tensor/arith/math";
  let description = [{
    The reference lowering of every adamas op on tensors: the oracle that CI
    executes on the CPU (through `adamas-cpu-pipeline` and `mlir-runner`).
    `l1_topk` is an exact histogram (counting) select: one pass over the
    keys builds a histogram of the L1 distances, a prefix sum finds the
    threshold distance, one compaction emits the selected positions in
    ascending order. No sort.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

#endif // ADAMAS_CONVERSION_PASSES_TD
