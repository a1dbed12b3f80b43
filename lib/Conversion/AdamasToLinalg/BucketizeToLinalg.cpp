//===- BucketizeToLinalg.cpp - adamas.bucketize -------------------------===//
//
// Part of the reference lowering (adamas-lower-to-linalg); see
// AdamasToLinalg.cpp for the overall scheme.
//
//===----------------------------------------------------------------------===//

#include "TensorLowering.h"
#include "adamas/Dialect/Adamas/IR/AdamasOps.h"
#include "adamas/Dialect/Adamas/Utils/CodeArithmetic.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::adamas;

namespace {
/// One `linalg.generic` on the input viewed as `<... x G x 32>` (groups of 32
/// dims) producing the result viewed as `<... x G x b>`: word (g, p) ORs,
/// over the 32 dims i of its group (the reduction dimension), bit p of the
/// code of dim 32g + i shifted to bit i. The code is the number of
/// thresholds strictly below the f32-extended input, so NaN (every
/// comparison false) gets code 0.
struct BucketizeOpLowering : OpConversionPattern<BucketizeOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(BucketizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    MLIRContext *ctx = op.getContext();
    Value input = adaptor.getInput();
    Value headThresholds = adaptor.getHeadThresholds();
    auto inputType = cast<RankedTensorType>(input.getType());
    int64_t rank = inputType.getRank();
    int64_t bits = op.getBits();
    // The verifier guarantees a static, bounded multiple of 32; should an
    // unverified op get here, fail with a diagnostic rather than build
    // invalid reshapes.
    int64_t dims = inputType.getDimSize(rank - 1);
    if (ShapedType::isDynamic(dims) || !codeWordsPerRow(dims, bits))
      return op.emitOpError("cannot be lowered: the last dimension of "
                            "'input' (D) must be a static multiple of 32 in "
                            "[32, ")
             << kMaxCodeDims << "]";
    int64_t numGroups = dims / kDimsPerGroup;
    ArrayRef<float> thresholds = op.getThresholds();

    // <... x D> -> <... x G x 32>, and the result <... x G x b>.
    SmallVector<ReassociationIndices> reassociation;
    for (int64_t i = 0; i + 1 < rank; ++i)
      reassociation.push_back({i});
    reassociation.push_back({rank - 1, rank});
    SmallVector<OpFoldResult> sizes =
        tensor::getMixedSizes(b, b.getLoc(), input);
    sizes.back() = b.getIndexAttr(numGroups);
    SmallVector<OpFoldResult> inputSizes(sizes), wordSizes(sizes);
    inputSizes.push_back(b.getIndexAttr(32));
    wordSizes.push_back(b.getIndexAttr(bits));
    SmallVector<int64_t> groupedShape(inputType.getShape());
    groupedShape.back() = numGroups;
    groupedShape.push_back(32);
    Value grouped = tensor::ExpandShapeOp::create(
        b, RankedTensorType::get(groupedShape, inputType.getElementType()),
        input, reassociation, inputSizes);
    Value empty = tensor::EmptyOp::create(b, wordSizes, b.getI32Type());
    Value init = linalg::FillOp::create(b, ValueRange{i32Const(b, 0)}, empty)
                     .getResult(0);

    // Loop dims: d0 .. d(rank-2) leading, then the group, the plane p and the
    // bit i (reduction).
    SmallVector<AffineExpr> leading;
    for (int64_t i = 0; i < rank; ++i)
      leading.push_back(getAffineDimExpr(i, ctx));
    SmallVector<AffineExpr> inputExprs(leading), outputExprs(leading);
    inputExprs.push_back(getAffineDimExpr(rank + 1, ctx));
    outputExprs.push_back(getAffineDimExpr(rank, ctx));
    SmallVector<AffineMap> maps = {
        AffineMap::get(rank + 2, 0, inputExprs, ctx),
        AffineMap::get(rank + 2, 0, outputExprs, ctx)};
    SmallVector<utils::IteratorType> iterators(rank + 1,
                                               utils::IteratorType::parallel);
    iterators.push_back(utils::IteratorType::reduction);

    auto body = [&](OpBuilder &nested, Location loc, ValueRange args) {
      ImplicitLocOpBuilder b(loc, nested);
      Value x = extendToF32(b, args[0]);
      Value head;
      if (headThresholds)
        head = linalg::IndexOp::create(b, 1);
      // Per-head thresholds replace the attribute's values (which still fix
      // b); they need not be sorted, counting does not care.
      SmallVector<Value> thresholdValues;
      for (auto [i, t] : llvm::enumerate(thresholds))
        thresholdValues.push_back(
            headThresholds ? tensor::ExtractOp::create(
                                 b, headThresholds,
                                 ValueRange{head, indexConst(b, int64_t(i))})
                                 .getResult()
                           : f32Const(b, t));
      Value code = buildCode(b, x, thresholdValues);
      Value plane = toI32(b, linalg::IndexOp::create(b, rank));
      Value bit = toI32(b, linalg::IndexOp::create(b, rank + 1));
      Value codeBit = arith::AndIOp::create(
          b, arith::ShRUIOp::create(b, code, plane), i32Const(b, 1));
      Value word = arith::OrIOp::create(b, args[1],
                                        arith::ShLIOp::create(b, codeBit, bit));
      linalg::YieldOp::create(b, word);
    };
    Value words =
        linalg::GenericOp::create(b, TypeRange{init.getType()}, grouped, init,
                                  maps, iterators, body)
            .getResult(0);
    // <... x G x b> -> <... x W>: word g*b + p.
    Value result = tensor::CollapseShapeOp::create(b, words, reassociation);
    replaceWithResult(rewriter, op, result);
    return success();
  }
};
} // namespace

void mlir::adamas::populateBucketizeToLinalgPattern(
    RewritePatternSet &patterns) {
  patterns.add<BucketizeOpLowering>(patterns.getContext());
}
