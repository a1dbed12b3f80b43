//===- HostBuilder.cpp - Host side of the GPU lowering --------------------===//

#include "HostBuilder.h"

#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

using namespace mlir;
using namespace mlir::adamas;

HostBuilder::HostBuilder(ImplicitLocOpBuilder &b, gpu::GPUModuleOp module,
                         const TargetInfo &target)
    : b(b), module(module), info(target) {
  auto tokenType = gpu::AsyncTokenType::get(b.getContext());
  start = gpu::WaitOp::create(b, tokenType, ValueRange{});
  token = start.getAsyncToken();
}

OpBuilder HostBuilder::moduleBuilder() {
  OpBuilder builder(b.getContext());
  builder.setInsertionPointToEnd(module.getBody());
  return builder;
}

Value HostBuilder::deviceMultiprocessors() {
  if (multiprocessors)
    return multiprocessors;
  constexpr StringLiteral kName = "mgpuDeviceMultiprocessorCount";
  auto host = start->getParentOfType<ModuleOp>();
  Type i32 = b.getI32Type();
  OpBuilder::InsertionGuard guard(b);
  if (!host.lookupSymbol(kName)) {
    b.setInsertionPointToStart(host.getBody());
    auto decl = func::FuncOp::create(b, kName, b.getFunctionType({}, {i32}));
    decl.setPrivate();
  }
  // Before the stream chain starts: a call amid it would split the chain
  // (gpu-async-region waits for the stream before an unknown call), and
  // one call serves the step.
  b.setInsertionPoint(start);
  Value count = func::CallOp::create(b, kName, TypeRange{i32}, ValueRange{})
                    .getResult(0);
  multiprocessors = arith::IndexCastOp::create(b, b.getIndexType(), count);
  return multiprocessors;
}

Value HostBuilder::flatten(Value memref) {
  auto type = cast<MemRefType>(memref.getType());
  if (type.getRank() == 1)
    return memref;
  ReassociationIndices all;
  for (int64_t i = 0; i < type.getRank(); ++i)
    all.push_back(i);
  return memref::CollapseShapeOp::create(b, memref,
                                         ArrayRef<ReassociationIndices>{all});
}

Value HostBuilder::dim(Value memref, int64_t i) {
  auto type = cast<MemRefType>(memref.getType());
  if (!type.isDynamicDim(i))
    return indexConst(b, type.getDimSize(i));
  return memref::DimOp::create(b, memref, i);
}

Value HostBuilder::leadingRows(Value memref) {
  auto type = cast<MemRefType>(memref.getType());
  Value rows = indexConst(b, 1);
  for (int64_t i = 0; i + 1 < type.getRank(); ++i)
    rows = arith::MulIOp::create(b, rows, dim(memref, i));
  return rows;
}

Value HostBuilder::allocScratch(Type elementType, Value numElements) {
  return allocScratch(MemRefType::get({ShapedType::kDynamic}, elementType),
                      ValueRange{numElements});
}

Value HostBuilder::allocScratch(MemRefType type, ValueRange dynamicSizes) {
  auto alloc = gpu::AllocOp::create(
      b, type, gpu::AsyncTokenType::get(b.getContext()), ValueRange{token},
      dynamicSizes, ValueRange{}, /*hostShared=*/false);
  token = alloc.getAsyncToken();
  scratch.push_back(alloc);
  return alloc.getMemref();
}

void HostBuilder::launch(gpu::GPUFuncOp kernel, Value gridX, Value gridY,
                         Value gridZ, int64_t blockSize, ValueRange args,
                         Value clusterX, bool choosable) {
  // An empty grid (e.g. B = 0) is launched as one CTA per dimension, which
  // finds no work: CUDA rejects a zero grid, and a launch inside an `scf.if`
  // would take the token chain out of reach of gpu-to-llvm. A choosable
  // launch keeps its empty grid: the adamas runtime skips it (upstream's
  // would report the driver's error).
  Value one = indexConst(b, 1);
  auto atLeastOne = [&](Value size) -> Value {
    if (choosable)
      return size;
    return arith::MaxUIOp::create(b, size, one);
  };
  Value x = atLeastOne(gridX);
  auto launch = gpu::LaunchFuncOp::create(
      b, kernel, gpu::KernelDim3{x, atLeastOne(gridY), atLeastOne(gridZ)},
      gpu::KernelDim3{indexConst(b, blockSize), one, one},
      /*dynamicSharedMemorySize=*/Value(), args,
      gpu::AsyncTokenType::get(b.getContext()), ValueRange{token},
      clusterX ? std::optional<gpu::KernelDim3>(gpu::KernelDim3{
                     clusterX == gridX ? x : atLeastOne(clusterX), one, one})
               : std::nullopt);
  token = launch.getAsyncToken();
}

void HostBuilder::coalesceScratch() {
  Block *block = start->getBlock();
  // A later size may be a dimension of an earlier scratch buffer (e.g. the
  // batch of the query codes): take it from the allocation's operands, so
  // that no size depends on an allocation.
  for (gpu::AllocOp alloc : scratch) {
    MemRefType type = alloc.getType();
    for (Operation *user : llvm::make_early_inc_range(alloc.getMemref().getUsers())) {
      auto dim = dyn_cast<memref::DimOp>(user);
      std::optional<int64_t> index = dim ? dim.getConstantIndex() : std::nullopt;
      if (!index || *index < 0 || *index >= type.getRank())
        continue;
      ImplicitLocOpBuilder at(dim.getLoc(), dim);
      Value size = type.isDynamicDim(*index)
                       ? alloc.getDynamicSizes()[type.getDynamicDimIndex(*index)]
                       : indexConst(at, type.getDimSize(*index));
      dim.getResult().replaceAllUsesWith(size);
      dim->erase();
    }
  }
  // Everything the sizes are computed from must be side-effect free and
  // movable in front of the chain (they are: memref.dim of the arguments
  // and index arithmetic).
  SetVector<Operation *> slice;
  BackwardSliceOptions options;
  options.inclusive = true;
  options.filter = [&](Operation *op) { return op->getBlock() == block; };
  for (gpu::AllocOp alloc : scratch)
    for (Value size : alloc.getDynamicSizes())
      if (Operation *def = size.getDefiningOp())
        if (failed(getBackwardSlice(def, &slice, options)))
          return;
  for (Operation *op : slice)
    if (!isMemoryEffectFree(op) || op->getNumRegions())
      return;
  SmallVector<Operation *> ordered(slice.begin(), slice.end());
  llvm::sort(ordered, [](Operation *x, Operation *y) {
    return x->isBeforeInBlock(y);
  });
  for (Operation *op : ordered)
    if (start->isBeforeInBlock(op))
      op->moveBefore(start);

  // Byte offsets, each buffer 256-byte aligned (as cudaMalloc's are).
  ImplicitLocOpBuilder at(start.getLoc(), b.getContext());
  at.setInsertionPointAfter(start);
  constexpr int64_t kAlign = 256;
  Value total = indexConst(at, 0);
  SmallVector<Value> offsets;
  for (gpu::AllocOp alloc : scratch) {
    MemRefType type = alloc.getType();
    Value elements = indexConst(at, 1);
    unsigned dynamic = 0;
    for (int64_t size : type.getShape())
      elements = arith::MulIOp::create(
          at, elements,
          ShapedType::isDynamic(size) ? alloc.getDynamicSizes()[dynamic++]
                                      : indexConst(at, size));
    Value bytes = arith::MulIOp::create(
        at, elements, indexConst(at, type.getElementTypeBitWidth() / 8));
    Value padded = arith::MulIOp::create(
        at, arith::CeilDivUIOp::create(at, bytes, indexConst(at, kAlign)),
        indexConst(at, kAlign));
    offsets.push_back(total);
    total = arith::AddIOp::create(at, total, padded);
  }
  auto bytesType = MemRefType::get({ShapedType::kDynamic}, at.getI8Type());
  auto block0 = gpu::AllocOp::create(
      at, bytesType, gpu::AsyncTokenType::get(b.getContext()),
      ValueRange{start.getAsyncToken()}, ValueRange{total}, ValueRange{},
      /*hostShared=*/false);
  start.getAsyncToken().replaceAllUsesExcept(block0.getAsyncToken(), block0);
  for (auto [alloc, offset] : llvm::zip(scratch, offsets)) {
    Value view = memref::ViewOp::create(at, alloc.getType(), block0.getMemref(),
                                        offset, alloc.getDynamicSizes());
    alloc.getMemref().replaceAllUsesWith(view);
    alloc.getAsyncToken().replaceAllUsesWith(alloc.getAsyncDependencies()[0]);
    if (token == alloc.getAsyncToken())
      token = alloc.getAsyncDependencies()[0];
    alloc->erase();
  }
  scratch.assign({block0});
}

void HostBuilder::finish() {
  if (!scratch.empty())
    coalesceScratch();
  auto tokenType = gpu::AsyncTokenType::get(b.getContext());
  for (gpu::AllocOp buffer : scratch)
    token = gpu::DeallocOp::create(b, tokenType, ValueRange{token},
                                   buffer.getMemref())
                .getAsyncToken();
  gpu::WaitOp::create(b, Type(), ValueRange{token});
}
