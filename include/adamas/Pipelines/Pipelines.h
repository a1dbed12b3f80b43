//===- Pipelines.h - Adamas pass pipelines ----------------------*- C++ -*-===//
//
// Pipelines are plain functions over an OpPassManager so that another
// compiler can embed them without going through the textual registry.
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_PIPELINES_PIPELINES_H
#define ADAMAS_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::adamas {

/// Options of `adamas-cpu-pipeline`.
struct CPUPipelineOptions : public PassPipelineOptions<CPUPipelineOptions> {
  PassOptions::Option<unsigned> runtimeVerification{
      *this, "runtime-verification",
      llvm::cl::desc(
          "Run-time checks (failed ones print on stderr and abort): 0 none; "
          "1 every dynamic-size rule of the adamas ops (and the checks of "
          "other run-time verifiable ops) of the input; 2 also every memory "
          "access of the lowered program (slow; for debugging lowerings)"),
      llvm::cl::init(0)};
};

/// adamas ops (and the surrounding tensor program) down to the LLVM dialect
/// through the portable reference lowering, runnable with `mlir-runner`.
void buildCPUPipeline(OpPassManager &pm, const CPUPipelineOptions &options);
/// The same with the default options.
void buildCPUPipeline(OpPassManager &pm);

/// Registers `adamas-cpu-pipeline` with the textual pass registry.
void registerAdamasPipelines();

} // namespace mlir::adamas

#endif // ADAMAS_PIPELINES_PIPELINES_H
