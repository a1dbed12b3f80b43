//===- CacheWriteToLinalg.cpp - adamas.cache_write --------------*- C++ -*-===//
//
// Part of the reference lowering (adamas-lower-to-linalg); see
// AdamasToLinalg.cpp for the overall scheme.
//
//===----------------------------------------------------------------------===//

#include "TensorLowering.h"
#include "adamas/Dialect/Adamas/IR/AdamasOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::adamas;

namespace {
/// An `scf.for` nest over (batch, head, new row) threading the cache tensor:
/// each row whose position `lengths[b] - M + m` lies in `[0, N)` is inserted
/// with `tensor.insert_slice`. The cache is the loop's init value, so
/// One-Shot Bufferize writes the rows in place into the cache's buffer.
struct CacheWriteOpLowering : OpConversionPattern<CacheWriteOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(CacheWriteOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    Value rows = adaptor.getRows(), cache = adaptor.getCache(),
          lengths = adaptor.getLengths();
    Value numBatches = dimSize(b, cache, 0);
    Value numHeads = dimSize(b, cache, 1);
    Value numRows = dimSize(b, rows, 2);
    Value numPositions = dimSize(b, cache, 2);
    OpFoldResult features = tensor::getMixedSize(b, b.getLoc(), cache, 3);
    OpFoldResult zero = b.getIndexAttr(0);
    Value c0 = indexConst(b, 0);

    Value result = buildRowNest(
        b, {numBatches, numHeads, numRows}, cache,
        [&](ImplicitLocOpBuilder &b, ValueRange ivs, Value tensor) {
          Value batch = ivs[0], head = ivs[1], row = ivs[2];
          Value length =
              toIndex(b, tensor::ExtractOp::create(b, lengths, batch));
          Value pos = arith::AddIOp::create(
              b, arith::SubIOp::create(b, length, numRows), row);
          Value inRange = arith::AndIOp::create(
              b, arith::CmpIOp::create(b, arith::CmpIPredicate::sge, pos, c0),
              arith::CmpIOp::create(b, arith::CmpIPredicate::slt, pos,
                                    numPositions));
          return buildIf(
                     b, inRange,
                     [&](ImplicitLocOpBuilder &b) {
                       SmallVector<OpFoldResult> sizes = {
                           b.getIndexAttr(1), b.getIndexAttr(1),
                           b.getIndexAttr(1), features};
                       SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
                       Value slice = tensor::ExtractSliceOp::create(
                           b, rows,
                           SmallVector<OpFoldResult>{batch, head, row, zero},
                           sizes, strides);
                       Value updated = tensor::InsertSliceOp::create(
                           b, slice, tensor,
                           SmallVector<OpFoldResult>{batch, head, pos, zero},
                           sizes, strides);
                       return SmallVector<Value>{updated};
                     },
                     [&](ImplicitLocOpBuilder &) {
                       return SmallVector<Value>{tensor};
                     })
              .front();
        });
    replaceWithResult(rewriter, op, result);
    return success();
  }
};
} // namespace

void mlir::adamas::populateCacheWriteToLinalgPattern(
    RewritePatternSet &patterns) {
  patterns.add<CacheWriteOpLowering>(patterns.getContext());
}
