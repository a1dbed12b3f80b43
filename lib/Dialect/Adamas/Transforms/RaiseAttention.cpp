//===- RaiseAttention.cpp - adamas-raise-attention ------------------------===//
//
// Every contraction of a function is tried as the P·V of an attention
// (AttentionMatch.cpp recognizes it); a decode site within the options'
// limits becomes
//
//   q4, k4, v4 = BHND views of q, K, V (reshapes / transposes as needed)
//   qc = bucketize(hadamard(q4)), kc = bucketize(hadamard(k4))
//   idx = l1_topk(qc, kc, lengths) ; out = sparse_attn(q4, k4, v4, idx)
//
// and `out`, brought back to the layout of the original P·V, replaces it;
// the ops only the attention used are erased. Sites that are not rewritten
// say why in a missed remark (--remarks-filter-missed=adamas-raise-attention).
//
//===----------------------------------------------------------------------===//

#include "AttentionMatch.h"

#include "adamas/Dialect/Adamas/IR/AdamasOps.h"
#include "adamas/Dialect/Adamas/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/IR/Remarks.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/Debug.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>

#define DEBUG_TYPE "adamas-raise-attention"

namespace mlir::adamas {
#define GEN_PASS_DEF_ADAMASRAISEATTENTION
#include "adamas/Dialect/Adamas/Transforms/Passes.h.inc"
} // namespace mlir::adamas

using namespace mlir;
using namespace mlir::adamas;
using namespace mlir::adamas::raise;

static constexpr StringLiteral kCategory = "adamas-raise-attention";

namespace {

/// Records the ops a builder creates, to undo a rewrite that fails midway.
struct Recorder : public OpBuilder::Listener {
  SmallVector<Operation *> created;
  void notifyOperationInserted(Operation *op,
                               OpBuilder::InsertPoint) override {
    created.push_back(op);
  }
  void undo() {
    for (Operation *op : llvm::reverse(created))
      op->erase();
    created.clear();
  }
};

struct RaiseAttentionPass
    : public adamas::impl::AdamasRaiseAttentionBase<RaiseAttentionPass> {
  using Base::Base;

  LogicalResult initialize(MLIRContext *context) override;
  void runOnOperation() override;

private:
  /// Rewrites one site; returns the ops it erased.
  LogicalResult rewrite(AttentionSite &site, int64_t k,
                        DenseSet<Operation *> &erased);
  void missed(Operation *op, const Twine &why);

  SmallVector<float> codeThresholds;
};

} // namespace

LogicalResult RaiseAttentionPass::initialize(MLIRContext *context) {
  auto error = [&](const Twine &msg) {
    return emitError(UnknownLoc::get(context))
           << "adamas-raise-attention: " << msg;
  };
  if (budget <= 0)
    return error("option 'budget' must be positive, got " + Twine(budget));
  if (bits < 1 || bits > 3)
    return error("option 'bits' must be 1, 2 or 3, got " + Twine(bits));
  if (sink < 0)
    return error("option 'sink' must be non-negative, got " + Twine(sink));
  if (recent < 0)
    return error("option 'recent' must be non-negative, got " +
                 Twine(recent));
  if (sink + recent > budget)
    return error("options 'sink' + 'recent' (" + Twine(sink + recent) +
                 ") must not exceed 'budget' (" + Twine(budget) + ")");
  if (minContext < 0)
    return error("option 'min-context' must be non-negative, got " +
                 Twine(minContext));
  if (maxQueries < 1)
    return error("option 'max-queries' must be at least 1, got " +
                 Twine(maxQueries));
  if (skipLayers < 0)
    return error("option 'skip-layers' must be non-negative, got " +
                 Twine(skipLayers));
  codeThresholds.assign(thresholds.begin(), thresholds.end());
  size_t want = (size_t{1} << bits) - 1;
  if (codeThresholds.empty()) {
    // The published thresholds are for 2 bits; 1 bit is the sign.
    if (bits == 2)
      codeThresholds = {-10.0f, 0.0f, 10.0f};
    else if (bits == 1)
      codeThresholds = {0.0f};
    else
      return error("option 'thresholds' is required with bits = 3 (7 "
                   "values; the published defaults are for 2 bits)");
  }
  if (codeThresholds.size() != want)
    return error("option 'thresholds' must have 2^bits - 1 = " + Twine(want) +
                 " values for bits = " + Twine(bits) + ", got " +
                 Twine(codeThresholds.size()));
  for (size_t i = 0; i < codeThresholds.size(); ++i) {
    if (!std::isfinite(codeThresholds[i]))
      return error("option 'thresholds' must be finite, value #" + Twine(i) +
                   " is not");
    if (i > 0 && !(codeThresholds[i - 1] < codeThresholds[i]))
      return error("option 'thresholds' must be strictly increasing, value "
                   "#" +
                   Twine(i) + " is not greater than value #" + Twine(i - 1));
  }
  return success();
}

void RaiseAttentionPass::missed(Operation *op, const Twine &why) {
  std::string message = why.str();
  LLVM_DEBUG(llvm::dbgs() << "[" DEBUG_TYPE "] " << op->getLoc()
                          << ": not raised: " << message << "\n");
  remark::missed(op->getLoc(), remark::RemarkOpts::name("AttentionNotRaised")
                                   .category(kCategory)
                                   .function(getOperation().getSymName()))
      << remark::reason("{0}", message);
}

/// The widest of the float types (f16 and bf16 together widen to f32).
static Type commonFloatType(ArrayRef<Type> types) {
  Type common = types.front();
  for (Type t : types.drop_front()) {
    if (t == common)
      continue;
    unsigned a = common.getIntOrFloatBitWidth(), b = t.getIntOrFloatBitWidth();
    if (a == b || std::max(a, b) < 32)
      common = Float32Type::get(t.getContext());
    else if (b > a)
      common = t;
  }
  return common;
}

static Value convertElements(OpBuilder &b, Location loc, Value v,
                             Type elementType) {
  auto type = cast<RankedTensorType>(v.getType());
  if (type.getElementType() == elementType)
    return v;
  auto target = type.clone(elementType);
  if (type.getElementType().getIntOrFloatBitWidth() <
      elementType.getIntOrFloatBitWidth())
    return arith::ExtFOp::create(b, loc, target, v);
  return arith::TruncFOp::create(b, loc, target, v);
}

/// Erases `root` and, transitively, the producers only it kept alive.
static void eraseDeadProducers(Operation *root,
                               DenseSet<Operation *> &erased) {
  SmallVector<Operation *> worklist{root};
  while (!worklist.empty()) {
    Operation *op = worklist.pop_back_val();
    if (erased.contains(op) || !op->use_empty() || !isOpTriviallyDead(op))
      continue;
    // Producers of the operands, and of values captured by the regions
    // (the scale constant of a generic's body).
    op->walk([&](Operation *nested) {
      for (Value operand : nested->getOperands())
        if (Operation *def = operand.getDefiningOp();
            def && !op->isAncestor(def))
          worklist.push_back(def);
    });
    // Ops nested in op's regions go with it.
    op->walk([&](Operation *nested) { erased.insert(nested); });
    op->erase();
  }
}

static void eraseDeadProducers(Operation *root, DenseSet<Operation *> &erased);

static bool isReshape(Operation *op) {
  return isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp, tosa::ReshapeOp>(
      op);
}

/// The model usually reshapes the attention output straight back (to BHSD,
/// or to [B, M, H * D]); `out` reaches it from `sparse` through reshapes
/// only. A user reshape to the type of a value on that chain is that value
/// (row-major reshapes compose). Returns the users left.
static SmallVector<Operation *>
foldReshapesOfResult(Value out, Value sparse, ArrayRef<Operation *> users,
                     DenseSet<Operation *> &erased) {
  SmallVector<Value> chain{out};
  while (chain.back() != sparse) {
    Operation *def = chain.back().getDefiningOp();
    if (!def || !isReshape(def) ||
        (!isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp>(def)))
      break;
    chain.push_back(def->getOperand(0));
  }
  SmallVector<Operation *> left;
  for (Operation *user : users) {
    if (!isReshape(user) || user->getOperand(0) != out) {
      left.push_back(user);
      continue;
    }
    auto it = llvm::find_if(chain, [&](Value v) {
      return v.getType() == user->getResult(0).getType();
    });
    if (it == chain.end()) {
      left.push_back(user);
      continue;
    }
    user->getResult(0).replaceAllUsesWith(*it);
    // The shape operand of a tosa.reshape dies with it (`out` is left to
    // the caller, it may be one of the ops just created).
    SmallVector<Operation *> producers;
    for (Value operand : user->getOperands().drop_front())
      if (Operation *def = operand.getDefiningOp())
        producers.push_back(def);
    user->erase();
    for (Operation *def : producers)
      eraseDeadProducers(def, erased);
  }
  return left;
}

/// Folds the reshapes and transposes the rewrite created into each other and
/// into their users (the model's own reshape back to BHSD, say): only these
/// ops, so that the rest of the program stays as it was.
static void cleanUp(ArrayRef<Operation *> created,
                    ArrayRef<Operation *> users) {
  if (created.empty())
    return;
  MLIRContext *ctx = created.front()->getContext();
  RewritePatternSet patterns(ctx);
  tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns, ctx);
  tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, ctx);
  tensor::CastOp::getCanonicalizationPatterns(patterns, ctx);
  linalg::TransposeOp::getCanonicalizationPatterns(patterns, ctx);
  SmallVector<Operation *> ops;
  for (Operation *op : llvm::concat<Operation *const>(created, users))
    if (isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp, tensor::CastOp,
            linalg::TransposeOp>(op))
      ops.push_back(op);
  GreedyRewriteConfig config;
  config.setStrictness(GreedyRewriteStrictness::ExistingAndNewOps);
  (void)applyOpPatternsGreedily(ops, std::move(patterns), config);
}

LogicalResult RaiseAttentionPass::rewrite(AttentionSite &site, int64_t k,
                                          DenseSet<Operation *> &erased) {
  Recorder recorder;
  OpBuilder b(site.pv);
  b.setListener(&recorder);
  Location loc = site.pv->getLoc();
  auto elementTypeOf = [](Value v) {
    return cast<RankedTensorType>(v.getType()).getElementType();
  };
  Type t = commonFloatType({elementTypeOf(site.q.base),
                            elementTypeOf(site.k.base),
                            elementTypeOf(site.v.base)});

  Value q = materialize(b, loc, site.q.base, site.q.layout, site.q4);
  Value kv = materialize(b, loc, site.k.base, site.k.layout, site.k4);
  Value v = materialize(b, loc, site.v.base, site.v.layout, site.v4);
  if (!q || !kv || !v) {
    recorder.undo();
    return failure();
  }
  q = convertElements(b, loc, q, t);
  kv = convertElements(b, loc, kv, t);
  v = convertElements(b, loc, v, t);

  auto qType = cast<RankedTensorType>(q.getType());
  auto kType = cast<RankedTensorType>(kv.getType());
  int64_t words = site.headDim * bits / 32;
  auto codesType = [&](RankedTensorType type) {
    SmallVector<int64_t> shape(type.getShape());
    shape.back() = words;
    return RankedTensorType::get(shape, b.getI32Type());
  };
  DenseF32ArrayAttr thresholdsAttr = b.getDenseF32ArrayAttr(codeThresholds);
  Value qh = HadamardOp::create(b, loc, qType, q);
  Value kh = HadamardOp::create(b, loc, kType, kv);
  Value qc = BucketizeOp::create(b, loc, codesType(qType), qh, thresholdsAttr,
                                 Value());
  Value kc = BucketizeOp::create(b, loc, codesType(kType), kh, thresholdsAttr,
                                 Value());

  // lengths: one value for every batch row.
  Value length = buildLengthsScalar(b, loc, site.lengths, kv, 2);
  SmallVector<OpFoldResult> batch{
      qType.isDynamicDim(0)
          ? OpFoldResult(tensor::DimOp::create(b, loc, q, 0).getResult())
          : OpFoldResult(b.getIndexAttr(qType.getDimSize(0)))};
  Value lengthsInit = tensor::EmptyOp::create(b, loc, batch, b.getI32Type());
  Value lengths =
      linalg::FillOp::create(b, loc, length, lengthsInit).getResult(0);

  int64_t selectHeads = sharedGroup ? kType.getDimSize(1) : qType.getDimSize(1);
  auto indicesType = RankedTensorType::get(
      {qType.getDimSize(0), selectHeads, qType.getDimSize(2), k},
      b.getI32Type());
  Value indices = L1TopKOp::create(b, loc, indicesType, qc, kc, lengths,
                                   b.getI64IntegerAttr(k),
                                   b.getI64IntegerAttr(bits),
                                   b.getI64IntegerAttr(sink),
                                   b.getI64IntegerAttr(recent),
                                   b.getBoolAttr(sharedGroup));
  auto vType = cast<RankedTensorType>(v.getType());
  auto outType = RankedTensorType::get(
      {qType.getDimSize(0), qType.getDimSize(1), qType.getDimSize(2),
       vType.getDimSize(3)},
      t);
  Value sparse = SparseAttnOp::create(b, loc, outType, q, kv, v, indices,
                                      b.getF32FloatAttr(site.scale));
  Value out = sparse;

  auto resultType = cast<RankedTensorType>(site.output.getType());
  out = convertElements(b, loc, out, resultType.getElementType());
  out = materialize(b, loc, out, site.o4, site.outputLayout);
  if (!out) {
    recorder.undo();
    return failure();
  }
  if (out.getType() != resultType)
    out = tensor::CastOp::create(b, loc, resultType, out);

  SmallVector<Operation *> users(site.output.getUsers());
  site.output.replaceAllUsesWith(out);
  users = foldReshapesOfResult(out, sparse, users, erased);
  eraseDeadProducers(site.pv, erased);
  // What the folds left without users.
  SmallVector<Operation *> live;
  for (Operation *op : llvm::reverse(recorder.created)) {
    if (op->use_empty() && isOpTriviallyDead(op))
      op->erase();
    else
      live.push_back(op);
  }
  cleanUp(live, users);
  return success();
}

void RaiseAttentionPass::runOnOperation() {
  func::FuncOp func = getOperation();
  SmallVector<Operation *> candidates;
  func.walk([&](Operation *op) {
    if (getContraction(op))
      candidates.push_back(op);
  });

  // The contractions of attention sites (q·Kᵀ and P·V), found before any
  // rewrite: a contraction chain through one of them is the model's data
  // flow between layers, not a softmax gone missing.
  DenseSet<Operation *> attentionOps;
  for (Operation *op : candidates) {
    MatchFailure failure;
    FailureOr<AttentionSite> site = matchAttention(op, failure);
    if (succeeded(site) || failure.attention) {
      attentionOps.insert(op);
      attentionOps.insert(succeeded(site) ? site->qk : failure.qk);
    }
  }

  DenseSet<Operation *> erased;
  int64_t siteIndex = 0;
  for (Operation *op : candidates) {
    if (erased.contains(op))
      continue;
    MatchFailure failure;
    FailureOr<AttentionSite> site = matchAttention(op, failure);
    if (failed(site)) {
      if (failure.attention)
        ++siteIndex;
      if (failure.producer && (attentionOps.contains(op) ||
                               attentionOps.contains(failure.producer)))
        failure.report = false;
      if (failure.report)
        missed(op, "not raised: " + failure.reason);
      else
        LLVM_DEBUG(llvm::dbgs() << "[" DEBUG_TYPE "] " << op->getLoc()
                                << ": not attention: " << failure.reason
                                << "\n");
      continue;
    }
    int64_t index = siteIndex++;
    if (index < skipLayers) {
      missed(op, "attention site #" + Twine(index) +
                     " stays dense (skip-layers=" + Twine(skipLayers) + ")");
      continue;
    }
    if (ShapedType::isDynamic(site->rows)) {
      missed(op, "not raised: the number of query rows is dynamic, so the "
                 "attention is not provably a decode step");
      continue;
    }
    if (site->rows > maxQueries) {
      missed(op, "not raised: prefill (M = " + Twine(site->rows) +
                     " query rows > max-queries = " + Twine(maxQueries) +
                     ")");
      continue;
    }
    if (!ShapedType::isDynamic(site->keys) && site->keys < minContext) {
      missed(op, "not raised: static context N = " + Twine(site->keys) +
                     " is shorter than min-context = " + Twine(minContext));
      continue;
    }
    int64_t d = site->headDim;
    if (d < 32 || d > 32768 || !llvm::isPowerOf2_64(d)) {
      missed(op, "not raised: head dim D = " + Twine(d) +
                     " is not a power of two in [32, 32768] (needed by "
                     "hadamard and bucketize)");
      continue;
    }
    bool floats = llvm::all_of(
        ArrayRef<Value>{site->q.base, site->k.base, site->v.base}, [](Value v) {
          Type t = cast<RankedTensorType>(v.getType()).getElementType();
          return t.isF16() || t.isBF16() || t.isF32();
        });
    if (!floats) {
      missed(op, "not raised: q, K and V must be f16, bf16 or f32");
      continue;
    }
    // k never exceeds a static N: selecting all N keys is the most needed.
    int64_t k = budget;
    if (!ShapedType::isDynamic(site->keys) && site->keys < k)
      k = site->keys;
    if (sink + recent > k) {
      missed(op, "not raised: sink + recent = " + Twine(sink + recent) +
                     " exceeds the " + Twine(k) + " keys of the context");
      continue;
    }
    Location loc = op->getLoc();
    char scale[32];
    std::snprintf(scale, sizeof(scale), "%.7g", site->scale);
    std::string summary = llvm::formatv(
        "raised decode attention: M = {0}, N = {1}, D = {2}, k = {3}, "
        "scale = {4}",
        site->rows,
        ShapedType::isDynamic(site->keys) ? std::string("?")
                                          : std::to_string(site->keys),
        d, k, scale);
    if (failed(rewrite(*site, k, erased))) {
      missed(op, "not raised: the BHND operands could not be built from the "
                 "traced layouts");
      continue;
    }
    remark::passed(loc, remark::RemarkOpts::name("AttentionRaised")
                            .category(kCategory)
                            .function(func.getSymName()))
        << remark::add("{0}", summary);
  }
}
