//===- CudaDriver.cpp - The CUDA driver, loaded at run time ---------------===//

#include "CudaDriver.h"

#include <cstdlib>
#include <dlfcn.h>
#include <mutex>

namespace adamas::rt {

std::atomic<uint64_t> CudaDriver::errorCount{0};

std::string formatDriverVersion(int version) {
  return std::to_string(version / 1000) + "." +
         std::to_string((version % 1000) / 10);
}

std::string CudaDriver::defaultPath() {
  const char *override = std::getenv("ADAMAS_CUDA_DRIVER");
  if (override && *override)
    return override;
  return "libcuda.so.1";
}

std::unique_ptr<CudaDriver> CudaDriver::load(const std::string &path,
                                             std::string *error) {
  std::unique_ptr<CudaDriver> driver(new CudaDriver());
  driver->path_ = path;
  // RTLD_LOCAL: the driver's symbols must not leak into the process and
  // satisfy someone else's references.
  driver->handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!driver->handle_) {
    const char *reason = dlerror();
    *error = "cannot load the CUDA driver '" + path + "': " +
             (reason ? reason : "unknown dlopen error") +
             " (is an NVIDIA driver installed? ADAMAS_CUDA_DRIVER selects "
             "another library)";
    return nullptr;
  }

  std::string missing;
#define ADAMAS_RESOLVE_DRIVER_MEMBER(member, symbol, ret, params)              \
  driver->member =                                                             \
      reinterpret_cast<ret(*) params>(dlsym(driver->handle_, symbol));         \
  if (!driver->member)                                                         \
    missing += std::string(missing.empty() ? "" : ", ") + symbol;
  ADAMAS_CUDA_DRIVER_FUNCTIONS(ADAMAS_RESOLVE_DRIVER_MEMBER)
#undef ADAMAS_RESOLVE_DRIVER_MEMBER
#define ADAMAS_RESOLVE_OPTIONAL_MEMBER(member, symbol, ret, params)            \
  driver->member =                                                             \
      reinterpret_cast<ret(*) params>(dlsym(driver->handle_, symbol));
  ADAMAS_CUDA_DRIVER_OPTIONAL_FUNCTIONS(ADAMAS_RESOLVE_OPTIONAL_MEMBER)
#undef ADAMAS_RESOLVE_OPTIONAL_MEMBER

  // Ask for the version before complaining about symbols: a missing symbol
  // usually means an old driver, and the version says so plainly.
  int version = 0;
  if (driver->cuDriverGetVersion)
    driver->cuDriverGetVersion(&version);
  driver->version_ = version;
  std::string versionText =
      version ? "version " + formatDriverVersion(version) : "unknown version";
  if (version && version < cuda::kMinimumDriverVersion) {
    *error = "the CUDA driver '" + path + "' is too old: " + versionText +
             ", adamas needs " +
             formatDriverVersion(cuda::kMinimumDriverVersion) + " or newer";
    return nullptr;
  }
  if (!missing.empty()) {
    *error = "the CUDA driver '" + path + "' (" + versionText +
             ") lacks entry points adamas needs: " + missing +
             " (driver too old?)";
    return nullptr;
  }

  Status init = driver->check(driver->cuInit(0), "cuInit");
  if (!init.ok()) {
    *error = "cannot initialize the CUDA driver '" + path +
             "': " + init.message();
    return nullptr;
  }
  return driver;
}

const CudaDriver *CudaDriver::get(std::string *error) {
  static std::once_flag once;
  static const CudaDriver *instance = nullptr;
  static std::string *loadError = nullptr;
  std::call_once(once, [] {
    std::string message;
    // Deliberately leaked: generated host code unloads modules from global
    // destructors, which may run after ours would have.
    instance = load(defaultPath(), &message).release();
    if (!instance)
      loadError = new std::string(std::move(message));
  });
  if (!instance && error)
    *error = *loadError;
  return instance;
}

CudaDriver::~CudaDriver() {
  if (handle_)
    dlclose(handle_);
}

std::string CudaDriver::describeFailure(const char *call,
                                        cuda::CUresult result) const {
  const char *name = nullptr;
  const char *description = nullptr;
  if (cuGetErrorName)
    cuGetErrorName(result, &name);
  if (cuGetErrorString)
    cuGetErrorString(result, &description);
  std::string message = std::string(call) + " failed: ";
  message += name ? name : "CUDA error " + std::to_string(result);
  if (description)
    message += std::string(" (") + description + ")";
  return message;
}

Status CudaDriver::check(cuda::CUresult result, const char *call) const {
  if (result == cuda::CUDA_SUCCESS)
    return Status::success();
  ++errorCount;
  return Status::error(ADAMAS_ERROR_CUDA, describeFailure(call, result));
}

} // namespace adamas::rt
