//===- L1TopKToLinalg.cpp - adamas.l1_topk ------------------------------===//
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

using namespace mlir;
using namespace mlir::adamas;

namespace {
/// Builds the per-row code of `l1_topk` for one (batch, head, row) of the
/// result: distances and histogram, threshold, ordered compaction, padding.
class TopKRowBuilder {
public:
  /// `groupSize` is G = floor(Hq / Hkv) (0 when Hkv = 0), `safeGroupSize`
  /// max(G, 1), a divisor that is never 0.
  TopKRowBuilder(L1TopKOp op, Value queryCodes, Value keyCodes, Value dist,
                 Value hist, int64_t numBins, Value groupSize,
                 Value safeGroupSize, Value numKvHeads)
      : queryCodes(queryCodes), keyCodes(keyCodes), dist(dist), hist(hist),
        numBins(numBins), groupSize(groupSize), safeGroupSize(safeGroupSize),
        numKvHeads(numKvHeads), k(op.getK()), bits(op.getBits()),
        sink(op.getSink()), recent(op.getRecent()),
        sharedGroup(op.getSharedGroup()),
        numGroups(cast<RankedTensorType>(keyCodes.getType()).getDimSize(3) /
                  op.getBits()) {}

  /// Fills row (batch, head, row) of `out` (i32 positions) for a query row
  /// that sees `visible` positions; returns the updated tensor.
  Value build(ImplicitLocOpBuilder &b, Value out, Value batch, Value head,
              Value row, Value visible) const;

private:
  /// L1 distance (i32) between the codes of query row (batch, qHead, row)
  /// and key (batch, kvHead, pos).
  Value distance(ImplicitLocOpBuilder &b, Value batch, Value qHead, Value row,
                 Value kvHead, Value pos) const;

  /// Smallest distance `thr` such that `take` positions have distance <= thr,
  /// and how many positions at distance `thr` are skipped (the smallest
  /// ones: ties go to the larger positions).
  std::pair<Value, Value> findThreshold(ImplicitLocOpBuilder &b,
                                        Value take) const;

  Value queryCodes, keyCodes, dist, hist;
  int64_t numBins;
  Value groupSize, safeGroupSize, numKvHeads;
  int64_t k, bits, sink, recent;
  bool sharedGroup;
  int64_t numGroups;
};
} // namespace

Value TopKRowBuilder::distance(ImplicitLocOpBuilder &b, Value batch,
                               Value qHead, Value row, Value kvHead,
                               Value pos) const {
  Value c0 = indexConst(b, 0);
  Value end = indexConst(b, numGroups);
  Value zero = i32Const(b, 0);
  return buildFor(
             b, c0, end, zero,
             [&](ImplicitLocOpBuilder &b, Value group, ValueRange args) {
               // The `bits` words of a group of 32 dims, for both rows.
               Value first =
                   arith::MulIOp::create(b, group, indexConst(b, bits));
               SmallVector<Value> qPlanes, kPlanes;
               for (int64_t p = 0; p < bits; ++p) {
                 Value w = arith::AddIOp::create(b, first, indexConst(b, p));
                 qPlanes.push_back(tensor::ExtractOp::create(
                     b, queryCodes, ValueRange{batch, qHead, row, w}));
                 kPlanes.push_back(tensor::ExtractOp::create(
                     b, keyCodes, ValueRange{batch, kvHead, pos, w}));
               }
               Value sum = arith::AddIOp::create(
                   b, args.front(), buildGroupDistance(b, qPlanes, kPlanes));
               return SmallVector<Value>{sum};
             })
      .front();
}

std::pair<Value, Value> TopKRowBuilder::findThreshold(ImplicitLocOpBuilder &b,
                                                      Value take) const {
  // Prefix sum over the bins; `thr` stays at the sentinel `numBins` until the
  // running count first reaches `take` (take = 0 stops at bin 0).
  Value c0 = indexConst(b, 0);
  Value notFound = indexConst(b, numBins);
  ValueRange scan = buildFor(
      b, c0, notFound, ValueRange{c0, notFound, c0},
      [&](ImplicitLocOpBuilder &b, Value bin, ValueRange args) {
        Value before = args[0], thr = args[1], below = args[2];
        Value upTo = arith::AddIOp::create(
            b, before, memref::LoadOp::create(b, hist, bin));
        Value searching =
            arith::CmpIOp::create(b, arith::CmpIPredicate::eq, thr, notFound);
        Value enough =
            arith::CmpIOp::create(b, arith::CmpIPredicate::sge, upTo, take);
        Value reached = arith::AndIOp::create(b, searching, enough);
        return SmallVector<Value>{
            upTo, arith::SelectOp::create(b, reached, bin, thr),
            arith::SelectOp::create(b, reached, before, below)};
      });
  Value thr = scan[1], below = scan[2];
  // `take - below` of the positions at distance `thr` are selected, the
  // largest ones: the ascending compaction skips the first
  // `hist[thr] - (take - below)` of them.
  Value atThreshold = memref::LoadOp::create(b, hist, thr);
  Value skip = arith::SubIOp::create(b, atThreshold,
                                     arith::SubIOp::create(b, take, below));
  return {thr, skip};
}

Value TopKRowBuilder::build(ImplicitLocOpBuilder &b, Value out, Value batch,
                            Value head, Value row, Value visible) const {
  Value c0 = indexConst(b, 0), c1 = indexConst(b, 1);
  Value kValue = indexConst(b, k);

  // The query heads whose minimum distance ranks a position, and the KV head
  // they read: one query head h reads KV head h / G; with shared_group the
  // result row is KV head h for query heads h*G .. h*G+G-1 (all < Hq, as
  // G = floor(Hq / Hkv)).
  Value kvHead =
      sharedGroup ? head : arith::DivUIOp::create(b, head, safeGroupSize);
  Value firstQHead = sharedGroup
                         ? arith::MulIOp::create(b, head, groupSize).getResult()
                         : head;
  // A query head without a KV head (only when Hq is not a positive multiple
  // of Hkv, which verification rejects) sees no position, so no code of a
  // head that does not exist is read.
  if (!sharedGroup) {
    Value hasKvHead =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ult, kvHead, numKvHeads);
    visible = arith::SelectOp::create(b, hasKvHead, visible, c0);
  }

  // Positions [0, freeBegin) and [freeEnd, visible) are forced (sink and
  // recent); `take` slots go to the free positions in between.
  auto [freeBegin, freeEnd, take] =
      buildSelectionWindow(b, visible, k, sink, recent);

  // 1. Distances of the free positions and their histogram.
  buildFor(b, c0, indexConst(b, numBins), {},
           [&](ImplicitLocOpBuilder &b, Value bin, ValueRange) {
             memref::StoreOp::create(b, c0, hist, bin);
             return SmallVector<Value>();
           });
  buildFor(b, freeBegin, freeEnd, {},
           [&](ImplicitLocOpBuilder &b, Value pos, ValueRange) {
             Value d;
             if (sharedGroup) {
               // The minimum starts at the largest distance, a valid bin, so
               // that even an empty group (Hq < Hkv) stays in the histogram.
               Value maxDist = i32Const(b, numBins - 1);
               d = buildFor(
                       b, c0, groupSize, maxDist,
                       [&](ImplicitLocOpBuilder &b, Value g, ValueRange args) {
                         Value qHead = arith::AddIOp::create(b, firstQHead, g);
                         Value dq = distance(b, batch, qHead, row, kvHead, pos);
                         return SmallVector<Value>{
                             arith::MinSIOp::create(b, args.front(), dq)};
                       })
                       .front();
             } else {
               d = distance(b, batch, firstQHead, row, kvHead, pos);
             }
             d = toIndex(b, d);
             memref::StoreOp::create(b, d, dist, pos);
             Value count = memref::LoadOp::create(b, hist, d);
             memref::StoreOp::create(b, arith::AddIOp::create(b, count, c1),
                                     hist, d);
             return SmallVector<Value>();
           });

  // 2. Threshold distance and the number of ties to skip.
  auto [thr, skip] = findThreshold(b, take);

  // 3. Ordered compaction: one ascending pass emits every selected position.
  ValueRange compacted = buildFor(
      b, c0, visible, ValueRange{out, c0, c0},
      [&](ImplicitLocOpBuilder &b, Value pos, ValueRange args) {
        Value tensor = args[0], count = args[1], tiesSeen = args[2];
        Value inSink =
            arith::CmpIOp::create(b, arith::CmpIPredicate::slt, pos, freeBegin);
        Value inRecent =
            arith::CmpIOp::create(b, arith::CmpIPredicate::sge, pos, freeEnd);
        Value forced = arith::OrIOp::create(b, inSink, inRecent);
        // Free positions: below the threshold, or at it once the `skip`
        // smallest tied positions have gone by. `dist` is only read there.
        ValueRange decision = buildIf(
            b, forced,
            [&](ImplicitLocOpBuilder &b) {
              return SmallVector<Value>{forced, tiesSeen};
            },
            [&](ImplicitLocOpBuilder &b) {
              Value d = memref::LoadOp::create(b, dist, pos);
              Value below =
                  arith::CmpIOp::create(b, arith::CmpIPredicate::slt, d, thr);
              Value tie =
                  arith::CmpIOp::create(b, arith::CmpIPredicate::eq, d, thr);
              Value late = arith::CmpIOp::create(b, arith::CmpIPredicate::sge,
                                                 tiesSeen, skip);
              Value selected = arith::OrIOp::create(
                  b, below, arith::AndIOp::create(b, tie, late));
              Value seen = arith::AddIOp::create(
                  b, tiesSeen, arith::SelectOp::create(b, tie, c1, c0));
              return SmallVector<Value>{selected, seen};
            });
        ValueRange emitted = buildIf(
            b, decision[0],
            [&](ImplicitLocOpBuilder &b) {
              Value inserted =
                  tensor::InsertOp::create(b, toI32(b, pos), tensor,
                                           ValueRange{batch, head, row, count});
              return SmallVector<Value>{inserted,
                                        arith::AddIOp::create(b, count, c1)};
            },
            [&](ImplicitLocOpBuilder &) {
              return SmallVector<Value>{tensor, count};
            });
        return SmallVector<Value>{emitted[0], emitted[1], decision[1]};
      });

  // 4. Pad with -1 up to k.
  Value minusOne = i32Const(b, -1);
  return buildFor(b, compacted[1], kValue, compacted[0],
                  [&](ImplicitLocOpBuilder &b, Value slot, ValueRange args) {
                    return SmallVector<Value>{tensor::InsertOp::create(
                        b, minusOne, args.front(),
                        ValueRange{batch, head, row, slot})};
                  })
      .front();
}

namespace {
/// Histogram (counting) select, DESIGN.md section 2, per (batch, head, row).
struct L1TopKOpLowering : OpConversionPattern<L1TopKOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(L1TopKOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Value queryCodes = adaptor.getQueryCodes();
    Value keyCodes = adaptor.getKeyCodes();
    Value lengths = adaptor.getLengths();
    auto queryType = cast<RankedTensorType>(queryCodes.getType());
    auto keyType = cast<RankedTensorType>(keyCodes.getType());
    int64_t words = queryType.isDynamicDim(3) ? keyType.getDimSize(3)
                                              : queryType.getDimSize(3);
    int64_t bits = op.getBits();
    // Distances lie in [0, (2^b - 1) * D] with D = 32 * W / b. The verifier
    // guarantees a static, bounded W; should an unverified op get here, the
    // pass fails with a diagnostic rather than build an invalid histogram.
    std::optional<int64_t> numBins;
    if (!ShapedType::isDynamic(words))
      numBins = numDistanceBins(words, bits);
    if (!numBins)
      return op.emitOpError("cannot be lowered: words per row (W) must be "
                            "static, a multiple of 'bits' and at most ")
             << maxCodeWordsPerRow(bits);

    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    // The distance code reads W from the key codes' type.
    if (keyType.isDynamicDim(3)) {
      SmallVector<int64_t> shape(keyType.getShape());
      shape[3] = words;
      keyCodes = tensor::CastOp::create(
          b, RankedTensorType::get(shape, keyType.getElementType()), keyCodes);
    }

    Value numBatches = dimSize(b, queryCodes, 0);
    Value numQHeads = dimSize(b, queryCodes, 1);
    Value numRows = dimSize(b, queryCodes, 2);
    Value numKvHeads = dimSize(b, keyCodes, 1);
    Value numPositions = dimSize(b, keyCodes, 2);
    // G = Hq / Hkv, dividing by max(Hkv, 1) and later by max(G, 1): sizes
    // that break the heads rule (dynamic ones, unless run-time verification
    // rejects them) must not make the program divide by zero.
    Value c1 = indexConst(b, 1);
    Value groupSize = arith::DivUIOp::create(
        b, numQHeads, arith::MaxUIOp::create(b, numKvHeads, c1));
    Value safeGroupSize = arith::MaxUIOp::create(b, groupSize, c1);
    Value numHeads = op.getSharedGroup() ? numKvHeads : numQHeads;
    Value init =
        emptyTensor(b, op.getType(),
                    {numBatches, numHeads, numRows, indexConst(b, op.getK())});

    Value dist = allocScratch(b, b.getIndexType(), numPositions);
    Value hist = allocScratch(b, b.getIndexType(), indexConst(b, *numBins));
    TopKRowBuilder rowBuilder(op, queryCodes, keyCodes, dist, hist, *numBins,
                              groupSize, safeGroupSize, numKvHeads);

    Value result = buildRowNest(
        b, {numBatches, numHeads, numRows}, init,
        [&](ImplicitLocOpBuilder &b, ValueRange ivs, Value out) {
          Value batch = ivs[0], head = ivs[1], row = ivs[2];
          // The M query rows are the last M tokens (causal).
          Value length =
              toIndex(b, tensor::ExtractOp::create(b, lengths, batch));
          Value visible =
              buildVisibleLength(b, length, numRows, row, numPositions);
          return rowBuilder.build(b, out, batch, head, row, visible);
        });
    replaceWithResult(rewriter, op, result);
    return success();
  }
};
} // namespace

void mlir::adamas::populateL1TopKToLinalgPattern(RewritePatternSet &patterns) {
  patterns.add<L1TopKOpLowering>(patterns.getContext());
}
