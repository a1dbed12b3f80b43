//===- KernelLaunch.cpp - Launching a kernel ------------------------------===//

#include "KernelLaunch.h"

#include "DeviceContext.h"
#include "FunctionCache.h"

#include <atomic>
#include <mutex>
#include <unordered_map>

namespace adamas::rt {

namespace {
std::atomic<uint64_t> launches{0};

/// Shared memory a kernel gets without opting in.
constexpr int64_t kDefaultSharedMemoryLimit = 48 * 1024;
/// CTAs per cluster every cluster-capable device runs without opting in.
constexpr int64_t kPortableClusterSize = 8;

std::string describeDims(const char *what, const int64_t dims[3]) {
  return std::string(what) + " (" + std::to_string(dims[0]) + ", " +
         std::to_string(dims[1]) + ", " + std::to_string(dims[2]) + ")";
}

bool fitsUnsigned(const int64_t dims[3], int64_t minimum) {
  for (int i = 0; i < 3; ++i)
    if (dims[i] < minimum || dims[i] > int64_t(UINT32_MAX))
      return false;
  return true;
}

/// The device's opt-in shared memory limit per block, queried once.
Status sharedMemoryOptInLimit(const CudaDriver &driver, int device,
                              int *limit) {
  static std::mutex mutex;
  static auto *limits = new std::unordered_map<int, int>();
  std::lock_guard<std::mutex> lock(mutex);
  auto found = limits->find(device);
  if (found != limits->end()) {
    *limit = found->second;
    return Status::success();
  }
  cuda::CUdevice handle = 0;
  Status status =
      driver.check(driver.cuDeviceGet(&handle, device), "cuDeviceGet");
  if (!status.ok())
    return status;
  status = driver.check(
      driver.cuDeviceGetAttribute(
          limit, cuda::CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
          handle),
      "cuDeviceGetAttribute(MAX_SHARED_MEMORY_PER_BLOCK_OPTIN)");
  if (status.ok())
    limits->emplace(device, *limit);
  return status;
}
/// How cuLaunchKernelEx is named in an error.
const char *launchKind(bool clustered, bool cooperative) {
  if (cooperative)
    return clustered ? "cuLaunchKernelEx (cooperative cluster launch)"
                     : "cuLaunchKernelEx (cooperative launch)";
  if (clustered)
    return "cuLaunchKernelEx (cluster launch)";
  return "cuLaunchKernelEx (programmatic dependent launch)";
}
} // namespace

uint64_t kernelLaunchCount() { return launches.load(); }

Status launchKernel(const CudaDriver &driver, const KernelLaunch &launch) {
  if (!launch.function)
    return Status::error(ADAMAS_ERROR_INVALID_ARGUMENT,
                         "null kernel function (did its module fail to "
                         "load, or the name lookup fail?)");
  // Only values an unsigned cannot hold are refused here, so that they are
  // not silently truncated; a zero block goes to the driver, which rejects
  // it like upstream.
  if (!fitsUnsigned(launch.grid, 0) || !fitsUnsigned(launch.block, 0))
    return Status::error(ADAMAS_ERROR_INVALID_ARGUMENT,
                         "launch dimensions out of range: " +
                             describeDims("grid", launch.grid) + ", " +
                             describeDims("block", launch.block));
  // A grid without a CTA is no work, and nothing is launched (upstream
  // would pass it to the driver, which rejects it): the generated host code
  // picks one of two forms of a kernel at run time by giving the other an
  // empty grid (sparse_attn's cluster merge, by batch).
  if (launch.grid[0] == 0 || launch.grid[1] == 0 || launch.grid[2] == 0)
    return Status::success();
  bool clustered = launch.cluster[0] || launch.cluster[1] || launch.cluster[2];
  if (clustered && !fitsUnsigned(launch.cluster, 1))
    return Status::error(ADAMAS_ERROR_INVALID_ARGUMENT,
                         "invalid " + describeDims("cluster", launch.cluster));
  if (launch.sharedMemBytes < 0 || launch.sharedMemBytes > int64_t(UINT32_MAX))
    return Status::error(ADAMAS_ERROR_INVALID_ARGUMENT,
                         "invalid dynamic shared memory size " +
                             std::to_string(launch.sharedMemBytes));

  ScopedContext context(driver, launch.device);
  if (!context.status().ok())
    return context.status();

  // Once per kernel (and size increase) for kernels of the function cache.
  if (launch.sharedMemBytes > kDefaultSharedMemoryLimit &&
      sharedMemoryOptIn(launch.function) < launch.sharedMemBytes) {
    int limit = 0;
    Status status = sharedMemoryOptInLimit(driver, launch.device, &limit);
    if (!status.ok())
      return status;
    if (launch.sharedMemBytes > limit)
      return Status::error(
          ADAMAS_ERROR_INVALID_ARGUMENT,
          "kernel asks for " + std::to_string(launch.sharedMemBytes) +
              " bytes of dynamic shared memory; device " +
              std::to_string(launch.device) + " allows at most " +
              std::to_string(limit));
    status = driver.check(
        driver.cuFuncSetAttribute(
            launch.function,
            cuda::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
            int(launch.sharedMemBytes)),
        "cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES)");
    if (!status.ok())
      return status;
    noteSharedMemoryOptIn(launch.function, launch.sharedMemBytes);
  }

  // Clusters above the portable size need the kernel's opt-in (sm_90 runs
  // 16); once per cached kernel. The driver still rejects what the device
  // cannot run.
  if (clustered &&
      launch.cluster[0] * launch.cluster[1] * launch.cluster[2] >
          kPortableClusterSize &&
      !nonPortableClusterOptIn(launch.function)) {
    Status status = driver.check(
        driver.cuFuncSetAttribute(
            launch.function,
            cuda::CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED, 1),
        "cuFuncSetAttribute(NON_PORTABLE_CLUSTER_SIZE_ALLOWED)");
    if (!status.ok())
      return status;
    noteNonPortableClusterOptIn(launch.function);
  }

  Status status = Status::success();
  if (!clustered && !launch.cooperative && !launch.programmatic) {
    status = driver.check(
        driver.cuLaunchKernel(
            launch.function, unsigned(launch.grid[0]), unsigned(launch.grid[1]),
            unsigned(launch.grid[2]), unsigned(launch.block[0]),
            unsigned(launch.block[1]), unsigned(launch.block[2]),
            unsigned(launch.sharedMemBytes), launch.stream, launch.params,
            launch.extra),
        "cuLaunchKernel");
  } else {
    cuda::CUlaunchAttribute attributes[3] = {};
    unsigned count = 0;
    if (clustered) {
      cuda::CUlaunchAttribute &attribute = attributes[count++];
      attribute.id = cuda::CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
      attribute.value.clusterDim.x = unsigned(launch.cluster[0]);
      attribute.value.clusterDim.y = unsigned(launch.cluster[1]);
      attribute.value.clusterDim.z = unsigned(launch.cluster[2]);
    }
    if (launch.cooperative) {
      cuda::CUlaunchAttribute &attribute = attributes[count++];
      attribute.id = cuda::CU_LAUNCH_ATTRIBUTE_COOPERATIVE;
      attribute.value.cooperative = 1;
    }
    if (launch.programmatic) {
      cuda::CUlaunchAttribute &attribute = attributes[count++];
      attribute.id = cuda::CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
      attribute.value.programmaticStreamSerializationAllowed = 1;
    }
    cuda::CUlaunchConfig config{};
    config.gridDimX = unsigned(launch.grid[0]);
    config.gridDimY = unsigned(launch.grid[1]);
    config.gridDimZ = unsigned(launch.grid[2]);
    config.blockDimX = unsigned(launch.block[0]);
    config.blockDimY = unsigned(launch.block[1]);
    config.blockDimZ = unsigned(launch.block[2]);
    config.sharedMemBytes = unsigned(launch.sharedMemBytes);
    config.hStream = launch.stream;
    config.attrs = attributes;
    config.numAttrs = count;
    status = driver.check(
        driver.cuLaunchKernelEx(&config, launch.function, launch.params,
                                launch.extra),
        launchKind(clustered, launch.cooperative));
  }
  if (status.ok())
    ++launches;
  return status;
}

} // namespace adamas::rt
