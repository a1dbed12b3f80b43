//===- MaskAnalysis.cpp - Attention masks as l1_topk lengths --------------===//

#include "MaskAnalysis.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace mlir;
using namespace mlir::adamas::raise;

/// A masked score: -inf, or so negative that exp() of it (minus the row
/// maximum) is 0 in every float type (HF uses the type's lowest value).
static bool isMaskedValue(double v) { return v <= -1.0e4; }

static std::string describeValue(Value v) {
  std::string s;
  llvm::raw_string_ostream os(s);
  if (auto arg = dyn_cast<BlockArgument>(v))
    os << "function argument #" << arg.getArgNumber();
  else
    os << "'" << v.getDefiningOp()->getName() << "'";
  return s;
}

//===----------------------------------------------------------------------===//
// Integer index expressions: cn * n + cm * m + c0 + csym * symbol
//===----------------------------------------------------------------------===//

namespace {
struct Linear {
  int64_t cn = 0, cm = 0, c0 = 0;
  Value symbol;
  int64_t csym = 0;
};
} // namespace

static std::optional<Linear> combine(const Linear &a, const Linear &b,
                                     int64_t sign) {
  Linear r;
  r.cn = a.cn + sign * b.cn;
  r.cm = a.cm + sign * b.cm;
  r.c0 = a.c0 + sign * b.c0;
  if (a.symbol && b.symbol && a.symbol != b.symbol)
    return std::nullopt;
  r.symbol = a.symbol ? a.symbol : b.symbol;
  r.csym = a.csym + sign * b.csym;
  if (r.csym == 0)
    r.symbol = Value();
  return r;
}

static std::optional<Linear> scaled(Linear a, int64_t k) {
  a.cn *= k;
  a.cm *= k;
  a.c0 *= k;
  a.csym *= k;
  if (a.csym == 0)
    a.symbol = Value();
  return a;
}

static std::optional<Linear> linearOfAffine(AffineExpr e,
                                            const MaskContext &ctx) {
  if (auto c = dyn_cast<AffineConstantExpr>(e)) {
    Linear l;
    l.c0 = c.getValue();
    return l;
  }
  if (auto d = dyn_cast<AffineDimExpr>(e)) {
    Linear l;
    unsigned p = d.getPosition();
    if (p == ctx.keyDim)
      l.cn = 1;
    else if (ctx.rowDim && p == *ctx.rowDim)
      l.cm = 1;
    else if (p >= ctx.rootShape.size() || ctx.rootShape[p] != 1)
      return std::nullopt; // depends on batch or heads
    return l;
  }
  auto bin = dyn_cast<AffineBinaryOpExpr>(e);
  if (!bin)
    return std::nullopt;
  std::optional<Linear> l = linearOfAffine(bin.getLHS(), ctx);
  std::optional<Linear> r = linearOfAffine(bin.getRHS(), ctx);
  if (!l || !r)
    return std::nullopt;
  if (e.getKind() == AffineExprKind::Add)
    return combine(*l, *r, 1);
  if (e.getKind() == AffineExprKind::Mul) {
    if (!r->cn && !r->cm && !r->csym)
      return scaled(*l, r->c0);
    if (!l->cn && !l->cm && !l->csym)
      return scaled(*r, l->c0);
  }
  return std::nullopt;
}

/// A constant integer tensor read along one root dim that holds
/// `offset + i` at index i (an exported arange).
static std::optional<Linear> linearOfIota(Expr *leaf, const MaskContext &ctx) {
  DenseIntElementsAttr attr;
  if (!matchPattern(leaf->value, m_Constant(&attr)))
    return std::nullopt;
  auto type = cast<RankedTensorType>(leaf->value.getType());
  int along = -1;
  for (int64_t j = 0; j < type.getRank(); ++j) {
    if (type.getDimSize(j) == 1)
      continue;
    if (along >= 0)
      return std::nullopt;
    along = j;
  }
  if (along < 0)
    return std::nullopt;
  auto values = llvm::to_vector(attr.getValues<APInt>());
  int64_t offset = values[0].getSExtValue();
  for (auto [i, v] : llvm::enumerate(values))
    if (v.getSExtValue() != offset + static_cast<int64_t>(i))
      return std::nullopt;
  std::optional<Linear> index =
      linearOfAffine(leaf->map.getResult(along), ctx);
  if (!index)
    return std::nullopt;
  Linear l = *index;
  l.c0 += offset;
  return l;
}

static std::optional<Linear> linearOf(Expr *e, const MaskContext &ctx,
                                      std::string &why) {
  switch (e->kind) {
  case ExprKind::Const: {
    Linear l;
    if (e->constant != std::floor(e->constant))
      return std::nullopt;
    l.c0 = static_cast<int64_t>(e->constant);
    return l;
  }
  case ExprKind::Index:
    return linearOfAffine(e->index, ctx);
  case ExprKind::Scalar:
    if (!e->type.isIntOrIndex())
      return std::nullopt;
    {
      Linear l;
      l.symbol = e->value;
      l.csym = 1;
      return l;
    }
  case ExprKind::Leaf: {
    auto type = cast<RankedTensorType>(e->value.getType());
    if (!type.getElementType().isIntOrIndex())
      return std::nullopt;
    if (type.hasStaticShape() && type.getNumElements() == 1) {
      // One position for every row (M = 1), e.g. the cache position.
      Linear l;
      l.symbol = e->value;
      l.csym = 1;
      return l;
    }
    if (std::optional<Linear> iota = linearOfIota(e, ctx))
      return iota;
    why = "the mask compares positions with " + describeValue(e->value) +
          ", which is not one position or an arange";
    return std::nullopt;
  }
  case ExprKind::Op:
    break;
  }
  switch (e->op) {
  case OpKind::IntCast:
    return linearOf(e->operands[0], ctx, why);
  case OpKind::Add:
  case OpKind::Sub: {
    std::optional<Linear> a = linearOf(e->operands[0], ctx, why);
    std::optional<Linear> b = linearOf(e->operands[1], ctx, why);
    if (!a || !b)
      return std::nullopt;
    return combine(*a, *b, e->op == OpKind::Add ? 1 : -1);
  }
  case OpKind::Mul: {
    std::optional<Linear> a = linearOf(e->operands[0], ctx, why);
    std::optional<Linear> b = linearOf(e->operands[1], ctx, why);
    if (!a || !b)
      return std::nullopt;
    if (!b->cn && !b->cm && !b->csym)
      return scaled(*a, b->c0);
    if (!a->cn && !a->cm && !a->csym)
      return scaled(*b, a->c0);
    return std::nullopt;
  }
  default:
    return std::nullopt;
  }
}

//===----------------------------------------------------------------------===//
// Masks
//===----------------------------------------------------------------------===//

namespace {
/// Either every row sees all keys, or lengths (see Lengths).
struct Visibility {
  bool all = false;
  Lengths lengths;
};
} // namespace

/// Relations "D rel 0".
enum class Rel { LT, LE, GT, GE };

static std::optional<Rel> relOf(int64_t predicate) {
  switch (static_cast<arith::CmpIPredicate>(predicate)) {
  case arith::CmpIPredicate::slt:
  case arith::CmpIPredicate::ult:
    return Rel::LT;
  case arith::CmpIPredicate::sle:
  case arith::CmpIPredicate::ule:
    return Rel::LE;
  case arith::CmpIPredicate::sgt:
  case arith::CmpIPredicate::ugt:
    return Rel::GT;
  case arith::CmpIPredicate::sge:
  case arith::CmpIPredicate::uge:
    return Rel::GE;
  default:
    return std::nullopt;
  }
}

static Rel negate(Rel r) {
  switch (r) {
  case Rel::LT:
    return Rel::GE;
  case Rel::LE:
    return Rel::GT;
  case Rel::GT:
    return Rel::LE;
  case Rel::GE:
    return Rel::LT;
  }
  return r;
}

static FailureOr<Visibility> analyzePredicate(Expr *pred, bool visibleWhen,
                                              const MaskContext &ctx,
                                              std::string &why) {
  if (pred->kind == ExprKind::Leaf) {
    why = "the mask predicate is " + describeValue(pred->value) +
          ": its structure cannot be proved";
    return failure();
  }
  if (pred->kind != ExprKind::Op || pred->op != OpKind::CmpI) {
    why = "the mask predicate is not one integer comparison of positions";
    return failure();
  }
  std::optional<Rel> rel = relOf(pred->predicate);
  if (!rel) {
    why = "the mask compares positions for (in)equality, not order";
    return failure();
  }
  std::string inner;
  std::optional<Linear> a = linearOf(pred->operands[0], ctx, inner);
  std::optional<Linear> b = linearOf(pred->operands[1], ctx, inner);
  std::optional<Linear> d;
  if (a && b)
    d = combine(*a, *b, -1);
  if (!d) {
    why = inner.empty() ? "the mask compares values that are not affine in "
                          "the key and query positions"
                        : inner;
    return failure();
  }
  if (ctx.rows == 1)
    d->cm = 0; // row 0 only
  if (d->cn != 1 && d->cn != -1) {
    why = "the mask does not compare the key position itself";
    return failure();
  }
  if (d->cm != -d->cn && ctx.rows > 1) {
    why = "the mask is not causal in the query rows (a padding mask over "
          "several rows cannot become lengths)";
    return failure();
  }
  Rel r = visibleWhen ? *rel : negate(*rel);
  // D = cn * (n - m) + c0 + csym * symbol; find a with "visible iff
  // n - m <= a".
  Lengths l;
  int64_t sign;
  int64_t shift;
  if (d->cn == 1) {
    if (r == Rel::GT || r == Rel::GE) {
      why = "the mask keeps a suffix of the keys, not a prefix";
      return failure();
    }
    sign = -1; // a = -c (- 1 for <)
    shift = r == Rel::LT ? -1 : 0;
  } else {
    if (r == Rel::LT || r == Rel::LE) {
      why = "the mask keeps a suffix of the keys, not a prefix";
      return failure();
    }
    sign = 1; // a = c (- 1 for >)
    shift = r == Rel::GT ? -1 : 0;
  }
  l.constant = sign * d->c0 + shift + ctx.rows;
  l.symbol = d->symbol;
  l.symbolSign = sign * d->csym;
  return Visibility{false, l};
}

/// Visibility of a constant mask table.
static FailureOr<Visibility> analyzeTable(Expr *leaf, double coef,
                                          const MaskContext &ctx,
                                          std::string &why) {
  DenseElementsAttr attr;
  if (!matchPattern(leaf->value, m_Constant(&attr)) ||
      !isa<FloatType>(attr.getElementType())) {
    why = "the mask constant is not a float tensor";
    return failure();
  }
  auto type = cast<RankedTensorType>(leaf->value.getType());
  int64_t n = ctx.rootShape[ctx.keyDim];
  if (ShapedType::isDynamic(n)) {
    why = "a constant mask over a dynamic number of keys";
    return failure();
  }
  int64_t rows = ctx.rows;
  // Which leaf dim follows n, which m; every other one must be a unit.
  int nDim = -1, mDim = -1;
  for (auto [j, r] : llvm::enumerate(leaf->map.getResults())) {
    if (r == getAffineDimExpr(ctx.keyDim, r.getContext())) {
      nDim = j;
      continue;
    }
    if (ctx.rowDim && r == getAffineDimExpr(*ctx.rowDim, r.getContext())) {
      mDim = j;
      continue;
    }
    if (type.getDimSize(j) != 1) {
      why = "the mask differs across batch rows or heads";
      return failure();
    }
  }
  if (nDim < 0) {
    why = "the mask does not vary along the keys";
    return failure();
  }
  auto values = llvm::to_vector(attr.getValues<APFloat>());
  auto strides = computeStrides(type.getShape());
  auto at = [&](int64_t m, int64_t j) {
    int64_t linear = j * strides[nDim] + (mDim >= 0 ? m * strides[mDim] : 0);
    return coef * values[linear].convertToDouble();
  };
  SmallVector<int64_t> visible;
  for (int64_t m = 0; m < rows; ++m) {
    int64_t count = 0;
    bool masked = false;
    for (int64_t j = 0; j < n; ++j) {
      double v = at(m, j);
      if (v == 0.0 && !masked) {
        ++count;
        continue;
      }
      if (isMaskedValue(v)) {
        masked = true;
        continue;
      }
      why = v == 0.0 ? "the mask does not keep a prefix of the keys"
                     : "the mask has values other than 0 and -inf (a bias)";
      return failure();
    }
    visible.push_back(count);
  }
  // lengths with visible[m] = clamp(lengths - M + m + 1, 0, N) for all m.
  int64_t lengths = n + rows - 1;
  for (int64_t m = rows - 1; m >= 0; --m)
    if (visible[m] < n) {
      lengths = visible[m] + rows - m - 1;
      break;
    }
  for (int64_t m = 0; m < rows; ++m) {
    int64_t want = std::clamp<int64_t>(lengths - rows + m + 1, 0, n);
    if (visible[m] != want) {
      why = "the mask is not causal: its rows do not see growing prefixes";
      return failure();
    }
  }
  Visibility v;
  v.all = lengths == n + rows - 1;
  v.lengths.constant = lengths;
  return v;
}

static FailureOr<Visibility> analyzeTerm(const MaskTerm &term,
                                         const MaskContext &ctx,
                                         std::string &why) {
  Expr *e = stripConverts(term.node);
  if (std::optional<double> c = constantValue(e)) {
    if (*c == 0.0)
      return Visibility{true, {}};
    why = "a constant added to the scores";
    return failure();
  }
  if (term.coef <= 0) {
    why = "the mask enters the scores with a negative factor";
    return failure();
  }
  if (e->kind == ExprKind::Leaf) {
    if (isa<BlockArgument>(e->value)) {
      why = "the mask is " + describeValue(e->value) +
            ": its structure cannot be proved";
      return failure();
    }
    if (matchPattern(e->value, m_Constant()))
      return analyzeTable(e, term.coef, ctx, why);
    why = "the mask comes from " + describeValue(e->value) +
          ", which the raise cannot analyse";
    return failure();
  }
  if (e->kind == ExprKind::Op && e->op == OpKind::Select) {
    std::optional<double> a = constantValue(e->operands[1]);
    std::optional<double> b = constantValue(e->operands[2]);
    if (a && b && *a == 0.0 && isMaskedValue(*b * term.coef))
      return analyzePredicate(e->operands[0], true, ctx, why);
    if (a && b && *b == 0.0 && isMaskedValue(*a * term.coef))
      return analyzePredicate(e->operands[0], false, ctx, why);
  }
  if (e->kind == ExprKind::Op && e->op == OpKind::Add) {
    why = "several masks are added together";
    return failure();
  }
  why = "the mask values are not 0 / -inf selected by a position comparison";
  return failure();
}

FailureOr<Lengths>
mlir::adamas::raise::analyzeMasks(ArrayRef<MaskTerm> terms,
                                  ArrayRef<SelectMask> selects,
                                  const MaskContext &ctx, std::string &why) {
  SmallVector<Lengths> found;
  for (const MaskTerm &term : terms) {
    FailureOr<Visibility> v = analyzeTerm(term, ctx, why);
    if (failed(v))
      return failure();
    if (!v->all)
      found.push_back(v->lengths);
  }
  for (const SelectMask &select : selects) {
    FailureOr<Visibility> v =
        analyzePredicate(select.pred, select.visibleWhen, ctx, why);
    if (failed(v))
      return failure();
    if (!v->all)
      found.push_back(v->lengths);
  }
  if (found.empty()) {
    // Every row sees every key: clamp(N + M - 1 - M + m + 1, 0, N) = N.
    Lengths all;
    all.constant = ctx.rows - 1;
    all.plusKeyLength = true;
    return all;
  }
  for (const Lengths &l : found)
    if (l.constant != found[0].constant || l.symbol != found[0].symbol ||
        l.symbolSign != found[0].symbolSign) {
      why = "several different masks";
      return failure();
    }
  return found[0];
}

Value mlir::adamas::raise::buildLengthsScalar(OpBuilder &b, Location loc,
                                              const Lengths &lengths,
                                              Value keys, int64_t keyDim) {
  Type i32 = b.getI32Type();
  auto keysType = cast<RankedTensorType>(keys.getType());
  int64_t constant = lengths.constant;
  bool dynamicKeys = false;
  if (lengths.plusKeyLength) {
    if (keysType.isDynamicDim(keyDim))
      dynamicKeys = true;
    else
      constant += keysType.getDimSize(keyDim);
  }
  // result = constant (+ N) (+ sign * symbol), without adding zeros.
  Value result;
  auto add = [&](Value term) {
    result = result ? arith::AddIOp::create(b, loc, result, term).getResult()
                    : term;
  };
  if (constant != 0 || (!dynamicKeys && !lengths.symbol))
    result = arith::ConstantIntOp::create(b, loc, constant, 32);
  if (dynamicKeys)
    add(arith::IndexCastOp::create(
        b, loc, i32, tensor::DimOp::create(b, loc, keys, keyDim)));
  if (lengths.symbol && lengths.symbolSign != 0) {
    Value s = lengths.symbol;
    if (auto tensorType = dyn_cast<RankedTensorType>(s.getType())) {
      Value zero = arith::ConstantIndexOp::create(b, loc, 0);
      SmallVector<Value> indices(tensorType.getRank(), zero);
      s = tensor::ExtractOp::create(b, loc, s, indices);
    }
    if (s.getType().isIndex())
      s = arith::IndexCastOp::create(b, loc, i32, s);
    else if (s.getType().getIntOrFloatBitWidth() > 32)
      s = arith::TruncIOp::create(b, loc, i32, s);
    else if (s.getType().getIntOrFloatBitWidth() < 32)
      s = arith::ExtSIOp::create(b, loc, i32, s);
    if (lengths.symbolSign != 1) {
      Value k = arith::ConstantIntOp::create(b, loc, lengths.symbolSign, 32);
      s = arith::MulIOp::create(b, loc, s, k);
    }
    add(s);
  }
  if (!result)
    result = arith::ConstantIntOp::create(b, loc, constant, 32);
  return result;
}
