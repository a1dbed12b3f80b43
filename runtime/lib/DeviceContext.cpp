//===- DeviceContext.cpp - Primary contexts and scoped activation ---------===//

#include "DeviceContext.h"

#include <mutex>
#include <unordered_map>

namespace adamas::rt {

Status getPrimaryContext(const CudaDriver &driver, int device,
                         cuda::CUcontext *out) {
  // Primary contexts are retained for the life of the process, so a thread
  // may remember the last one it asked for without locking.
  thread_local int lastDevice = -1;
  thread_local cuda::CUcontext lastContext = nullptr;
  if (device == lastDevice) {
    *out = lastContext;
    return Status::success();
  }
  static std::mutex mutex;
  static auto *contexts = new std::unordered_map<int, cuda::CUcontext>();
  std::lock_guard<std::mutex> lock(mutex);
  auto it = contexts->find(device);
  if (it != contexts->end()) {
    *out = lastContext = it->second;
    lastDevice = device;
    return Status::success();
  }
  cuda::CUdevice handle = 0;
  Status status = driver.check(driver.cuDeviceGet(&handle, device),
                               "cuDeviceGet");
  if (!status.ok())
    return Status::error(status.code(), "device " + std::to_string(device) +
                                            ": " + status.message());
  cuda::CUcontext context = nullptr;
  status = driver.check(driver.cuDevicePrimaryCtxRetain(&context, handle),
                        "cuDevicePrimaryCtxRetain");
  if (!status.ok())
    return Status::error(status.code(), "device " + std::to_string(device) +
                                            ": " + status.message());
  contexts->emplace(device, context);
  *out = lastContext = context;
  lastDevice = device;
  return Status::success();
}

ScopedContext::ScopedContext(const CudaDriver &driver, int device)
    : driver_(driver) {
  status_ = getPrimaryContext(driver, device, &context_);
  if (!status_.ok())
    return;
  // A failing query (it cannot, once the driver is initialized) just means
  // pushing, which reports any real problem.
  cuda::CUcontext current = nullptr;
  if (driver.cuCtxGetCurrent(&current) == cuda::CUDA_SUCCESS &&
      current == context_)
    return;
  status_ = driver.check(driver.cuCtxPushCurrent(context_), "cuCtxPushCurrent");
  pushed_ = status_.ok();
}

ScopedContext::~ScopedContext() {
  if (!pushed_)
    return;
  cuda::CUcontext popped = nullptr;
  // A failing pop cannot be returned from a destructor; it is counted and
  // would show up as the next call's wrong-context error.
  (void)driver_.check(driver_.cuCtxPopCurrent(&popped), "cuCtxPopCurrent");
}

} // namespace adamas::rt
