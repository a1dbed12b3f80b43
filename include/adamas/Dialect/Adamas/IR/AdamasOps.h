//===- AdamasOps.h - Adamas operations --------------------------*- C++ -*-===//

#ifndef ADAMAS_DIALECT_ADAMAS_IR_ADAMASOPS_H
#define ADAMAS_DIALECT_ADAMAS_IR_ADAMASOPS_H

#include "adamas/Dialect/Adamas/IR/AdamasDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "adamas/Dialect/Adamas/IR/AdamasOps.h.inc"

#endif // ADAMAS_DIALECT_ADAMAS_IR_ADAMASOPS_H
