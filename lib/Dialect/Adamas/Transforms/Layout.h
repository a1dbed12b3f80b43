//===- Layout.h - Which logical axes each tensor dim holds ----------------===//
//
// Attention reaches the contractions in many layouts: BHSD, batch*heads
// collapsed into one dim, K transposed, heads split off a hidden dim, GQA
// heads repeated by a broadcast. The raise describes every tensor on the way
// by a Layout: for each dim, the factors it is made of, row-major. A factor
// is a piece of one logical axis (a loop of the QK contraction, or the value
// dim): `extent` consecutive "digits" of the axis starting at `stride`, so
// reshapes that split or merge dims only regroup and split factors, and
// transposes and broadcasts only move or drop them. With layouts for q, K, V
// and the output, building the BHND operands is a reshape / transpose / reshape
// from whatever tensor the trace stopped at.
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_LIB_DIALECT_ADAMAS_TRANSFORMS_LAYOUT_H
#define ADAMAS_LIB_DIALECT_ADAMAS_TRANSFORMS_LAYOUT_H

#include "mlir/IR/AffineMap.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>

namespace mlir::adamas::raise {

class ExprBuilder;

/// `extent` digits of axis `axis`, the lowest of which has weight `stride`
/// within the axis (an axis of extent E is the factor {axis, 1, E}).
/// `extent` may be ShapedType::kDynamic, then only for a whole axis.
struct Factor {
  int axis;
  int64_t stride;
  int64_t extent;
  bool operator==(const Factor &o) const {
    return axis == o.axis && stride == o.stride && extent == o.extent;
  }
};

using DimLayout = SmallVector<Factor, 2>; // major -> minor; empty: a unit dim
using Layout = SmallVector<DimLayout, 4>;

/// Merges neighbouring factors of one axis that are contiguous.
DimLayout normalize(ArrayRef<Factor> factors);

/// All factors of `layout`, row-major.
DimLayout flatten(const Layout &layout);

/// The layout of a row-major reshape of a tensor with `layout` to `shape`.
std::optional<Layout> reshapeLayout(const Layout &layout,
                                    ArrayRef<int64_t> shape);

/// Layout of the source of an access `map` (dims of a tensor with `layout`
/// -> dims of the source, each a dim or the constant 0). Dims of the tensor
/// that the source does not read are broadcast: their factors go to
/// `broadcast` (null: broadcasts fail).
std::optional<Layout> layoutOfSource(const Layout &layout, AffineMap map,
                                     SmallVectorImpl<Factor> *broadcast);

/// The reverse: layout of the tensor given that of the source of `map`.
/// Fails where the tensor would broadcast.
std::optional<Layout> layoutOfReader(const Layout &sourceLayout,
                                     AffineMap map,
                                     ArrayRef<int64_t> readerShape);

/// Whether `layout` describes a tensor of `shape` (unit dims empty, static
/// extents equal).
bool matchesShape(const Layout &layout, ArrayRef<int64_t> shape);

/// One step from a tensor back to the tensor it is a layout change of: a
/// reshape (`map` null), or an access through `map` (dims of `value` -> dims
/// of `source`: tensor.cast, transposes, broadcasts, unit-dim reshapes,
/// copies). std::nullopt where `value` is not a layout change.
struct LayoutStep {
  Value source;
  AffineMap map;
};
std::optional<LayoutStep> layoutStepBack(Value value, ExprBuilder &builder);

/// Splits the factors of every layout in `layouts` (and of `extra`) at the
/// digit boundaries any of them has, so that equal pieces of an axis become
/// equal factors everywhere.
void refine(ArrayRef<Layout *> layouts, ArrayRef<DimLayout *> extra = {});

/// Builds `source` (with `sourceLayout`) in `targetLayout`: a reshape to one
/// dim per factor, a transpose, a reshape to the target dims. Both layouts
/// must hold the same factors after refine(). Returns null on failure.
Value materialize(OpBuilder &b, Location loc, Value source,
                  const Layout &sourceLayout, const Layout &targetLayout);

/// The static extent of `factors` (kDynamic if any factor is dynamic).
int64_t extentOf(ArrayRef<Factor> factors);

} // namespace mlir::adamas::raise

#endif // ADAMAS_LIB_DIALECT_ADAMAS_TRANSFORMS_LAYOUT_H
