//===- ModuleCache.h - Process-wide cache of loaded modules -----*- C++ -*-===//
//
// Loading a module makes the driver parse the image and upload code, which
// costs milliseconds; host code and Python load the same few images over
// and over. The cache keys a loaded module by what determines it, the image
// contents (SHA-256), the device and the context, plus the JIT level for PTX,
// so the same bytes are loaded once per process however often, and from
// however many threads, they are asked for.
//
// Modules are reference counted; releasing the last reference keeps the
// module loaded (that is what makes a later load a hit) until trim().
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_RUNTIME_MODULECACHE_H
#define ADAMAS_RUNTIME_MODULECACHE_H

#include "CudaDriverApi.h"
#include "Hash.h"
#include "Status.h"

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace adamas::rt {

struct ModuleKey {
  Digest content;
  int device = 0;
  cuda::CUcontext context = nullptr;
  /// -1 for a binary image (cubin, fatbin), else the PTX JIT level.
  int jitOptLevel = -1;

  bool operator==(const ModuleKey &other) const {
    return content == other.content && device == other.device &&
           context == other.context && jitOptLevel == other.jitOptLevel;
  }
};

struct ModuleKeyHasher {
  size_t operator()(const ModuleKey &key) const;
};

class ModuleCache {
public:
  /// Loads the module of a key on a miss (the key's context is current).
  using Loader = std::function<Status(cuda::CUmodule *)>;
  /// Unloads a module loaded on `device`.
  using Unloader = std::function<void(cuda::CUmodule, int device)>;

  /// The cache behind mgpuModuleLoad and the C API; never destroyed.
  static ModuleCache &global();

  /// Returns the module of `key` with one more reference, calling `load`
  /// only if no module of that key is loaded. Concurrent misses on one key
  /// wait for the first one's load instead of loading again; if it fails,
  /// they all get its error and the next call tries again.
  Status acquire(const ModuleKey &key, const Loader &load,
                 cuda::CUmodule *out, bool *hit = nullptr);

  /// Drops a reference taken by acquire(); the module stays loaded. False if
  /// `module` did not come from this cache (or has no references left).
  bool release(cuda::CUmodule module);

  /// Unloads (with `unload`, outside the lock) every module without
  /// references and forgets it. Returns how many.
  size_t trim(const Unloader &unload);

  /// Whether `module` came from this cache and is still loaded.
  bool contains(cuda::CUmodule module) const;

  /// The device a module of this cache was loaded on; false if unknown.
  bool deviceOf(cuda::CUmodule module, int *device) const;

  struct Stats {
    uint64_t driverLoads = 0;
    uint64_t hits = 0;
    uint64_t resident = 0;
    uint64_t loadNsTotal = 0;
    uint64_t loadNsLast = 0;
    uint64_t hitNsLast = 0;
  };
  Stats stats() const;

  /// Records how long a hit took end to end (hashing included), measured by
  /// the caller that did the hashing.
  void recordHitTime(uint64_t nanoseconds);

private:
  struct Entry {
    ModuleKey key;
    cuda::CUmodule module = nullptr;
    size_t references = 0;
    enum class State { Loading, Ready, Failed } state = State::Loading;
    Status failure = Status::success();
  };

  mutable std::mutex mutex_;
  std::condition_variable loadFinished_;
  std::unordered_map<ModuleKey, std::shared_ptr<Entry>, ModuleKeyHasher>
      byKey_;
  std::unordered_map<cuda::CUmodule, std::shared_ptr<Entry>> byModule_;
  Stats stats_;
};

/// Monotonic nanoseconds, for the timing statistics.
uint64_t monotonicNanoseconds();

} // namespace adamas::rt

#endif // ADAMAS_RUNTIME_MODULECACHE_H
