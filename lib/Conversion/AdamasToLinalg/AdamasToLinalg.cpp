//===- AdamasToLinalg.cpp - Reference lowering of adamas ops --------------===//
//
// The portable reference lowering of DESIGN.md section 3: the oracle that CI
// executes on the CPU. Every adamas op on tensors becomes
//
//   * `bucketize`: one `linalg.generic` (a bitwise-or reduction over the 32
//     dims of a code word);
//   * `hadamard`, `l1_topk`, `sparse_attn`: a `tensor.empty` result threaded
//     through an `scf.for` nest over the rows (`iter_args`, `tensor.insert`),
//     inputs read with `tensor.extract`; One-Shot Bufferize turns this into
//     in-place loads and stores.
//
// Per-row scratch (the f32 row of `hadamard`, the distances and histogram of
// `l1_topk`, the scores and f32 accumulator of `sparse_attn`) is one
// `memref.alloc` per op, made before the loops and reused by every row. It is
// freed by the buffer deallocation pipeline that has to follow bufferization
// anyway, like the buffers bufferization itself allocates.
//
// The aim is exactness and clarity, not speed: floating-point reductions are
// sequential in f32 and every result is rounded once to its element type.
//
//===----------------------------------------------------------------------===//

#include "adamas/Conversion/AdamasToLinalg/AdamasToLinalg.h"
#include "adamas/Dialect/Adamas/IR/AdamasDialect.h"
#include "adamas/Dialect/Adamas/IR/AdamasOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>
#include <limits>

namespace mlir::adamas {
#define GEN_PASS_DEF_ADAMASLOWERTOLINALG
#include "adamas/Conversion/Passes.h.inc"
} // namespace mlir::adamas

using namespace mlir;
using namespace mlir::adamas;

//===----------------------------------------------------------------------===//
// Builder helpers
//===----------------------------------------------------------------------===//

namespace {
/// Builds the body of a loop: gets the induction variable and the current
/// iteration arguments, returns the values to yield.
using LoopBodyFn = function_ref<SmallVector<Value>(
    ImplicitLocOpBuilder &, Value iv, ValueRange iterArgs)>;
/// Builds one branch of an `scf.if`, returns the values to yield.
using BranchFn = function_ref<SmallVector<Value>(ImplicitLocOpBuilder &)>;
} // namespace

static Value indexConst(ImplicitLocOpBuilder &b, int64_t value) {
  return arith::ConstantIndexOp::create(b, value);
}

static Value i32Const(ImplicitLocOpBuilder &b, int64_t value) {
  return arith::ConstantIntOp::create(b, value, /*width=*/32);
}

static Value f32Const(ImplicitLocOpBuilder &b, float value) {
  return arith::ConstantFloatOp::create(b, b.getF32Type(), APFloat(value));
}

/// Size of dimension `dim` of a tensor as an index value.
static Value dimSize(ImplicitLocOpBuilder &b, Value tensor, int64_t dim) {
  auto type = cast<RankedTensorType>(tensor.getType());
  if (!type.isDynamicDim(dim))
    return indexConst(b, type.getDimSize(dim));
  return tensor::DimOp::create(b, tensor, dim);
}

static Value toIndex(ImplicitLocOpBuilder &b, Value value) {
  return arith::IndexCastOp::create(b, b.getIndexType(), value);
}

static Value toI32(ImplicitLocOpBuilder &b, Value value) {
  return arith::IndexCastOp::create(b, b.getI32Type(), value);
}

/// Extends a scalar of f16/bf16/f32 to f32 (no-op for f32).
static Value extendToF32(ImplicitLocOpBuilder &b, Value value) {
  if (value.getType().isF32())
    return value;
  return arith::ExtFOp::create(b, b.getF32Type(), value);
}

/// Rounds an f32 scalar to `type` (no-op for f32): the single rounding step
/// of every floating-point result.
static Value roundFromF32(ImplicitLocOpBuilder &b, Value value, Type type) {
  if (type.isF32())
    return value;
  return arith::TruncFOp::create(b, type, value);
}

/// `scf.for %iv = lb to ub step step iter_args(inits)` with the body built by
/// `body`; returns the loop results.
static ValueRange buildFor(ImplicitLocOpBuilder &b, Value lb, Value ub,
                           Value step, ValueRange inits, LoopBodyFn body) {
  auto loop = scf::ForOp::create(
      b, lb, ub, step, inits,
      [&](OpBuilder &nested, Location loc, Value iv, ValueRange args) {
        ImplicitLocOpBuilder nb(loc, nested);
        scf::YieldOp::create(nb, body(nb, iv, args));
      });
  return loop.getResults();
}

static ValueRange buildFor(ImplicitLocOpBuilder &b, Value lb, Value ub,
                           ValueRange inits, LoopBodyFn body) {
  return buildFor(b, lb, ub, indexConst(b, 1), inits, body);
}

/// `scf.if` with both branches; the result types come from what they yield.
static ValueRange buildIf(ImplicitLocOpBuilder &b, Value cond, BranchFn thenFn,
                          BranchFn elseFn) {
  auto branch = [](BranchFn fn) {
    return [fn](OpBuilder &nested, Location loc) {
      ImplicitLocOpBuilder nb(loc, nested);
      scf::YieldOp::create(nb, fn(nb));
    };
  };
  return scf::IfOp::create(b, cond, branch(thenFn), branch(elseFn))
      .getResults();
}

/// An `scf.for` nest over `[0, ubs[i])` that threads `init` (the result
/// tensor) through every level; `body` gets the induction variables and the
/// current tensor and returns the updated one. With no bounds, `body` runs
/// once, unnested.
static Value buildRowNest(
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

/// `tensor.empty` of `type`, taking the dynamic sizes from `sizes` (one per
/// dimension).
static Value emptyTensor(ImplicitLocOpBuilder &b, Type type,
                         ArrayRef<Value> sizes) {
  auto tensorType = cast<RankedTensorType>(type);
  SmallVector<Value> dynamicSizes;
  for (auto [i, size] : llvm::enumerate(sizes))
    if (tensorType.isDynamicDim(i))
      dynamicSizes.push_back(size);
  return tensor::EmptyOp::create(b, tensorType, dynamicSizes);
}

/// Replaces `op` by `result`, cast to the op's result type where the
/// lowering inferred a more static one.
static void replaceWithResult(ConversionPatternRewriter &rewriter,
                              Operation *op, Value result) {
  Type type = op->getResult(0).getType();
  if (result.getType() != type)
    result = tensor::CastOp::create(rewriter, op->getLoc(), type, result);
  rewriter.replaceOp(op, result);
}

/// Scratch memory for one row, reused by every row of an op. It is not freed
/// here: the ownership-based deallocation that has to follow bufferization
/// frees it like any buffer that bufferization allocates. (An explicit
/// `memref.dealloc` would have to be marked `manual_deallocation`, and the
/// canonicalizer drops that mark when it makes a dynamic size static.)
static Value allocScratch(ImplicitLocOpBuilder &b, Type elementType,
                          Value size) {
  if (std::optional<int64_t> staticSize = getConstantIntValue(size))
    return memref::AllocOp::create(b,
                                   MemRefType::get({*staticSize}, elementType));
  return memref::AllocOp::create(
      b, MemRefType::get({ShapedType::kDynamic}, elementType), size);
}

/// `value` clamped to `[lo, hi]` (signed).
static Value clamp(ImplicitLocOpBuilder &b, Value value, Value lo, Value hi) {
  return arith::MinSIOp::create(b, arith::MaxSIOp::create(b, value, lo), hi);
}

//===----------------------------------------------------------------------===//
// adamas.hadamard
//===----------------------------------------------------------------------===//

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
    // 1/sqrt(D) rounded to f32 (exact for D a power of four).
    Value norm = f32Const(b, static_cast<float>(1.0 / std::sqrt(double(d))));

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

//===----------------------------------------------------------------------===//
// adamas.bucketize
//===----------------------------------------------------------------------===//

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
    int64_t numGroups = inputType.getDimSize(rank - 1) / 32;
    int64_t bits = op.getBits();
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
      Value code;
      for (auto [i, t] : llvm::enumerate(thresholds)) {
        // Per-head thresholds replace the attribute's values (which still
        // fix b); they need not be sorted, counting does not care.
        Value threshold = headThresholds
                              ? tensor::ExtractOp::create(
                                    b, headThresholds,
                                    ValueRange{head, indexConst(b, int64_t(i))})
                                    .getResult()
                              : f32Const(b, t);
        Value above =
            arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, x, threshold);
        Value count = arith::ExtUIOp::create(b, b.getI32Type(), above);
        code = code ? arith::AddIOp::create(b, code, count) : count;
      }
      Value plane = toI32(b, linalg::IndexOp::create(b, rank));
      Value bit = toI32(b, linalg::IndexOp::create(b, rank + 1));
      Value one = i32Const(b, 1);
      Value codeBit =
          arith::AndIOp::create(b, arith::ShRUIOp::create(b, code, plane), one);
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

//===----------------------------------------------------------------------===//
// adamas.l1_topk
//===----------------------------------------------------------------------===//

/// Thermometer planes `[code >= t]`, t = 1 .. 2^b - 1, of 32 b-bit codes given
/// as their b bit planes (plane p holds bit p of each code). The L1 distance
/// of two codes is the number of planes in which they differ, so
/// `|a - c| = sum_t popc(u_t(a) ^ u_t(c))`.
static SmallVector<Value> thermometerPlanes(ImplicitLocOpBuilder &b,
                                            ArrayRef<Value> planes) {
  auto bitOr = [&](Value x, Value y) -> Value {
    return arith::OrIOp::create(b, x, y);
  };
  auto bitAnd = [&](Value x, Value y) -> Value {
    return arith::AndIOp::create(b, x, y);
  };
  switch (planes.size()) {
  case 1:
    return {planes[0]};
  case 2: {
    Value lo = planes[0], hi = planes[1];
    return {bitOr(lo, hi), hi, bitAnd(lo, hi)};
  }
  default: {
    assert(planes.size() == 3 && "codes have 1, 2 or 3 bits");
    // code = p0 + 2 p1 + 4 p2.
    Value p0 = planes[0], p1 = planes[1], p2 = planes[2];
    Value any01 = bitOr(p0, p1), both01 = bitAnd(p0, p1);
    return {bitOr(any01, p2),    // >= 1
            bitOr(p1, p2),       // >= 2
            bitOr(both01, p2),   // >= 3
            p2,                  // >= 4
            bitAnd(p2, any01),   // >= 5
            bitAnd(p2, p1),      // >= 6
            bitAnd(p2, both01)}; // >= 7
  }
  }
}

namespace {
/// Builds the per-row code of `l1_topk` for one (batch, head, row) of the
/// result: distances and histogram, threshold, ordered compaction, padding.
class TopKRowBuilder {
public:
  TopKRowBuilder(L1TopKOp op, Value queryCodes, Value keyCodes, Value dist,
                 Value hist, int64_t numBins, Value groupSize)
      : queryCodes(queryCodes), keyCodes(keyCodes), dist(dist), hist(hist),
        numBins(numBins), groupSize(groupSize), k(op.getK()),
        bits(op.getBits()), sink(op.getSink()), recent(op.getRecent()),
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
  Value groupSize;
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
               Value sum = args.front();
               for (auto [q, c] :
                    llvm::zip_equal(thermometerPlanes(b, qPlanes),
                                    thermometerPlanes(b, kPlanes)))
                 sum = arith::AddIOp::create(
                     b, sum,
                     math::CtPopOp::create(b, arith::XOrIOp::create(b, q, c)));
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
  // result row is KV head h for query heads h*G .. h*G+G-1.
  Value kvHead =
      sharedGroup ? head : arith::DivUIOp::create(b, head, groupSize);
  Value firstQHead = sharedGroup
                         ? arith::MulIOp::create(b, head, groupSize).getResult()
                         : head;

  // Positions [0, freeBegin) and [freeEnd, visible) are forced (sink and
  // recent); `take` slots go to the free positions in between. When all
  // visible positions fit (visible <= k) they are all forced. Otherwise
  // visible > k >= sink + recent, so min(sink, L) = sink, min(recent, L) =
  // recent and the two forced ranges cannot overlap.
  Value selectAll =
      arith::CmpIOp::create(b, arith::CmpIPredicate::sle, visible, kValue);
  Value freeBegin =
      arith::SelectOp::create(b, selectAll, visible, indexConst(b, sink));
  Value freeEnd = arith::SelectOp::create(
      b, selectAll, visible,
      arith::SubIOp::create(b, visible, indexConst(b, recent)));
  Value take = arith::SelectOp::create(b, selectAll, c0,
                                       indexConst(b, k - sink - recent));

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
               Value maxDist = i32Const(b, std::numeric_limits<int32_t>::max());
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
    if (ShapedType::isDynamic(words))
      return rewriter.notifyMatchFailure(op, "W must be static");

    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    // The distance code reads W from the key codes' type.
    if (keyType.isDynamicDim(3)) {
      SmallVector<int64_t> shape(keyType.getShape());
      shape[3] = words;
      keyCodes = tensor::CastOp::create(
          b, RankedTensorType::get(shape, keyType.getElementType()), keyCodes);
    }
    int64_t bits = op.getBits();
    // Distances lie in [0, (2^b - 1) * D] with D = 32 * W / b.
    int64_t numBins = ((int64_t(1) << bits) - 1) * (32 * words / bits) + 1;

    Value numBatches = dimSize(b, queryCodes, 0);
    Value numQHeads = dimSize(b, queryCodes, 1);
    Value numRows = dimSize(b, queryCodes, 2);
    Value numKvHeads = dimSize(b, keyCodes, 1);
    Value numPositions = dimSize(b, keyCodes, 2);
    Value groupSize = arith::DivUIOp::create(b, numQHeads, numKvHeads);
    Value numHeads = op.getSharedGroup() ? numKvHeads : numQHeads;
    Value init =
        emptyTensor(b, op.getType(),
                    {numBatches, numHeads, numRows, indexConst(b, op.getK())});

    Value dist = allocScratch(b, b.getIndexType(), numPositions);
    Value hist = allocScratch(b, b.getIndexType(), indexConst(b, numBins));
    TopKRowBuilder rowBuilder(op, queryCodes, keyCodes, dist, hist, numBins,
                              groupSize);

    Value result = buildRowNest(
        b, {numBatches, numHeads, numRows}, init,
        [&](ImplicitLocOpBuilder &b, ValueRange ivs, Value out) {
          Value batch = ivs[0], head = ivs[1], row = ivs[2];
          // The M query rows are the last M tokens (causal):
          // L = clamp(lengths[b] - M + m + 1, 0, N).
          Value length =
              toIndex(b, tensor::ExtractOp::create(b, lengths, batch));
          Value first = arith::SubIOp::create(b, length, numRows);
          Value one = indexConst(b, 1);
          Value last = arith::AddIOp::create(
              b, first, arith::AddIOp::create(b, row, one));
          Value visible = clamp(b, last, indexConst(b, 0), numPositions);
          return rowBuilder.build(b, out, batch, head, row, visible);
        });
    replaceWithResult(rewriter, op, result);
    return success();
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// adamas.sparse_attn
//===----------------------------------------------------------------------===//

namespace {
/// One (batch, query head, row) of `sparse_attn`, with the KV head it reads
/// and the head of its index row.
struct AttnRow {
  Value batch, head, row, kvHead, indexHead;
};

/// Builds the per-row code of `sparse_attn`: scores of the valid indices,
/// max-subtracted softmax, f32 weighted sum of the values, one rounding.
class AttnRowBuilder {
public:
  /// `scores` (K f32) and `acc` (Dv f32) are the row scratch; the sizes are
  /// K, N, D and Dv.
  AttnRowBuilder(Value query, Value keys, Value values, Value indices,
                 Value scores, Value acc, Value scale, Value numSlots,
                 Value numPositions, Value headDim, Value valueDim)
      : query(query), keys(keys), values(values), indices(indices),
        scores(scores), acc(acc), scale(scale), numSlots(numSlots),
        numPositions(numPositions), headDim(headDim), valueDim(valueDim) {}

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
  Value numSlots, numPositions, headDim, valueDim;
};
} // namespace

ValueRange AttnRowBuilder::forValidSlots(ImplicitLocOpBuilder &b,
                                         const AttnRow &row, ValueRange inits,
                                         SlotBodyFn body) const {
  Value c0 = indexConst(b, 0);
  return buildFor(
      b, c0, numSlots, inits,
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
    Value groupSize = arith::DivUIOp::create(b, numQHeads, numKvHeads);
    // Indices have Hq heads, or Hkv when shared by a GQA group (then query
    // head h reads index row h / G). Decided at run time when H' is dynamic.
    Value perQueryHead = arith::CmpIOp::create(b, arith::CmpIPredicate::eq,
                                               numIndexHeads, numQHeads);

    Value scale = f32Const(b, op.getScaleOrDefault());

    Value scores = allocScratch(b, b.getF32Type(), numSlots);
    Value acc = allocScratch(b, b.getF32Type(), valueDim);
    AttnRowBuilder rowBuilder(query, keys, values, indices, scores, acc, scale,
                              numSlots, numPositions, headDim, valueDim);

    Value result = buildRowNest(
        b, {numBatches, numQHeads, numRows}, init,
        [&](ImplicitLocOpBuilder &b, ValueRange ivs, Value out) {
          AttnRow row{ivs[0], ivs[1], ivs[2], Value(), Value()};
          row.kvHead = arith::DivUIOp::create(b, row.head, groupSize);
          row.indexHead =
              arith::SelectOp::create(b, perQueryHead, row.head, row.kvHead);
          return rowBuilder.build(b, out, row);
        });
    replaceWithResult(rewriter, op, result);
    return success();
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// Pass
//===----------------------------------------------------------------------===//

void mlir::adamas::populateAdamasToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<HadamardOpLowering, BucketizeOpLowering, L1TopKOpLowering,
               SparseAttnOpLowering>(patterns.getContext());
}

namespace {
struct AdamasLowerToLinalgPass
    : adamas::impl::AdamasLowerToLinalgBase<AdamasLowerToLinalgPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    populateAdamasToLinalgPatterns(patterns);
    ConversionTarget target(*ctx);
    target.addIllegalDialect<AdamasDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
