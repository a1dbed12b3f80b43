//===- InitAllAdamas.cpp - One registration point for every tool ----------===//

#include "adamas/InitAllAdamas.h"

#include "adamas/Conversion/Passes.h"
#include "adamas/Dialect/Adamas/IR/AdamasDialect.h"
#include "adamas/Dialect/Adamas/Transforms/Passes.h"
#include "adamas/Dialect/Adamas/IR/AdamasRuntimeVerification.h"
#include "adamas/Pipelines/Pipelines.h"

#include "mlir/Dialect/Arith/Transforms/BufferDeallocationOpInterfaceImpl.h"
#include "mlir/Dialect/Arith/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/Transforms/FuncBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/ControlFlow/Transforms/BufferDeallocationOpInterfaceImpl.h"
#include "mlir/Dialect/ControlFlow/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Linalg/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Linalg/Transforms/RuntimeOpVerification.h"
#include "mlir/Dialect/MemRef/Transforms/AllocationOpInterfaceImpl.h"
#include "mlir/Dialect/MemRef/Transforms/RuntimeOpVerification.h"
#include "mlir/Dialect/SCF/Transforms/BufferDeallocationOpInterfaceImpl.h"
#include "mlir/Dialect/SCF/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/Transforms/RuntimeOpVerification.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

void mlir::adamas::registerAdamasDialects(DialectRegistry &registry) {
  registry.insert<AdamasDialect>();
  // adamas-cpu-pipeline bufferizes the upstream ops the lowering produces;
  // their bufferization and deallocation models are external, so an
  // embedding compiler that registers nothing else still gets them here.
  arith::registerBufferizableOpInterfaceExternalModels(registry);
  arith::registerBufferDeallocationOpInterfaceExternalModels(registry);
  bufferization::func_ext::registerBufferizableOpInterfaceExternalModels(
      registry);
  cf::registerBufferizableOpInterfaceExternalModels(registry);
  cf::registerBufferDeallocationOpInterfaceExternalModels(registry);
  linalg::registerBufferizableOpInterfaceExternalModels(registry);
  memref::registerAllocationOpInterfaceExternalModels(registry);
  scf::registerBufferizableOpInterfaceExternalModels(registry);
  scf::registerBufferDeallocationOpInterfaceExternalModels(registry);
  tensor::registerBufferizableOpInterfaceExternalModels(registry);
  // adamas-cpu-pipeline{runtime-verification=...} checks the adamas ops and
  // (at level 2) the memory accesses of the lowered program.
  registerRuntimeVerifiableOpInterfaceExternalModels(registry);
  linalg::registerRuntimeVerifiableOpInterfaceExternalModels(registry);
  memref::registerRuntimeVerifiableOpInterfaceExternalModels(registry);
  tensor::registerRuntimeVerifiableOpInterfaceExternalModels(registry);
}

void mlir::adamas::registerAdamasPasses() {
  registerAdamasConversionPasses();
  registerAdamasTransformsPasses();
  registerAdamasPipelines();
  registerAdamasSparsifyPipeline();
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
