//===- AdamasOps.cpp - Adamas operations ----------------------------------===//
//
// Verifiers check every rule of DESIGN.md section 2 and name the operand and
// the rule in the diagnostic. Sizes may be dynamic where the contract allows
// it (B, N, M); a rule is checked as soon as the sizes it relates are static.
// The rules that relate dynamic sizes are checked at run time by the
// RuntimeVerifiableOpInterface models (AdamasRuntimeVerification.cpp).
//
// Every size is an arbitrary int64_t from the IR, so sizes are compared
// before they are multiplied or added, and derived sizes come from the
// bounded helpers of CodeArithmetic.h: no verifier computes with a value
// that can overflow.
//
//===----------------------------------------------------------------------===//

#include "adamas/Dialect/Adamas/IR/AdamasOps.h"
#include "adamas/Dialect/Adamas/Utils/CodeArithmetic.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::adamas;

//===----------------------------------------------------------------------===//
// Verifier helpers
//===----------------------------------------------------------------------===//

namespace {
/// A ranked tensor operand or result together with the name the diagnostics
/// use for it (the ODS name).
struct Named {
  StringRef name;
  RankedTensorType type;

  int64_t dim(int64_t i) const { return type.getDimSize(i); }
};
} // namespace

static Named named(StringRef name, Value value) {
  return {name, cast<RankedTensorType>(value.getType())};
}

static bool isStatic(int64_t size) { return !ShapedType::isDynamic(size); }

/// Two sizes agree when either is dynamic or they are equal.
static bool sizesAgree(int64_t a, int64_t b) {
  return !isStatic(a) || !isStatic(b) || a == b;
}

static std::string sizeStr(int64_t size) {
  return isStatic(size) ? std::to_string(size) : std::string("?");
}

static LogicalResult verifyRank(Operation *op, const Named &v, int64_t rank,
                                StringRef layout) {
  if (v.type.getRank() == rank)
    return success();
  return op->emitOpError() << "'" << v.name << "' must have rank " << rank
                           << " (" << layout << "), got rank "
                           << v.type.getRank();
}

static bool isSupportedFloat(Type t) {
  return t.isF16() || t.isBF16() || t.isF32();
}

static LogicalResult verifyFloatElements(Operation *op, const Named &v) {
  if (isSupportedFloat(v.type.getElementType()))
    return success();
  return op->emitOpError() << "'" << v.name
                           << "' element type must be f16, bf16 or f32, got "
                           << v.type.getElementType();
}

static LogicalResult verifyI32Elements(Operation *op, const Named &v) {
  if (v.type.getElementType().isSignlessInteger(32))
    return success();
  return op->emitOpError() << "'" << v.name
                           << "' element type must be i32, got "
                           << v.type.getElementType();
}

/// Checks that dimension `i` of `v` agrees with `expected`, which is the
/// size `what` (e.g. "B of 'query'").
static LogicalResult verifyDim(Operation *op, const Named &v, int64_t i,
                               StringRef dimName, int64_t expected,
                               StringRef what) {
  if (sizesAgree(v.dim(i), expected))
    return success();
  return op->emitOpError() << "'" << v.name << "' dimension " << i << " ("
                           << dimName << " = " << sizeStr(v.dim(i))
                           << ") must equal " << what << " ("
                           << sizeStr(expected) << ")";
}

/// A static head count must be positive: a size of 0 has no group size
/// `Hq / Hkv` (and a `shared_group` selection of no query heads ranks
/// nothing).
static LogicalResult verifyHeadsPositive(Operation *op, const Named &v,
                                         StringRef what) {
  int64_t heads = v.dim(1);
  if (!isStatic(heads) || heads > 0)
    return success();
  return op->emitOpError() << "'" << v.name << "' heads (" << what << " = "
                           << heads << ") must be positive";
}

/// Hq and Hkv positive, Hq a multiple of Hkv; each rule as soon as its sizes
/// are static, so a static 0 is rejected even beside a dynamic size.
static LogicalResult verifyHeadsDivide(Operation *op, const Named &q,
                                       const Named &kv) {
  if (failed(verifyHeadsPositive(op, q, "Hq")) ||
      failed(verifyHeadsPositive(op, kv, "Hkv")))
    return failure();
  int64_t hq = q.dim(1), hkv = kv.dim(1);
  if (!isStatic(hq) || !isStatic(hkv) || hq % hkv == 0)
    return success();
  return op->emitOpError() << "'" << q.name << "' heads (Hq = " << hq
                           << ") must be a multiple of '" << kv.name
                           << "' heads (Hkv = " << hkv << ")";
}

/// Reifies result `dims` where each entry is either a static size or the
/// (possibly dynamic) size of an operand dimension.
namespace {
struct DimSource {
  Value operand;
  int64_t dim;
};
} // namespace

static LogicalResult reifyFrom(OpBuilder &b, Operation *op,
                               ArrayRef<DimSource> sources,
                               ReifiedRankedShapedTypeDims &reified) {
  auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
  SmallVector<OpFoldResult> sizes;
  for (auto [i, source] : llvm::enumerate(sources)) {
    int64_t size = resultType.getDimSize(i);
    if (isStatic(size))
      sizes.push_back(b.getIndexAttr(size));
    else if (source.operand)
      sizes.push_back(
          tensor::getMixedSize(b, op->getLoc(), source.operand, source.dim));
    else
      return failure();
  }
  reified.push_back(std::move(sizes));
  return success();
}

//===----------------------------------------------------------------------===//
// HadamardOp
//===----------------------------------------------------------------------===//

LogicalResult HadamardOp::verify() {
  Named input = named("input", getInput());
  if (input.type.getRank() < 1)
    return emitOpError("'input' must have rank >= 1");
  if (failed(verifyFloatElements(*this, input)))
    return failure();
  int64_t d = input.dim(input.type.getRank() - 1);
  if (!isStatic(d))
    return emitOpError("'input' last dimension (D) must be static");
  if (d < 2 || d > 32768 || !llvm::isPowerOf2_64(d))
    return emitOpError() << "'input' last dimension (D = " << d
                         << ") must be a power of two in [2, 32768]";
  return success();
}

LogicalResult
HadamardOp::reifyResultShapes(OpBuilder &b,
                              ReifiedRankedShapedTypeDims &reified) {
  SmallVector<DimSource> sources;
  for (int64_t i = 0, e = getInput().getType().getRank(); i < e; ++i)
    sources.push_back({getInput(), i});
  return reifyFrom(b, *this, sources, reified);
}

//===----------------------------------------------------------------------===//
// BucketizeOp
//===----------------------------------------------------------------------===//

int64_t BucketizeOp::getBits() {
  // 2^b - 1 thresholds; the verifier guarantees 1, 3 or 7.
  return llvm::Log2_64(getThresholds().size() + 1);
}

LogicalResult BucketizeOp::verify() {
  Named input = named("input", getInput());
  Named result = named("result", getResult());
  int64_t rank = input.type.getRank();
  if (rank < 1)
    return emitOpError("'input' must have rank >= 1");
  if (failed(verifyFloatElements(*this, input)))
    return failure();
  int64_t d = input.dim(rank - 1);
  if (!isStatic(d) || d % kDimsPerGroup != 0 || d == 0)
    return emitOpError() << "'input' last dimension (D = " << sizeStr(d)
                         << ") must be a static, positive multiple of 32";
  // The head_dim bound of hadamard, whose output bucketize encodes; it keeps
  // W, the distances of l1_topk and its histogram small.
  if (d > kMaxCodeDims)
    return emitOpError() << "'input' last dimension (D = " << d
                         << ") must be at most " << kMaxCodeDims;

  ArrayRef<float> thresholds = getThresholds();
  size_t count = thresholds.size();
  if (count != 1 && count != 3 && count != 7)
    return emitOpError() << "'thresholds' must have 1, 3 or 7 values (b = 1, "
                            "2 or 3 bits), got "
                         << count;
  for (auto [i, t] : llvm::enumerate(thresholds))
    if (!std::isfinite(t))
      return emitOpError() << "'thresholds' must be finite, value #" << i
                           << " is " << t;
  for (size_t i = 1; i < count; ++i)
    if (!(thresholds[i - 1] < thresholds[i]))
      return emitOpError() << "'thresholds' must be strictly increasing, "
                              "value #"
                           << i << " (" << thresholds[i]
                           << ") is not greater than value #" << i - 1 << " ("
                           << thresholds[i - 1] << ")";
  int64_t bits = getBits();

  if (failed(verifyRank(*this, result, rank, "the rank of 'input'")) ||
      failed(verifyI32Elements(*this, result)))
    return failure();
  for (int64_t i = 0; i + 1 < rank; ++i)
    if (failed(verifyDim(*this, result, i, "size", input.dim(i),
                         "the same dimension of 'input'")))
      return failure();
  // D is a bounded multiple of 32 here, so W = D / 32 * bits exists.
  int64_t words = *codeWordsPerRow(d, bits);
  if (failed(verifyDim(*this, result, rank - 1, "W", words, "D * bits / 32")))
    return failure();

  if (!getHeadThresholds())
    return success();
  Named heads = named("head_thresholds", getHeadThresholds());
  if (rank != 4)
    return emitOpError() << "'head_thresholds' requires a rank-4 BHND "
                            "'input', got rank "
                         << rank;
  if (failed(verifyRank(*this, heads, 2, "H x (2^b - 1)")))
    return failure();
  if (!heads.type.getElementType().isF32())
    return emitOpError() << "'head_thresholds' element type must be f32, got "
                         << heads.type.getElementType();
  if (failed(verifyDim(*this, heads, 0, "H", input.dim(1),
                       "the heads of 'input'")) ||
      failed(verifyDim(*this, heads, 1, "thresholds", numThresholds(bits),
                       "2^b - 1 for b fixed by 'thresholds'")))
    return failure();
  if (!isStatic(heads.dim(1)))
    return emitOpError("'head_thresholds' dimension 1 (2^b - 1) must be "
                       "static");
  return success();
}

LogicalResult
BucketizeOp::reifyResultShapes(OpBuilder &b,
                               ReifiedRankedShapedTypeDims &reified) {
  SmallVector<DimSource> sources;
  int64_t rank = getInput().getType().getRank();
  for (int64_t i = 0; i + 1 < rank; ++i)
    sources.push_back({getInput(), i});
  sources.push_back({Value(), 0}); // W is always static.
  return reifyFrom(b, *this, sources, reified);
}

//===----------------------------------------------------------------------===//
// L1TopKOp
//===----------------------------------------------------------------------===//

LogicalResult L1TopKOp::verify() {
  Named qc = named("query_codes", getQueryCodes());
  Named kc = named("key_codes", getKeyCodes());
  Named lengths = named("lengths", getLengths());
  Named result = named("result", getResult());

  if (failed(verifyRank(*this, qc, 4, "B x Hq x M x W")) ||
      failed(verifyI32Elements(*this, qc)) ||
      failed(verifyRank(*this, kc, 4, "B x Hkv x N x W")) ||
      failed(verifyI32Elements(*this, kc)) ||
      failed(verifyRank(*this, lengths, 1, "B")) ||
      failed(verifyI32Elements(*this, lengths)))
    return failure();

  int64_t k = getK(), bits = getBits(), sink = getSink(), recent = getRecent();
  if (k <= 0)
    return emitOpError() << "'k' must be positive, got " << k;
  // Positions are i32, so no row can select more than 2^31 - 1 of them.
  if (k > std::numeric_limits<int32_t>::max())
    return emitOpError() << "'k' must be at most 2147483647 (positions are "
                            "i32), got "
                         << k;
  if (bits < 1 || bits > 3)
    return emitOpError() << "'bits' must be 1, 2 or 3, got " << bits;
  if (sink < 0)
    return emitOpError() << "'sink' must be non-negative, got " << sink;
  if (recent < 0)
    return emitOpError() << "'recent' must be non-negative, got " << recent;
  // `sink + recent <= k` without forming the sum (both may be near 2^63).
  if (sink > k || recent > k - sink)
    return emitOpError() << "'sink' (" << sink << ") + 'recent' (" << recent
                         << ") must not exceed 'k' (" << k << ")";

  if (failed(verifyDim(*this, kc, 0, "B", qc.dim(0), "B of 'query_codes'")) ||
      failed(
          verifyDim(*this, lengths, 0, "B", qc.dim(0), "B of 'query_codes'")) ||
      failed(verifyDim(*this, kc, 3, "W", qc.dim(3), "W of 'query_codes'")))
    return failure();
  // W fixes the number of histogram bins, (2^b - 1) * 32 * W / b + 1.
  int64_t w = isStatic(qc.dim(3)) ? qc.dim(3) : kc.dim(3);
  if (!isStatic(w))
    return emitOpError("words per row (W) must be static in 'query_codes' or "
                       "'key_codes'");
  if (w % bits != 0)
    return emitOpError() << "'query_codes' words per row (W = " << w
                         << ") must be a multiple of 'bits' (" << bits << ")";
  if (!numDistanceBins(w, bits))
    return emitOpError() << "'query_codes' words per row (W = " << w
                         << ") must be at most " << maxCodeWordsPerRow(bits)
                         << " (D = 32 * W / 'bits' at most " << kMaxCodeDims
                         << ")";
  // Positions are emitted as i32.
  int64_t n = kc.dim(2);
  if (isStatic(n) && n > std::numeric_limits<int32_t>::max())
    return emitOpError() << "'key_codes' dimension 2 (N = " << n
                         << ") must be at most 2147483647 (positions are i32)";
  if (failed(verifyHeadsDivide(*this, qc, kc)))
    return failure();

  int64_t heads = getSharedGroup() ? kc.dim(1) : qc.dim(1);
  StringRef headsWhat = getSharedGroup() ? "Hkv of 'key_codes' (shared_group)"
                                         : "Hq of 'query_codes'";
  if (failed(verifyRank(*this, result, 4, "B x H' x M x k")) ||
      failed(verifyI32Elements(*this, result)) ||
      failed(
          verifyDim(*this, result, 0, "B", qc.dim(0), "B of 'query_codes'")) ||
      failed(verifyDim(*this, result, 1, "H'", heads, headsWhat)) ||
      failed(verifyDim(*this, result, 2, "M", qc.dim(2), "M of 'query_codes'")))
    return failure();
  if (result.dim(3) != k)
    return emitOpError() << "'result' dimension 3 must equal 'k' (" << k
                         << "), got " << sizeStr(result.dim(3));
  return success();
}

LogicalResult
L1TopKOp::reifyResultShapes(OpBuilder &b,
                            ReifiedRankedShapedTypeDims &reified) {
  Value headSource = getSharedGroup() ? getKeyCodes() : getQueryCodes();
  return reifyFrom(b, *this,
                   {{getQueryCodes(), 0},
                    {headSource, 1},
                    {getQueryCodes(), 2},
                    {Value(), 0}},
                   reified);
}

//===----------------------------------------------------------------------===//
// SparseAttnOp
//===----------------------------------------------------------------------===//

float SparseAttnOp::getScaleOrDefault() {
  if (std::optional<APFloat> scale = getScale())
    return scale->convertToFloat();
  int64_t d = getQuery().getType().getDimSize(3);
  return 1.0f / std::sqrt(static_cast<float>(d));
}

LogicalResult SparseAttnOp::verify() {
  Named q = named("query", getQuery());
  Named k = named("keys", getKeys());
  Named v = named("values", getValues());
  Named idx = named("indices", getIndices());
  Named result = named("result", getResult());

  if (failed(verifyRank(*this, q, 4, "B x Hq x M x D")) ||
      failed(verifyFloatElements(*this, q)) ||
      failed(verifyRank(*this, k, 4, "B x Hkv x N x D")) ||
      failed(verifyRank(*this, v, 4, "B x Hkv x N x Dv")) ||
      failed(verifyRank(*this, idx, 4, "B x H' x M x K")) ||
      failed(verifyI32Elements(*this, idx)))
    return failure();
  Type elementType = q.type.getElementType();
  for (const Named &operand : {k, v})
    if (operand.type.getElementType() != elementType)
      return emitOpError() << "'" << operand.name
                           << "' element type must match 'query' ("
                           << elementType << "), got "
                           << operand.type.getElementType();
  if (!isStatic(q.dim(3)))
    return emitOpError("'query' dimension 3 (D) must be static");
  // The default scale is 1/sqrt(D).
  if (q.dim(3) == 0)
    return emitOpError("'query' dimension 3 (D) must be positive");

  if (failed(verifyDim(*this, k, 0, "B", q.dim(0), "B of 'query'")) ||
      failed(verifyDim(*this, v, 0, "B", q.dim(0), "B of 'query'")) ||
      failed(verifyDim(*this, idx, 0, "B", q.dim(0), "B of 'query'")) ||
      failed(verifyDim(*this, k, 3, "D", q.dim(3), "D of 'query'")) ||
      failed(verifyDim(*this, v, 1, "Hkv", k.dim(1), "Hkv of 'keys'")) ||
      failed(verifyDim(*this, v, 2, "N", k.dim(2), "N of 'keys'")) ||
      failed(verifyHeadsDivide(*this, q, k)) ||
      failed(verifyDim(*this, idx, 2, "M", q.dim(2), "M of 'query'")))
    return failure();
  // H' is Hq or Hkv, which are positive and Hkv divides Hq: where one of
  // them is dynamic, H' can only be it if it is positive and divides, or is
  // a multiple of, the static one.
  int64_t hIdx = idx.dim(1), hq = q.dim(1), hkv = k.dim(1);
  if (isStatic(hIdx) && hIdx <= 0)
    return emitOpError() << "'indices' heads (H' = " << hIdx
                         << ") must be positive";
  if (isStatic(hIdx)) {
    bool canBeHq =
        isStatic(hq) ? hIdx == hq : !isStatic(hkv) || hIdx % hkv == 0;
    bool canBeHkv =
        isStatic(hkv) ? hIdx == hkv : !isStatic(hq) || hq % hIdx == 0;
    if (!canBeHq && !canBeHkv)
      return emitOpError() << "'indices' heads (H' = " << hIdx
                           << ") must equal the heads of 'query' (Hq = "
                           << sizeStr(hq)
                           << ") or of 'keys' (Hkv = " << sizeStr(hkv) << ")";
  }

  if (failed(verifyRank(*this, result, 4, "B x Hq x M x Dv")))
    return failure();
  if (result.type.getElementType() != elementType)
    return emitOpError() << "'result' element type must match 'query' ("
                         << elementType << "), got "
                         << result.type.getElementType();
  if (failed(verifyDim(*this, result, 0, "B", q.dim(0), "B of 'query'")) ||
      failed(verifyDim(*this, result, 1, "Hq", q.dim(1), "Hq of 'query'")) ||
      failed(verifyDim(*this, result, 2, "M", q.dim(2), "M of 'query'")) ||
      failed(verifyDim(*this, result, 3, "Dv", v.dim(3), "Dv of 'values'")))
    return failure();

  if (std::optional<APFloat> scale = getScale())
    if (!scale->isFinite())
      return emitOpError("'scale' must be finite");
  return success();
}

LogicalResult
SparseAttnOp::reifyResultShapes(OpBuilder &b,
                                ReifiedRankedShapedTypeDims &reified) {
  return reifyFrom(
      b, *this,
      {{getQuery(), 0}, {getQuery(), 1}, {getQuery(), 2}, {getValues(), 3}},
      reified);
}

//===----------------------------------------------------------------------===//
// CacheWriteOp
//===----------------------------------------------------------------------===//

LogicalResult CacheWriteOp::verify() {
  Named rows = named("rows", getRows());
  Named cache = named("cache", getCache());
  Named lengths = named("lengths", getLengths());
  if (failed(verifyRank(*this, rows, 4, "B x H x M x F")) ||
      failed(verifyRank(*this, cache, 4, "B x H x N x F")) ||
      failed(verifyRank(*this, lengths, 1, "B")) ||
      failed(verifyI32Elements(*this, lengths)))
    return failure();
  if (rows.type.getElementType() != cache.type.getElementType())
    return emitOpError() << "'rows' element type must match 'cache' ("
                         << cache.type.getElementType() << "), got "
                         << rows.type.getElementType();
  if (failed(verifyDim(*this, rows, 0, "B", cache.dim(0), "B of 'cache'")) ||
      failed(verifyDim(*this, lengths, 0, "B", cache.dim(0), "B of 'cache'")) ||
      failed(verifyDim(*this, rows, 1, "H", cache.dim(1), "H of 'cache'")) ||
      failed(verifyDim(*this, rows, 3, "F", cache.dim(3), "F of 'cache'")))
    return failure();
  return success();
}

LogicalResult
CacheWriteOp::reifyResultShapes(OpBuilder &b,
                                ReifiedRankedShapedTypeDims &reified) {
  return reifyFrom(
      b, *this,
      {{getCache(), 0}, {getCache(), 1}, {getCache(), 2}, {getCache(), 3}},
      reified);
}

#define GET_OP_CLASSES
#include "adamas/Dialect/Adamas/IR/AdamasOps.cpp.inc"
