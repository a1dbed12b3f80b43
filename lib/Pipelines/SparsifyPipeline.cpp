//===- SparsifyPipeline.cpp - adamas-sparsify -----------------------------===//

#include "adamas/Dialect/Adamas/Transforms/Passes.h"
#include "adamas/Pipelines/Pipelines.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassRegistry.h"

using namespace mlir;

void mlir::adamas::buildSparsifyPipeline(
    OpPassManager &pm, const SparsifyPipelineOptions &options) {
  AdamasRaiseAttentionOptions raise;
  raise.budget = options.budget;
  raise.bits = options.bits;
  raise.thresholds.assign(options.thresholds.begin(),
                          options.thresholds.end());
  raise.sink = options.sink;
  raise.recent = options.recent;
  raise.sharedGroup = options.sharedGroup;
  raise.minContext = options.minContext;
  raise.maxQueries = options.maxQueries;
  raise.skipLayers = options.skipLayers;
  pm.addNestedPass<func::FuncOp>(createAdamasRaiseAttention(raise));
  // No program-wide cleanup (CSE, canonicalize): the raise erases what it
  // replaced and folds the reshapes it made itself, so the rest of the model
  // comes out exactly as it went in.
  pm.addPass(createAdamasCacheKeyCodes());
}

void mlir::adamas::registerAdamasSparsifyPipeline() {
  PassPipelineRegistration<SparsifyPipelineOptions>(
      "adamas-sparsify",
      "Raise decode attention to adamas ops and cache the key codes "
      "(adamas-raise-attention, adamas-cache-key-codes)",
      buildSparsifyPipeline);
}
