//===- SparseAttnToLinalg.cpp - adamas.sparse_attn ----------------------===//
//
// Part of the reference lowering (adamas-lower-to-linalg); see
// AdamasToLinalg.cpp for the overall scheme.
//
//===----------------------------------------------------------------------===//

#include "TensorLowering.h"
#include "adamas/Dialect/Adamas/IR/AdamasOps.h"
#include "adamas/Dialect/Adamas/Utils/CodeArithmetic.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

#include <limits>

using namespace mlir;
using namespace mlir::adamas;

namespace {
/// One (batch, query head, row) of `sparse_attn`, with the KV head it reads,
/// the head of its index row and the number of index slots it reads (K, or
/// 0 for a row whose heads do not exist).
struct AttnRow {
  Value batch, head, row, kvHead, indexHead, numSlots;
};

/// Builds the per-row code of `sparse_attn`: scores of the valid indices,
/// max-subtracted softmax, f32 weighted sum of the values, one rounding.
class AttnRowBuilder {
public:
  /// `scores` (K f32) and `acc` (Dv f32) are the row scratch; the sizes are
  /// N, D and Dv (each row says how many of the K slots it reads).
  AttnRowBuilder(Value query, Value keys, Value values, Value indices,
                 Value scores, Value acc, Value scale, Value numPositions,
                 Value headDim, Value valueDim)
      : query(query), keys(keys), values(values), indices(indices),
        scores(scores), acc(acc), scale(scale), numPositions(numPositions),
        headDim(headDim), valueDim(valueDim) {}

  /// Fills the row of `out`; returns the updated tensor.
  Value build(ImplicitLocOpBuilder &b, Value out, const AttnRow &row) const;

private:
  using SlotBodyFn = function_ref<SmallVector<Value>(
      ImplicitLocOpBuilder &, Value slot, Value pos, ValueRange iterArgs)>;

  /// Loops over the index slots of `row` threading `inits`; runs `body` on
  /// the slots whose position is valid (in [0, N)), in slot order.
  ValueRange forValidSlots(ImplicitLocOpBuilder &b, const AttnRow &row,
                           ValueRange inits, SlotBodyFn body) const;

  /// `scale * q·k_pos` in f32.
  Value score(ImplicitLocOpBuilder &b, const AttnRow &row, Value pos) const;

  /// acc += weight * v_pos, in f32.
  void accumulate(ImplicitLocOpBuilder &b, const AttnRow &row, Value pos,
                  Value weight) const;

  Value query, keys, values, indices, scores, acc, scale;
  Value numPositions, headDim, valueDim;
};
} // namespace

ValueRange AttnRowBuilder::forValidSlots(ImplicitLocOpBuilder &b,
                                         const AttnRow &row, ValueRange inits,
                                         SlotBodyFn body) const {
  Value c0 = indexConst(b, 0);
  return buildFor(
      b, c0, row.numSlots, inits,
      [&](ImplicitLocOpBuilder &b, Value slot, ValueRange args) {
        Value index = tensor::ExtractOp::create(
            b, indices, ValueRange{row.batch, row.indexHead, row.row, slot});
        Value pos = toIndex(b, index);
        Value nonNegative =
            arith::CmpIOp::create(b, arith::CmpIPredicate::sge, pos, c0);
        Value inRange = arith::CmpIOp::create(b, arith::CmpIPredicate::slt, pos,
                                              numPositions);
        Value valid = arith::AndIOp::create(b, nonNegative, inRange);
        SmallVector<Value> current(args);
        return llvm::to_vector(buildIf(
            b, valid,
            [&](ImplicitLocOpBuilder &b) {
              return body(b, slot, pos, current);
            },
            [&](ImplicitLocOpBuilder &) { return current; }));
      });
}

Value AttnRowBuilder::score(ImplicitLocOpBuilder &b, const AttnRow &row,
                            Value pos) const {
  Value c0 = indexConst(b, 0);
  Value zero = f32Const(b, 0.0f);
  Value dot =
      buildFor(b, c0, headDim, zero,
               [&](ImplicitLocOpBuilder &b, Value d, ValueRange sum) {
                 Value q = tensor::ExtractOp::create(
                     b, query, ValueRange{row.batch, row.head, row.row, d});
                 Value k = tensor::ExtractOp::create(
                     b, keys, ValueRange{row.batch, row.kvHead, pos, d});
                 Value qf = extendToF32(b, q);
                 Value kf = extendToF32(b, k);
                 Value qk = arith::MulFOp::create(b, qf, kf);
                 return SmallVector<Value>{
                     arith::AddFOp::create(b, sum.front(), qk)};
               })
          .front();
  return arith::MulFOp::create(b, scale, dot);
}

void AttnRowBuilder::accumulate(ImplicitLocOpBuilder &b, const AttnRow &row,
                                Value pos, Value weight) const {
  Value c0 = indexConst(b, 0);
  buildFor(
      b, c0, valueDim, {}, [&](ImplicitLocOpBuilder &b, Value d, ValueRange) {
        Value v = tensor::ExtractOp::create(
            b, values, ValueRange{row.batch, row.kvHead, pos, d});
        Value weighted = arith::MulFOp::create(b, weight, extendToF32(b, v));
        Value partial = memref::LoadOp::create(b, acc, d);
        Value sum = arith::AddFOp::create(b, partial, weighted);
        memref::StoreOp::create(b, sum, acc, d);
        return SmallVector<Value>();
      });
}

Value AttnRowBuilder::build(ImplicitLocOpBuilder &b, Value out,
                            const AttnRow &row) const {
  Value c0 = indexConst(b, 0);
  Value zero = f32Const(b, 0.0f);
  Type elementType = cast<RankedTensorType>(out.getType()).getElementType();

  // 1. Scores (kept in `scores`) and their maximum.
  Value negInf = f32Const(b, -std::numeric_limits<float>::infinity());
  Value maxScore =
      forValidSlots(
          b, row, negInf,
          [&](ImplicitLocOpBuilder &b, Value slot, Value pos, ValueRange args) {
            Value s = score(b, row, pos);
            memref::StoreOp::create(b, s, scores, slot);
            return SmallVector<Value>{
                arith::MaximumFOp::create(b, args.front(), s)};
          })
          .front();
  // exp(score - max) of a valid slot.
  auto expShifted = [&](ImplicitLocOpBuilder &b, Value slot) -> Value {
    Value s = memref::LoadOp::create(b, scores, slot);
    return math::ExpOp::create(b, arith::SubFOp::create(b, s, maxScore));
  };

  // 2. Softmax denominator.
  Value denominator =
      forValidSlots(
          b, row, zero,
          [&](ImplicitLocOpBuilder &b, Value slot, Value, ValueRange sum) {
            Value e = expShifted(b, slot);
            return SmallVector<Value>{arith::AddFOp::create(b, sum.front(), e)};
          })
          .front();

  // 3. acc = sum_j softmax_j * v_j.
  buildFor(b, c0, valueDim, {},
           [&](ImplicitLocOpBuilder &b, Value d, ValueRange) {
             memref::StoreOp::create(b, zero, acc, d);
             return SmallVector<Value>();
           });
  forValidSlots(
      b, row, {},
      [&](ImplicitLocOpBuilder &b, Value slot, Value pos, ValueRange) {
        Value weight =
            arith::DivFOp::create(b, expShifted(b, slot), denominator);
        accumulate(b, row, pos, weight);
        return SmallVector<Value>();
      });

  // 4. Round once into the result row; `acc` stays zero when no index is
  // valid.
  return buildFor(b, c0, valueDim, out,
                  [&](ImplicitLocOpBuilder &b, Value d, ValueRange args) {
                    Value y = memref::LoadOp::create(b, acc, d);
                    Value rounded = roundFromF32(b, y, elementType);
                    return SmallVector<Value>{tensor::InsertOp::create(
                        b, rounded, args.front(),
                        ValueRange{row.batch, row.head, row.row, d})};
                  })
      .front();
}

namespace {
/// Per (batch, query head, row): scores `scale * q·k_j` in f32 over the valid
/// indices (0 <= j < N), max-subtracted softmax, f32 weighted sum of the
/// values rounded once to T; zeros when no index is valid.
struct SparseAttnOpLowering : OpConversionPattern<SparseAttnOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(SparseAttnOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    Value query = adaptor.getQuery(), keys = adaptor.getKeys(),
          values = adaptor.getValues(), indices = adaptor.getIndices();

    Value numBatches = dimSize(b, query, 0);
    Value numQHeads = dimSize(b, query, 1);
    Value numRows = dimSize(b, query, 2);
    Value headDim = dimSize(b, query, 3);
    Value numKvHeads = dimSize(b, keys, 1);
    Value numPositions = dimSize(b, keys, 2);
    Value valueDim = dimSize(b, values, 3);
    Value numSlots = dimSize(b, indices, 3);
    Value numIndexHeads = dimSize(b, indices, 1);
    Value init = emptyTensor(b, op.getType(),
                             {numBatches, numQHeads, numRows, valueDim});
    // G = Hq / Hkv, dividing by max(Hkv, 1) and then by max(G, 1): sizes
    // that break the heads rule (dynamic ones, unless run-time verification
    // rejects them) must not make the program divide by zero.
    Value c0 = indexConst(b, 0), c1 = indexConst(b, 1);
    Value groupSize = arith::MaxUIOp::create(
        b,
        arith::DivUIOp::create(b, numQHeads,
                               arith::MaxUIOp::create(b, numKvHeads, c1)),
        c1);
    // Indices have Hq heads, or Hkv when shared by a GQA group (then query
    // head h reads index row h / G). Decided at run time when H' is dynamic.
    Value perQueryHead = arith::CmpIOp::create(b, arith::CmpIPredicate::eq,
                                               numIndexHeads, numQHeads);

    Value scale = f32Const(b, op.getScaleOrDefault());

    Value scores = allocScratch(b, b.getF32Type(), numSlots);
    Value acc = allocScratch(b, b.getF32Type(), valueDim);
    AttnRowBuilder rowBuilder(query, keys, values, indices, scores, acc, scale,
                              numPositions, headDim, valueDim);

    Value result = buildRowNest(
        b, {numBatches, numQHeads, numRows}, init,
        [&](ImplicitLocOpBuilder &b, ValueRange ivs, Value out) {
          AttnRow row{ivs[0], ivs[1], ivs[2], Value(), Value(), Value()};
          row.kvHead = arith::DivUIOp::create(b, row.head, groupSize);
          row.indexHead =
              arith::SelectOp::create(b, perQueryHead, row.head, row.kvHead);
          // Where the heads rules fail (Hq not a positive multiple of Hkv,
          // or H' neither Hq nor Hkv) a row may have no KV head or index
          // row: it reads no slot and yields zeros, like a row without a
          // valid index.
          Value headsExist = arith::AndIOp::create(
              b,
              arith::CmpIOp::create(b, arith::CmpIPredicate::ult, row.kvHead,
                                    numKvHeads),
              arith::CmpIOp::create(b, arith::CmpIPredicate::ult, row.indexHead,
                                    numIndexHeads));
          row.numSlots = arith::SelectOp::create(b, headsExist, numSlots, c0);
          return rowBuilder.build(b, out, row);
        });
    replaceWithResult(rewriter, op, result);
    return success();
  }
};
} // namespace

void mlir::adamas::populateSparseAttnToLinalgPattern(
    RewritePatternSet &patterns) {
  patterns.add<SparseAttnOpLowering>(patterns.getContext());
}
