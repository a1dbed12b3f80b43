//===- CudaDriver.h - The CUDA driver, loaded at run time -------*- C++ -*-===//
//
// The runtime never links libcuda: it dlopen()s the driver on first use and
// resolves a table of entry points (CudaDriverApi.h). The library therefore
// builds and unit-tests without CUDA; a machine without a driver gets an
// error that says which library was tried and why it failed, and a driver
// older than kMinimumDriverVersion or lacking an entry point is refused with
// the version or symbol named.
//
// ADAMAS_CUDA_DRIVER=/path/to/lib selects another library with the same
// symbols (the unit tests' fake driver) before falling back to libcuda.so.1.
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_RUNTIME_CUDADRIVER_H
#define ADAMAS_RUNTIME_CUDADRIVER_H

#include "CudaDriverApi.h"
#include "Status.h"

#include <atomic>
#include <memory>
#include <string>

namespace adamas::rt {

// The driver's types are used unqualified in the entry point table below.
using namespace adamas::cuda;

class CudaDriver {
public:
  /// Loads the driver library at `path`, resolves every entry point, checks
  /// the version and calls cuInit(0). On failure returns null and sets
  /// `error` to a message naming `path` and the reason.
  static std::unique_ptr<CudaDriver> load(const std::string &path,
                                          std::string *error);

  /// The process-wide driver: $ADAMAS_CUDA_DRIVER, else "libcuda.so.1",
  /// loaded once on first use and kept for the life of the process. A
  /// failure is remembered too: returns null with the same `error` each time.
  static const CudaDriver *get(std::string *error);

  /// The library get() loads.
  static std::string defaultPath();

  ~CudaDriver();
  CudaDriver(const CudaDriver &) = delete;
  CudaDriver &operator=(const CudaDriver &) = delete;

  /// cuDriverGetVersion's value, e.g. 13000 for CUDA 13.0.
  int version() const { return version_; }
  const std::string &path() const { return path_; }

  /// "cuModuleLoadData failed: CUDA_ERROR_INVALID_IMAGE (device kernel image
  /// is invalid)", with the driver's own name and description of `result`.
  std::string describeFailure(const char *call, cuda::CUresult result) const;

  /// Success for CUDA_SUCCESS; otherwise an ADAMAS_ERROR_CUDA status with
  /// describeFailure()'s message, counted in cudaErrorCount().
  Status check(cuda::CUresult result, const char *call) const;

  /// Failed driver calls seen by check() in this process.
  static uint64_t cudaErrorCount() { return errorCount.load(); }

  /// Whether the optional stream-ordered allocator entry points
  /// (cuMemAllocAsync, cuMemFreeAsync, cuDeviceGetDefaultMemPool,
  /// cuMemPoolSetAttribute) were all found.
  bool hasStreamOrderedAllocator() const {
    return cuMemAllocAsync && cuMemFreeAsync && cuDeviceGetDefaultMemPool &&
           cuMemPoolSetAttribute;
  }

#define ADAMAS_DECLARE_DRIVER_MEMBER(member, symbol, ret, params)              \
  ret(*member) params = nullptr;
  ADAMAS_CUDA_DRIVER_FUNCTIONS(ADAMAS_DECLARE_DRIVER_MEMBER)
  /// Null when the driver lacks them (see CudaDriverApi.h).
  ADAMAS_CUDA_DRIVER_OPTIONAL_FUNCTIONS(ADAMAS_DECLARE_DRIVER_MEMBER)
#undef ADAMAS_DECLARE_DRIVER_MEMBER

private:
  CudaDriver() = default;

  void *handle_ = nullptr;
  std::string path_;
  int version_ = 0;

  static std::atomic<uint64_t> errorCount;
};

/// "13.0" for 13000.
std::string formatDriverVersion(int version);

} // namespace adamas::rt

#endif // ADAMAS_RUNTIME_CUDADRIVER_H
