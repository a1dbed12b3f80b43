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

/// adamas ops (and the surrounding tensor program) down to the LLVM dialect
/// through the portable reference lowering, runnable with `mlir-runner`.
void buildCPUPipeline(OpPassManager &pm);

/// Registers `adamas-cpu-pipeline` with the textual pass registry.
void registerAdamasPipelines();

/// Options of `adamas-sparsify`: those of adamas-raise-attention.
struct SparsifyPipelineOptions
    : public PassPipelineOptions<SparsifyPipelineOptions> {
  Option<int64_t> budget{*this, "budget",
                         llvm::cl::desc("Keys selected per query row"),
                         llvm::cl::init(256)};
  Option<int64_t> bits{*this, "bits", llvm::cl::desc("Bits per code: 1, 2 or 3"),
                       llvm::cl::init(2)};
  ListOption<float> thresholds{
      *this, "thresholds",
      llvm::cl::desc("2^bits - 1 increasing thresholds (default -10,0,10 "
                     "for 2 bits, 0 for 1 bit)")};
  Option<int64_t> sink{*this, "sink",
                       llvm::cl::desc("First positions always selected"),
                       llvm::cl::init(0)};
  Option<int64_t> recent{*this, "recent",
                         llvm::cl::desc("Last positions always selected"),
                         llvm::cl::init(1)};
  Option<bool> sharedGroup{
      *this, "shared-group",
      llvm::cl::desc("One selection per KV head (GQA)"), llvm::cl::init(false)};
  Option<int64_t> minContext{
      *this, "min-context",
      llvm::cl::desc("Leave static contexts shorter than this dense"),
      llvm::cl::init(0)};
  Option<int64_t> maxQueries{
      *this, "max-queries",
      llvm::cl::desc("Only attention with at most this many query rows"),
      llvm::cl::init(16)};
  Option<int64_t> skipLayers{
      *this, "skip-layers",
      llvm::cl::desc("The first n attention sites of a function stay dense"),
      llvm::cl::init(0)};
};

/// Model IR in, decode attention as adamas ops out: adamas-raise-attention
/// then adamas-cache-key-codes. The cleanup is the raise's own (it erases
/// what it replaced and folds the reshapes it made); nothing program-wide
/// runs, so the rest of the model is left exactly as it was.
void buildSparsifyPipeline(OpPassManager &pm,
                           const SparsifyPipelineOptions &options);

/// Registers `adamas-sparsify` with the textual pass registry.
void registerAdamasSparsifyPipeline();

} // namespace mlir::adamas

#endif // ADAMAS_PIPELINES_PIPELINES_H
