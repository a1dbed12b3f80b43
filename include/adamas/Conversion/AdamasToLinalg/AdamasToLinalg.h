//===- AdamasToLinalg.h - Reference lowering of adamas ops ------*- C++ -*-===//

#ifndef ADAMAS_CONVERSION_ADAMASTOLINALG_ADAMASTOLINALG_H
#define ADAMAS_CONVERSION_ADAMASTOLINALG_ADAMASTOLINALG_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;

namespace adamas {

#define GEN_PASS_DECL_ADAMASLOWERTOLINALG
#include "adamas/Conversion/Passes.h.inc"

/// Adds the patterns that rewrite every adamas op into linalg, scf, tensor,
/// arith and math ops on tensors.
void populateAdamasToLinalgPatterns(RewritePatternSet &patterns);

} // namespace adamas
} // namespace mlir

#endif // ADAMAS_CONVERSION_ADAMASTOLINALG_ADAMASTOLINALG_H
