//===- Passes.h - Adamas conversion passes ----------------------*- C++ -*-===//

#ifndef ADAMAS_CONVERSION_PASSES_H
#define ADAMAS_CONVERSION_PASSES_H

#include "adamas/Conversion/AdamasToGPU/AdamasToGPU.h"
#include "adamas/Conversion/AdamasToLinalg/AdamasToLinalg.h"
#include "adamas/Conversion/AssertToLLVM/AssertToLLVM.h"

namespace mlir::adamas {

#define GEN_PASS_REGISTRATION
#include "adamas/Conversion/Passes.h.inc"

} // namespace mlir::adamas

#endif // ADAMAS_CONVERSION_PASSES_H
