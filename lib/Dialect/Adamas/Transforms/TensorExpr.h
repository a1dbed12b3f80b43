//===- TensorExpr.h - Elementwise tensor programs as expression trees -----===//
//
// Exporters spell the same elementwise computation many ways: one fused
// linalg.generic, a chain of generics, named linalg ops, arith ops on tensors,
// TOSA ops with implicit broadcasting. To match attention once for all of
// them, adamas-raise-attention inlines every elementwise producer of a value
// into one scalar expression tree over an iteration space (the "root" space,
// the dims of the value the tree starts from). Leaves are the tensors that
// are not elementwise (contractions, reductions, arguments, ...), each with
// the affine map from root dims to its own dims, so that broadcasts,
// transposes and unit-dim reshapes on the way are absorbed into the maps.
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_LIB_DIALECT_ADAMAS_TRANSFORMS_TENSOREXPR_H
#define ADAMAS_LIB_DIALECT_ADAMAS_TRANSFORMS_TENSOREXPR_H

#include "mlir/IR/AffineMap.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/SmallVector.h"

#include <deque>
#include <optional>

namespace mlir::adamas::raise {

enum class ExprKind {
  Leaf,   // a tensor value read through `map`
  Const,  // a scalar constant (also splat tensors and fills)
  Index,  // a loop index of the root space (linalg.index), as `index`
  Scalar, // a scalar SSA value defined outside every inlined op
  Op,     // a scalar operation on `operands`
};

enum class OpKind {
  Add, Sub, Mul, Div, Neg, Exp, Exp2, Recip, Max, Min, Select,
  CmpF, CmpI, Convert /*float <-> float*/, IntCast, And, Or, Other,
};

struct Expr {
  ExprKind kind = ExprKind::Op;
  OpKind op = OpKind::Other;
  Type type;                // scalar (element) type of the node
  Value value;              // Leaf: the tensor; Scalar: the scalar
  AffineMap map;            // Leaf: root dims -> dims of `value`
  AffineExpr index;         // Index: an expression of the root dims
  double constant = 0;      // Const
  int64_t predicate = 0;    // CmpF / CmpI: arith predicate
  Operation *origin = nullptr;
  SmallVector<Expr *, 3> operands;
};

/// Builds expression trees. Nodes live as long as the builder. A tree is
/// capped in size (exporters never need many nodes; the cap keeps DAGs with
/// much sharing from exploding into huge trees).
class ExprBuilder {
public:
  explicit ExprBuilder(unsigned maxNodes = 4096) : maxNodes(maxNodes) {}

  /// The tree of `value` over the root space of `rootToValue`'s domain.
  /// Returns null only when the size cap is exceeded.
  Expr *build(Value value, AffineMap rootToValue);
  /// The tree of `value` over its own dims.
  Expr *build(Value value);

  Expr *makeLeaf(Value value, AffineMap map);
  Expr *makeConst(double c, Type type);

private:
  Expr *newNode(ExprKind kind);
  Expr *buildDefined(Value value, AffineMap rootToValue);
  Expr *buildLinalgScalar(Value scalar, Operation *linalgOp,
                          AffineMap rootToLoops, int depth);
  Expr *buildOutsideScalar(Value scalar);

  std::deque<Expr> nodes;
  unsigned maxNodes;
};

/// Strips float conversions (extf, truncf, tosa.cast between floats).
Expr *stripConverts(Expr *e);

/// The value of a tree made of constants only, if it is one.
std::optional<double> constantValue(Expr *e);

/// Structural equality; float conversions are ignored.
bool equalModuloConverts(Expr *a, Expr *b);

/// Whether the tree reads root dim `dim` (through a leaf map or an index).
bool dependsOnDim(Expr *e, unsigned dim);

/// Every leaf of the tree.
void collectLeaves(Expr *e, SmallVectorImpl<Expr *> &leaves);

/// One line describing the node (for remarks and debugging).
std::string describe(Expr *e);

} // namespace mlir::adamas::raise

#endif // ADAMAS_LIB_DIALECT_ADAMAS_TRANSFORMS_TENSOREXPR_H
