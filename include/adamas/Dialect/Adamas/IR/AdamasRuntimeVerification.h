//===- AdamasRuntimeVerification.h - Run-time checks ----------*- C++ -*-===//
//
// External RuntimeVerifiableOpInterface models of the adamas ops: with them,
// upstream `-generate-runtime-verification` inserts a `cf.assert` before each
// op for every rule of DESIGN.md section 2 that relates sizes which are
// dynamic in the IR (the op verifiers check the static ones).
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_DIALECT_ADAMAS_IR_ADAMASRUNTIMEVERIFICATION_H
#define ADAMAS_DIALECT_ADAMAS_IR_ADAMASRUNTIMEVERIFICATION_H

namespace mlir {
class DialectRegistry;

namespace adamas {
void registerRuntimeVerifiableOpInterfaceExternalModels(
    DialectRegistry &registry);
} // namespace adamas
} // namespace mlir

#endif // ADAMAS_DIALECT_ADAMAS_IR_ADAMASRUNTIMEVERIFICATION_H
