//===- HostBuilder.cpp - Host side of the GPU lowering --------------------===//

#include "HostBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;
using namespace mlir::adamas;

HostBuilder::HostBuilder(ImplicitLocOpBuilder &b, gpu::GPUModuleOp module,
                         const TargetInfo &target)
    : b(b), module(module), info(target) {
  auto tokenType = gpu::AsyncTokenType::get(b.getContext());
  token = gpu::WaitOp::create(b, tokenType, ValueRange{}).getAsyncToken();
}

OpBuilder HostBuilder::moduleBuilder() {
  OpBuilder builder(b.getContext());
  builder.setInsertionPointToEnd(module.getBody());
  return builder;
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
  scratch.push_back(alloc.getMemref());
  return alloc.getMemref();
}

void HostBuilder::launch(gpu::GPUFuncOp kernel, Value gridX, Value gridY,
                         Value gridZ, int64_t blockSize, ValueRange args) {
  // An empty grid (e.g. B = 0) is launched as one CTA per dimension, which
  // finds no work: CUDA rejects a zero grid, and a launch inside an `scf.if`
  // would take the token chain out of reach of gpu-to-llvm.
  Value one = indexConst(b, 1);
  auto atLeastOne = [&](Value size) -> Value {
    return arith::MaxUIOp::create(b, size, one);
  };
  auto launch = gpu::LaunchFuncOp::create(
      b, kernel,
      gpu::KernelDim3{atLeastOne(gridX), atLeastOne(gridY), atLeastOne(gridZ)},
      gpu::KernelDim3{indexConst(b, blockSize), one, one},
      /*dynamicSharedMemorySize=*/Value(), args,
      gpu::AsyncTokenType::get(b.getContext()), ValueRange{token});
  token = launch.getAsyncToken();
}

void HostBuilder::finish() {
  auto tokenType = gpu::AsyncTokenType::get(b.getContext());
  for (Value buffer : scratch)
    token = gpu::DeallocOp::create(b, tokenType, ValueRange{token}, buffer)
                .getAsyncToken();
  gpu::WaitOp::create(b, Type(), ValueRange{token});
}
