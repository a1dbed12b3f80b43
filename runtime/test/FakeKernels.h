//===- FakeKernels.h - Host emulation of the test programs' kernels -*- C++ -*-===//
//
// The fake driver cannot run GPU code, so for the kernels of the MLIR test
// programs (bench/runtime/*.mlir) it runs a host re-implementation of what
// they compute, reading the arguments in the layout MLIR's lowering passes
// them: each memref as (allocated, aligned, offset, sizes..., strides...),
// each index as an i64. Running the lowered host code against the fake then
// checks the calling convention end to end: parameter order and count, grid
// and block sizes, copy directions.
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_RUNTIME_TEST_FAKEKERNELS_H
#define ADAMAS_RUNTIME_TEST_FAKEKERNELS_H

#include <string>

/// Runs the emulation of kernel `name` over the whole grid. Kernels without
/// an emulation succeed without doing anything. False if the arguments are
/// unusable (e.g. null params for a known kernel).
bool runFakeKernel(const std::string &name, const unsigned grid[3],
                   const unsigned block[3], void **params);

#endif // ADAMAS_RUNTIME_TEST_FAKEKERNELS_H
