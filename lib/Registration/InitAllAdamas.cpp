//===- InitAllAdamas.cpp - One registration point for every tool ----------===//

#include "adamas/InitAllAdamas.h"

#include "adamas/Conversion/Passes.h"
#include "adamas/Dialect/Adamas/IR/AdamasDialect.h"
#include "adamas/Pipelines/Pipelines.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

void mlir::adamas::registerAdamasDialects(DialectRegistry &registry) {
  registry.insert<AdamasDialect>();
}

void mlir::adamas::registerAdamasPasses() {
  registerAdamasConversionPasses();
  registerAdamasPipelines();
}

void mlir::adamas::registerAllAdamasAndUpstream(DialectRegistry &registry) {
  registerAllDialects(registry);
  registerAllExtensions(registry);
  // gpu-module-to-binary serializes through the LLVM IR translations.
  registerAllToLLVMIRTranslations(registry);
  registerAllPasses();
  registerAdamasDialects(registry);
  registerAdamasPasses();
}
