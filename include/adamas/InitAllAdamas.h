//===- InitAllAdamas.h - One registration point for every tool --*- C++ -*-===//
//
// adamas-opt, the pass plugin and embedding compilers register through these
// functions so that every tool sees the same dialects, passes and pipelines.
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_INITALLADAMAS_H
#define ADAMAS_INITALLADAMAS_H

namespace mlir {
class DialectRegistry;

namespace adamas {

/// The adamas dialect and the external interface models (bufferization,
/// deallocation) of the upstream ops its pipelines produce.
void registerAdamasDialects(DialectRegistry &registry);

/// Every adamas pass and pipeline.
void registerAdamasPasses();

/// Everything above plus all upstream dialects, extensions, passes and the
/// LLVM/GPU translations the adamas pipelines use (what adamas-opt offers).
void registerAllAdamasAndUpstream(DialectRegistry &registry);

} // namespace adamas
} // namespace mlir

#endif // ADAMAS_INITALLADAMAS_H
