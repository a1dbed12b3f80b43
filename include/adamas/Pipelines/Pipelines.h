//===- Pipelines.h - Adamas pass pipelines ----------------------*- C++ -*-===//
//
// Pipelines are plain functions over an OpPassManager so that another
// compiler can embed them without going through the textual registry.
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_PIPELINES_PIPELINES_H
#define ADAMAS_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"

namespace mlir::adamas {

/// adamas ops (and the surrounding tensor program) down to the LLVM dialect
/// through the portable reference lowering, runnable with `mlir-runner`.
void buildCPUPipeline(OpPassManager &pm);

/// Registers `adamas-cpu-pipeline` with the textual pass registry.
void registerAdamasPipelines();

} // namespace mlir::adamas

#endif // ADAMAS_PIPELINES_PIPELINES_H
