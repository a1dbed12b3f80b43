//===- programs_main.cpp - Runs the MLIR-lowered GPU test programs --------===//
//
// Host driver for bench/runtime/{vecadd,reduce,loop}.mlir after lowering by
// bench/gpu_prepare.sh: calls each program's llvm.emit_c_interface function,
// checks the results against values computed here on the host, and checks
// the runtime's statistics (each embedded module loaded by the driver once;
// the byte-identical vecadd_again module served by the module cache).
// Exits non-zero on any failure. Links only against libadamas_runtime.so.
//
// The same source runs on the GPU machine (bench/gpu_check.sh) and, with the
// fake driver emulating these kernels, in the runtime's unit tests.
//
//===----------------------------------------------------------------------===//

#include "adamas/runtime.h"

#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

namespace {
/// MLIR's descriptor of a rank-1 memref.
template <typename T> struct MemRef1D {
  T *allocated;
  T *aligned;
  int64_t offset;
  int64_t size;
  int64_t stride;
};

template <typename T> MemRef1D<T> view(std::vector<T> &data) {
  return {data.data(), data.data(), 0, int64_t(data.size()), 1};
}

double millisecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - start)
      .count();
}

int failures = 0;

void report(const char *name, bool ok, const char *detail) {
  std::printf("%-16s %s  %s\n", name, ok ? "PASS" : "FAIL", detail);
  if (!ok) {
    ++failures;
    const char *error = adamas_runtime_last_error();
    if (*error)
      std::printf("  last runtime error: %s\n", error);
  }
}
} // namespace

extern "C" {
void _mlir_ciface_vecadd(MemRef1D<float> *a, MemRef1D<float> *b,
                         MemRef1D<float> *c);
void _mlir_ciface_vecadd_again(MemRef1D<float> *a, MemRef1D<float> *b,
                               MemRef1D<float> *c);
void _mlir_ciface_block_sum(MemRef1D<int32_t> *in, MemRef1D<int32_t> *out);
void _mlir_ciface_add_index_loop(MemRef1D<int32_t> *x, int64_t iters);
}

static void checkVecadd(const char *name,
                        void (*function)(MemRef1D<float> *, MemRef1D<float> *,
                                         MemRef1D<float> *),
                        size_t n) {
  std::vector<float> a(n), b(n), c(n, std::numeric_limits<float>::quiet_NaN());
  for (size_t i = 0; i < n; ++i) {
    a[i] = float(i) * 0.5f;
    b[i] = 1000.0f - float(i % 4096) * 0.25f;
  }
  MemRef1D<float> ma = view(a), mb = view(b), mc = view(c);
  auto start = std::chrono::steady_clock::now();
  function(&ma, &mb, &mc);
  double ms = millisecondsSince(start);
  size_t wrong = 0;
  for (size_t i = 0; i < n; ++i)
    if (!(c[i] == a[i] + b[i])) // IEEE addition: bitwise the device result.
      ++wrong;
  char detail[160];
  std::snprintf(detail, sizeof(detail),
                "n=%zu wrong=%zu c[n-1]=%.2f (expected %.2f) %.3f ms", n, wrong,
                double(c[n - 1]), double(a[n - 1] + b[n - 1]), ms);
  report(name, wrong == 0, detail);
}

static void checkBlockSum(size_t n) {
  std::vector<int32_t> in(n), out(1, 0x7eadbeef);
  int64_t expected = 0;
  for (size_t i = 0; i < n; ++i) {
    in[i] = int32_t((i * 7919) % 2001) - 1000;
    expected += in[i];
  }
  MemRef1D<int32_t> mi = view(in), mo = view(out);
  auto start = std::chrono::steady_clock::now();
  _mlir_ciface_block_sum(&mi, &mo);
  double ms = millisecondsSince(start);
  char detail[160];
  std::snprintf(detail, sizeof(detail),
                "n=%zu sum=%" PRId32 " (expected %" PRId64 ") %.3f ms", n,
                out[0], expected, ms);
  report("block_sum", int64_t(out[0]) == expected, detail);
}

static void checkLoop(size_t n, int64_t iterations) {
  std::vector<int32_t> x(n), initial(n);
  for (size_t i = 0; i < n; ++i)
    initial[i] = x[i] = int32_t(i % 1000) - 500;
  MemRef1D<int32_t> mx = view(x);
  adamas_runtime_stats_t before;
  before.struct_size = sizeof(before);
  adamas_runtime_get_stats(nullptr, &before);
  auto start = std::chrono::steady_clock::now();
  _mlir_ciface_add_index_loop(&mx, iterations);
  double ms = millisecondsSince(start);
  adamas_runtime_stats_t after;
  after.struct_size = sizeof(after);
  adamas_runtime_get_stats(nullptr, &after);
  size_t wrong = 0;
  for (size_t i = 0; i < n; ++i)
    if (int64_t(x[i]) != int64_t(initial[i]) + iterations * int64_t(i))
      ++wrong;
  uint64_t launches = after.kernel_launches - before.kernel_launches;
  uint64_t loads = after.module_driver_loads - before.module_driver_loads;
  char detail[200];
  std::snprintf(detail, sizeof(detail),
                "n=%zu iters=%" PRId64 " wrong=%zu launches=%" PRIu64
                " module loads during the loop=%" PRIu64 " %.2f us/launch",
                n, iterations, wrong, launches, loads,
                ms * 1000.0 / double(iterations));
  report("add_index_loop", wrong == 0 && launches == uint64_t(iterations) &&
                               loads == 0,
         detail);
}

int main(int argc, char **argv) {
  // Smaller sizes for the fake driver, whose "GPU" is this CPU.
  bool small = argc > 1 && std::strcmp(argv[1], "--small") == 0;
  checkVecadd("vecadd", _mlir_ciface_vecadd, small ? 4099 : (1u << 24) + 3);
  checkVecadd("vecadd_again", _mlir_ciface_vecadd_again, 1000);
  checkBlockSum(small ? 300001 : 10000019);
  checkLoop(small ? 1003 : 100003, small ? 50 : 1000);
  // A second call: everything is warm now.
  checkVecadd("vecadd (warm)", _mlir_ciface_vecadd, small ? 4099 : (1u << 24) + 3);

  adamas_runtime_stats_t stats;
  stats.struct_size = sizeof(stats);
  adamas_runtime_get_stats(nullptr, &stats);
  // Three distinct images (vecadd, reduce, loop), each loaded once by the
  // driver in its program's constructor; vecadd_again's identical image is
  // the one cache hit.
  bool modulesOk = stats.module_driver_loads == 3 &&
                   stats.module_cache_hits == 1 && stats.cuda_errors == 0;
  char detail[320];
  std::snprintf(detail, sizeof(detail),
                "driver loads=%" PRIu64 " (expect 3) cache hits=%" PRIu64
                " (expect 1) resident=%" PRIu64 " cold load avg=%.1f us"
                " last=%.1f us warm hit=%.1f us launches=%" PRIu64
                " cuda errors=%" PRIu64,
                stats.module_driver_loads, stats.module_cache_hits,
                stats.module_resident,
                stats.module_driver_loads
                    ? double(stats.module_load_ns_total) / 1e3 /
                          double(stats.module_driver_loads)
                    : 0.0,
                double(stats.module_load_ns_last) / 1e3,
                double(stats.module_hit_ns_last) / 1e3, stats.kernel_launches,
                stats.cuda_errors);
  report("module cache", modulesOk, detail);
  std::printf("RESULT: %s\n", failures ? "FAIL" : "PASS");
  return failures ? 1 : 0;
}
