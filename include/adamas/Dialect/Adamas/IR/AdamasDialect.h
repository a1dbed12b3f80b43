//===- AdamasDialect.h - Adamas dialect -------------------------*- C++ -*-===//

#ifndef ADAMAS_DIALECT_ADAMAS_IR_ADAMASDIALECT_H
#define ADAMAS_DIALECT_ADAMAS_IR_ADAMASDIALECT_H

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dialect.h"

#include "adamas/Dialect/Adamas/IR/AdamasOpsDialect.h.inc"

#endif // ADAMAS_DIALECT_ADAMAS_IR_ADAMASDIALECT_H
