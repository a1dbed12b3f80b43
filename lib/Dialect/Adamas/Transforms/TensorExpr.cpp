//===- TensorExpr.cpp - Elementwise tensor programs as expression trees ---===//

#include "TensorExpr.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "llvm/ADT/TypeSwitch.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace mlir;
using namespace mlir::adamas::raise;

//===----------------------------------------------------------------------===//
// Scalar operations
//===----------------------------------------------------------------------===//

namespace {
/// What a scalar (or elementwise tensor) op computes, and which of its
/// operands are values of the computation (tosa.mul's shift is not).
struct OpInfo {
  OpKind kind;
  int64_t predicate = 0;
  unsigned numValueOperands;
};
} // namespace

static bool isFloatLike(Type t) { return isa<FloatType>(getElementTypeOrSelf(t)); }

static std::optional<OpInfo> classifyOp(Operation *op) {
  unsigned n = op->getNumOperands();
  using P = arith::CmpFPredicate;
  using I = arith::CmpIPredicate;
  auto cmp = [&](P f, I i) -> OpInfo {
    if (isFloatLike(op->getOperand(0).getType()))
      return {OpKind::CmpF, static_cast<int64_t>(f), 2};
    return {OpKind::CmpI, static_cast<int64_t>(i), 2};
  };
  return llvm::TypeSwitch<Operation *, std::optional<OpInfo>>(op)
      .Case<arith::AddFOp, arith::AddIOp, tosa::AddOp>(
          [&](auto) { return OpInfo{OpKind::Add, 0, 2}; })
      .Case<arith::SubFOp, arith::SubIOp, tosa::SubOp>(
          [&](auto) { return OpInfo{OpKind::Sub, 0, 2}; })
      .Case<arith::MulFOp, arith::MulIOp>(
          [&](auto) { return OpInfo{OpKind::Mul, 0, 2}; })
      .Case<tosa::MulOp>([&](tosa::MulOp mul) -> std::optional<OpInfo> {
        // The shift only means something for integers; a float multiply
        // must have none (the verifier asks for 0), an integer one too.
        if (Value shift = mul.getShift()) {
          DenseElementsAttr attr;
          if (!matchPattern(shift, m_Constant(&attr)) ||
              !llvm::all_of(attr.getValues<APInt>(),
                            [](const APInt &v) { return v.isZero(); }))
            return std::nullopt;
        }
        return OpInfo{OpKind::Mul, 0, 2};
      })
      .Case<arith::DivFOp>([&](auto) { return OpInfo{OpKind::Div, 0, 2}; })
      .Case<arith::NegFOp>([&](auto) { return OpInfo{OpKind::Neg, 0, 1}; })
      .Case<tosa::NegateOp>([&](auto) -> std::optional<OpInfo> {
        if (!isFloatLike(op->getResult(0).getType()))
          return std::nullopt; // integer negate carries zero points
        return OpInfo{OpKind::Neg, 0, 1};
      })
      .Case<math::ExpOp, tosa::ExpOp>(
          [&](auto) { return OpInfo{OpKind::Exp, 0, 1}; })
      .Case<math::Exp2Op>([&](auto) { return OpInfo{OpKind::Exp2, 0, 1}; })
      .Case<tosa::ReciprocalOp>(
          [&](auto) { return OpInfo{OpKind::Recip, 0, 1}; })
      .Case<arith::MaximumFOp, arith::MaxNumFOp, arith::MaxSIOp,
            tosa::MaximumOp>([&](auto) { return OpInfo{OpKind::Max, 0, 2}; })
      .Case<arith::MinimumFOp, arith::MinNumFOp, arith::MinSIOp,
            tosa::MinimumOp>([&](auto) { return OpInfo{OpKind::Min, 0, 2}; })
      .Case<arith::SelectOp, tosa::SelectOp>(
          [&](auto) { return OpInfo{OpKind::Select, 0, 3}; })
      .Case<arith::CmpFOp>([&](arith::CmpFOp c) {
        return OpInfo{OpKind::CmpF, static_cast<int64_t>(c.getPredicate()),
                      2};
      })
      .Case<arith::CmpIOp>([&](arith::CmpIOp c) {
        return OpInfo{OpKind::CmpI, static_cast<int64_t>(c.getPredicate()),
                      2};
      })
      .Case<tosa::GreaterOp>([&](auto) { return cmp(P::OGT, I::sgt); })
      .Case<tosa::GreaterEqualOp>([&](auto) { return cmp(P::OGE, I::sge); })
      .Case<tosa::EqualOp>([&](auto) { return cmp(P::OEQ, I::eq); })
      .Case<arith::ExtFOp, arith::TruncFOp>(
          [&](auto) { return OpInfo{OpKind::Convert, 0, 1}; })
      .Case<arith::IndexCastOp, arith::IndexCastUIOp, arith::ExtSIOp,
            arith::ExtUIOp, arith::TruncIOp>(
          [&](auto) { return OpInfo{OpKind::IntCast, 0, 1}; })
      .Case<tosa::CastOp>([&](tosa::CastOp c) -> std::optional<OpInfo> {
        bool inFloat = isFloatLike(c.getInput().getType());
        bool outFloat = isFloatLike(c.getType());
        if (inFloat && outFloat)
          return OpInfo{OpKind::Convert, 0, 1};
        if (!inFloat && !outFloat)
          return OpInfo{OpKind::IntCast, 0, 1};
        return std::nullopt;
      })
      .Case<arith::AndIOp, tosa::LogicalAndOp>(
          [&](auto) { return OpInfo{OpKind::And, 0, 2}; })
      .Case<arith::OrIOp, tosa::LogicalOrOp>(
          [&](auto) { return OpInfo{OpKind::Or, 0, 2}; })
      .Default([&](Operation *) -> std::optional<OpInfo> {
        (void)n;
        return std::nullopt;
      });
}

//===----------------------------------------------------------------------===//
// ExprBuilder
//===----------------------------------------------------------------------===//

Expr *ExprBuilder::newNode(ExprKind kind) {
  nodes.emplace_back();
  Expr *e = &nodes.back();
  e->kind = kind;
  return e;
}

Expr *ExprBuilder::makeLeaf(Value value, AffineMap map) {
  Expr *e = newNode(ExprKind::Leaf);
  e->value = value;
  e->map = map;
  e->type = getElementTypeOrSelf(value.getType());
  e->origin = value.getDefiningOp();
  return e;
}

Expr *ExprBuilder::makeConst(double c, Type type) {
  Expr *e = newNode(ExprKind::Const);
  e->constant = c;
  e->type = type;
  return e;
}

static std::optional<double> attrValue(Attribute attr) {
  if (auto f = dyn_cast<FloatAttr>(attr))
    return f.getValueAsDouble();
  if (auto i = dyn_cast<IntegerAttr>(attr)) {
    if (i.getType().isInteger(1))
      return i.getValue().getBoolValue() ? 1.0 : 0.0;
    return static_cast<double>(i.getValue().getSExtValue());
  }
  if (auto d = dyn_cast<DenseElementsAttr>(attr); d && d.isSplat()) {
    if (isa<FloatType>(d.getElementType()))
      return d.getSplatValue<APFloat>().convertToDouble();
    if (d.getElementType().isInteger(1))
      return d.getSplatValue<bool>() ? 1.0 : 0.0;
    return static_cast<double>(d.getSplatValue<APInt>().getSExtValue());
  }
  return std::nullopt;
}

Expr *ExprBuilder::buildOutsideScalar(Value scalar) {
  if (nodes.size() > maxNodes)
    return nullptr;
  Type type = scalar.getType();
  Attribute attr;
  if (matchPattern(scalar, m_Constant(&attr)))
    if (std::optional<double> c = attrValue(attr))
      return makeConst(*c, type);
  // Scalar arithmetic on constants (torch-mlir converts its f64 literals in
  // place) folds through constantValue(); anything else is a symbol.
  if (Operation *def = scalar.getDefiningOp()) {
    std::optional<OpInfo> info = classifyOp(def);
    if (info && def->getNumResults() == 1 &&
        llvm::none_of(def->getOperandTypes(),
                      [](Type t) { return isa<ShapedType>(t); })) {
      Expr *e = newNode(ExprKind::Op);
      e->op = info->kind;
      e->predicate = info->predicate;
      e->type = type;
      e->origin = def;
      for (unsigned i = 0; i < info->numValueOperands; ++i) {
        Expr *operand = buildOutsideScalar(def->getOperand(i));
        if (!operand)
          return nullptr;
        e->operands.push_back(operand);
      }
      return e;
    }
  }
  Expr *e = newNode(ExprKind::Scalar);
  e->value = scalar;
  e->type = type;
  return e;
}

/// Whether every result of `map` is a dim or the constant 0 (the forms of a
/// broadcasting or permuting access that the trees understand).
static bool isDimOrZeroMap(AffineMap map) {
  return llvm::all_of(map.getResults(), [](AffineExpr e) {
    if (isa<AffineDimExpr>(e))
      return true;
    auto c = dyn_cast<AffineConstantExpr>(e);
    return c && c.getValue() == 0;
  });
}

Expr *ExprBuilder::buildLinalgScalar(Value scalar, Operation *op,
                                     AffineMap rootToLoops, int depth) {
  if (nodes.size() > maxNodes || depth > 64)
    return nullptr;
  auto linalgOp = cast<linalg::LinalgOp>(op);
  Block *body = linalgOp.getBlock();
  if (auto arg = dyn_cast<BlockArgument>(scalar)) {
    if (arg.getOwner() != body)
      return buildOutsideScalar(scalar);
    OpOperand *operand = linalgOp.getMatchingOpOperand(arg);
    if (linalgOp.isDpsInit(operand))
      return nullptr; // reads its init: not elementwise
    Value input = operand->get();
    if (!isa<RankedTensorType>(input.getType()))
      return buildOutsideScalar(input);
    AffineMap map = linalgOp.getMatchingIndexingMap(operand);
    if (!isDimOrZeroMap(map))
      return nullptr;
    return build(input, map.compose(rootToLoops));
  }
  Operation *def = scalar.getDefiningOp();
  if (!op->isProperAncestor(def))
    return buildOutsideScalar(scalar);
  if (auto index = dyn_cast<linalg::IndexOp>(def)) {
    Expr *e = newNode(ExprKind::Index);
    e->index = rootToLoops.getResult(index.getDim());
    e->type = index.getType();
    return e;
  }
  Attribute attr;
  if (matchPattern(scalar, m_Constant(&attr)))
    if (std::optional<double> c = attrValue(attr))
      return makeConst(*c, scalar.getType());
  std::optional<OpInfo> info = classifyOp(def);
  if (!info || def->getNumResults() != 1)
    return nullptr;
  Expr *e = newNode(ExprKind::Op);
  e->op = info->kind;
  e->predicate = info->predicate;
  e->type = scalar.getType();
  e->origin = def;
  for (unsigned i = 0; i < info->numValueOperands; ++i) {
    Expr *operand =
        buildLinalgScalar(def->getOperand(i), op, rootToLoops, depth + 1);
    if (!operand)
      return nullptr;
    e->operands.push_back(operand);
  }
  return e;
}

/// For a reshape whose every reassociation group has at most one dim that
/// is not a static 1, the map from the reshape's result dims to its source
/// dims; such reshapes only add or drop unit dims.
static std::optional<AffineMap> unitReshapeMap(RankedTensorType source,
                                               RankedTensorType result) {
  bool collapsing = source.getRank() >= result.getRank();
  RankedTensorType big = collapsing ? source : result;
  RankedTensorType small = collapsing ? result : source;
  std::optional<SmallVector<ReassociationIndices>> groups =
      getReassociationIndicesForReshape(big, small);
  if (!groups)
    return std::nullopt;
  MLIRContext *ctx = source.getContext();
  // For every group: its non-unit dim of `big`, if any.
  SmallVector<AffineExpr> results;
  if (collapsing) {
    // source dims (big) from result dims (small): dim g of the result feeds
    // the non-unit source dim of group g; the others are 0.
    results.assign(source.getRank(), getAffineConstantExpr(0, ctx));
    for (auto [g, group] : llvm::enumerate(*groups)) {
      int nonUnit = -1;
      for (int64_t d : group)
        if (source.getDimSize(d) != 1) {
          if (nonUnit >= 0)
            return std::nullopt;
          nonUnit = d;
        }
      if (nonUnit >= 0)
        results[nonUnit] = getAffineDimExpr(g, ctx);
    }
    return AffineMap::get(result.getRank(), 0, results, ctx);
  }
  // expanding: source dim g (small) is the non-unit result dim of group g.
  for (const ReassociationIndices &group : *groups) {
    int nonUnit = -1;
    for (int64_t d : group)
      if (result.getDimSize(d) != 1) {
        if (nonUnit >= 0)
          return std::nullopt;
        nonUnit = d;
      }
    results.push_back(nonUnit >= 0 ? getAffineDimExpr(nonUnit, ctx)
                                   : getAffineConstantExpr(0, ctx));
  }
  return AffineMap::get(result.getRank(), 0, results, ctx);
}

static bool isReshape(Operation *op) {
  return isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp, tosa::ReshapeOp>(
      op);
}

Expr *ExprBuilder::build(Value value) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type)
    return buildOutsideScalar(value);
  return build(value, AffineMap::getMultiDimIdentityMap(type.getRank(),
                                                        value.getContext()));
}

Expr *ExprBuilder::build(Value value, AffineMap rootToValue) {
  if (nodes.size() > maxNodes)
    return nullptr;
  if (!isa<RankedTensorType>(value.getType()))
    return buildOutsideScalar(value);
  return buildDefined(value, rootToValue);
}

Expr *ExprBuilder::buildDefined(Value value, AffineMap rootToValue) {
  auto type = cast<RankedTensorType>(value.getType());
  Operation *def = value.getDefiningOp();
  if (!def)
    return makeLeaf(value, rootToValue);
  Type elementType = type.getElementType();

  Attribute attr;
  if (matchPattern(value, m_Constant(&attr)))
    if (std::optional<double> c = attrValue(attr))
      return makeConst(*c, elementType);

  if (auto fill = dyn_cast<linalg::FillOp>(def))
    return buildOutsideScalar(fill.value());
  if (auto splat = dyn_cast<tensor::SplatOp>(def))
    return buildOutsideScalar(splat.getInput());
  if (auto cast = dyn_cast<tensor::CastOp>(def)) {
    auto sourceType = dyn_cast<RankedTensorType>(cast.getSource().getType());
    if (sourceType && sourceType.getRank() == type.getRank())
      return build(cast.getSource(), rootToValue);
    return makeLeaf(value, rootToValue);
  }
  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(def)) {
    // A leading slice (offsets 0, strides 1, no rank reduction) reads the
    // same indices of its source: masks are often cut to the key length so.
    bool leading =
        slice.getSourceType().getRank() == type.getRank() &&
        llvm::all_of(slice.getMixedOffsets(),
                     [](OpFoldResult o) { return isConstantIntValue(o, 0); }) &&
        llvm::all_of(slice.getMixedStrides(),
                     [](OpFoldResult s) { return isConstantIntValue(s, 1); });
    if (leading)
      return build(slice.getSource(), rootToValue);
    return makeLeaf(value, rootToValue);
  }
  if (isReshape(def)) {
    auto sourceType = dyn_cast<RankedTensorType>(def->getOperand(0).getType());
    if (sourceType)
      if (std::optional<AffineMap> m = unitReshapeMap(sourceType, type))
        return build(def->getOperand(0), m->compose(rootToValue));
    return makeLeaf(value, rootToValue);
  }
  if (auto tile = dyn_cast<tosa::TileOp>(def)) {
    // Tiling a unit dim is a broadcast (TOSA's repeat_kv); tiling anything
    // else repeats data and stays a leaf.
    auto inputType = cast<RankedTensorType>(tile.getInput1().getType());
    SmallVector<AffineExpr> results;
    for (int64_t d = 0; d < type.getRank(); ++d) {
      int64_t in = inputType.getDimSize(d), out = type.getDimSize(d);
      if (in == out && !ShapedType::isDynamic(in)) {
        results.push_back(rootToValue.getResult(d));
        continue;
      }
      if (in != 1)
        return makeLeaf(value, rootToValue);
      results.push_back(getAffineConstantExpr(0, value.getContext()));
    }
    return build(tile.getInput1(),
                 AffineMap::get(rootToValue.getNumDims(), 0, results,
                                value.getContext()));
  }
  if (auto transpose = dyn_cast<tosa::TransposeOp>(def)) {
    // result dim i is input dim perms[i].
    ArrayRef<int32_t> perms = transpose.getPerms();
    SmallVector<AffineExpr> results(perms.size());
    for (auto [i, p] : llvm::enumerate(perms))
      results[p] = rootToValue.getResult(i);
    return build(transpose.getInput1(),
                 AffineMap::get(rootToValue.getNumDims(), 0, results,
                                value.getContext()));
  }

  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(def)) {
    if (linalgOp.hasPureTensorSemantics() && linalgOp.getNumDpsInits() == 1 &&
        def->getNumResults() == 1 && linalgOp.getNumLoops() > 0 &&
        linalgOp.getNumParallelLoops() == linalgOp.getNumLoops()) {
      OpOperand *init = linalgOp.getDpsInitOperand(0);
      AffineMap initMap = linalgOp.getMatchingIndexingMap(init);
      if (initMap.isPermutation() &&
          !linalgOp.payloadUsesValueFromOperand(init)) {
        AffineMap rootToLoops =
            inversePermutation(initMap).compose(rootToValue);
        Value yielded =
            linalgOp.getBlock()->getTerminator()->getOperand(0);
        if (Expr *e = buildLinalgScalar(yielded, def, rootToLoops, 0))
          return e;
        if (nodes.size() > maxNodes)
          return nullptr;
      }
    }
    return makeLeaf(value, rootToValue);
  }

  std::optional<OpInfo> info = classifyOp(def);
  if (info && def->getNumResults() == 1) {
    bool isTosa = isa<tosa::TosaOp>(def);
    SmallVector<AffineMap> maps;
    for (unsigned i = 0; i < info->numValueOperands; ++i) {
      auto operandType = dyn_cast<RankedTensorType>(def->getOperand(i).getType());
      if (!operandType || operandType.getRank() != type.getRank()) {
        // arith.select with a scalar condition and the like.
        return makeLeaf(value, rootToValue);
      }
      // TOSA broadcasts dims of size 1 (equal ranks); arith needs equal
      // shapes.
      SmallVector<AffineExpr> results;
      for (int64_t d = 0; d < type.getRank(); ++d) {
        bool broadcast = isTosa && operandType.getDimSize(d) == 1 &&
                         type.getDimSize(d) != 1;
        results.push_back(broadcast
                              ? getAffineConstantExpr(0, value.getContext())
                              : getAffineDimExpr(d, value.getContext()));
      }
      maps.push_back(
          AffineMap::get(type.getRank(), 0, results, value.getContext())
              .compose(rootToValue));
    }
    Expr *e = newNode(ExprKind::Op);
    e->op = info->kind;
    e->predicate = info->predicate;
    e->type = elementType;
    e->origin = def;
    for (unsigned i = 0; i < info->numValueOperands; ++i) {
      Expr *operand = build(def->getOperand(i), maps[i]);
      if (!operand)
        return nullptr;
      e->operands.push_back(operand);
    }
    return e;
  }
  return makeLeaf(value, rootToValue);
}

//===----------------------------------------------------------------------===//
// Queries
//===----------------------------------------------------------------------===//

Expr *mlir::adamas::raise::stripConverts(Expr *e) {
  while (e && e->kind == ExprKind::Op && e->op == OpKind::Convert)
    e = e->operands[0];
  return e;
}

/// `x` rounded to the float type `type` (the value a conversion produces).
static double roundTo(double x, Type type) {
  auto floatType = dyn_cast<FloatType>(type);
  if (!floatType)
    return x;
  APFloat v(x);
  bool lost = false;
  v.convert(floatType.getFloatSemantics(), APFloat::rmNearestTiesToEven,
            &lost);
  return v.convertToDouble();
}

std::optional<double> mlir::adamas::raise::constantValue(Expr *e) {
  if (!e)
    return std::nullopt;
  if (e->kind == ExprKind::Const)
    return e->constant;
  if (e->kind != ExprKind::Op)
    return std::nullopt;
  SmallVector<double, 3> v;
  for (Expr *operand : e->operands) {
    std::optional<double> c = constantValue(operand);
    if (!c)
      return std::nullopt;
    v.push_back(*c);
  }
  switch (e->op) {
  case OpKind::Add:
    return v[0] + v[1];
  case OpKind::Sub:
    return v[0] - v[1];
  case OpKind::Mul:
    return v[0] * v[1];
  case OpKind::Div:
    return v[0] / v[1];
  case OpKind::Neg:
    return -v[0];
  case OpKind::Recip:
    return 1.0 / v[0];
  case OpKind::Exp:
    return std::exp(v[0]);
  case OpKind::Exp2:
    return std::exp2(v[0]);
  case OpKind::Max:
    return std::max(v[0], v[1]);
  case OpKind::Min:
    return std::min(v[0], v[1]);
  case OpKind::Convert:
    return roundTo(v[0], e->type);
  case OpKind::IntCast:
    return v[0];
  default:
    return std::nullopt;
  }
}

bool mlir::adamas::raise::equalModuloConverts(Expr *a, Expr *b) {
  a = stripConverts(a);
  b = stripConverts(b);
  if (!a || !b)
    return false;
  if (a == b)
    return true;
  if (a->kind != b->kind)
    return false;
  switch (a->kind) {
  case ExprKind::Leaf:
    return a->value == b->value && a->map == b->map;
  case ExprKind::Const:
    return a->constant == b->constant;
  case ExprKind::Index:
    return a->index == b->index;
  case ExprKind::Scalar:
    return a->value == b->value;
  case ExprKind::Op:
    if (a->op != b->op || a->predicate != b->predicate ||
        a->operands.size() != b->operands.size())
      return false;
    for (auto [x, y] : llvm::zip(a->operands, b->operands))
      if (!equalModuloConverts(x, y))
        return false;
    return true;
  }
  return false;
}

bool mlir::adamas::raise::dependsOnDim(Expr *e, unsigned dim) {
  switch (e->kind) {
  case ExprKind::Leaf:
    return llvm::any_of(e->map.getResults(), [&](AffineExpr r) {
      return r.isFunctionOfDim(dim);
    });
  case ExprKind::Index:
    return e->index.isFunctionOfDim(dim);
  case ExprKind::Op:
    return llvm::any_of(e->operands,
                        [&](Expr *o) { return dependsOnDim(o, dim); });
  default:
    return false;
  }
}

void mlir::adamas::raise::collectLeaves(Expr *e,
                                        SmallVectorImpl<Expr *> &leaves) {
  if (e->kind == ExprKind::Leaf)
    leaves.push_back(e);
  for (Expr *operand : e->operands)
    collectLeaves(operand, leaves);
}

std::string mlir::adamas::raise::describe(Expr *e) {
  std::string s;
  llvm::raw_string_ostream os(s);
  switch (e->kind) {
  case ExprKind::Leaf:
    if (auto arg = dyn_cast<BlockArgument>(e->value))
      os << "argument #" << arg.getArgNumber();
    else
      os << "'" << e->value.getDefiningOp()->getName() << "'";
    break;
  case ExprKind::Const:
    os << e->constant;
    break;
  case ExprKind::Index:
    os << "index(" << e->index << ")";
    break;
  case ExprKind::Scalar:
    os << "scalar";
    break;
  case ExprKind::Op:
    if (e->origin)
      os << "'" << e->origin->getName() << "'";
    else
      os << "op";
    break;
  }
  return s;
}
