//===- AttentionMatch.cpp - Find attention in model IR --------------------===//
//
// The match starts at a contraction and asks, in order:
//  1. Is one operand P a softmax along some axis of an iteration space?
//     (linalg.softmax, or exp(x) / sum(exp(x)) in any spelling.)
//  2. Is the exp argument `c * S + mask + (terms constant along the axis)`
//     with S the result of another contraction (q·Kᵀ), reached through
//     reshapes and transposes? The max subtracted for stability is such a
//     term: softmax does not change when it is dropped.
//  3. Do the layouts line up: the softmax axis is the key axis of S, and the
//     axis P·V contracts?
//  4. What are q, K and V before layout changes (and before scaling of q and
//     K), and what do the masks say about the visible positions?
//
//===----------------------------------------------------------------------===//

#include "AttentionMatch.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace mlir;
using namespace mlir::adamas::raise;

static bool isDynamic(int64_t e) { return ShapedType::isDynamic(e); }

static SmallVector<int64_t> shapeOf(Value v) {
  return llvm::to_vector(cast<RankedTensorType>(v.getType()).getShape());
}

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

/// `v`, or `v` through arith.extf (mixed precision bodies widen inputs).
static Value throughExtF(Value v) {
  if (auto ext = v.getDefiningOp<arith::ExtFOp>())
    return ext.getIn();
  return v;
}

/// Collects the factors of a product tree of the body: the two inputs (each
/// once, maybe widened) and constants, multiplied into `constant`.
static bool productOf(Value v, Block *body, int &seen, double &constant) {
  v = throughExtF(v);
  if (v == body->getArgument(0) || v == body->getArgument(1)) {
    int bit = v == body->getArgument(0) ? 1 : 2;
    if (seen & bit)
      return false;
    seen |= bit;
    return true;
  }
  if (auto mul = v.getDefiningOp<arith::MulFOp>())
    return productOf(mul.getLhs(), body, seen, constant) &&
           productOf(mul.getRhs(), body, seen, constant);
  Attribute attr;
  if (matchPattern(v, m_Constant(&attr)))
    if (auto f = dyn_cast<FloatAttr>(attr)) {
      constant *= f.getValueAsDouble();
      return true;
    }
  // A constant converted in place (torch-mlir truncates its f64 literals).
  if (auto trunc = v.getDefiningOp<arith::TruncFOp>())
    if (matchPattern(trunc.getIn(), m_Constant(&attr)))
      if (auto f = dyn_cast<FloatAttr>(attr)) {
        APFloat x = f.getValue();
        bool lost = false;
        x.convert(cast<FloatType>(trunc.getType()).getFloatSemantics(),
                  APFloat::rmNearestTiesToEven, &lost);
        constant *= x.convertToDouble();
        return true;
      }
  return false;
}

/// yield(out + a * b) with a, b the two inputs (either order, maybe widened,
/// maybe times constants, whose product goes to `scale`).
static bool isMulAddBody(linalg::LinalgOp op, double &scale) {
  Block *body = op.getBlock();
  if (body->getNumArguments() != 3)
    return false;
  Value out = body->getArgument(2);
  auto add = body->getTerminator()->getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add)
    return false;
  Value product = add.getLhs() == out   ? add.getRhs()
                  : add.getRhs() == out ? add.getLhs()
                                        : Value();
  int seen = 0;
  scale = 1.0;
  return product && productOf(product, body, seen, scale) && seen == 3 &&
         std::isfinite(scale) && scale != 0.0;
}

static bool isZeroTensor(Value v) {
  ExprBuilder builder(64);
  Expr *e = builder.build(v);
  std::optional<double> c = e ? constantValue(e) : std::nullopt;
  return c && *c == 0.0;
}

static bool isDimOrZero(AffineMap map) {
  return llvm::all_of(map.getResults(), [](AffineExpr e) {
    auto c = dyn_cast<AffineConstantExpr>(e);
    return isa<AffineDimExpr>(e) || (c && c.getValue() == 0);
  });
}

std::optional<Contraction> mlir::adamas::raise::getContraction(Operation *op) {
  if (auto mm = dyn_cast<tosa::MatMulOp>(op)) {
    auto a = cast<RankedTensorType>(mm.getA().getType());
    auto b = cast<RankedTensorType>(mm.getB().getType());
    if (!isa<FloatType>(a.getElementType()) ||
        !isZeroTensor(mm.getAZp()) || !isZeroTensor(mm.getBZp()))
      return std::nullopt;
    MLIRContext *ctx = op->getContext();
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    Contraction c;
    c.op = op;
    c.lhs = mm.getA();
    c.rhs = mm.getB();
    c.result = mm.getResult();
    // loops (batch, m, n, k)
    c.lhsMap = AffineMap::get(4, 0, {d(0), d(1), d(3)}, ctx);
    c.rhsMap = AffineMap::get(4, 0, {d(0), d(3), d(2)}, ctx);
    c.outMap = AffineMap::get(4, 0, {d(0), d(1), d(2)}, ctx);
    int64_t batch = isDynamic(a.getDimSize(0)) ? b.getDimSize(0)
                                                : a.getDimSize(0);
    c.loopExtents = {batch, a.getDimSize(1), b.getDimSize(2),
                     isDynamic(a.getDimSize(2)) ? b.getDimSize(1)
                                                : a.getDimSize(2)};
    return c;
  }
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  if (!linalgOp || !linalgOp.hasPureTensorSemantics() ||
      linalgOp.getNumDpsInputs() != 2 || linalgOp.getNumDpsInits() != 1 ||
      op->getNumResults() != 1 || linalgOp.getNumReductionLoops() == 0)
    return std::nullopt;
  SmallVector<AffineMap> maps = linalgOp.getIndexingMapsArray();
  double scale = 1.0;
  if (!llvm::all_of(maps, isDimOrZero) || !isMulAddBody(linalgOp, scale))
    return std::nullopt;
  if (!isa<RankedTensorType>(linalgOp.getDpsInputs()[0].getType()) ||
      !isa<RankedTensorType>(linalgOp.getDpsInputs()[1].getType()))
    return std::nullopt;
  // Accumulating into anything but zeros would add to the scores.
  if (!isZeroTensor(linalgOp.getDpsInits()[0]))
    return std::nullopt;
  Contraction c;
  c.op = op;
  c.lhs = linalgOp.getDpsInputs()[0];
  c.rhs = linalgOp.getDpsInputs()[1];
  c.result = op->getResult(0);
  c.lhsMap = maps[0];
  c.rhsMap = maps[1];
  c.outMap = maps[2];
  c.loopExtents = linalgOp.getStaticLoopRanges();
  c.scale = scale;
  return c;
}

static bool usesLoop(AffineMap map, unsigned loop) {
  return llvm::any_of(map.getResults(), [&](AffineExpr e) {
    auto d = dyn_cast<AffineDimExpr>(e);
    return d && d.getPosition() == loop;
  });
}

/// Position of loop `loop` among the results of `map` (-1 if absent).
static int positionOf(AffineMap map, unsigned loop) {
  for (auto [i, e] : llvm::enumerate(map.getResults()))
    if (auto d = dyn_cast<AffineDimExpr>(e); d && d.getPosition() == loop)
      return i;
  return -1;
}

/// Layout of an operand read through `map`, each loop a whole axis.
static Layout loopLayout(AffineMap map, ArrayRef<int64_t> extents,
                         ArrayRef<int> axisOfLoop) {
  Layout layout;
  for (AffineExpr e : map.getResults()) {
    DimLayout dim;
    if (auto d = dyn_cast<AffineDimExpr>(e)) {
      int64_t ext = extents[d.getPosition()];
      if (ext != 1)
        dim.push_back({axisOfLoop[d.getPosition()], 1, ext});
    }
    layout.push_back(dim);
  }
  return layout;
}

//===----------------------------------------------------------------------===//
// Layout chains
//===----------------------------------------------------------------------===//

namespace {
/// Layout steps from a value back to `end`: steps[i] goes from values[i] to
/// values[i + 1] (values.back() == end).
struct Chain {
  SmallVector<Value> values;
  SmallVector<AffineMap> maps; // null: a reshape
  Value end() const { return values.back(); }
};
} // namespace

static Chain chainBack(Value v, ExprBuilder &builder) {
  Chain chain;
  chain.values.push_back(v);
  for (int i = 0; i < 32; ++i) {
    std::optional<LayoutStep> step = layoutStepBack(chain.end(), builder);
    if (!step)
      break;
    chain.maps.push_back(step->map);
    chain.values.push_back(step->source);
  }
  return chain;
}

/// The layout of chain.values[0] given that of chain.end().
static std::optional<Layout> replayForward(const Chain &chain, Layout layout) {
  for (int i = static_cast<int>(chain.maps.size()) - 1; i >= 0; --i) {
    SmallVector<int64_t> shape = shapeOf(chain.values[i]);
    std::optional<Layout> next =
        chain.maps[i] ? layoutOfReader(layout, chain.maps[i], shape)
                      : reshapeLayout(layout, shape);
    if (!next)
      return std::nullopt;
    layout = *next;
  }
  return layout;
}

//===----------------------------------------------------------------------===//
// Softmax
//===----------------------------------------------------------------------===//

namespace {
struct Softmax {
  Chain chain;     // from the P·V operand back to P0, the softmax output
  Expr *arg;       // the exp argument over the dims of P0
  unsigned axis;   // the softmax axis among the dims of P0
  bool exp2 = false;
};
} // namespace

/// Root dims of the softmax space that `sum` (read through its map) does not
/// vary along: the candidates for the softmax axis.
static std::optional<unsigned> reducedDim(Expr *sum,
                                          ArrayRef<int64_t> rootShape) {
  SmallVector<unsigned> absent, absentNonUnit;
  for (unsigned d = 0; d < rootShape.size(); ++d)
    if (!dependsOnDim(sum, d)) {
      absent.push_back(d);
      if (rootShape[d] != 1)
        absentNonUnit.push_back(d);
    }
  if (absentNonUnit.size() == 1)
    return absentNonUnit[0];
  if (absentNonUnit.empty() && absent.size() == 1)
    return absent[0];
  return std::nullopt;
}

/// Whether the reduction producing `sum` (a leaf of the softmax tree) adds
/// up `numerator` along root dim `axis` from zero.
static bool isSumOf(Expr *sum, Expr *numerator, unsigned axis,
                    ExprBuilder &builder) {
  Operation *def = sum->value.getDefiningOp();
  if (!def)
    return false;
  unsigned rootDims = sum->map.getNumDims();
  MLIRContext *ctx = def->getContext();
  if (auto reduce = dyn_cast<tosa::ReduceSumOp>(def)) {
    // Same rank; dim `a` of the result is 1, the sum along it.
    unsigned a = reduce.getAxis();
    SmallVector<AffineExpr> results(sum->map.getResults());
    if (a >= results.size())
      return false;
    results[a] = getAffineDimExpr(axis, ctx);
    Expr *input = builder.build(reduce.getInput(),
                                AffineMap::get(rootDims, 0, results, ctx));
    return input && equalModuloConverts(input, numerator);
  }
  auto linalgOp = dyn_cast<linalg::LinalgOp>(def);
  if (!linalgOp || !linalgOp.hasPureTensorSemantics() ||
      linalgOp.getNumDpsInputs() != 1 || linalgOp.getNumDpsInits() != 1 ||
      def->getNumResults() != 1 || linalgOp.getNumReductionLoops() != 1)
    return false;
  // Body: out + in (in maybe widened).
  Block *body = linalgOp.getBlock();
  auto add = body->getTerminator()->getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add)
    return false;
  Value in = body->getArgument(0), out = body->getArgument(1);
  bool ok = (throughExtF(add.getLhs()) == in && add.getRhs() == out) ||
            (throughExtF(add.getRhs()) == in && add.getLhs() == out);
  if (!ok || !isZeroTensor(linalgOp.getDpsInits()[0]))
    return false;
  // Root dims -> loops: the reduction loop is the softmax axis; a parallel
  // loop is the root dim that reads the result dim it writes.
  AffineMap outMap = linalgOp.getIndexingMapsArray()[1];
  AffineMap inMap = linalgOp.getIndexingMapsArray()[0];
  SmallVector<AffineExpr> loops;
  SmallVector<utils::IteratorType> iterators =
      linalgOp.getIteratorTypesArray();
  for (unsigned l = 0; l < linalgOp.getNumLoops(); ++l) {
    if (iterators[l] == utils::IteratorType::reduction) {
      loops.push_back(getAffineDimExpr(axis, ctx));
      continue;
    }
    int j = positionOf(outMap, l);
    if (j < 0)
      return false;
    loops.push_back(sum->map.getResult(j));
  }
  if (!isDimOrZero(inMap))
    return false;
  Expr *input = builder.build(
      linalgOp.getDpsInputs()[0],
      inMap.compose(AffineMap::get(rootDims, 0, loops, ctx)));
  return input && equalModuloConverts(input, numerator);
}

/// The softmax that operand `p` of a contraction is, if any.
static std::optional<Softmax> matchSoftmax(Value p, ExprBuilder &builder) {
  Softmax s;
  s.chain = chainBack(p, builder);
  Value p0 = s.chain.end();
  SmallVector<int64_t> rootShape = shapeOf(p0);
  Expr *e = stripConverts(builder.build(p0));
  if (!e)
    return std::nullopt;

  if (e->kind == ExprKind::Leaf) {
    auto softmax = e->value.getDefiningOp<linalg::SoftmaxOp>();
    if (!softmax || !e->map.isPermutation())
      return std::nullopt;
    auto axis = dyn_cast<AffineDimExpr>(
        e->map.getResult(softmax.getDimension()));
    if (!axis)
      return std::nullopt;
    s.axis = axis.getPosition();
    s.arg = builder.build(softmax.getInput(), e->map);
    return s.arg ? std::optional<Softmax>(s) : std::nullopt;
  }
  if (e->kind != ExprKind::Op)
    return std::nullopt;

  // numerator / sum, or numerator * (1 / sum).
  Expr *numerator = nullptr, *sum = nullptr;
  auto inverse = [](Expr *r) -> Expr * {
    r = stripConverts(r);
    if (r->kind != ExprKind::Op)
      return nullptr;
    if (r->op == OpKind::Recip)
      return stripConverts(r->operands[0]);
    if (r->op == OpKind::Div) {
      std::optional<double> one = constantValue(r->operands[0]);
      if (one && *one == 1.0)
        return stripConverts(r->operands[1]);
    }
    return nullptr;
  };
  if (e->op == OpKind::Div) {
    numerator = e->operands[0];
    sum = stripConverts(e->operands[1]);
  } else if (e->op == OpKind::Mul) {
    if (Expr *r = inverse(e->operands[1])) {
      numerator = e->operands[0];
      sum = r;
    } else if (Expr *r = inverse(e->operands[0])) {
      numerator = e->operands[1];
      sum = r;
    }
  }
  if (!numerator || !sum || sum->kind != ExprKind::Leaf)
    return std::nullopt;
  Expr *exp = stripConverts(numerator);
  if (exp->kind != ExprKind::Op ||
      (exp->op != OpKind::Exp && exp->op != OpKind::Exp2))
    return std::nullopt;
  std::optional<unsigned> axis = reducedDim(sum, rootShape);
  if (!axis || !isSumOf(sum, numerator, *axis, builder))
    return std::nullopt;
  s.axis = *axis;
  s.arg = exp->operands[0];
  s.exp2 = exp->op == OpKind::Exp2;
  return s;
}

//===----------------------------------------------------------------------===//
// The exp argument: c * S + masks + terms constant along the axis
//===----------------------------------------------------------------------===//

namespace {
struct Decomposition {
  SmallVector<MaskTerm> leaves; // every leaf term (S among them)
  SmallVector<MaskTerm> masks;  // other terms that vary along the axis
  SmallVector<SelectMask> selects;
  std::string why;
};
} // namespace

static bool isMasked(std::optional<double> c) { return c && *c <= -1.0e4; }

static bool decompose(Expr *e, double coef, unsigned axis, Decomposition &d) {
  if (!dependsOnDim(e, axis))
    return true; // cancels in the softmax (the row max, a row bias, ...)
  switch (e->kind) {
  case ExprKind::Leaf:
    d.leaves.push_back({e, coef});
    return true;
  case ExprKind::Index:
  case ExprKind::Scalar:
  case ExprKind::Const:
    d.masks.push_back({e, coef});
    return true;
  case ExprKind::Op:
    break;
  }
  switch (e->op) {
  case OpKind::Convert:
    return decompose(e->operands[0], coef, axis, d);
  case OpKind::Add:
    return decompose(e->operands[0], coef, axis, d) &&
           decompose(e->operands[1], coef, axis, d);
  case OpKind::Sub:
    return decompose(e->operands[0], coef, axis, d) &&
           decompose(e->operands[1], -coef, axis, d);
  case OpKind::Neg:
    return decompose(e->operands[0], -coef, axis, d);
  case OpKind::Mul:
    if (std::optional<double> c = constantValue(e->operands[1]))
      return decompose(e->operands[0], coef * *c, axis, d);
    if (std::optional<double> c = constantValue(e->operands[0]))
      return decompose(e->operands[1], coef * *c, axis, d);
    d.why = "the scores are multiplied by a non-constant";
    return false;
  case OpKind::Div:
    if (std::optional<double> c = constantValue(e->operands[1]))
      return decompose(e->operands[0], coef / *c, axis, d);
    d.why = "the scores are divided by a non-constant";
    return false;
  case OpKind::Select: {
    std::optional<double> a = constantValue(e->operands[1]);
    std::optional<double> b = constantValue(e->operands[2]);
    if (coef > 0 && isMasked(b)) {
      d.selects.push_back({e->operands[0], true});
      return decompose(e->operands[1], coef, axis, d);
    }
    if (coef > 0 && isMasked(a)) {
      d.selects.push_back({e->operands[0], false});
      return decompose(e->operands[2], coef, axis, d);
    }
    d.masks.push_back({e, coef});
    return true;
  }
  default:
    d.why = "the exp argument is not linear in the scores (" +
            describe(e) + ")";
    return false;
  }
}

//===----------------------------------------------------------------------===//
// q, K, V
//===----------------------------------------------------------------------===//

/// Follows `value` (with `layout`) back through layout changes, float
/// conversions and (with `scales`) constant scaling.
static OperandTrace traceOperand(Value value, Layout layout, bool scales,
                                 bool broadcasts, ExprBuilder &builder) {
  OperandTrace t{value, layout, 1.0};
  for (int step = 0; step < 64; ++step) {
    Value cur = t.base;
    // Elementwise: a leaf reached through conversions and (for q and K)
    // constant factors.
    double factor = 1.0;
    Expr *e = stripConverts(builder.build(cur));
    while (scales && e && e->kind == ExprKind::Op &&
           (e->op == OpKind::Mul || e->op == OpKind::Div)) {
      std::optional<double> c = constantValue(e->operands[1]);
      Expr *other = e->operands[0];
      if (!c && e->op == OpKind::Mul) {
        c = constantValue(e->operands[0]);
        other = e->operands[1];
      }
      if (!c || *c == 0.0 || !std::isfinite(*c))
        break;
      factor = e->op == OpKind::Mul ? factor * *c : factor / *c;
      e = stripConverts(other);
    }
    if (e && e->kind == ExprKind::Leaf && e->value != cur) {
      SmallVector<Factor> broadcast;
      std::optional<Layout> next =
          layoutOfSource(t.layout, e->map, broadcasts ? &broadcast : nullptr);
      if (next && matchesShape(*next, shapeOf(e->value))) {
        t.base = e->value;
        t.layout = *next;
        t.scale *= factor;
        continue;
      }
    }
    // A reshape.
    Operation *def = cur.getDefiningOp();
    if (def && isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp,
                   tosa::ReshapeOp>(def)) {
      Value source = def->getOperand(0);
      if (std::optional<Layout> next =
              reshapeLayout(t.layout, shapeOf(source))) {
        t.base = source;
        t.layout = *next;
        continue;
      }
    }
    break;
  }
  return t;
}

//===----------------------------------------------------------------------===//
// matchAttention
//===----------------------------------------------------------------------===//

static FailureOr<AttentionSite> fail(MatchFailure &f, const Twine &why,
                                     bool attention) {
  f.reason = why.str();
  f.attention = attention;
  f.report = true;
  return failure();
}

static bool contains(ArrayRef<Factor> list, const Factor &f) {
  return llvm::is_contained(list, f);
}

/// Whether `v` is (through layout changes) the result of a contraction.
static Operation *contractionBehind(Value v, ExprBuilder &builder) {
  Chain chain = chainBack(v, builder);
  Operation *def = chain.end().getDefiningOp();
  return def && getContraction(def) ? def : nullptr;
}

FailureOr<AttentionSite>
mlir::adamas::raise::matchAttention(Operation *pvOp, MatchFailure &failure) {
  failure = MatchFailure();
  std::optional<Contraction> pv = getContraction(pvOp);
  if (!pv) {
    failure.report = false;
    return mlir::failure();
  }
  ExprBuilder builder;

  // 1. A softmax on one operand.
  std::optional<Softmax> softmax;
  int pIndex = -1;
  for (int i = 0; i < 2 && !softmax; ++i)
    if ((softmax = matchSoftmax(i == 0 ? pv->lhs : pv->rhs, builder)))
      pIndex = i;
  if (!softmax) {
    // Only a direct chain of contractions is worth a remark (q·Kᵀ·V with
    // the softmax missing); other products are simply not attention.
    for (Value operand : {pv->lhs, pv->rhs}) {
      Operation *producer = contractionBehind(operand, builder);
      if (!producer)
        continue;
      failure.reason = "contraction chain without a softmax in between: '" +
                       producer->getName().getStringRef().str() +
                       "' feeds this contraction directly";
      failure.producer = producer;
      return mlir::failure();
    }
    failure.report = false;
    failure.reason = "no operand is a softmax";
    return mlir::failure();
  }
  if (pv->scale != 1.0)
    return fail(failure, "P·V multiplies by a constant", true);
  Value p0 = softmax->chain.end();
  SmallVector<int64_t> rootShape = shapeOf(p0);

  // 2. exp argument = c * S + ...
  Decomposition d;
  if (!decompose(softmax->arg, 1.0, softmax->axis, d))
    return fail(failure, "softmax of something other than scaled scores: " +
                             d.why,
                false);
  Expr *sLeaf = nullptr;
  double sCoef = 0;
  Operation *qkOp = nullptr;
  Chain sChain;
  for (const MaskTerm &term : d.leaves) {
    Chain chain = chainBack(term.node->value, builder);
    Operation *def = chain.end().getDefiningOp();
    if (!def || !getContraction(def)) {
      d.masks.push_back(term);
      continue;
    }
    if (sLeaf && (term.node->value != sLeaf->value ||
                  term.node->map != sLeaf->map))
      return fail(failure, "the softmax mixes the results of two "
                           "contractions",
                  false);
    sLeaf = term.node;
    sCoef += term.coef;
    qkOp = def;
    sChain = chain;
  }
  if (!sLeaf)
    return fail(failure, "the softmax input is not the result of a "
                         "contraction (q·Kᵀ)",
                false);
  if (softmax->exp2)
    sCoef *= std::log(2.0);
  if (!(sCoef > 0) || !std::isfinite(sCoef))
    return fail(failure, "the scores enter the softmax with a factor that "
                         "is not positive",
                false);

  // 3. Layouts. Axes are the loops of q·Kᵀ, plus one for the value dim.
  failure.qk = qkOp;
  Contraction qk = *getContraction(qkOp);
  unsigned qkLoops = qk.loopExtents.size();
  const int valueAxis = qkLoops;
  SmallVector<int> axisOfLoop(qkLoops);
  for (unsigned l = 0; l < qkLoops; ++l)
    axisOfLoop[l] = l;
  Layout sLayout = loopLayout(qk.outMap, qk.loopExtents, axisOfLoop);
  std::optional<Layout> leafLayout = replayForward(sChain, sLayout);
  std::optional<Layout> rootLayout;
  if (leafLayout)
    rootLayout = layoutOfReader(*leafLayout, sLeaf->map, rootShape);
  if (!rootLayout)
    return fail(failure, "cannot follow the layout of the scores from the "
                         "contraction to the softmax",
                true);
  DimLayout axisFactors = normalize((*rootLayout)[softmax->axis]);
  if (axisFactors.empty())
    return fail(failure, "the softmax is over an axis of size 1 (the wrong "
                         "axis)",
                true);
  if (axisFactors.size() != 1 || axisFactors[0].stride != 1 ||
      axisFactors[0].extent != qk.loopExtents[axisFactors[0].axis])
    return fail(failure, "the softmax axis is not one axis of the scores",
                true);
  unsigned keyLoop = axisFactors[0].axis;
  bool inL = usesLoop(qk.lhsMap, keyLoop), inR = usesLoop(qk.rhsMap, keyLoop);
  if (inL == inR)
    return fail(failure, "the softmax is over an axis that both "
                         "contraction operands share (the wrong axis)",
                true);
  bool qIsLhs = inR;
  Value qValue = qIsLhs ? qk.lhs : qk.rhs, kValue = qIsLhs ? qk.rhs : qk.lhs;
  AffineMap qMap = qIsLhs ? qk.lhsMap : qk.rhsMap;
  AffineMap kMap = qIsLhs ? qk.rhsMap : qk.lhsMap;

  // Roles of the other q·Kᵀ loops.
  int rowLoop = -1, featLoop = -1;
  SmallVector<unsigned> batchLoops;
  for (unsigned l = 0; l < qkLoops; ++l) {
    if (l == keyLoop)
      continue;
    bool q = usesLoop(qMap, l), k = usesLoop(kMap, l),
         o = usesLoop(qk.outMap, l);
    int64_t ext = qk.loopExtents[l];
    if (q && k && !o) {
      if (ext == 1)
        continue;
      if (featLoop >= 0)
        return fail(failure, "q·Kᵀ contracts more than one dim", true);
      featLoop = l;
    } else if (q && k && o) {
      if (ext != 1)
        batchLoops.push_back(l);
    } else if (q && !k && o) {
      if (ext == 1)
        continue;
      // The innermost of these in q is the query row; any other is a head
      // axis K is broadcast over (GQA written into the contraction).
      if (rowLoop < 0 || positionOf(qMap, l) > positionOf(qMap, rowLoop)) {
        if (rowLoop >= 0)
          batchLoops.push_back(rowLoop);
        rowLoop = l;
      } else {
        batchLoops.push_back(l);
      }
    } else if (ext != 1) {
      return fail(failure, "the contraction q·Kᵀ does not have the shape of "
                           "attention scores",
                  true);
    }
  }
  if (featLoop < 0)
    return fail(failure, "q·Kᵀ has no head dim to contract", true);
  llvm::sort(batchLoops, [&](unsigned a, unsigned b) {
    return positionOf(qk.outMap, a) < positionOf(qk.outMap, b);
  });

  // The P·V operand, and P·V's loops in terms of the axes.
  std::optional<Layout> pLayout = replayForward(softmax->chain, *rootLayout);
  if (!pLayout)
    return fail(failure, "cannot follow the layout of the probabilities "
                         "from the softmax to P·V",
                true);
  AffineMap pMap = pIndex == 0 ? pv->lhsMap : pv->rhsMap;
  AffineMap vMap = pIndex == 0 ? pv->rhsMap : pv->lhsMap;
  Value vValue = pIndex == 0 ? pv->rhs : pv->lhs;
  unsigned pvLoops = pv->loopExtents.size();
  SmallVector<std::optional<DimLayout>> pvLayout(pvLoops);
  for (auto [j, e] : llvm::enumerate(pMap.getResults())) {
    if (auto dim = dyn_cast<AffineDimExpr>(e)) {
      if (pvLayout[dim.getPosition()])
        return fail(failure, "P·V reads P along a diagonal", true);
      pvLayout[dim.getPosition()] = (*pLayout)[j];
    } else if (!(*pLayout)[j].empty()) {
      return fail(failure, "P·V reads one slice of P", true);
    }
  }
  DimLayout keyFactor{{static_cast<int>(keyLoop), 1,
                       qk.loopExtents[keyLoop]}};
  int reductions = 0, valueLoops = 0;
  for (unsigned l = 0; l < pvLoops; ++l) {
    bool p = pvLayout[l].has_value(), v = usesLoop(vMap, l),
         o = usesLoop(pv->outMap, l);
    int64_t ext = pv->loopExtents[l];
    if (p && v && !o) {
      if (pvLayout[l]->empty())
        continue;
      if (normalize(*pvLayout[l]) != keyFactor)
        return fail(failure, "the softmax axis is not the axis P·V "
                             "contracts (softmax over the wrong axis)",
                    true);
      ++reductions;
    } else if (!p && v && o) {
      if (ext == 1) {
        pvLayout[l] = DimLayout();
        continue;
      }
      ++valueLoops;
      pvLayout[l] = DimLayout{{valueAxis, 1, ext}};
    } else if (p && o) {
      if (normalize(*pvLayout[l]) == keyFactor)
        return fail(failure, "the softmax axis is not the axis P·V "
                             "contracts (softmax over the wrong axis)",
                    true);
    } else if (ext != 1) {
      return fail(failure, "the contraction P·V does not have the shape of "
                           "attention",
                  true);
    } else {
      pvLayout[l] = DimLayout();
    }
  }
  if (reductions != 1)
    return fail(failure, "P·V does not contract the softmax axis", true);
  if (valueLoops != 1)
    return fail(failure, "P·V has no value dim (the values are not a "
                         "matrix per head)",
                true);
  auto layoutOf = [&](AffineMap map) -> std::optional<Layout> {
    Layout layout;
    for (AffineExpr e : map.getResults()) {
      if (auto dim = dyn_cast<AffineDimExpr>(e)) {
        if (!pvLayout[dim.getPosition()])
          return std::nullopt;
        layout.push_back(*pvLayout[dim.getPosition()]);
      } else {
        layout.push_back({});
      }
    }
    return layout;
  };
  std::optional<Layout> vLayout = layoutOf(vMap);
  std::optional<Layout> oLayout = layoutOf(pv->outMap);
  if (!vLayout || !oLayout || !matchesShape(*vLayout, shapeOf(vValue)) ||
      !matchesShape(*oLayout, shapeOf(pv->result)))
    return fail(failure, "the shapes of P·V do not line up with the scores",
                true);

  // 4. q, K, V before layout changes and scaling.
  AttentionSite site;
  site.qk = qkOp;
  site.pv = pvOp;
  site.output = pv->result;
  site.outputLayout = *oLayout;
  site.q = traceOperand(qValue, loopLayout(qMap, qk.loopExtents, axisOfLoop),
                        /*scales=*/true, /*broadcasts=*/false, builder);
  site.k = traceOperand(kValue, loopLayout(kMap, qk.loopExtents, axisOfLoop),
                        /*scales=*/true, /*broadcasts=*/true, builder);
  site.v = traceOperand(vValue, *vLayout, /*scales=*/false,
                        /*broadcasts=*/true, builder);
  site.rows = rowLoop >= 0 ? qk.loopExtents[rowLoop] : 1;
  site.keys = qk.loopExtents[keyLoop];
  site.headDim = qk.loopExtents[featLoop];
  site.valueDim = 0;
  for (unsigned l = 0; l < pvLoops; ++l)
    for (const Factor &f : *pvLayout[l])
      if (f.axis == valueAxis)
        site.valueDim = f.extent;
  site.scale = site.q.scale * site.k.scale * sCoef * qk.scale;
  if (isDynamic(site.headDim) || isDynamic(site.valueDim))
    return fail(failure, "the head dim is dynamic", true);

  // Common refinement of every layout and of the batch space.
  DimLayout batchSpace;
  for (unsigned l : batchLoops)
    batchSpace.push_back({static_cast<int>(l), 1, qk.loopExtents[l]});
  for (unsigned l : batchLoops)
    if (isDynamic(qk.loopExtents[l]) && l != batchLoops.front())
      return fail(failure, "a dynamic head dim inside the batch dims", true);
  refine({&site.q.layout, &site.k.layout, &site.v.layout, &site.outputLayout},
         {&batchSpace});
  DimLayout qFlat = flatten(site.q.layout), kFlat = flatten(site.k.layout),
            vFlat = flatten(site.v.layout);
  auto axisAtoms = [](ArrayRef<Factor> flat, int axis) {
    DimLayout atoms;
    for (const Factor &f : flat)
      if (f.axis == axis)
        atoms.push_back(f);
    llvm::stable_sort(atoms, [](const Factor &a, const Factor &b) {
      return a.stride > b.stride;
    });
    return atoms;
  };
  for (const Factor &f : batchSpace)
    if (!contains(qFlat, f))
      return fail(failure, "the queries are broadcast over heads", true);
  SmallVector<Factor> groupK, groupV;
  for (const Factor &f : batchSpace) {
    if (!contains(kFlat, f))
      groupK.push_back(f);
    if (!contains(vFlat, f))
      groupV.push_back(f);
  }
  if (groupK != groupV)
    return fail(failure, "keys and values are repeated over different "
                         "heads",
                true);
  auto onlyAxes = [&](ArrayRef<Factor> flat, ArrayRef<int> allowed) {
    return llvm::all_of(flat, [&](const Factor &f) {
      return contains(batchSpace, f) || llvm::is_contained(allowed, f.axis);
    });
  };
  if (!onlyAxes(qFlat, {rowLoop, featLoop}) ||
      !onlyAxes(kFlat, {static_cast<int>(keyLoop), featLoop}) ||
      !onlyAxes(vFlat, {static_cast<int>(keyLoop), valueAxis}))
    return fail(failure, "q, K or V hold dims that are not attention dims",
                true);

  // Batch B': the outer batch dim of q when q keeps batch and heads apart
  // (BHMD); heads H': the rest, with the repeat group of GQA innermost so
  // that query head h reads KV head h / G, as l1_topk and sparse_attn do.
  DimLayout outerBatch;
  int batchDims = 0;
  for (const DimLayout &dim : site.q.layout) {
    DimLayout batchHere;
    for (const Factor &f : dim)
      if (contains(batchSpace, f))
        batchHere.push_back(f);
    if (batchHere.empty())
      continue;
    if (batchDims++ == 0)
      outerBatch = batchHere;
  }
  if (batchDims < 2 || llvm::any_of(outerBatch, [&](const Factor &f) {
        return contains(groupK, f);
      }))
    outerBatch.clear();
  DimLayout bAtoms, hAtoms, hkvAtoms;
  for (const Factor &f : batchSpace)
    if (contains(outerBatch, f))
      bAtoms.push_back(f);
  for (const Factor &f : batchSpace)
    if (!contains(outerBatch, f) && !contains(groupK, f)) {
      hAtoms.push_back(f);
      hkvAtoms.push_back(f);
    }
  hAtoms.append(groupK.begin(), groupK.end());
  DimLayout row = axisAtoms(qFlat, rowLoop), feat = axisAtoms(qFlat, featLoop);
  DimLayout keyK = axisAtoms(kFlat, keyLoop), keyV = axisAtoms(vFlat, keyLoop);
  DimLayout value = axisAtoms(vFlat, valueAxis);
  if (keyK != keyV || axisAtoms(kFlat, featLoop) != feat)
    return fail(failure, "q, K and V disagree on the key or head dims", true);
  site.q4 = {bAtoms, hAtoms, row, feat};
  site.k4 = {bAtoms, hkvAtoms, keyK, feat};
  site.v4 = {bAtoms, hkvAtoms, keyV, value};
  site.o4 = {bAtoms, hAtoms, row, value};

  // 5. Masks -> lengths.
  MaskContext ctx;
  ctx.keyDim = softmax->axis;
  ctx.rows = site.rows;
  ctx.rootShape = rootShape;
  if (site.rows > 1 && !isDynamic(site.rows)) {
    DimLayout rowFactor{{rowLoop, 1, site.rows}};
    for (auto [r, dim] : llvm::enumerate(*rootLayout))
      if (normalize(dim) == rowFactor)
        ctx.rowDim = r;
    if (!ctx.rowDim)
      return fail(failure, "the query rows are not one dim of the softmax",
                  true);
  }
  // A dynamic number of rows is not raised (the caller says why: it cannot
  // be proved a decode step); the mask arithmetic needs M, so stop here.
  if (isDynamic(site.rows))
    return site;
  std::string why;
  FailureOr<Lengths> lengths = analyzeMasks(d.masks, d.selects, ctx, why);
  if (failed(lengths))
    return fail(failure, "mask not expressible as lengths: " + why, true);
  site.lengths = *lengths;
  return site;
}
