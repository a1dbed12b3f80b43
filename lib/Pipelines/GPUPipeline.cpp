//===- GPUPipeline.cpp - adamas-gpu-pipeline ------------------------------===//
//
// Decode steps on tensors, or whole model functions around them (a decoder
// layer after adamas-sparsify), to `gpu.binary`s of kernels plus host code in
// the LLVM dialect that calls the runtime's mgpu* entry points:
//
//  1. TOSA to linalg (a no-op without TOSA); the adamas ops of model
//     functions outlined into decode-step functions
//     (adamas-outline-decode-steps);
//  2. the steps to fused kernels (adamas-lower-to-gpu), their calls to
//     buffers;
//  3. the rest of the model through upstream passes only: one-shot
//     bufferization (results become output arguments like the steps'),
//     buffers in device memory (adamas-host-to-device-buffers), linalg to
//     parallel loops, loops mapped to blocks and threads, gpu.launch,
//     kernels outlined, the host's GPU ops chained on one stream
//     (gpu-async-region: gpu-to-llvm makes it the runtime's current stream);
//  4. upstream's gpu-lower-to-nvvm-pipeline, except that the CUDA toolkit is
//     always given to gpu-module-to-binary (else libdevice math stays
//     unresolved) and sm_90 gets a PTX ISA that knows it.
//
//===----------------------------------------------------------------------===//

#include "adamas/Conversion/Passes.h"
#include "adamas/Pipelines/Pipelines.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/GPUCommon/GPUCommonPass.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/NVVMToLLVM/NVVMToLLVM.h"
#include "mlir/Conversion/SCFToGPU/SCFToGPUPass.h"
#include "mlir/Conversion/TosaToArith/TosaToArith.h"
#include "mlir/Conversion/TosaToLinalg/TosaToLinalg.h"
#include "mlir/Conversion/TosaToTensor/TosaToTensor.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "adamas/Dialect/Adamas/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/Transforms/OptimizeForNVVM.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Process.h"

using namespace mlir;
using namespace mlir::adamas;

std::string mlir::adamas::defaultCudaToolkit() {
  if (std::optional<std::string> home = llvm::sys::Process::GetEnv("CUDA_HOME"))
    if (!home->empty())
      return *home;
  // Without a toolkit PTX (format=isa) still builds: the kernels call no
  // libdevice function. A cubin needs ptxas, and says so.
  if (llvm::sys::fs::is_directory("/usr/local/cuda"))
    return "/usr/local/cuda";
  return "";
}

void mlir::adamas::buildGPUPipeline(OpPassManager &pm,
                                    const GPUPipelineOptions &options) {
  std::string toolkit = options.toolkit.empty() ? defaultCudaToolkit()
                                                : std::string(options.toolkit);
  // 1. Model functions: TOSA to linalg, adamas ops into decode steps.
  pm.addNestedPass<func::FuncOp>(tosa::createTosaToLinalgNamed());
  pm.addNestedPass<func::FuncOp>(tosa::createTosaToLinalg());
  pm.addNestedPass<func::FuncOp>(createTosaToArithPass());
  pm.addNestedPass<func::FuncOp>(createTosaToTensorPass());
  pm.addPass(createAdamasOutlineDecodeSteps());

  // 2. The steps.
  AdamasLowerToGPUOptions lower;
  lower.chip = options.chip;
  lower.numMultiprocessors = options.numMultiprocessors;
  lower.maxClusterSize = options.maxClusterSize;
  lower.clusterSelect = options.clusterSelect;
  lower.tensorCoreDistances = options.tensorCoreDistances;
  lower.l2CacheHints = options.l2CacheHints;
  lower.selectEncodesQueries = options.selectEncodesQueries;
  lower.selectReleasesLate = options.selectReleasesLate;
  lower.selectPipelinesKeys = options.selectPipelinesKeys;
  lower.selectAsyncKeyCopies = options.selectAsyncKeyCopies;
  lower.selectShortPassKeyCopies = options.selectShortPassKeyCopies;
  lower.selectGridSync = options.selectGridSync;
  lower.selectPrecompactsCandidates = options.selectPrecompactsCandidates;
  lower.attendLongSplits = options.attendLongSplits;
  lower.attendLongFormCtasPerSm = options.attendLongFormCtasPerSm;
  lower.attendTensorCoreDots = options.attendTensorCoreDots;
  lower.attendLongFormTensorCoreDots = options.attendLongFormTensorCoreDots;
  lower.attendSoftmaxInQuads = options.attendSoftmaxInQuads;
  lower.attendLongFormClusterMerge = options.attendLongFormClusterMerge;
  lower.attendCompactsSelection = options.attendCompactsSelection;
  lower.attendAsyncClusterMerge = options.attendAsyncClusterMerge;
  lower.attendAsyncClusterCompaction = options.attendAsyncClusterCompaction;
  lower.attendClusterWaves = options.attendClusterWaves;
  lower.toolkit = toolkit;
  pm.addPass(createAdamasLowerToGPU(lower));

  // 3. The rest of the model (nothing to do for a module of steps).
  // Results become output arguments, as those of the steps: the caller's
  // device buffers.
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  bufferization::BufferResultsToOutParamsPassOptions outParams;
  outParams.hoistStaticAllocs = true;
  outParams.modifyPublicFunctions = true;
  pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createAdamasHostToDeviceBuffers());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  pm.addNestedPass<func::FuncOp>(createGpuMapParallelLoopsPass());
  pm.addNestedPass<func::FuncOp>(createConvertParallelLoopToGpuPass());
  pm.addPass(createGpuKernelOutliningPass());
  AdamasHostToDeviceBuffersOptions verify;
  verify.verifyOnly = true;
  pm.addPass(createAdamasHostToDeviceBuffers(verify));
  pm.addNestedPass<func::FuncOp>(createGpuAsyncRegionPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());

  // Host and device alike, as upstream's pipeline.
  pm.addPass(createConvertVectorToSCFPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertNVVMToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip;
  // PTX 8.1: sm_90 (8.0) and st.async (AttendConfig::asyncClusterMerge).
  target.features = options.features.empty() ? std::string("+ptx81")
                                             : std::string(options.features);
  target.optLevel = options.optLevel;
  pm.addPass(createGpuNVVMAttachTarget(target));
  pm.addPass(createLowerAffinePass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());

  // Kernels.
  pm.addNestedPass<gpu::GPUModuleOp>(createStripDebugInfoPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createConvertGpuOpsToNVVMOps());
  pm.addNestedPass<gpu::GPUModuleOp>(LLVM::createNVVMOptimizeForTargetPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createCanonicalizerPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createCSEPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createReconcileUnrealizedCastsPass());

  // Host, and the kernels serialized.
  pm.addPass(createGpuToLLVMConversionPass());
  GpuModuleToBinaryPassOptions binary;
  switch (options.format) {
  case KernelFormat::Bin:
    binary.compilationTarget = "bin";
    break;
  case KernelFormat::Isa:
    binary.compilationTarget = "isa";
    break;
  case KernelFormat::Fatbin:
    binary.compilationTarget = "fatbin";
    break;
  }
  binary.toolkitPath = toolkit;
  pm.addPass(createGpuModuleToBinaryPass(binary));
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}
