//===- EncodeRow.h - One row encoded by one warp ----------------*- C++ -*-===//
//
// The warp-per-row encoding of EncodeKernel.cpp (DESIGN.md section 4, stage
// 1), for every kernel that encodes rows: the encode kernel itself, and the
// select's histogram pass, which encodes its queries where l1_topk's query
// codes are a bucketize of the query (SelectConfig::encodesQueries). A warp
// holds one row of D values, lane l the dims l + 32 j (j < D / 32).
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_LIB_CONVERSION_ADAMASTOGPU_ENCODEROW_H
#define ADAMAS_LIB_CONVERSION_ADAMASTOGPU_ENCODEROW_H

#include "KernelBuilder.h"
#include "Kernels.h"

namespace mlir::adamas {

/// Row `row` of `input` (a flat `memref<?xT>` of rows of `dims` values):
/// lane l's values, dims l + 32 j, as f32.
SmallVector<Value> loadWarpRow(KernelBuilder &kb, Value input, Value row,
                               int64_t dims);

/// The row's values after the Hadamard transform (with `problem.hadamard`)
/// rounded once to `elementType`: what the hadamard op computes, and what
/// bucketize compares.
SmallVector<Value> transformWarpRow(KernelBuilder &kb,
                                    const EncodeProblem &problem,
                                    Type elementType, SmallVector<Value> values);

/// The row's code words from its (transformed, rounded) values and the
/// bucketize `thresholds` (f32): word g * b + p is the ballot of bit p of
/// the codes of dims 32 g .. 32 g + 31, the same in every lane.
SmallVector<Value> codeWordsOfWarpRow(KernelBuilder &kb, int64_t bits,
                                      ArrayRef<Value> rounded,
                                      ArrayRef<Value> thresholds);

/// The bucketize thresholds (f32) of `job` for row `row` of its
/// <B x H x R x D> input (index values; `rowsPerHead` R, `heads` H): its
/// constants, or with EncodeJob::headThresholds row (row / R) % H of the
/// kernel's per-head thresholds `headThresholds` (the other arguments are
/// unused without them).
SmallVector<Value> rowThresholds(KernelBuilder &kb, const EncodeJob &job,
                                 Value headThresholds, Value row,
                                 Value rowsPerHead, Value heads);

/// Word `lane` of `words` in each lane (lanes past the last word get word
/// 0), so that lanes < W store a row's words in one coalesced store.
Value laneWord(KernelBuilder &kb, ArrayRef<Value> words);

} // namespace mlir::adamas

#endif // ADAMAS_LIB_CONVERSION_ADAMASTOGPU_ENCODEROW_H
