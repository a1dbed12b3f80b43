//===- HostBuilder.h - Host side of the GPU lowering ------------*- C++ -*-===//
//
// What every fused kernel's launch needs on the host: the step's stream as a
// chain of `!gpu.async.token`s (MLIR's gpu-to-llvm maps the chain to one
// stream: the runtime's current stream, see runtime/README.md), operands
// flattened to the 1-D buffers the kernels take, scratch from the runtime's
// stream-ordered pool (`gpu.alloc async`, freed at the end of the step), and
// `gpu.launch_func`.
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_LIB_CONVERSION_ADAMASTOGPU_HOSTBUILDER_H
#define ADAMAS_LIB_CONVERSION_ADAMASTOGPU_HOSTBUILDER_H

#include "adamas/Conversion/AdamasToGPU/TargetInfo.h"
#include "adamas/Dialect/Adamas/Utils/BuilderUtils.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::adamas {

class HostBuilder {
public:
  /// Starts the stream chain (`gpu.wait async`) at `b`'s insertion point.
  HostBuilder(ImplicitLocOpBuilder &b, gpu::GPUModuleOp module,
              const TargetInfo &target);

  ImplicitLocOpBuilder &builder() { return b; }
  gpu::GPUModuleOp kernelModule() { return module; }
  const TargetInfo &target() const { return info; }

  /// A builder at the end of the kernel module, for the kernel builders.
  OpBuilder moduleBuilder();

  /// The multiprocessors of the device the step runs on (index), asked of
  /// the runtime (mgpuDeviceMultiprocessorCount, cached there): what a grid
  /// whose CTAs must all be resident at once is sized against, where the
  /// target's usual count may be more than the part or MIG slice has.
  Value deviceMultiprocessors();

  /// `memref` (identity layout) viewed as a 1-D `memref<?xT>`.
  Value flatten(Value memref);
  /// Dimension `i` of a memref as an index value (constant when static).
  Value dim(Value memref, int64_t i);
  /// Product of all dimensions but the last of a memref (its rows).
  Value leadingRows(Value memref);

  /// A 1-D scratch buffer of `numElements` elements for this step, freed
  /// when the step ends. finish() carves all of a step's scratch out of one
  /// allocation made before the first launch (see coalesceScratch).
  Value allocScratch(Type elementType, Value numElements);
  /// A scratch buffer of `type` (identity layout), its dynamic sizes given.
  Value allocScratch(MemRefType type, ValueRange dynamicSizes);

  /// `gpu.launch_func async` of `kernel` on the step's stream; with
  /// `clusterX`, in thread block clusters of (clusterX, 1, 1) CTAs (gridX
  /// must be a multiple of it). An empty grid (B = 0) becomes one CTA per
  /// dimension, which finds no work; with `choosable` it stays empty, and
  /// the adamas runtime launches nothing for it (how the host picks one
  /// of two forms of a kernel at run time).
  void launch(gpu::GPUFuncOp kernel, Value gridX, Value gridY, Value gridZ,
              int64_t blockSize, ValueRange args, Value clusterX = Value(),
              bool choosable = false);

  /// Frees the scratch and ends the chain (`gpu.wait`): the work stays
  /// enqueued on the caller's stream.
  void finish();

private:
  /// Replaces the step's scratch allocations by views of one `gpu.alloc`
  /// made right after the chain starts, so that (1) the kernels follow each
  /// other on the stream with nothing in between (a programmatic dependent
  /// launch only overlaps a kernel with the kernel right before it), and (2)
  /// an eager step makes one pool allocation and one free, not one per
  /// buffer. Leaves the allocations as they are if a size depends on
  /// something that cannot move before the first launch.
  void coalesceScratch();

  gpu::WaitOp start;
  /// deviceMultiprocessors(), once asked.
  Value multiprocessors;
  ImplicitLocOpBuilder &b;
  gpu::GPUModuleOp module;
  const TargetInfo &info;
  Value token;
  SmallVector<gpu::AllocOp> scratch;
};

} // namespace mlir::adamas

#endif // ADAMAS_LIB_CONVERSION_ADAMASTOGPU_HOSTBUILDER_H
