//===- BuilderUtils.h - IR builder helpers of the adamas lowerings -*- C++
//-*-===//
//
// Small builders shared by the CPU (AdamasToLinalg) and GPU (AdamasToGPU)
// lowerings: typed constants, casts, f16/bf16 <-> f32 conversions, and
// `scf.for` / `scf.if` built from lambdas. Integer helpers take the type of
// the value they work on, so the same code serves `index` (CPU loops) and
// `i32` (GPU thread arithmetic).
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_DIALECT_ADAMAS_UTILS_BUILDERUTILS_H
#define ADAMAS_DIALECT_ADAMAS_UTILS_BUILDERUTILS_H

#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallVector.h"

namespace mlir::adamas {

/// Builds the body of a loop: gets the induction variable and the current
/// iteration arguments, returns the values to yield.
using LoopBodyFn = function_ref<SmallVector<Value>(
    ImplicitLocOpBuilder &, Value iv, ValueRange iterArgs)>;
/// Builds one branch of an `scf.if`, returns the values to yield.
using BranchFn = function_ref<SmallVector<Value>(ImplicitLocOpBuilder &)>;

Value indexConst(ImplicitLocOpBuilder &b, int64_t value);
Value i32Const(ImplicitLocOpBuilder &b, int64_t value);
Value f32Const(ImplicitLocOpBuilder &b, float value);
/// An integer or index constant of `type`.
Value intConst(ImplicitLocOpBuilder &b, Type type, int64_t value);

/// `index_cast` of an integer to `index` / to i32 (no-op when already so).
Value toIndex(ImplicitLocOpBuilder &b, Value value);
Value toI32(ImplicitLocOpBuilder &b, Value value);

/// Extends a scalar or vector of f16/bf16/f32 to f32 (no-op for f32).
Value extendToF32(ImplicitLocOpBuilder &b, Value value);
/// Rounds an f32 scalar or vector to the element type `type` (no-op for
/// f32): the single rounding step of every floating-point result.
Value roundFromF32(ImplicitLocOpBuilder &b, Value value, Type type);

/// `scf.for %iv = lb to ub step step iter_args(inits)` with the body built by
/// `body`; returns the loop results.
ValueRange buildFor(ImplicitLocOpBuilder &b, Value lb, Value ub, Value step,
                    ValueRange inits, LoopBodyFn body);
/// The same with step 1 (of the bounds' type).
ValueRange buildFor(ImplicitLocOpBuilder &b, Value lb, Value ub,
                    ValueRange inits, LoopBodyFn body);

/// `scf.if` with both branches; the result types come from what they yield.
ValueRange buildIf(ImplicitLocOpBuilder &b, Value cond, BranchFn thenFn,
                   BranchFn elseFn);
/// `scf.if` without results or else branch.
void buildIfThen(ImplicitLocOpBuilder &b, Value cond,
                 function_ref<void(ImplicitLocOpBuilder &)> thenFn);

/// `value` clamped to `[lo, hi]` (signed).
Value clamp(ImplicitLocOpBuilder &b, Value value, Value lo, Value hi);

/// The negation of an i1 (`xori` with true).
Value notI1(ImplicitLocOpBuilder &b, Value cond);

} // namespace mlir::adamas

#endif // ADAMAS_DIALECT_ADAMAS_UTILS_BUILDERUTILS_H
