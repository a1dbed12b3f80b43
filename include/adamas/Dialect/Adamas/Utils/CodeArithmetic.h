//===- CodeArithmetic.h - Code layout and selection arithmetic --*- C++ -*-===//
//
// The arithmetic of DESIGN.md section 2 in one place, so that the CPU
// reference lowering and the GPU kernels cannot drift apart:
//
//   * sizes: code words per row, distance bins (overflow-checked);
//   * codes: `code = #{t : x > t}` of an element, its bit planes, and the
//     exact L1 distance of 32 codes from their planes by popcount;
//   * selection: the visible length of a causal query row and the
//     sink / free / recent window of a row.
//
// The builders work on scalars of any integer type (index on the CPU, i32 on
// the GPU) and, where noted, on vectors.
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_DIALECT_ADAMAS_UTILS_CODEARITHMETIC_H
#define ADAMAS_DIALECT_ADAMAS_UTILS_CODEARITHMETIC_H

#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

#include <cstdint>
#include <optional>

namespace mlir::adamas {

//===----------------------------------------------------------------------===//
// Sizes
//===----------------------------------------------------------------------===//

/// Dimensions per code word group: each group of 32 dims owns `bits` words.
constexpr int64_t kDimsPerGroup = 32;

/// Largest number of dimensions a code row may encode: the head_dim bound of
/// `adamas.hadamard` (DESIGN.md section 2), whose output is what gets
/// bucketized. Bounding D keeps every size derived from it (words per row,
/// distances, histogram bins) small, so neither the verifiers nor the
/// lowerings can overflow and a histogram always fits in memory.
constexpr int64_t kMaxCodeDims = 32768;

/// Number of thresholds of a b-bit code (2^b - 1), which is also the largest
/// code and the largest per-dimension distance.
constexpr int64_t numThresholds(int64_t bits) {
  return (int64_t(1) << bits) - 1;
}

/// Code words per row of `dims` dimensions, `dims / 32 * bits`; nullopt if
/// `dims` is not a positive multiple of 32, exceeds `kMaxCodeDims` or `bits`
/// is not 1, 2 or 3.
std::optional<int64_t> codeWordsPerRow(int64_t dims, int64_t bits);

/// Dimensions encoded by `words` code words of `bits` planes, nullopt if
/// `words` is not a positive multiple of `bits` or encodes more than
/// `kMaxCodeDims` dimensions.
std::optional<int64_t> codeDimsOfWords(int64_t words, int64_t bits);

/// Number of distinct L1 distances between rows of `words` code words,
/// `(2^b - 1) * D + 1` (at most 7 * 32768 + 1); nullopt for a `words` that
/// `codeDimsOfWords` rejects.
std::optional<int64_t> numDistanceBins(int64_t words, int64_t bits);

/// The largest `words` that `codeDimsOfWords` accepts for `bits` (1, 2 or 3).
constexpr int64_t maxCodeWordsPerRow(int64_t bits) {
  return kMaxCodeDims / kDimsPerGroup * bits;
}

/// `1/sqrt(d)` rounded to f32: the normalization of the orthonormal
/// Walsh-Hadamard transform (exact for d a power of four).
float hadamardNorm(int64_t d);

//===----------------------------------------------------------------------===//
// Codes
//===----------------------------------------------------------------------===//

/// The b-bit code of `x` (f32 scalar or vector): the number of `thresholds`
/// (f32 scalars) strictly below it, as i32 (or a vector of i32). NaN
/// compares false with everything and gets code 0.
Value buildCode(ImplicitLocOpBuilder &b, Value x, ArrayRef<Value> thresholds);

/// Bit `plane` of `code` (i32 scalar or vector), as 0 or 1.
Value buildCodeBit(ImplicitLocOpBuilder &b, Value code, int64_t plane);

/// Thermometer planes `[code >= t]`, t = 1 .. 2^b - 1, of 32 b-bit codes given
/// as their b bit planes (i32 words). The L1 distance of two codes is the
/// number of thermometer planes in which they differ.
SmallVector<Value> buildThermometerPlanes(ImplicitLocOpBuilder &b,
                                          ArrayRef<Value> planes);

/// Exact L1 distance `sum_i |a_i - c_i|` of the 32 codes of a query group
/// (`queryPlanes`, b words) and a key group (`keyPlanes`), as i32:
///   b = 1: popc(a0 ^ c0);
///   b = 2: popc(x0) + 2 popc(x1 & ~(x0 & (a0 ^ a1))), x_p = a_p ^ c_p
///          (two popcounts; the high-plane difference counts 1, not 2, only
///          for the pairs (1, 2) and (2, 1), exactly where x0 = 1 and
///          a0 != a1);
///   b = 3: sum over the 7 thermometer planes of popc(u_t(a) ^ u_t(c)).
Value buildGroupDistance(ImplicitLocOpBuilder &b, ArrayRef<Value> queryPlanes,
                         ArrayRef<Value> keyPlanes);

//===----------------------------------------------------------------------===//
// Selection
//===----------------------------------------------------------------------===//

/// Positions visible to query row `row` of `numRows` (the last `numRows`
/// tokens, causal) when the cache holds `length` tokens of which `capacity`
/// fit: `clamp(length - numRows + row + 1, 0, capacity)`. All operands have
/// one integer type.
Value buildVisibleLength(ImplicitLocOpBuilder &b, Value length, Value numRows,
                         Value row, Value capacity);

/// The forced and free parts of a row that sees `visible` positions:
/// positions `[0, freeBegin)` (sink) and `[freeEnd, visible)` (recent) are
/// always selected and `take` of the positions in between go by distance.
/// When everything fits (`visible <= k`), every position is forced and
/// `take` is 0. Otherwise `visible > k >= sink + recent`, so both forced
/// ranges are full and disjoint.
struct SelectionWindow {
  Value freeBegin, freeEnd, take;
};
SelectionWindow buildSelectionWindow(ImplicitLocOpBuilder &b, Value visible,
                                     int64_t k, int64_t sink, int64_t recent);

} // namespace mlir::adamas

#endif // ADAMAS_DIALECT_ADAMAS_UTILS_CODEARITHMETIC_H
