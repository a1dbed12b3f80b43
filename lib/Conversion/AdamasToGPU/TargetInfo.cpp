//===- TargetInfo.cpp - What the GPU lowering needs of a chip -------------===//

#include "adamas/Conversion/AdamasToGPU/TargetInfo.h"

using namespace mlir::adamas;

std::optional<TargetInfo> TargetInfo::get(llvm::StringRef chip,
                                          int64_t numMultiprocessors,
                                          int64_t maxClusterSize) {
  unsigned capability = 0;
  if (!chip.consume_front("sm_") || chip.consumeInteger(10, capability) ||
      !(chip.empty() || chip == "a") || capability < 80)
    return std::nullopt;
  TargetInfo info;
  info.chip = "sm_" + std::to_string(capability) + chip.str();
  info.computeCapability = capability;
  // Flagship parts: A100 108, H100/H200 SXM 132; others are close enough
  // for sizing grids, and the pipeline option overrides it.
  int64_t usual = capability >= 90 ? 132 : capability == 80 ? 108 : 84;
  info.numMultiprocessors = numMultiprocessors > 0 ? numMultiprocessors : usual;
  info.l2Bytes = int64_t(capability >= 90 ? 50 : 40) << 20;
  int64_t chipClusters = capability >= 90 ? 16 : 0;
  if (maxClusterSize > chipClusters)
    return std::nullopt;
  info.maxClusterSize = maxClusterSize < 0 ? chipClusters : maxClusterSize;
  return info;
}
