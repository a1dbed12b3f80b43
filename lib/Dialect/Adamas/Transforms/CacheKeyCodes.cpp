//===- CacheKeyCodes.cpp - adamas-cache-key-codes -------------------------===//
//
// A decode step encodes all N cached keys (hadamard -> bucketize) although
// only the new ones changed since the last step. Where the keys are built in
// the function from a cache argument,
//
//   K = tensor.concat / tosa.concat(past_keys, new_keys) along N    or
//   K = tensor.insert_slice new_keys into cache[.., pos, ..]
//
// the codes get the same structure: a new function argument holds the codes
// of the past keys (or of the whole cache), only `new_keys` is encoded, and
// the combined codes become a new function result, to be passed back in at
// the next step like the keys themselves. Row-wise transforms commute with
// concatenation and insertion along N, so the codes are exactly those of K.
//
//===----------------------------------------------------------------------===//

#include "adamas/Dialect/Adamas/IR/AdamasOps.h"
#include "adamas/Dialect/Adamas/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Remarks.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "adamas-cache-key-codes"

namespace mlir::adamas {
#define GEN_PASS_DEF_ADAMASCACHEKEYCODES
#include "adamas/Dialect/Adamas/Transforms/Passes.h.inc"
} // namespace mlir::adamas

using namespace mlir;
using namespace mlir::adamas;

static constexpr StringLiteral kCodesOf = "adamas.key_codes_of";

namespace {

/// One `bucketize(hadamard(K))` with K built from a cache argument.
struct Site {
  BucketizeOp bucketize;
  HadamardOp hadamard;
  BlockArgument cache;  // past keys, or the whole cache
  Value newKeys;
  Operation *combine;   // the tensor.concat or tensor.insert_slice
};

struct CacheKeyCodesPass
    : public adamas::impl::AdamasCacheKeyCodesBase<CacheKeyCodesPass> {
  void runOnOperation() override;

private:
  void missed(Operation *op, func::FuncOp func, const Twine &why) {
    std::string message = why.str();
    LLVM_DEBUG(llvm::dbgs() << "[" DEBUG_TYPE "] " << message << "\n");
    remark::missed(op->getLoc(),
                   remark::RemarkOpts::name("KeyCodesNotCached")
                       .category("adamas-cache-key-codes")
                       .function(func.getSymName()))
        << remark::reason("{0}", message);
  }
};

} // namespace

/// Whether `arg` is an argument of `func`'s entry block.
static bool isArgumentOf(Value v, func::FuncOp func) {
  auto arg = dyn_cast<BlockArgument>(v);
  return arg && arg.getOwner() == &func.getBody().front();
}

static std::optional<Site> matchSite(BucketizeOp bucketize,
                                     func::FuncOp func) {
  auto hadamard = bucketize.getInput().getDefiningOp<HadamardOp>();
  if (!hadamard)
    return std::nullopt;
  Value keys = hadamard.getInput();
  auto type = cast<RankedTensorType>(keys.getType());
  int64_t rank = type.getRank();
  if (rank < 2)
    return std::nullopt;
  int64_t tokens = rank - 2; // BHND: N is the dim before the features

  if (auto concat = keys.getDefiningOp<tensor::ConcatOp>()) {
    if (static_cast<int64_t>(concat.getDim()) != tokens ||
        concat.getInputs().size() != 2 ||
        !isArgumentOf(concat.getInputs()[0], func))
      return std::nullopt;
    return Site{bucketize, hadamard,
                cast<BlockArgument>(concat.getInputs()[0]),
                concat.getInputs()[1], concat};
  }
  if (auto concat = keys.getDefiningOp<tosa::ConcatOp>()) {
    if (static_cast<int64_t>(concat.getAxis()) != tokens ||
        concat.getInput1().size() != 2 ||
        !isArgumentOf(concat.getInput1()[0], func))
      return std::nullopt;
    return Site{bucketize, hadamard,
                cast<BlockArgument>(concat.getInput1()[0]),
                concat.getInput1()[1], concat};
  }
  if (auto insert = keys.getDefiningOp<tensor::InsertSliceOp>()) {
    if (!isArgumentOf(insert.getDest(), func) ||
        insert.getSourceType().getRank() != rank ||
        !llvm::all_of(insert.getMixedStrides(), [](OpFoldResult s) {
          return isConstantIntValue(s, 1);
        }))
      return std::nullopt;
    // Whole rows: every dim but N starts at 0 and is taken in full.
    for (int64_t d = 0; d < rank; ++d) {
      if (d == tokens)
        continue;
      if (!isConstantIntValue(insert.getMixedOffsets()[d], 0))
        return std::nullopt;
      std::optional<int64_t> size =
          getConstantIntValue(insert.getMixedSizes()[d]);
      if (!size || type.isDynamicDim(d) || *size != type.getDimSize(d))
        return std::nullopt;
    }
    return Site{bucketize, hadamard, cast<BlockArgument>(insert.getDest()),
                insert.getSource(), insert};
  }
  return std::nullopt;
}

/// `type` with the feature dim replaced by the W code words.
static RankedTensorType codesType(RankedTensorType type, int64_t words,
                                  Builder &b) {
  SmallVector<int64_t> shape(type.getShape());
  shape.back() = words;
  return RankedTensorType::get(shape, b.getI32Type());
}

/// Codes already cached in this function, by what they encode: two sites
/// that encode the same keys the same way share one code cache.
using CachedCodes =
    DenseMap<std::tuple<Operation *, Attribute, Value>, Value>;

static LogicalResult rewrite(Site &site, func::FuncOp func,
                             CachedCodes &cached) {
  BucketizeOp bucketize = site.bucketize;
  auto key = std::make_tuple(site.combine,
                             Attribute(bucketize.getThresholdsAttr()),
                             bucketize.getHeadThresholds());
  if (Value codes = cached.lookup(key)) {
    OpBuilder b(bucketize);
    Value result = codes;
    if (codes.getType() != bucketize.getType())
      result = tensor::CastOp::create(b, bucketize.getLoc(),
                                      bucketize.getType(), codes);
    bucketize.getResult().replaceAllUsesWith(result);
    bucketize.erase();
    if (site.hadamard->use_empty())
      site.hadamard->erase();
    return success();
  }
  Location loc = bucketize.getLoc();
  OpBuilder b(bucketize);
  int64_t words =
      cast<RankedTensorType>(bucketize.getType()).getShape().back();
  unsigned cacheIndex = site.cache.getArgNumber();
  auto cacheType = cast<RankedTensorType>(site.cache.getType());
  RankedTensorType cacheCodesType = codesType(cacheType, words, b);
  DictionaryAttr marker =
      b.getDictionaryAttr(b.getNamedAttr(kCodesOf, b.getI64IntegerAttr(cacheIndex)));

  unsigned argIndex = func.getNumArguments();
  if (failed(func.insertArgument(argIndex, cacheCodesType, marker, loc)))
    return failure();
  Value cacheCodes = func.getArgument(argIndex);

  // Encode the new keys only.
  auto newType = cast<RankedTensorType>(site.newKeys.getType());
  Value newRotated = HadamardOp::create(b, loc, newType, site.newKeys);
  Value newCodes = BucketizeOp::create(
      b, loc, codesType(newType, words, b), newRotated,
      bucketize.getThresholdsAttr(), bucketize.getHeadThresholds());

  Value codes;
  if (isa<tensor::ConcatOp, tosa::ConcatOp>(site.combine)) {
    int64_t tokens = cacheType.getRank() - 2;
    codes = tensor::ConcatOp::create(b, loc, tokens,
                                     ValueRange{cacheCodes, newCodes});
  } else {
    auto insert = cast<tensor::InsertSliceOp>(site.combine);
    SmallVector<OpFoldResult> sizes = insert.getMixedSizes();
    sizes.back() = b.getIndexAttr(words);
    codes = tensor::InsertSliceOp::create(b, loc, newCodes, cacheCodes,
                                          insert.getMixedOffsets(), sizes,
                                          insert.getMixedStrides());
  }
  Value result = codes;
  if (codes.getType() != bucketize.getType())
    result = tensor::CastOp::create(b, loc, bucketize.getType(), codes);
  bucketize.getResult().replaceAllUsesWith(result);
  bucketize.erase();
  if (site.hadamard->use_empty())
    site.hadamard->erase();

  // The combined codes are the cache for the next step.
  auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
  unsigned resultIndex = func.getNumResults();
  if (failed(func.insertResult(resultIndex, codes.getType(), marker)))
    return failure();
  ret.getOperandsMutable().append(codes);
  cached[key] = codes;
  return success();
}

void CacheKeyCodesPass::runOnOperation() {
  ModuleOp module = getOperation();
  for (auto func : llvm::make_early_inc_range(module.getOps<func::FuncOp>())) {
    if (func.isExternal())
      continue;
    SmallVector<Site> sites;
    func.walk([&](BucketizeOp bucketize) {
      if (std::optional<Site> site = matchSite(bucketize, func))
        sites.push_back(*site);
    });
    if (sites.empty())
      continue;
    // New arguments and results change the signature: callers in the module
    // would have to thread the codes too.
    if (!SymbolTable::symbolKnownUseEmpty(func, module)) {
      missed(func, func, "'" + func.getSymName() +
                             "' has callers in the module; its signature "
                             "cannot change");
      continue;
    }
    Block &entry = func.getBody().front();
    if (!func.getBody().hasOneBlock() ||
        !isa<func::ReturnOp>(entry.getTerminator())) {
      missed(func, func, "'" + func.getSymName() +
                             "' is not a single block ending in func.return");
      continue;
    }
    CachedCodes cached;
    for (Site &site : sites) {
      // The codes become a result: they must be computed in the entry
      // block, not inside a loop or branch.
      if (site.bucketize->getBlock() != &entry ||
          site.combine->getBlock() != &entry) {
        missed(site.bucketize, func,
               "the key codes are computed inside a region");
        continue;
      }
      if (failed(rewrite(site, func, cached))) {
        missed(site.bucketize, func, "could not add the code cache");
        continue;
      }
    }
  }
}
