//===- AdamasDialect.cpp - Adamas dialect ---------------------------------===//

#include "adamas/Dialect/Adamas/IR/AdamasDialect.h"
#include "adamas/Dialect/Adamas/IR/AdamasOps.h"

using namespace mlir;
using namespace mlir::adamas;

#include "adamas/Dialect/Adamas/IR/AdamasOpsDialect.cpp.inc"

void AdamasDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "adamas/Dialect/Adamas/IR/AdamasOps.cpp.inc"
      >();
}
