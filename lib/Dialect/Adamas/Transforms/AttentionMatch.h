//===- AttentionMatch.h - Find attention in model IR ----------------------===//
//
// Recognizes softmax(scale * q·Kᵀ + mask)·V from its last contraction (the
// one with V), whatever the dialect (linalg or TOSA), layout and spelling of
// the softmax, and describes it in terms the rewrite needs: the tensors q, K,
// V came from with their layouts, the axes, the scale and the lengths.
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_LIB_DIALECT_ADAMAS_TRANSFORMS_ATTENTIONMATCH_H
#define ADAMAS_LIB_DIALECT_ADAMAS_TRANSFORMS_ATTENTIONMATCH_H

#include "Layout.h"
#include "MaskAnalysis.h"
#include "TensorExpr.h"

#include "mlir/IR/Operation.h"

#include <string>

namespace mlir::adamas::raise {

/// A contraction `out[...] = sum lhs[...] * rhs[...]` with a zero init:
/// linalg.matmul / batch_matmul (incl. transposing indexing maps),
/// contraction linalg.generics, tosa.matmul.
struct Contraction {
  Operation *op = nullptr;
  Value lhs, rhs, result;
  AffineMap lhsMap, rhsMap, outMap; // loops -> operand dims
  SmallVector<int64_t> loopExtents;
  double scale = 1.0; // a constant factor in the body: out += c * lhs * rhs
};

/// The contraction `op` is, if it is one.
std::optional<Contraction> getContraction(Operation *op);

/// An operand of the attention traced back to the tensor it is a layout
/// change (and, for q and K, a constant scaling) of.
struct OperandTrace {
  Value base;
  Layout layout;                 // of `base`
  double scale = 1.0;            // constant factors crossed
};

/// One attention site, ready to rewrite.
struct AttentionSite {
  Operation *qk = nullptr, *pv = nullptr;
  Value output; // the result of `pv`, replaced by the rewrite
  Layout outputLayout;
  OperandTrace q, k, v;
  int64_t rows = 1;             // M
  int64_t keys = 0;             // N (may be dynamic)
  int64_t headDim = 0;          // D
  int64_t valueDim = 0;         // Dv
  double scale = 1.0;           // of sparse_attn
  Lengths lengths;
  // Target layouts of the BHND operands and result.
  Layout q4, k4, v4, o4;
};

/// Why a contraction was not rewritten. `attention` says whether it was
/// recognized as attention at all (then it counts as a layer).
struct MatchFailure {
  std::string reason;
  bool attention = false;
  bool report = true; // false: not attention-like enough to remark on
  /// The q·Kᵀ contraction, once found.
  Operation *qk = nullptr;
  /// For a chain of contractions without softmax: the one feeding `pv`.
  Operation *producer = nullptr;
};

/// Matches the attention whose P·V contraction is `pv`. Limits (decode rows,
/// context) are the caller's business; this only recognizes and describes.
FailureOr<AttentionSite> matchAttention(Operation *pv, MatchFailure &failure);

} // namespace mlir::adamas::raise

#endif // ADAMAS_LIB_DIALECT_ADAMAS_TRANSFORMS_ATTENTIONMATCH_H
