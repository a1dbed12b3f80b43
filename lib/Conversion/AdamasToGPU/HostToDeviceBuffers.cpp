//===- HostToDeviceBuffers.cpp - adamas-host-to-device-buffers ------------===//
//
// After bufferization, the host code of a model function (a decoder layer)
// allocates and copies with the memref dialect, i.e. in host memory, while
// every kernel reads and writes device memory. This pass makes every buffer
// a host function touches device memory. It runs after bufferization and
// before the linalg ops become loops and kernels:
//
//   memref.alloc      -> gpu.alloc, and a gpu.dealloc at the end of the
//                        function (as the fused steps free their scratch);
//   memref.dealloc    -> gpu.dealloc;
//   memref.copy       -> gpu.memcpy between identity layouts, else (a
//                        strided view, e.g. the halves of a tensor.concat)
//                        linalg.copy, which becomes a kernel like the rest;
//   memref.get_global -> a device buffer filled from the global (gpu.memcpy)
//                        in every call, so constants are device memory too.
//
// The GPU ops are created synchronous; upstream gpu-async-region then chains
// them on the function's stream with the launches (gpu-to-llvm makes that the
// runtime's current stream). With `verify-only`, after the loops became
// kernels, it checks that nothing else reads or writes a buffer on the host
// (a loop nest the mapping left on the host, a memref.load): that is an error
// naming the op, because the buffer is device memory. Upstream MLIR has no
// such pass (its CUDA tests allocate with gpu.alloc or register host memory).
//
//===----------------------------------------------------------------------===//

#include "adamas/Conversion/AdamasToGPU/AdamasToGPU.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir::adamas {
#define GEN_PASS_DEF_ADAMASHOSTTODEVICEBUFFERS
#include "adamas/Conversion/Passes.h.inc"
} // namespace mlir::adamas

using namespace mlir;
using namespace mlir::adamas;

namespace {

/// Host ops that may take device buffers: views and metadata, the GPU
/// runtime ops, calls (of decode steps and other host functions, which this
/// pass checks in turn) and the return.
bool mayTakeDeviceBuffers(Operation *op, bool afterKernels) {
  if (isa<gpu::GPUDialect>(op->getDialect()))
    return true;
  // Before the loops become kernels, linalg ops are the kernels to be.
  if (!afterKernels && isa<linalg::LinalgDialect>(op->getDialect()))
    return true;
  return isa<func::CallOp, func::ReturnOp, memref::DimOp, memref::RankOp,
             memref::SubViewOp, memref::ViewOp, memref::CollapseShapeOp,
             memref::ExpandShapeOp,
             memref::CastOp, memref::ReinterpretCastOp,
             memref::ExtractStridedMetadataOp,
             memref::ExtractAlignedPointerAsIndexOp, memref::AssumeAlignmentOp,
             memref::GetGlobalOp, memref::AllocOp, memref::DeallocOp,
             memref::CopyOp>(op);
}

bool hasIdentityLayout(Value memref) {
  return cast<MemRefType>(memref.getType()).getLayout().isIdentity();
}

struct HostToDeviceBuffersPass
    : adamas::impl::AdamasHostToDeviceBuffersBase<HostToDeviceBuffersPass> {
  using AdamasHostToDeviceBuffersBase::AdamasHostToDeviceBuffersBase;

  void runOnOperation() override {
    SmallVector<func::FuncOp> funcs;
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (!func.isExternal())
        funcs.push_back(func);
    for (func::FuncOp func : funcs)
      if (failed(convert(func)))
        return signalPassFailure();
  }

  LogicalResult convert(func::FuncOp func);
};

} // namespace

LogicalResult HostToDeviceBuffersPass::convert(func::FuncOp func) {
  // First the checks, so that a failure leaves the function as it was.
  bool usesMemory = false;
  WalkResult checked = func.walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (isa<gpu::LaunchOp>(op))
      return WalkResult::skip(); // device code
    bool takesMemref =
        llvm::any_of(op->getOperandTypes(), llvm::IsaPred<MemRefType>) ||
        llvm::any_of(op->getResultTypes(), llvm::IsaPred<MemRefType>);
    if (!takesMemref)
      return WalkResult::advance();
    usesMemory = true;
    if (!mayTakeDeviceBuffers(op, verifyOnly)) {
      op->emitOpError("cannot run on the host of a GPU program: it accesses "
                      "a buffer, and every buffer is device memory (a loop "
                      "nest that was not mapped to a GPU kernel?)");
      return WalkResult::interrupt();
    }
    if (isa<memref::AllocOp, memref::DeallocOp, memref::GetGlobalOp,
            memref::CopyOp>(op) &&
        op->getParentOp() != func.getOperation()) {
      op->emitOpError("cannot be moved to device memory inside a nested "
                      "region (only in the function's body)");
      return WalkResult::interrupt();
    }
    // A global is read only by the copy that fills its device buffer.
    bool copiedGlobal =
        isa<memref::GetGlobalOp>(op) &&
        llvm::all_of(op->getUsers(), llvm::IsaPred<gpu::MemcpyOp>);
    if (verifyOnly && !copiedGlobal &&
        isa<memref::AllocOp, memref::DeallocOp, memref::GetGlobalOp,
            memref::CopyOp>(op)) {
      op->emitOpError("cannot run on the host of a GPU program: host "
                      "memory (run adamas-host-to-device-buffers before the "
                      "loops become kernels)");
      return WalkResult::interrupt();
    }
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      ret.emitOpError("cannot return a buffer from a GPU host function: "
                      "results are output arguments (buffer-results-to-out-"
                      "params)");
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  if (checked.wasInterrupted())
    return failure();
  if (!usesMemory || verifyOnly)
    return success();
  if (!func.getBody().hasOneBlock())
    return func.emitOpError("cannot place its buffers in device memory: the "
                            "body has several blocks");

  Block &body = func.getBody().front();
  SmallVector<Value> toFree;
  SmallVector<Operation *> toErase;
  for (Operation &op : llvm::make_early_inc_range(body)) {
    OpBuilder b(&op);
    Location loc = op.getLoc();
    if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
      auto device = gpu::AllocOp::create(
          b, loc, alloc.getType(), /*asyncToken=*/Type(), ValueRange{},
          alloc.getDynamicSizes(), alloc.getSymbolOperands(),
          /*hostShared=*/false);
      alloc.replaceAllUsesWith(device.getMemref());
      bool freed = llvm::any_of(device.getMemref().getUsers(),
                                llvm::IsaPred<memref::DeallocOp>);
      if (!freed)
        toFree.push_back(device.getMemref());
      alloc.erase();
    } else if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
      gpu::DeallocOp::create(b, loc, /*asyncToken=*/Type(), ValueRange{},
                             dealloc.getMemref());
      dealloc.erase();
    } else if (auto copy = dyn_cast<memref::CopyOp>(op)) {
      // gpu-to-llvm copies whole identity-layout buffers only.
      if (hasIdentityLayout(copy.getSource()) &&
          hasIdentityLayout(copy.getTarget()))
        gpu::MemcpyOp::create(b, loc, /*asyncToken=*/Type(), ValueRange{},
                              copy.getTarget(), copy.getSource());
      else
        linalg::CopyOp::create(b, loc, copy.getSource(), copy.getTarget());
      copy.erase();
    } else if (auto global = dyn_cast<memref::GetGlobalOp>(op)) {
      // A device copy of the constant, then every other use reads it.
      b.setInsertionPointAfter(global);
      auto device = gpu::AllocOp::create(
          b, loc, global.getType(), /*asyncToken=*/Type(), ValueRange{},
          ValueRange{}, ValueRange{}, /*hostShared=*/false);
      global.getResult().replaceAllUsesWith(device.getMemref());
      gpu::MemcpyOp::create(b, loc, /*asyncToken=*/Type(), ValueRange{},
                            device.getMemref(), global.getResult());
      toFree.push_back(device.getMemref());
    }
  }
  OpBuilder b(body.getTerminator());
  for (Value buffer : llvm::reverse(toFree))
    gpu::DeallocOp::create(b, buffer.getLoc(), /*asyncToken=*/Type(),
                           ValueRange{}, buffer);
  return success();
}
