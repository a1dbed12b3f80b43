//===- DeviceMemory.cpp - Memory of mgpuMemAlloc and mgpuMemFree ----------===//

#include "DeviceMemory.h"

#include "Diagnostics.h"

#include <atomic>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

namespace adamas::rt {

namespace {
enum class Allocator { StreamOrdered, Synchronous };

/// Decides, once per device, which allocator its stream allocations use,
/// and configures the device's default pool for the stream-ordered one. A
/// failing driver query is returned and decides nothing.
Status allocatorFor(const CudaDriver &driver, int device, Allocator *out) {
  static std::mutex mutex;
  static auto *decided = new std::unordered_map<int, Allocator>();
  std::lock_guard<std::mutex> lock(mutex);
  auto found = decided->find(device);
  if (found != decided->end()) {
    *out = found->second;
    return Status::success();
  }
  const char *fallback = "; mgpuMemAlloc falls back to cuMemAlloc, which "
                         "synchronizes and cannot be captured in a CUDA graph";
  if (!driver.hasStreamOrderedAllocator()) {
    static std::atomic<bool> noted{false};
    if (!noted.exchange(true))
      warn("the CUDA driver '" + driver.path() + "' (version " +
           formatDriverVersion(driver.version()) +
           ") lacks the stream-ordered allocator (cuMemAllocAsync, "
           "cuMemFreeAsync, cuDeviceGetDefaultMemPool, cuMemPoolSetAttribute)" +
           fallback);
    decided->emplace(device, *out = Allocator::Synchronous);
    return Status::success();
  }
  cuda::CUdevice handle = 0;
  Status status =
      driver.check(driver.cuDeviceGet(&handle, device), "cuDeviceGet");
  if (!status.ok())
    return status;
  int pools = 0;
  status = driver.check(
      driver.cuDeviceGetAttribute(
          &pools, cuda::CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED, handle),
      "cuDeviceGetAttribute(MEMORY_POOLS_SUPPORTED)");
  if (!status.ok())
    return status;
  if (!pools) {
    warn("device " + std::to_string(device) + " has no memory pools" +
         fallback);
    decided->emplace(device, *out = Allocator::Synchronous);
    return Status::success();
  }
  // Keep what the pool has reserved across synchronizations: by default
  // (threshold 0) the pool returns freed memory to the OS at the next
  // synchronize, and the next step's cuMemAllocAsync has to get it back.
  cuda::CUmemoryPool pool = nullptr;
  uint64_t keepEverything = UINT64_MAX;
  status = driver.check(driver.cuDeviceGetDefaultMemPool(&pool, handle),
                        "cuDeviceGetDefaultMemPool");
  if (status.ok())
    status = driver.check(
        driver.cuMemPoolSetAttribute(
            pool, cuda::CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, &keepEverything),
        "cuMemPoolSetAttribute(RELEASE_THRESHOLD)");
  // Allocation is still correct and capturable, only slower: warn, go on.
  if (!status.ok())
    warn("device " + std::to_string(device) + ": " + status.message() +
         "; scratch memory may go back to the OS between steps");
  decided->emplace(device, *out = Allocator::StreamOrdered);
  return Status::success();
}

/// Pointers handed out by cuMemAllocAsync and not yet freed.
struct StreamOrderedPointers {
  std::mutex mutex;
  std::unordered_set<cuda::CUdeviceptr> live;

  static StreamOrderedPointers &get() {
    // Leaked: host code may free from global destructors.
    static auto *pointers = new StreamOrderedPointers();
    return *pointers;
  }
};
} // namespace

Status allocateDeviceMemory(const CudaDriver &driver, int device,
                            uint64_t bytes, cuda::CUstream stream,
                            cuda::CUdeviceptr *out) {
  Allocator allocator = Allocator::Synchronous;
  if (stream) {
    Status status = allocatorFor(driver, device, &allocator);
    if (!status.ok())
      return status;
  }
  if (allocator == Allocator::Synchronous)
    return driver.check(driver.cuMemAlloc(out, bytes), "cuMemAlloc");
  Status status = driver.check(driver.cuMemAllocAsync(out, bytes, stream),
                               "cuMemAllocAsync");
  if (!status.ok())
    return status;
  StreamOrderedPointers &pointers = StreamOrderedPointers::get();
  std::lock_guard<std::mutex> lock(pointers.mutex);
  pointers.live.insert(*out);
  return status;
}

Status freeDeviceMemory(const CudaDriver &driver, cuda::CUdeviceptr pointer,
                        cuda::CUstream stream) {
  StreamOrderedPointers &pointers = StreamOrderedPointers::get();
  bool streamOrdered;
  {
    // Forget the pointer before freeing it: once freed, the driver may hand
    // the same address to another thread's allocation, which records it.
    std::lock_guard<std::mutex> lock(pointers.mutex);
    streamOrdered = pointers.live.erase(pointer) != 0;
  }
  if (!streamOrdered)
    return driver.check(driver.cuMemFree(pointer), "cuMemFree");
  Status status =
      driver.check(driver.cuMemFreeAsync(pointer, stream), "cuMemFreeAsync");
  if (!status.ok()) { // Still allocated: a retry must free it the same way.
    std::lock_guard<std::mutex> lock(pointers.mutex);
    pointers.live.insert(pointer);
  }
  return status;
}

} // namespace adamas::rt
