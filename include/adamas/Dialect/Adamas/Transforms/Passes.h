//===- Passes.h - Adamas dialect transformations ----------------*- C++ -*-===//
//
// Passes that bring model IR to the adamas dialect: adamas-raise-attention
// (decode attention -> hadamard, bucketize, l1_topk, sparse_attn) and
// adamas-cache-key-codes (key codes threaded through functions as a cache).
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_DIALECT_ADAMAS_TRANSFORMS_PASSES_H
#define ADAMAS_DIALECT_ADAMAS_TRANSFORMS_PASSES_H

#include "adamas/Dialect/Adamas/IR/AdamasDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace mlir::adamas {

#define GEN_PASS_DECL
#include "adamas/Dialect/Adamas/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "adamas/Dialect/Adamas/Transforms/Passes.h.inc"

} // namespace mlir::adamas

#endif // ADAMAS_DIALECT_ADAMAS_TRANSFORMS_PASSES_H
