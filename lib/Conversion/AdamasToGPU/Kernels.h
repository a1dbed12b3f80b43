//===- Kernels.h - The fused kernels of the GPU lowering --------*- C++ -*-===//
//
// One entry point per fused kernel family (one file each): given the host
// values of a fused group and its configuration, build the `gpu.func`(s)
// into the step's kernel module and emit their launches. The argument list
// of a kernel is defined once, in its file, for both sides.
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_LIB_CONVERSION_ADAMASTOGPU_KERNELS_H
#define ADAMAS_LIB_CONVERSION_ADAMASTOGPU_KERNELS_H

#include "HostBuilder.h"
#include "KernelBuilder.h"
#include "adamas/Conversion/AdamasToGPU/KernelConfig.h"

#include <array>

namespace mlir::adamas {

//===----------------------------------------------------------------------===//
// Encode (EncodeKernel.cpp): hadamard + bucketize + pack, warp per row.
//===----------------------------------------------------------------------===//

/// One group of rows to encode: `input` (`<... x D x T>`) through the
/// Hadamard transform and/or bucketize, into `output`.
struct EncodeJob {
  enum class Destination {
    /// The transformed rows (`<... x D x T>`), no codes.
    Values,
    /// Code words `<... x W x i32>`.
    Codes,
    /// Code words written into a cache `<B x H x N x W>` at each batch
    /// row's `lengths[b] - M + m` (adamas.cache_write fused in).
    Cache,
  };
  EncodeProblem problem;
  EncodeConfig config;
  Destination destination = Destination::Codes;
  Type elementType;
  SmallVector<float> thresholds;
  // Host memrefs; `headThresholds` is null without per-head thresholds,
  // `lengths` is set for the Cache destination only.
  Value input, headThresholds, output, lengths;
};

/// One kernel for all `jobs` (their CTAs side by side in x), one launch.
/// GridDependency::WaitLast where it runs after the step's other kernels and
/// shares no memory with them (the new keys' codes, written after the
/// attention where no selection ranks them).
void emitEncode(HostBuilder &host, StringRef name, ArrayRef<EncodeJob> jobs,
                GridDependency dependency = GridDependency::WaitFirst);

//===----------------------------------------------------------------------===//
// Select (SelectKernel.cpp): l1_topk.
//===----------------------------------------------------------------------===//

struct SelectLaunch {
  SelectProblem problem;
  SelectConfig config;
  /// The target's static shared memory per kernel (a kernel that builds on
  /// the histogram pass fits its key ring in what the rest leaves).
  int64_t maxSharedBytes = 0;
  // Host memrefs: query codes <B x Hq x M x W>, key codes <B x Hkv x N x W>,
  // lengths <B>, result <B x H' x M x k>.
  Value queryCodes, keyCodes, lengths, result;
  /// With config.encodesQueries: how the query codes are made (a Codes job
  /// whose `input` is the query <B x Hq x M x D>, `queryCodes` unset), which
  /// the histogram pass does itself.
  std::optional<EncodeJob> queryEncoding;
};

/// The kernels of a selection (emitSelect builds them). launchSelection
/// launches them: from emitSelect, or, where sparse_attn may plan and
/// compact the slots it attends itself (AttendConfig::compactsSelection),
/// from emitAttend, which chooses at run time whether the selection's plan
/// and compaction run, and when the histogram pass lets the next kernel
/// launch.
struct SelectionKernels {
  /// The selection (its problem and configuration).
  SelectLaunch launch;
  /// The select kernels' arguments (SelectKernels.h), which the attention
  /// kernels take first.
  SmallVector<Value> args;
  /// The histogram pass (launched by emitAttend too, which sets its
  /// kReleaseEarly argument) and its grid.
  gpu::GPUFuncOp hist;
  std::array<Value, 3> histGrid;
  /// With SelectConfig::ringPassMaxCtas: the pass with the key ring, and
  /// whether it replaces `hist` (i1: the grid is at most that many CTAs).
  gpu::GPUFuncOp histRing;
  Value ringTaken;
  gpu::GPUFuncOp threshold, compact, compactLong;
  /// Their grids: rows (threshold); rows x (chunks or 0), whichever the
  /// chunk length takes (compaction).
  Value rows, compactChunks, compactLongChunks;
  /// Positions per chunk at the capacity (index).
  Value chunkLength;
  /// With SelectConfig::gridSync: the grid-synchronised kernels over the
  /// histogram grid (short runs; long runs, distances in shared memory or
  /// through L2), whether that grid fits the chip at once (i1), whether the
  /// chunks take long runs (i1), and whether a chunk fits the long-run
  /// kernel's shared memory (i1).
  gpu::GPUFuncOp grid, gridLong, gridLongGlobal;
  Value gridFits, longRuns, longFitsShared;
};

/// Three kernels: per-chunk distances and histograms, the row plans
/// (threshold, each chunk's first slot), the ordered compaction of each
/// chunk; or, with `config.clusterChunks`, one kernel in thread block
/// clusters of a row group's chunks. With `deferred` (and no clusters) the
/// kernels are built into it but not launched.
void emitSelect(HostBuilder &host, StringRef name, const SelectLaunch &select,
                SelectionKernels *deferred = nullptr);
/// Launches `selection`'s kernels with `args` (its own, or with
/// kReleaseEarly changed): the grid-synchronised kernel where it is built
/// and the grid fits, else the histogram pass; then, unless that kernel ran
/// or `attentionCompacts` (i1; null: never) holds, the threshold and
/// compaction kernels.
void launchSelection(HostBuilder &host, const SelectionKernels &selection,
                     ValueRange args, Value attentionCompacts);

//===----------------------------------------------------------------------===//
// Attend (AttendKernel.cpp): sparse_attn.
//===----------------------------------------------------------------------===//

struct AttendLaunch {
  AttendProblem problem;
  AttendConfig config;
  Type elementType;
  float scale = 1.0f;
  // Host memrefs: query <B x Hq x M x D>, keys <B x Hkv x N x D>, values
  // <B x Hkv x N x Dv>, indices <B x H' x M x K>, result <B x Hq x M x Dv>.
  Value query, keys, values, indices, result;
  /// With config.compactsSelection: the selection that writes `indices`,
  /// whose compaction kernels this launches (or not).
  const SelectionKernels *selection = nullptr;
};

/// Two kernels: split-K partial softmax-weighted sums, then their f32 merge;
/// or, with `config.clusterMerge`, one kernel whose clusters (a row's
/// splits) merge the partials in the leader CTA's shared memory. With
/// `config.compactsSelection` the selection's compaction kernels are
/// launched first, with empty grids where the attention's CTAs compact
/// their slots themselves.
void emitAttend(HostBuilder &host, StringRef name, const AttendLaunch &attend);

} // namespace mlir::adamas

#endif // ADAMAS_LIB_CONVERSION_ADAMASTOGPU_KERNELS_H
