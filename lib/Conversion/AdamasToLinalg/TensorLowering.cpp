//===- TensorLowering.cpp - Helpers of the reference lowering -------------===//

#include "TensorLowering.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::adamas;

Value mlir::adamas::dimSize(ImplicitLocOpBuilder &b, Value tensor,
                            int64_t dim) {
  auto type = cast<RankedTensorType>(tensor.getType());
  if (!type.isDynamicDim(dim))
    return indexConst(b, type.getDimSize(dim));
  return tensor::DimOp::create(b, tensor, dim);
}

Value mlir::adamas::buildRowNest(
    ImplicitLocOpBuilder &b, ArrayRef<Value> ubs, Value init,
    function_ref<Value(ImplicitLocOpBuilder &, ValueRange ivs, Value tensor)>
        body) {
  SmallVector<Value> lbs(ubs.size(), indexConst(b, 0));
  SmallVector<Value> steps(ubs.size(), indexConst(b, 1));
  scf::LoopNest nest =
      scf::buildLoopNest(b, b.getLoc(), lbs, ubs, steps, init,
                         [&](OpBuilder &nested, Location loc, ValueRange ivs,
                             ValueRange args) -> scf::ValueVector {
                           ImplicitLocOpBuilder nb(loc, nested);
                           return {body(nb, ivs, args.front())};
                         });
  return nest.results.front();
}

Value mlir::adamas::emptyTensor(ImplicitLocOpBuilder &b, Type type,
                                ArrayRef<Value> sizes) {
  auto tensorType = cast<RankedTensorType>(type);
  SmallVector<Value> dynamicSizes;
  for (auto [i, size] : llvm::enumerate(sizes))
    if (tensorType.isDynamicDim(i))
      dynamicSizes.push_back(size);
  return tensor::EmptyOp::create(b, tensorType, dynamicSizes);
}

void mlir::adamas::replaceWithResult(ConversionPatternRewriter &rewriter,
                                     Operation *op, Value result) {
  Type type = op->getResult(0).getType();
  if (result.getType() != type)
    result = tensor::CastOp::create(rewriter, op->getLoc(), type, result);
  rewriter.replaceOp(op, result);
}

Value mlir::adamas::allocScratch(ImplicitLocOpBuilder &b, Type elementType,
                                 Value size) {
  if (std::optional<int64_t> staticSize = getConstantIntValue(size))
    return memref::AllocOp::create(b,
                                   MemRefType::get({*staticSize}, elementType));
  return memref::AllocOp::create(
      b, MemRefType::get({ShapedType::kDynamic}, elementType), size);
}
