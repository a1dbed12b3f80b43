//===- CPUPipeline.cpp - adamas-cpu-pipeline ------------------------------===//

#include "adamas/Conversion/Passes.h"
#include "adamas/Pipelines/Pipelines.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::adamas::buildCPUPipeline(OpPassManager &pm,
                                    const CPUPipelineOptions &options) {
  // Checks of the input program's ops, before they are lowered away.
  if (options.runtimeVerification >= 1)
    pm.addPass(createGenerateRuntimeVerificationPass());
  pm.addPass(createAdamasLowerToLinalg());
  pm.addPass(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(createConvertElementwiseToLinalgPass());

  // Whole-program bufferization, including function boundaries, so that
  // tensor-typed calls such as `@printMemrefF32(tensor<*xf32>)` become
  // memref calls that the runner utils library provides.
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  // Frees what bufferization allocates and also the per-op scratch buffers
  // (`memref.alloc`) of adamas-lower-to-linalg, which relies on it.
  bufferization::buildBufferDeallocationPipeline(pm);

  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  // Bounds checks of every load and store of the lowered program: a failed
  // one after the level-1 checks passed is a bug of a lowering.
  if (options.runtimeVerification >= 2)
    pm.addPass(createGenerateRuntimeVerificationPass());
  pm.addNestedPass<func::FuncOp>(createConvertVectorToSCFPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());

  // x86 has no native bf16 conversions: expand them into integer ops.
  arith::ArithExpandOpsPassOptions expand;
  expand.includeBf16 = true;
  pm.addPass(arith::createArithExpandOpsPass(expand));

  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  // Failed assertions print on stderr, unbuffered (upstream: stdout, lost
  // on abort when it is a pipe).
  pm.addPass(createAdamasAssertToLLVM());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void mlir::adamas::buildCPUPipeline(OpPassManager &pm) {
  buildCPUPipeline(pm, CPUPipelineOptions());
}

void mlir::adamas::registerAdamasPipelines() {
  PassPipelineRegistration<CPUPipelineOptions>(
      "adamas-cpu-pipeline",
      "Lower adamas ops and the surrounding tensor program to the LLVM "
      "dialect through the reference lowering (runnable with mlir-runner)",
      [](OpPassManager &pm, const CPUPipelineOptions &options) {
        buildCPUPipeline(pm, options);
      });
  PassPipelineRegistration<GPUPipelineOptions>(
      "adamas-gpu-pipeline",
      "Lower adamas decode steps to fused GPU kernels (a gpu.binary) and host "
      "code in the LLVM dialect calling the runtime's mgpu* functions",
      buildGPUPipeline);
}
