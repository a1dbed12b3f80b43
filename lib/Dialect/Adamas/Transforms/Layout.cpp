//===- Layout.cpp - Which logical axes each tensor dim holds --------------===//

#include "Layout.h"
#include "TensorExpr.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/STLExtras.h"

#include <deque>
#include <map>
#include <set>

using namespace mlir;
using namespace mlir::adamas::raise;

static bool isDynamic(int64_t e) { return ShapedType::isDynamic(e); }

int64_t mlir::adamas::raise::extentOf(ArrayRef<Factor> factors) {
  int64_t e = 1;
  for (const Factor &f : factors) {
    if (isDynamic(f.extent))
      return ShapedType::kDynamic;
    e *= f.extent;
  }
  return e;
}

DimLayout mlir::adamas::raise::normalize(ArrayRef<Factor> factors) {
  DimLayout out;
  for (const Factor &f : factors) {
    if (f.extent == 1)
      continue;
    if (!out.empty()) {
      Factor &prev = out.back();
      // prev is major: contiguous when it starts where f ends.
      if (prev.axis == f.axis && !isDynamic(f.extent) &&
          prev.stride == f.stride * f.extent) {
        prev.stride = f.stride;
        prev.extent = isDynamic(prev.extent) ? ShapedType::kDynamic
                                             : prev.extent * f.extent;
        continue;
      }
    }
    out.push_back(f);
  }
  return out;
}

DimLayout mlir::adamas::raise::flatten(const Layout &layout) {
  DimLayout out;
  for (const DimLayout &dim : layout)
    out.append(dim.begin(), dim.end());
  return out;
}

/// Static product of the dims of `shape` in [from, first dynamic dim).
static int64_t staticRun(ArrayRef<int64_t> shape, size_t from) {
  int64_t p = 1;
  for (size_t i = from; i < shape.size() && !isDynamic(shape[i]); ++i)
    p *= shape[i];
  return p;
}

/// Static product of the factors in [from, first dynamic factor).
static int64_t staticRun(const std::deque<Factor> &factors, size_t from) {
  int64_t p = 1;
  for (size_t i = from; i < factors.size() && !isDynamic(factors[i].extent);
       ++i)
    p *= factors[i].extent;
  return p;
}

/// Takes `want` digits (a divisor-compatible amount) off the front of
/// `rest` into `dim`, splitting the front factor if it is larger.
static bool take(std::deque<Factor> &rest, int64_t want, DimLayout &dim) {
  while (want > 1) {
    if (rest.empty())
      return false;
    Factor f = rest.front();
    if (isDynamic(f.extent))
      return false;
    if (f.extent <= want) {
      if (want % f.extent)
        return false;
      dim.push_back(f);
      rest.pop_front();
      want /= f.extent;
      continue;
    }
    if (f.extent % want)
      return false;
    // The major part of f goes to this dim, the minor part stays.
    int64_t minor = f.extent / want;
    dim.push_back({f.axis, f.stride * minor, want});
    rest.front() = {f.axis, f.stride, minor};
    want = 1;
  }
  return true;
}

std::optional<Layout>
mlir::adamas::raise::reshapeLayout(const Layout &layout,
                                   ArrayRef<int64_t> shape) {
  DimLayout flat = normalize(flatten(layout));
  std::deque<Factor> rest(flat.begin(), flat.end());
  Layout out;
  for (size_t d = 0; d < shape.size(); ++d) {
    DimLayout dim;
    if (!isDynamic(shape[d])) {
      if (!take(rest, shape[d], dim))
        return std::nullopt;
      out.push_back(dim);
      continue;
    }
    // A dynamic dim holds one dynamic factor, the static factors in front
    // of it, and the static factors after it that the following static dims
    // (up to the next dynamic one) do not need.
    while (!rest.empty() && !isDynamic(rest.front().extent)) {
      dim.push_back(rest.front());
      rest.pop_front();
    }
    if (rest.empty())
      return std::nullopt;
    dim.push_back(rest.front());
    rest.pop_front();
    int64_t needed = staticRun(shape, d + 1);
    int64_t have = staticRun(rest, 0);
    if (have % needed)
      return std::nullopt;
    if (!take(rest, have / needed, dim))
      return std::nullopt;
    out.push_back(dim);
  }
  if (!rest.empty())
    return std::nullopt;
  return out;
}

std::optional<Layout>
mlir::adamas::raise::layoutOfSource(const Layout &layout, AffineMap map,
                                    SmallVectorImpl<Factor> *broadcast) {
  if (map.getNumDims() != layout.size())
    return std::nullopt;
  Layout out;
  SmallVector<bool> read(layout.size(), false);
  for (AffineExpr e : map.getResults()) {
    if (auto dim = dyn_cast<AffineDimExpr>(e)) {
      unsigned p = dim.getPosition();
      if (read[p])
        return std::nullopt; // a diagonal
      read[p] = true;
      out.push_back(layout[p]);
      continue;
    }
    auto c = dyn_cast<AffineConstantExpr>(e);
    if (!c || c.getValue() != 0)
      return std::nullopt;
    out.push_back({});
  }
  for (auto [p, r] : llvm::enumerate(read)) {
    if (r || layout[p].empty())
      continue;
    if (!broadcast)
      return std::nullopt;
    broadcast->append(layout[p].begin(), layout[p].end());
  }
  return out;
}

bool mlir::adamas::raise::matchesShape(const Layout &layout,
                                       ArrayRef<int64_t> shape) {
  if (layout.size() != shape.size())
    return false;
  for (auto [dim, extent] : llvm::zip(layout, shape)) {
    int64_t e = extentOf(dim);
    if (!isDynamic(extent) && !isDynamic(e) && e != extent)
      return false;
    if (!isDynamic(extent) && isDynamic(e))
      return false;
  }
  return true;
}

std::optional<Layout>
mlir::adamas::raise::layoutOfReader(const Layout &sourceLayout,
                                    AffineMap map,
                                    ArrayRef<int64_t> readerShape) {
  if (map.getNumResults() != sourceLayout.size())
    return std::nullopt;
  Layout out(map.getNumDims());
  SmallVector<bool> set(map.getNumDims(), false);
  for (auto [j, e] : llvm::enumerate(map.getResults())) {
    if (auto dim = dyn_cast<AffineDimExpr>(e)) {
      out[dim.getPosition()] = sourceLayout[j];
      set[dim.getPosition()] = true;
      continue;
    }
    // Read at index 0 only: fine for a unit dim of the source.
    if (!sourceLayout[j].empty())
      return std::nullopt;
  }
  // Dims the source does not index are broadcast copies: only unit dims
  // may be (their layout stays empty, which the shape check confirms).
  (void)set;
  if (!matchesShape(out, readerShape))
    return std::nullopt;
  return out;
}

std::optional<LayoutStep>
mlir::adamas::raise::layoutStepBack(Value value, ExprBuilder &builder) {
  Operation *def = value.getDefiningOp();
  if (!def)
    return std::nullopt;
  if (isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp, tosa::ReshapeOp>(
          def) &&
      isa<RankedTensorType>(def->getOperand(0).getType()))
    return LayoutStep{def->getOperand(0), AffineMap()};
  Expr *e = builder.build(value);
  if (!e || e->kind != ExprKind::Leaf || e->value == value)
    return std::nullopt;
  return LayoutStep{e->value, e->map};
}

void mlir::adamas::raise::refine(ArrayRef<Layout *> layouts,
                                 ArrayRef<DimLayout *> extra) {
  std::map<int, std::set<int64_t>> bounds;
  auto collect = [&](const DimLayout &dim) {
    for (const Factor &f : dim) {
      bounds[f.axis].insert(f.stride);
      if (!isDynamic(f.extent))
        bounds[f.axis].insert(f.stride * f.extent);
    }
  };
  for (Layout *l : layouts)
    for (DimLayout &dim : *l)
      collect(dim);
  for (DimLayout *dim : extra)
    collect(*dim);

  auto split = [&](DimLayout &dim) {
    DimLayout out;
    for (const Factor &f : dim) {
      // Boundaries strictly inside f, ascending.
      SmallVector<int64_t> cuts;
      for (int64_t b : bounds[f.axis])
        if (b > f.stride && (isDynamic(f.extent) || b < f.stride * f.extent) &&
            b % f.stride == 0 &&
            (isDynamic(f.extent) || (f.stride * f.extent) % b == 0))
          cuts.push_back(b);
      // Pieces minor -> major, emitted major -> minor.
      SmallVector<Factor> pieces;
      int64_t lo = f.stride;
      for (int64_t b : cuts) {
        pieces.push_back({f.axis, lo, b / lo});
        lo = b;
      }
      pieces.push_back({f.axis, lo,
                        isDynamic(f.extent) ? ShapedType::kDynamic
                                            : f.stride * f.extent / lo});
      out.append(pieces.rbegin(), pieces.rend());
    }
    dim = out;
  };
  for (Layout *l : layouts)
    for (DimLayout &dim : *l)
      split(dim);
  for (DimLayout *dim : extra)
    split(*dim);
}

//===----------------------------------------------------------------------===//
// materialize
//===----------------------------------------------------------------------===//

/// Groups for a reshape between `dims` (each with a list of atoms, empty =
/// unit dim) and the list of their non-empty dims: unit dims join the group
/// of the next non-empty dim (trailing ones the last group).
static SmallVector<ReassociationIndices>
unitGroups(ArrayRef<DimLayout> dims) {
  SmallVector<ReassociationIndices> groups;
  ReassociationIndices pending;
  for (auto [i, dim] : llvm::enumerate(dims)) {
    pending.push_back(i);
    if (!dim.empty()) {
      groups.push_back(pending);
      pending.clear();
    }
  }
  if (!pending.empty() && !groups.empty())
    groups.back().append(pending.begin(), pending.end());
  return groups;
}

static SmallVector<int64_t> shapeOf(ArrayRef<DimLayout> dims) {
  SmallVector<int64_t> shape;
  for (const DimLayout &dim : dims)
    shape.push_back(extentOf(dim));
  return shape;
}

static Value collapse(OpBuilder &b, Location loc, Value v,
                      ArrayRef<ReassociationIndices> groups) {
  return tensor::CollapseShapeOp::create(b, loc, v, groups);
}

/// Whether an expand_shape can infer its output sizes: at most one dynamic
/// dim per group.
static bool inferable(ArrayRef<int64_t> shape,
                      ArrayRef<ReassociationIndices> groups) {
  return llvm::all_of(groups, [&](const ReassociationIndices &group) {
    return llvm::count_if(group, [&](int64_t d) {
             return ShapedType::isDynamic(shape[d]);
           }) <= 1;
  });
}

/// Null when the output sizes cannot be inferred.
static Value expand(OpBuilder &b, Location loc, Value v,
                    ArrayRef<int64_t> shape,
                    ArrayRef<ReassociationIndices> groups) {
  if (!v || !inferable(shape, groups))
    return nullptr;
  auto type = RankedTensorType::get(
      shape, cast<RankedTensorType>(v.getType()).getElementType());
  return tensor::ExpandShapeOp::create(b, loc, type, v, groups);
}

Value mlir::adamas::raise::materialize(OpBuilder &b, Location loc,
                                       Value source,
                                       const Layout &sourceLayout,
                                       const Layout &targetLayout) {
  Layout src = sourceLayout, dst = targetLayout;
  refine({&src, &dst});
  auto type = cast<RankedTensorType>(source.getType());
  if (static_cast<int64_t>(src.size()) != type.getRank())
    return nullptr;

  // Sizes the factors know but the type lost (a cast to dynamic dims).
  SmallVector<int64_t> known = shapeOf(src);
  for (auto [t, k] : llvm::zip(type.getShape(), known))
    if (!isDynamic(t) && !isDynamic(k) && t != k)
      return nullptr;
  Value v = source;
  if (llvm::any_of(llvm::zip(type.getShape(), known), [](auto p) {
        return isDynamic(std::get<0>(p)) && !isDynamic(std::get<1>(p));
      })) {
    SmallVector<int64_t> refined;
    for (auto [t, k] : llvm::zip(type.getShape(), known))
      refined.push_back(isDynamic(t) ? k : t);
    v = tensor::CastOp::create(
        b, loc, RankedTensorType::get(refined, type.getElementType()), v);
  }

  DimLayout atoms = flatten(src);
  DimLayout targetAtoms = flatten(dst);
  // Sizes first: zip_equal asserts them equal.
  if (src.size() == dst.size() &&
      llvm::all_of(llvm::zip_equal(src, dst), [](auto p) {
        return normalize(std::get<0>(p)) == normalize(std::get<1>(p));
      }))
    return v;
  // Same order of factors: one reshape, if it is a plain collapse or
  // expand of the shapes.
  if (atoms == targetAtoms) {
    auto vType = cast<RankedTensorType>(v.getType());
    auto dstType =
        RankedTensorType::get(shapeOf(dst), vType.getElementType());
    if (vType.getRank() > dstType.getRank()) {
      if (auto groups = getReassociationIndicesForReshape(vType, dstType))
        return tensor::CollapseShapeOp::create(b, loc, dstType, v, *groups);
    } else if (vType.getRank() < dstType.getRank()) {
      auto groups = getReassociationIndicesForReshape(vType, dstType);
      if (groups && inferable(dstType.getShape(), *groups))
        return tensor::ExpandShapeOp::create(b, loc, dstType, v, *groups);
    }
  }

  // 1. One dim per factor: drop unit dims, split the others.
  SmallVector<DimLayout> nonEmpty;
  for (const DimLayout &dim : src)
    if (!dim.empty())
      nonEmpty.push_back(dim);
  if (nonEmpty.empty())
    return nullptr;
  if (nonEmpty.size() != src.size())
    v = collapse(b, loc, v, unitGroups(src));
  if (atoms.size() != nonEmpty.size()) {
    SmallVector<ReassociationIndices> groups;
    int64_t next = 0;
    for (const DimLayout &dim : nonEmpty) {
      ReassociationIndices g;
      for (size_t i = 0; i < dim.size(); ++i)
        g.push_back(next++);
      groups.push_back(g);
    }
    SmallVector<int64_t> shape;
    for (const Factor &f : atoms)
      shape.push_back(f.extent);
    v = expand(b, loc, v, shape, groups);
    if (!v)
      return nullptr;
  }

  // 2. Transpose the factors into the target's order.
  if (targetAtoms.size() != atoms.size())
    return nullptr;
  SmallVector<int64_t> perm;
  SmallVector<bool> used(atoms.size(), false);
  for (const Factor &f : targetAtoms) {
    auto it = llvm::find_if(llvm::enumerate(atoms), [&](auto p) {
      return !used[p.index()] && p.value() == f;
    });
    if (it == llvm::enumerate(atoms).end())
      return nullptr;
    used[(*it).index()] = true;
    perm.push_back((*it).index());
  }
  if (!llvm::equal(perm, llvm::seq<int64_t>(0, perm.size()))) {
    auto vType = cast<RankedTensorType>(v.getType());
    SmallVector<OpFoldResult> sizes;
    for (int64_t p : perm) {
      if (vType.isDynamicDim(p))
        sizes.push_back(tensor::DimOp::create(b, loc, v, p).getResult());
      else
        sizes.push_back(b.getIndexAttr(vType.getDimSize(p)));
    }
    Value init =
        tensor::EmptyOp::create(b, loc, sizes, vType.getElementType());
    v = linalg::TransposeOp::create(b, loc, v, init, perm).getResult()[0];
  }

  // 3. Group the factors into the target dims, then add its unit dims.
  SmallVector<DimLayout> targetNonEmpty;
  for (const DimLayout &dim : dst)
    if (!dim.empty())
      targetNonEmpty.push_back(dim);
  if (targetNonEmpty.empty())
    return nullptr;
  if (targetNonEmpty.size() != atoms.size()) {
    SmallVector<ReassociationIndices> groups;
    int64_t next = 0;
    for (const DimLayout &dim : targetNonEmpty) {
      ReassociationIndices g;
      for (size_t i = 0; i < dim.size(); ++i)
        g.push_back(next++);
      groups.push_back(g);
    }
    v = collapse(b, loc, v, groups);
  }
  if (targetNonEmpty.size() != dst.size())
    v = expand(b, loc, v, shapeOf(dst), unitGroups(dst));
  return v;
}
