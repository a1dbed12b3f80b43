//===- MaskAnalysis.h - Attention masks as l1_topk lengths -----------------===//
//
// l1_topk lets query row m of M see key positions [0, L) with
// L = clamp(lengths - M + m + 1, 0, N): causal rows over a prefix. A mask
// can become `lengths` exactly when it keeps, in every row, the prefix
// n - m <= a for one offset a (constant or a scalar of the program, e.g. the
// cache position), and then lengths = a + M. This file proves that of the
// masks exporters build (a constant table, or 0 / -inf selected by a
// comparison of iota-like indices) and gives up, with the reason, on any
// other (a function argument, a bias, a combination).
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_LIB_DIALECT_ADAMAS_TRANSFORMS_MASKANALYSIS_H
#define ADAMAS_LIB_DIALECT_ADAMAS_TRANSFORMS_MASKANALYSIS_H

#include "TensorExpr.h"

#include "mlir/IR/Builders.h"
#include "mlir/Support/LLVM.h"

#include <string>

namespace mlir::adamas::raise {

/// A term `coef * node` added to the scores inside the exp.
struct MaskTerm {
  Expr *node;
  double coef;
};

/// A `select(pred, scores, -inf)`: scores stay where `pred == visibleWhen`.
struct SelectMask {
  Expr *pred;
  bool visibleWhen;
};

/// Where the mask lives in the softmax's iteration space.
struct MaskContext {
  unsigned keyDim;                // root dim of the key positions (N)
  std::optional<unsigned> rowDim; // root dim of the query rows, if M > 1
  int64_t rows;                   // M
  SmallVector<int64_t> rootShape; // extents of the root dims
};

/// lengths = constant + symbolSign * symbol (+ N when `plusKeyLength`).
/// `symbol` is a scalar integer, or a tensor holding one integer.
struct Lengths {
  int64_t constant = 0;
  Value symbol;
  int64_t symbolSign = 0;
  bool plusKeyLength = false;
};

/// The lengths that reproduce the masks (no mask: every row sees all N
/// keys). Fails with `why` set.
FailureOr<Lengths> analyzeMasks(ArrayRef<MaskTerm> terms,
                                ArrayRef<SelectMask> selects,
                                const MaskContext &ctx, std::string &why);

/// Materializes `lengths` as a scalar i32 at the builder's insertion point;
/// N is dim `keyDim` of `keys`.
Value buildLengthsScalar(OpBuilder &b, Location loc, const Lengths &lengths,
                         Value keys, int64_t keyDim);

} // namespace mlir::adamas::raise

#endif // ADAMAS_LIB_DIALECT_ADAMAS_TRANSFORMS_MASKANALYSIS_H
