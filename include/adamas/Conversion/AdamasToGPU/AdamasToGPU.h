//===- AdamasToGPU.h - Fused GPU kernels of adamas decode steps -*- C++ -*-===//

#ifndef ADAMAS_CONVERSION_ADAMASTOGPU_ADAMASTOGPU_H
#define ADAMAS_CONVERSION_ADAMASTOGPU_ADAMASTOGPU_H

#include "mlir/Pass/Pass.h"

namespace mlir {
namespace adamas {

#define GEN_PASS_DECL_ADAMASLOWERTOGPU
#define GEN_PASS_DECL_ADAMASHOSTTODEVICEBUFFERS
#include "adamas/Conversion/Passes.h.inc"

} // namespace adamas
} // namespace mlir

#endif // ADAMAS_CONVERSION_ADAMASTOGPU_ADAMASTOGPU_H
