//===- cache_demo.cpp - The C API's caches on a real GPU ------------------===//
//
//   cache_demo CACHE_DIR KERNEL.ptx FALLBACK.cubin EXPECTED_SOURCE
//
// Gets the vecadd kernel of bench/runtime/vecadd.mlir through
// adamas_runtime_get_or_compile, with a compiler callback that runs ptxas on
// the PTX (or, without ptxas, returns the cubin the MLIR pipeline built), then
// loads it, launches it 100 times through adamas_launch with MLIR's memref
// calling convention, and checks the result. Prints where the artifact came
// from (compiler on a cold cache, disk in the next process) and the cold and
// warm times of each cache level, and exits non-zero if the result is wrong
// or the source differs from EXPECTED_SOURCE (compiler|disk).
//
//===----------------------------------------------------------------------===//

#include "adamas/mgpu.h"
#include "adamas/runtime.h"

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {
using Clock = std::chrono::steady_clock;

double microsecondsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in),
                     std::istreambuf_iterator<char>());
}

std::string findPtxas() {
  // PTXAS names the compiler; one that is not executable means "none".
  if (const char *explicitPath = std::getenv("PTXAS"))
    return access(explicitPath, X_OK) == 0 ? explicitPath : "";
  for (const char *candidate : {"/usr/local/cuda/bin/ptxas", "/usr/bin/ptxas"})
    if (access(candidate, X_OK) == 0)
      return candidate;
  return "";
}

struct Compiler {
  std::string ptxas;
  std::string fallbackCubin;
  int calls = 0;
  double lastMicroseconds = 0;
};

/// The compile-on-miss callback: PTX (the request's IR) to cubin.
int compileWithPtxas(void *userData, const adamas_compile_request_t *request,
                     const char *keyHex, adamas_compile_result_t *result) {
  auto *compiler = static_cast<Compiler *>(userData);
  ++compiler->calls;
  auto start = Clock::now();
  std::string cubin;
  if (compiler->ptxas.empty()) {
    cubin = readFile(compiler->fallbackCubin);
  } else {
    char dir[] = "/tmp/adamas-cache-demo-XXXXXX";
    if (!mkdtemp(dir)) {
      adamas_compile_result_set_error(result, "mkdtemp failed");
      return 1;
    }
    std::string ptxPath = std::string(dir) + "/kernel.ptx";
    std::string cubinPath = std::string(dir) + "/kernel.cubin";
    std::ofstream(ptxPath, std::ios::binary)
        .write(request->ir, std::streamsize(request->ir_size));
    pid_t pid = fork();
    if (pid == 0) {
      execl(compiler->ptxas.c_str(), "ptxas", "-arch", request->chip, "-O3",
            "-o", cubinPath.c_str(), ptxPath.c_str(), (char *)nullptr);
      _exit(127);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    cubin = readFile(cubinPath);
    unlink(ptxPath.c_str());
    unlink(cubinPath.c_str());
    rmdir(dir);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      adamas_compile_result_set_error(result, "ptxas failed");
      return 1;
    }
  }
  compiler->lastMicroseconds = microsecondsSince(start);
  std::fprintf(stderr, "cache_demo: compiled %.16s... with %s in %.1f ms\n",
               keyHex, compiler->ptxas.empty() ? "the fallback cubin" : "ptxas",
               compiler->lastMicroseconds / 1e3);
  adamas_compile_result_set_binary(result, cubin.data(), cubin.size());
  return cubin.empty() ? 1 : 0;
}

bool check(adamas_status_t status, const char *what) {
  if (status == ADAMAS_OK)
    return true;
  std::printf("FAIL %s: %s: %s\n", what, adamas_status_name(status),
              adamas_runtime_last_error());
  return false;
}

const char *sourceName(adamas_artifact_source_t source) {
  switch (source) {
  case ADAMAS_ARTIFACT_FROM_MEMORY:
    return "memory";
  case ADAMAS_ARTIFACT_FROM_DISK:
    return "disk";
  case ADAMAS_ARTIFACT_FROM_COMPILER:
    return "compiler";
  }
  return "?";
}
} // namespace

int main(int argc, char **argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s CACHE_DIR KERNEL.ptx FALLBACK.cubin "
                         "compiler|disk\n", argv[0]);
    return 2;
  }
  std::string cacheDir = argv[1], ptx = readFile(argv[2]);
  std::string expectedSource = argv[4];
  Compiler compiler{findPtxas(), argv[3]};

  auto start = Clock::now();
  if (!check(adamas_runtime_check_driver(), "driver"))
    return 1;
  double driverInitUs = microsecondsSince(start);
  // Create the primary context now so that it is not billed to module load.
  start = Clock::now();
  void *stream = mgpuStreamCreate();
  double contextUs = microsecondsSince(start);
  if (!stream)
    return 1;

  adamas_runtime_options_t options;
  std::memset(&options, 0, sizeof(options));
  options.struct_size = sizeof(options);
  options.cache_dir = cacheDir.c_str();
  adamas_runtime_t *runtime = nullptr;
  if (!check(adamas_runtime_create(ADAMAS_RUNTIME_API_VERSION, &options,
                                   &runtime),
             "create"))
    return 1;
  adamas_runtime_set_compiler(runtime, compileWithPtxas, &compiler);

  adamas_compile_request_t request;
  std::memset(&request, 0, sizeof(request));
  request.struct_size = sizeof(request);
  request.ir = ptx.data();
  request.ir_size = ptx.size();
  request.pipeline_options = "ptxas -O3";
  request.chip = "sm_90";
  request.compiler_version = "cache_demo 1 / CUDA 13 ptxas";

  const adamas_artifact_t *artifact = nullptr;
  adamas_artifact_source_t source;
  start = Clock::now();
  if (!check(adamas_runtime_get_or_compile(runtime, &request, &artifact,
                                           &source),
             "get_or_compile"))
    return 1;
  double firstGetUs = microsecondsSince(start);
  const char *firstSource = sourceName(source);

  constexpr int kRepeats = 1000;
  start = Clock::now();
  for (int i = 0; i < kRepeats; ++i)
    adamas_runtime_get_or_compile(runtime, &request, &artifact, &source);
  double memoryHitUs = microsecondsSince(start) / kRepeats;
  bool memorySourceOk = source == ADAMAS_ARTIFACT_FROM_MEMORY;
  // The same hit by key, without hashing the IR again.
  std::string key = adamas_artifact_key_hex(artifact);
  start = Clock::now();
  for (int i = 0; i < kRepeats; ++i)
    adamas_runtime_lookup(runtime, key.c_str(), &artifact, &source);
  double lookupHitUs = microsecondsSince(start) / kRepeats;
  memorySourceOk = memorySourceOk && source == ADAMAS_ARTIFACT_FROM_MEMORY;

  adamas_module_t *module = nullptr;
  start = Clock::now();
  if (!check(adamas_runtime_load_artifact(runtime, artifact, 0, &module),
             "load_artifact"))
    return 1;
  double coldLoadUs = microsecondsSince(start);
  start = Clock::now();
  for (int i = 0; i < kRepeats * 10; ++i)
    adamas_runtime_load_artifact(runtime, artifact, 0, &module);
  double warmArtifactLoadUs = microsecondsSince(start) / (kRepeats * 10);
  adamas_module_t *byBytes = nullptr;
  start = Clock::now();
  for (int i = 0; i < kRepeats; ++i) {
    adamas_runtime_load_module(runtime, adamas_artifact_data(artifact),
                               adamas_artifact_size(artifact), 0, &byBytes);
  }
  double warmBytesLoadUs = microsecondsSince(start) / kRepeats;

  adamas_function_t *function = nullptr;
  if (!check(adamas_module_get_function(module, "vecadd", &function),
             "get_function"))
    return 1;

  // vecadd(a, b, c: memref<?xf32>, n: index) in MLIR's kernel calling
  // convention: each memref is (allocated, aligned, offset, size, stride).
  const int64_t n = 1 << 20;
  std::vector<float> a(n), b(n), c(n, -1.0f);
  for (int64_t i = 0; i < n; ++i) {
    a[i] = float(i % 1000) * 0.5f;
    b[i] = float(i % 7) - 3.0f;
  }
  size_t bytes = size_t(n) * sizeof(float);
  void *da = mgpuMemAlloc(bytes, stream, false);
  void *db = mgpuMemAlloc(bytes, stream, false);
  void *dc = mgpuMemAlloc(bytes, stream, false);
  mgpuMemcpy(da, a.data(), bytes, stream);
  mgpuMemcpy(db, b.data(), bytes, stream);
  mgpuMemset32(dc, 0x7fc00000, size_t(n), stream); // Poison with NaN.
  int64_t zero = 0, one = 1, size = n;
  void *params[16] = {&da, &da, &zero, &size, &one, &db, &db, &zero,
                      &size, &one, &dc, &dc, &zero, &size, &one, &size};
  uint32_t grid[3] = {uint32_t((n + 255) / 256), 1, 1}, block[3] = {256, 1, 1};
  constexpr int kLaunches = 100;
  start = Clock::now();
  for (int i = 0; i < kLaunches; ++i)
    if (!check(adamas_launch(function, grid, block, 0, stream, params),
               "launch"))
      return 1;
  mgpuStreamSynchronize(stream);
  double launchUs = microsecondsSince(start) / kLaunches;
  mgpuMemcpy(c.data(), dc, bytes, stream);
  mgpuStreamSynchronize(stream);
  int64_t wrong = 0;
  for (int64_t i = 0; i < n; ++i)
    if (!(c[i] == a[i] + b[i]))
      ++wrong;
  mgpuMemFree(da, stream);
  mgpuMemFree(db, stream);
  mgpuMemFree(dc, stream);
  mgpuStreamDestroy(stream);

  adamas_runtime_stats_t stats;
  stats.struct_size = sizeof(stats);
  adamas_runtime_get_stats(runtime, &stats);
  bool ok = wrong == 0 && expectedSource == firstSource && memorySourceOk &&
            stats.module_driver_loads == 1 && stats.cuda_errors == 0 &&
            stats.kernel_launches == uint64_t(kLaunches);
  std::printf(
      "CACHE_DEMO %s source=%s expected=%s compiles=%d compile_ms=%.2f "
      "first_get_ms=%.3f memory_hit_us=%.2f lookup_hit_us=%.3f "
      "driver_init_ms=%.1f "
      "context_ms=%.1f cold_load_us=%.1f warm_load_artifact_us=%.3f "
      "warm_load_bytes_us=%.2f launch_us=%.2f wrong=%" PRId64
      " driver_loads=%" PRIu64 " module_hits=%" PRIu64 " disk_hits=%" PRIu64
      " corrupt_removed=%" PRIu64 " artifact_bytes=%zu key=%.16s\n",
      ok ? "PASS" : "FAIL", firstSource, expectedSource.c_str(), compiler.calls,
      compiler.lastMicroseconds / 1e3, firstGetUs / 1e3, memoryHitUs,
      lookupHitUs, driverInitUs / 1e3, contextUs / 1e3, coldLoadUs, warmArtifactLoadUs,
      warmBytesLoadUs, launchUs, wrong, stats.module_driver_loads,
      stats.module_cache_hits, stats.artifact_disk_hits,
      stats.artifact_corrupt_entries, adamas_artifact_size(artifact),
      adamas_artifact_key_hex(artifact));
  adamas_runtime_destroy(runtime);
  return ok ? 0 : 1;
}
