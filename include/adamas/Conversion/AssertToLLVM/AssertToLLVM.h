//===- AssertToLLVM.h - cf.assert to a message on stderr --------*- C++ -*-===//

#ifndef ADAMAS_CONVERSION_ASSERTTOLLVM_ASSERTTOLLVM_H
#define ADAMAS_CONVERSION_ASSERTTOLLVM_ASSERTTOLLVM_H

#include "mlir/Pass/Pass.h"

namespace mlir::adamas {

#define GEN_PASS_DECL_ADAMASASSERTTOLLVM
#include "adamas/Conversion/Passes.h.inc"

} // namespace mlir::adamas

#endif // ADAMAS_CONVERSION_ASSERTTOLLVM_ASSERTTOLLVM_H
