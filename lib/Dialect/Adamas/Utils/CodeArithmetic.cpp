//===- CodeArithmetic.cpp - Code layout and selection arithmetic ----------===//

#include "adamas/Dialect/Adamas/Utils/CodeArithmetic.h"
#include "adamas/Dialect/Adamas/Utils/BuilderUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cassert>
#include <cmath>

using namespace mlir;
using namespace mlir::adamas;

std::optional<int64_t> mlir::adamas::codeWordsPerRow(int64_t dims,
                                                     int64_t bits) {
  if (dims <= 0 || dims > kMaxCodeDims || dims % kDimsPerGroup != 0 ||
      bits < 1 || bits > 3)
    return std::nullopt;
  return dims / kDimsPerGroup * bits;
}

std::optional<int64_t> mlir::adamas::codeDimsOfWords(int64_t words,
                                                     int64_t bits) {
  // Compare before multiplying: `words` may be any static size.
  if (bits < 1 || bits > 3 || words <= 0 || words % bits != 0 ||
      words > maxCodeWordsPerRow(bits))
    return std::nullopt;
  return words / bits * kDimsPerGroup;
}

std::optional<int64_t> mlir::adamas::numDistanceBins(int64_t words,
                                                     int64_t bits) {
  // D <= kMaxCodeDims, so (2^b - 1) * D + 1 cannot overflow.
  std::optional<int64_t> dims = codeDimsOfWords(words, bits);
  if (!dims)
    return std::nullopt;
  return numThresholds(bits) * *dims + 1;
}

float mlir::adamas::hadamardNorm(int64_t d) {
  return static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
}

//===----------------------------------------------------------------------===//
// Codes
//===----------------------------------------------------------------------===//

/// An i32 constant shaped like `like` (scalar or vector).
static Value i32Like(ImplicitLocOpBuilder &b, Value like, int64_t value) {
  Type type = like.getType();
  if (auto vector = dyn_cast<VectorType>(type))
    return arith::ConstantOp::create(
        b, DenseElementsAttr::get(vector.clone(b.getI32Type()),
                                  b.getI32IntegerAttr(value)));
  return i32Const(b, value);
}

Value mlir::adamas::buildCode(ImplicitLocOpBuilder &b, Value x,
                              ArrayRef<Value> thresholds) {
  Type i32 = b.getI32Type();
  if (auto vector = dyn_cast<VectorType>(x.getType()))
    i32 = vector.clone(i32);
  Value code;
  for (Value t : thresholds) {
    if (isa<VectorType>(x.getType()) && !isa<VectorType>(t.getType()))
      t = vector::BroadcastOp::create(b, x.getType(), t);
    Value above = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, x, t);
    Value count = arith::ExtUIOp::create(b, i32, above);
    code = code ? arith::AddIOp::create(b, code, count).getResult() : count;
  }
  return code;
}

Value mlir::adamas::buildCodeBit(ImplicitLocOpBuilder &b, Value code,
                                 int64_t plane) {
  Value shifted = plane == 0
                      ? code
                      : arith::ShRUIOp::create(b, code, i32Like(b, code, plane))
                            .getResult();
  return arith::AndIOp::create(b, shifted, i32Like(b, code, 1));
}

SmallVector<Value>
mlir::adamas::buildThermometerPlanes(ImplicitLocOpBuilder &b,
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

Value mlir::adamas::buildGroupDistance(ImplicitLocOpBuilder &b,
                                       ArrayRef<Value> queryPlanes,
                                       ArrayRef<Value> keyPlanes) {
  assert(queryPlanes.size() == keyPlanes.size() && "same number of planes");
  auto popc = [&](Value x) -> Value { return math::CtPopOp::create(b, x); };
  auto bitXor = [&](Value x, Value y) -> Value {
    return arith::XOrIOp::create(b, x, y);
  };
  switch (queryPlanes.size()) {
  case 1:
    return popc(bitXor(queryPlanes[0], keyPlanes[0]));
  case 2: {
    Value x0 = bitXor(queryPlanes[0], keyPlanes[0]);
    Value x1 = bitXor(queryPlanes[1], keyPlanes[1]);
    Value queryMixed = bitXor(queryPlanes[0], queryPlanes[1]);
    Value oneApart = arith::AndIOp::create(b, x0, queryMixed);
    Value allOnes = i32Like(b, x0, -1);
    Value twoApart = arith::AndIOp::create(b, x1, bitXor(oneApart, allOnes));
    Value high = arith::ShLIOp::create(b, popc(twoApart), i32Like(b, x0, 1));
    return arith::AddIOp::create(b, popc(x0), high);
  }
  default: {
    Value sum;
    for (auto [q, k] : llvm::zip_equal(buildThermometerPlanes(b, queryPlanes),
                                       buildThermometerPlanes(b, keyPlanes))) {
      Value count = popc(bitXor(q, k));
      sum = sum ? arith::AddIOp::create(b, sum, count).getResult() : count;
    }
    return sum;
  }
  }
}

//===----------------------------------------------------------------------===//
// Selection
//===----------------------------------------------------------------------===//

Value mlir::adamas::buildVisibleLength(ImplicitLocOpBuilder &b, Value length,
                                       Value numRows, Value row,
                                       Value capacity) {
  Type type = length.getType();
  Value first = arith::SubIOp::create(b, length, numRows);
  Value last = arith::AddIOp::create(
      b, first, arith::AddIOp::create(b, row, intConst(b, type, 1)));
  return clamp(b, last, intConst(b, type, 0), capacity);
}

SelectionWindow mlir::adamas::buildSelectionWindow(ImplicitLocOpBuilder &b,
                                                   Value visible, int64_t k,
                                                   int64_t sink,
                                                   int64_t recent) {
  Type type = visible.getType();
  Value selectAll = arith::CmpIOp::create(b, arith::CmpIPredicate::sle, visible,
                                          intConst(b, type, k));
  SelectionWindow window;
  window.freeBegin =
      arith::SelectOp::create(b, selectAll, visible, intConst(b, type, sink));
  window.freeEnd = arith::SelectOp::create(
      b, selectAll, visible,
      arith::SubIOp::create(b, visible, intConst(b, type, recent)));
  window.take = arith::SelectOp::create(b, selectAll, intConst(b, type, 0),
                                        intConst(b, type, k - sink - recent));
  return window;
}
