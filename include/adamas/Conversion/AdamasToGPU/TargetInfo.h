//===- TargetInfo.h - What the GPU lowering needs of a chip -----*- C++ -*-===//
//
// The few target facts the kernel configurations depend on, behind one small
// interface (as Triton's TargetInfo): everything else about the chip reaches
// the kernels through upstream's NVVM lowering and `#nvvm.target`.
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_CONVERSION_ADAMASTOGPU_TARGETINFO_H
#define ADAMAS_CONVERSION_ADAMASTOGPU_TARGETINFO_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <string>

namespace mlir::adamas {

/// The global a kernel module declares when every kernel in it executes
/// `griddepcontrol.wait` before it touches global memory that the kernels
/// before it on the stream write or read (in practice first thing; a kernel
/// that touches none of it waits last, KernelBuilder's
/// GridDependency::WaitLast, so it still completes after them); the runtime
/// (runtime/lib/FunctionCache.h, the same name) then launches its kernels
/// with programmatic stream serialization.
inline constexpr llvm::StringLiteral kGridDependencyMarker =
    "adamas_grid_dependency_wait";

/// The suffix of the name of a kernel that synchronises its whole grid
/// (KernelBuilder::gridBarrier): the runtime (runtime/lib/FunctionCache.h,
/// the same suffix) launches such a kernel cooperatively, so that every CTA
/// is resident at once, or fails the launch where the grid cannot be. (A
/// name, not a global the runtime looks up: a lookup that fails is a CUDA
/// API error, which compute-sanitizer reports, for every other kernel.)
inline constexpr llvm::StringLiteral kGridSyncSuffix = "_gridsync";

struct TargetInfo {
  /// `sm_XY`.
  std::string chip;
  /// Compute capability, e.g. 90.
  int64_t computeCapability = 0;
  /// Multiprocessors to fill (the configurations size grids for it).
  int64_t numMultiprocessors = 0;
  /// Threads per warp.
  int64_t warpSize = 32;
  /// Static shared memory a kernel may declare without opting in.
  int64_t maxStaticSharedBytes = 48 * 1024;
  /// L2 cache bytes of the chip family's smaller flagship (A100 40 MB,
  /// H100 50 MB; the H200 has 60): what a step's data must exceed before
  /// the kernels spend instructions on keeping L2 clean.
  int64_t l2Bytes = 0;

  /// CTAs a thread block cluster may have (0: no clusters). sm_90 runs up
  /// to 16 with the non-portable opt-in the runtime makes above 8.
  int64_t maxClusterSize = 0;

  /// `griddepcontrol` (sm_90): kernels wait on the kernel before them in the
  /// kernel, so the runtime may launch them as programmatic dependents.
  bool hasGridDependencyControl() const { return computeCapability >= 90; }

  /// The target for `chip` ("sm_80", "sm_90", ...); nullopt if the chip is
  /// not an NVIDIA `sm_XY` of compute capability 8.0 or newer (the kernels
  /// use `redux`, `vote` and 16-byte loads as Ampere and Hopper offer them).
  /// `numMultiprocessors` of 0 takes the chip family's usual count.
  /// `maxClusterSize` below 0 (the default) takes the chip's, 0 turns
  /// clusters off; more than the chip allows is an error (nullopt).
  static std::optional<TargetInfo> get(llvm::StringRef chip,
                                       int64_t numMultiprocessors = 0,
                                       int64_t maxClusterSize = -1);
};

} // namespace mlir::adamas

#endif // ADAMAS_CONVERSION_ADAMASTOGPU_TARGETINFO_H
