//===- AdamasToLinalg.cpp - Reference lowering of adamas ops --------------===//
//
// The portable reference lowering of DESIGN.md section 3: the oracle that CI
// executes on the CPU. Every adamas op on tensors becomes
//
//   * `bucketize`: one `linalg.generic` (a bitwise-or reduction over the 32
//     dims of a code word);
//   * `hadamard`, `l1_topk`, `sparse_attn`: a `tensor.empty` result threaded
//     through an `scf.for` nest over the rows (`iter_args`, `tensor.insert`),
//     inputs read with `tensor.extract`; One-Shot Bufferize turns this into
//     in-place loads and stores.
//
// Per-row scratch (the f32 row of `hadamard`, the distances and histogram of
// `l1_topk`, the scores and f32 accumulator of `sparse_attn`) is one
// `memref.alloc` per op, made before the loops and reused by every row. It is
// freed by the buffer deallocation pipeline that has to follow bufferization
// anyway, like the buffers bufferization itself allocates.
//
// The aim is exactness and clarity, not speed: floating-point reductions are
// sequential in f32 and every result is rounded once to its element type.
//
// Each op's pattern lives in its own file (<Op>ToLinalg.cpp); the scalar
// builders and the code arithmetic they share with the GPU lowering are in
// Dialect/Adamas/Utils, the tensor-level helpers in TensorLowering.h.
//
//===----------------------------------------------------------------------===//

#include "adamas/Conversion/AdamasToLinalg/AdamasToLinalg.h"
#include "TensorLowering.h"
#include "adamas/Dialect/Adamas/IR/AdamasDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::adamas {
#define GEN_PASS_DEF_ADAMASLOWERTOLINALG
#include "adamas/Conversion/Passes.h.inc"
} // namespace mlir::adamas

using namespace mlir;
using namespace mlir::adamas;

//===----------------------------------------------------------------------===//
// Pass
//===----------------------------------------------------------------------===//

void mlir::adamas::populateAdamasToLinalgPatterns(RewritePatternSet &patterns) {
  populateHadamardToLinalgPattern(patterns);
  populateBucketizeToLinalgPattern(patterns);
  populateL1TopKToLinalgPattern(patterns);
  populateSparseAttnToLinalgPattern(patterns);
  populateCacheWriteToLinalgPattern(patterns);
}

namespace {
struct AdamasLowerToLinalgPass
    : adamas::impl::AdamasLowerToLinalgBase<AdamasLowerToLinalgPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    populateAdamasToLinalgPatterns(patterns);
    ConversionTarget target(*ctx);
    target.addIllegalDialect<AdamasDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
