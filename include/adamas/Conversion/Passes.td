//===- Passes.td - Adamas conversion passes ----------------*- tablegen -*-===//

#ifndef ADAMAS_CONVERSION_PASSES_TD
#define ADAMAS_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def AdamasAssertToLLVM : Pass<"adamas-assert-to-llvm", "::mlir::ModuleOp"> {
  let summary = "Lower cf.assert to a message on stderr and abort()";
  let description = [{
    Upstream's lowering of `cf.assert` prints the message with `puts`, to
    stdout, and then calls `abort()`, which does not flush stdio: when stdout
    is a pipe the message of a failed run-time check is lost. This pass
    rewrites every `cf.assert` (in a function whose body is a CFG, i.e. after
    SCF-to-CF) into a branch to a block that writes the message and a newline
    to file descriptor 2 with `write` (unbuffered) and calls `abort()`.
  }];
  let dependentDialects = [
    "::mlir::cf::ControlFlowDialect",
    "::mlir::LLVM::LLVMDialect",
  ];
}

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
