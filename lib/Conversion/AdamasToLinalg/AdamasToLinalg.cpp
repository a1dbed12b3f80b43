//===- AdamasToLinalg.cpp - Reference lowering of adamas ops --------------===//
// PLACEHOLDER: being written; not to be committed in this form.

#include "adamas/Conversion/AdamasToLinalg/AdamasToLinalg.h"
#include "adamas/Dialect/Adamas/IR/AdamasOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::adamas {
#define GEN_PASS_DEF_ADAMASLOWERTOLINALG
#include "adamas/Conversion/Passes.h.inc"
} // namespace mlir::adamas

using namespace mlir;
using namespace mlir::adamas;

void mlir::adamas::populateAdamasToLinalgPatterns(RewritePatternSet &) {}

namespace {
struct AdamasLowerToLinalgPass
    : adamas::impl::AdamasLowerToLinalgBase<AdamasLowerToLinalgPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateAdamasToLinalgPatterns(patterns);
    ConversionTarget target(getContext());
    target.addIllegalDialect<AdamasDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
