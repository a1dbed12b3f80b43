//===- TensorLowering.h - Helpers of the reference lowering -----*- C++ -*-===//
//
// Private to AdamasToLinalg: tensor-level helpers of the per-op patterns
// (row nests that thread a result tensor, scratch rows, result casts) and
// the per-op pattern registrations. Scalar builders and the code arithmetic
// shared with the GPU lowering live in Dialect/Adamas/Utils.
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_LIB_CONVERSION_ADAMASTOLINALG_TENSORLOWERING_H
#define ADAMAS_LIB_CONVERSION_ADAMASTOLINALG_TENSORLOWERING_H

#include "adamas/Dialect/Adamas/Utils/BuilderUtils.h"

#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir {
class ConversionPatternRewriter;

namespace adamas {

/// Size of dimension `dim` of a tensor as an index value.
Value dimSize(ImplicitLocOpBuilder &b, Value tensor, int64_t dim);

/// An `scf.for` nest over `[0, ubs[i])` that threads `init` (the result
/// tensor) through every level; `body` gets the induction variables and the
/// current tensor and returns the updated one. With no bounds, `body` runs
/// once, unnested.
Value buildRowNest(
    ImplicitLocOpBuilder &b, ArrayRef<Value> ubs, Value init,
    function_ref<Value(ImplicitLocOpBuilder &, ValueRange ivs, Value tensor)>
        body);

/// `tensor.empty` of `type`, taking the dynamic sizes from `sizes` (one per
/// dimension).
Value emptyTensor(ImplicitLocOpBuilder &b, Type type, ArrayRef<Value> sizes);

/// Replaces `op` by `result`, cast to the op's result type where the
/// lowering inferred a more static one.
void replaceWithResult(ConversionPatternRewriter &rewriter, Operation *op,
                       Value result);

/// Scratch memory for one row, reused by every row of an op. It is not freed
/// here: the ownership-based deallocation that has to follow bufferization
/// frees it like any buffer that bufferization allocates. (An explicit
/// `memref.dealloc` would have to be marked `manual_deallocation`, and the
/// canonicalizer drops that mark when it makes a dynamic size static.)
Value allocScratch(ImplicitLocOpBuilder &b, Type elementType, Value size);

/// One pattern per op, each in its own file.
void populateHadamardToLinalgPattern(RewritePatternSet &patterns);
void populateBucketizeToLinalgPattern(RewritePatternSet &patterns);
void populateL1TopKToLinalgPattern(RewritePatternSet &patterns);
void populateSparseAttnToLinalgPattern(RewritePatternSet &patterns);
void populateCacheWriteToLinalgPattern(RewritePatternSet &patterns);

} // namespace adamas
} // namespace mlir

#endif // ADAMAS_LIB_CONVERSION_ADAMASTOLINALG_TENSORLOWERING_H
