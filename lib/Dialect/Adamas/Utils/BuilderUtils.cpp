//===- BuilderUtils.cpp - IR builder helpers of the adamas lowerings ------===//

#include "adamas/Dialect/Adamas/Utils/BuilderUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace mlir::adamas;

Value mlir::adamas::indexConst(ImplicitLocOpBuilder &b, int64_t value) {
  return arith::ConstantIndexOp::create(b, value);
}

Value mlir::adamas::i32Const(ImplicitLocOpBuilder &b, int64_t value) {
  return arith::ConstantIntOp::create(b, value, /*width=*/32);
}

Value mlir::adamas::f32Const(ImplicitLocOpBuilder &b, float value) {
  return arith::ConstantFloatOp::create(b, b.getF32Type(), APFloat(value));
}

Value mlir::adamas::intConst(ImplicitLocOpBuilder &b, Type type,
                             int64_t value) {
  if (type.isIndex())
    return indexConst(b, value);
  return arith::ConstantIntOp::create(b, type, value);
}

Value mlir::adamas::toIndex(ImplicitLocOpBuilder &b, Value value) {
  if (value.getType().isIndex())
    return value;
  return arith::IndexCastOp::create(b, b.getIndexType(), value);
}

Value mlir::adamas::toI32(ImplicitLocOpBuilder &b, Value value) {
  if (value.getType().isSignlessInteger(32))
    return value;
  return arith::IndexCastOp::create(b, b.getI32Type(), value);
}

Value mlir::adamas::extendToF32(ImplicitLocOpBuilder &b, Value value) {
  Type type = value.getType();
  if (getElementTypeOrSelf(type).isF32())
    return value;
  Type f32 = b.getF32Type();
  if (auto vector = dyn_cast<VectorType>(type))
    f32 = vector.clone(f32);
  return arith::ExtFOp::create(b, f32, value);
}

Value mlir::adamas::roundFromF32(ImplicitLocOpBuilder &b, Value value,
                                 Type type) {
  if (type.isF32())
    return value;
  Type target = type;
  if (auto vector = dyn_cast<VectorType>(value.getType()))
    target = vector.clone(type);
  return arith::TruncFOp::create(b, target, value);
}

ValueRange mlir::adamas::buildFor(ImplicitLocOpBuilder &b, Value lb, Value ub,
                                  Value step, ValueRange inits,
                                  LoopBodyFn body) {
  auto loop = scf::ForOp::create(
      b, lb, ub, step, inits,
      [&](OpBuilder &nested, Location loc, Value iv, ValueRange args) {
        ImplicitLocOpBuilder nb(loc, nested);
        scf::YieldOp::create(nb, body(nb, iv, args));
      });
  return loop.getResults();
}

ValueRange mlir::adamas::buildFor(ImplicitLocOpBuilder &b, Value lb, Value ub,
                                  ValueRange inits, LoopBodyFn body) {
  return buildFor(b, lb, ub, intConst(b, lb.getType(), 1), inits, body);
}

ValueRange mlir::adamas::buildIf(ImplicitLocOpBuilder &b, Value cond,
                                 BranchFn thenFn, BranchFn elseFn) {
  auto branch = [](BranchFn fn) {
    return [fn](OpBuilder &nested, Location loc) {
      ImplicitLocOpBuilder nb(loc, nested);
      scf::YieldOp::create(nb, fn(nb));
    };
  };
  return scf::IfOp::create(b, cond, branch(thenFn), branch(elseFn))
      .getResults();
}

void mlir::adamas::buildIfThen(
    ImplicitLocOpBuilder &b, Value cond,
    function_ref<void(ImplicitLocOpBuilder &)> thenFn) {
  scf::IfOp::create(b, cond, [&](OpBuilder &nested, Location loc) {
    ImplicitLocOpBuilder nb(loc, nested);
    thenFn(nb);
    scf::YieldOp::create(nb);
  });
}

Value mlir::adamas::clamp(ImplicitLocOpBuilder &b, Value value, Value lo,
                          Value hi) {
  return arith::MinSIOp::create(b, arith::MaxSIOp::create(b, value, lo), hi);
}

Value mlir::adamas::notI1(ImplicitLocOpBuilder &b, Value cond) {
  return arith::XOrIOp::create(b, cond, arith::ConstantIntOp::create(b, 1, 1));
}
