//===- HadamardToLinalg.cpp - adamas.hadamard ---------------------------===//
//
// Part of the reference lowering (adamas-lower-to-linalg); see
// AdamasToLinalg.cpp for the overall scheme.
//
//===----------------------------------------------------------------------===//

#include "TensorLowering.h"
#include "adamas/Dialect/Adamas/IR/AdamasOps.h"
#include "adamas/Dialect/Adamas/Utils/CodeArithmetic.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace mlir::adamas;

/// In-place unnormalized Walsh-Hadamard transform of the f32 buffer `row` of
/// static power-of-two length `d`: log2(d) radix-2 stages of half-width
/// h = 1, 2, ..., d/2, each turning the pairs (i, i + h) of every block of 2h
/// elements into (a + c, a - c). This stage order gives the Sylvester
/// (natural) ordering of H_d.
static void buildFwht(ImplicitLocOpBuilder &b, Value row, int64_t d) {
  Value c0 = indexConst(b, 0);
  Value c1 = indexConst(b, 1);
  Value size = indexConst(b, d);
  Value numStages = indexConst(b, llvm::Log2_64(d));
  // (x, y) at (i, i + half) becomes (x + y, x - y).
  auto butterfly = [&](ImplicitLocOpBuilder &b, Value i, Value half) {
    Value j = arith::AddIOp::create(b, i, half);
    Value x = memref::LoadOp::create(b, row, i);
    Value y = memref::LoadOp::create(b, row, j);
    Value sum = arith::AddFOp::create(b, x, y);
    Value difference = arith::SubFOp::create(b, x, y);
    memref::StoreOp::create(b, sum, row, i);
    memref::StoreOp::create(b, difference, row, j);
  };
  // One stage: every block of `width = 2 * half` elements.
  auto stage = [&](ImplicitLocOpBuilder &b, Value, ValueRange args) {
    Value half = args.front();
    Value width = arith::AddIOp::create(b, half, half);
    buildFor(b, c0, size, width, {},
             [&](ImplicitLocOpBuilder &b, Value block, ValueRange) {
               Value end = arith::AddIOp::create(b, block, half);
               buildFor(b, block, end, {},
                        [&](ImplicitLocOpBuilder &b, Value i, ValueRange) {
                          butterfly(b, i, half);
                          return SmallVector<Value>();
                        });
               return SmallVector<Value>();
             });
    return SmallVector<Value>{width};
  };
  buildFor(b, c0, numStages, /*inits=*/c1, stage);
}

namespace {
/// Each row of the last dimension: extend into an f32 scratch row, butterfly
/// stages in place, multiply by 1/sqrt(D), round once into the result.
struct HadamardOpLowering : OpConversionPattern<HadamardOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(HadamardOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    Value input = adaptor.getInput();
    auto type = cast<RankedTensorType>(input.getType());
    int64_t rank = type.getRank();
    int64_t d = type.getDimSize(rank - 1);
    Type elementType = type.getElementType();

    Value c0 = indexConst(b, 0);
    Value size = indexConst(b, d);
    SmallVector<Value> ubs;
    for (int64_t i = 0; i + 1 < rank; ++i)
      ubs.push_back(dimSize(b, input, i));
    SmallVector<Value> sizes(ubs);
    sizes.push_back(size);
    Value init = emptyTensor(b, op.getType(), sizes);
    Value row = allocScratch(b, b.getF32Type(), size);
    Value norm = f32Const(b, hadamardNorm(d));

    Value result = buildRowNest(
        b, ubs, init,
        [&](ImplicitLocOpBuilder &b, ValueRange ivs, Value out) -> Value {
          auto at = [&](Value i) {
            SmallVector<Value> indices(ivs);
            indices.push_back(i);
            return indices;
          };
          buildFor(b, c0, size, {},
                   [&](ImplicitLocOpBuilder &b, Value i, ValueRange) {
                     Value x = tensor::ExtractOp::create(b, input, at(i));
                     memref::StoreOp::create(b, extendToF32(b, x), row, i);
                     return SmallVector<Value>();
                   });
          buildFwht(b, row, d);
          return buildFor(
                     b, c0, size, out,
                     [&](ImplicitLocOpBuilder &b, Value i, ValueRange args) {
                       Value y = memref::LoadOp::create(b, row, i);
                       y = arith::MulFOp::create(b, y, norm);
                       return SmallVector<Value>{tensor::InsertOp::create(
                           b, roundFromF32(b, y, elementType), args.front(),
                           at(i))};
                     })
              .front();
        });
    replaceWithResult(rewriter, op, result);
    return success();
  }
};
} // namespace

void mlir::adamas::populateHadamardToLinalgPattern(
    RewritePatternSet &patterns) {
  patterns.add<HadamardOpLowering>(patterns.getContext());
}
