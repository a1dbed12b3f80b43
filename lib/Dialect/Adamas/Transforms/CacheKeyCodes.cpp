//===- CacheKeyCodes.cpp - adamas-cache-key-codes -------------------------===//

#include "adamas/Dialect/Adamas/Transforms/Passes.h"

namespace mlir::adamas {
#define GEN_PASS_DEF_ADAMASCACHEKEYCODES
#include "adamas/Dialect/Adamas/Transforms/Passes.h.inc"
} // namespace mlir::adamas

using namespace mlir;

namespace {
struct CacheKeyCodesPass
    : public adamas::impl::AdamasCacheKeyCodesBase<CacheKeyCodesPass> {
  void runOnOperation() override {}
};
} // namespace
