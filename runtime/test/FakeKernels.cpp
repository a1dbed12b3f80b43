//===- FakeKernels.cpp - Host emulation of the test programs' kernels -----===//

#include "FakeKernels.h"

#include <cstdint>

namespace {
/// Parameter `index` as a T (params[i] points at the argument's value).
template <typename T> T param(void **params, int index) {
  return *static_cast<T *>(params[index]);
}

/// The aligned data pointer of a rank-1 memref whose expansion starts at
/// parameter `first` (allocated, aligned, offset, size, stride).
template <typename T> T *memrefData(void **params, int first) {
  return param<T *>(params, first + 1) + param<int64_t>(params, first + 2);
}

/// Calls body(globalThreadIndex) for every thread of a 1-D launch.
template <typename Body>
void forEachThread(const unsigned grid[3], const unsigned block[3], Body body) {
  for (uint64_t b = 0; b < grid[0]; ++b)
    for (uint64_t t = 0; t < block[0]; ++t)
      body(b * block[0] + t, b, t);
}
} // namespace

bool runFakeKernel(const std::string &name, const unsigned grid[3],
                   const unsigned block[3], void **params) {
  if (name == "vecadd") {
    // vecadd(a, b, c: memref<?xf32>, n: index): c[i] = a[i] + b[i].
    if (!params)
      return false;
    float *a = memrefData<float>(params, 0);
    float *b = memrefData<float>(params, 5);
    float *c = memrefData<float>(params, 10);
    int64_t n = param<int64_t>(params, 15);
    forEachThread(grid, block, [&](uint64_t i, uint64_t, uint64_t) {
      if (int64_t(i) < n)
        c[i] = a[i] + b[i];
    });
    return true;
  }
  if (name == "block_sum") {
    // block_sum(in: memref<?xi32>, out: memref<1xi32>, n: index): grid-
    // stride partial sums, reduced per block, added atomically to out[0].
    if (!params)
      return false;
    const int32_t *in = memrefData<int32_t>(params, 0);
    int32_t *out = memrefData<int32_t>(params, 5);
    int64_t n = param<int64_t>(params, 10);
    uint64_t stride = uint64_t(grid[0]) * block[0];
    forEachThread(grid, block, [&](uint64_t start, uint64_t, uint64_t) {
      uint32_t sum = 0; // Wrapping, like the device's i32 adds.
      for (uint64_t i = start; int64_t(i) < n; i += stride)
        sum += uint32_t(in[i]);
      out[0] = int32_t(uint32_t(out[0]) + sum);
    });
    return true;
  }
  if (name == "add_index") {
    // add_index(x: memref<?xi32>, n: index): x[i] += i.
    if (!params)
      return false;
    int32_t *x = memrefData<int32_t>(params, 0);
    int64_t n = param<int64_t>(params, 5);
    forEachThread(grid, block, [&](uint64_t i, uint64_t, uint64_t) {
      if (int64_t(i) < n)
        x[i] = int32_t(uint32_t(x[i]) + uint32_t(i));
    });
    return true;
  }
  return true;
}
