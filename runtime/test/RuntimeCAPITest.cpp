//===- RuntimeCAPITest.cpp - The C API end to end with the fake driver ----===//

#include "adamas/mgpu.h"
#include "adamas/runtime.h"

#include "FakeCudaDriverControl.h"
#include "TestUtilities.h"

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <gtest/gtest.h>

using adamas::test::TemporaryDirectory;

namespace {
bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

std::string lastError() { return adamas_runtime_last_error(); }

/// A compiler callback that "compiles" IR to a fake image naming a kernel.
struct FakeCompiler {
  int calls = 0;
  std::string lastKey;
  bool fail = false;

  static int callback(void *userData, const adamas_compile_request_t *request,
                      const char *keyHex, adamas_compile_result_t *result) {
    auto *self = static_cast<FakeCompiler *>(userData);
    ++self->calls;
    self->lastKey = keyHex;
    if (self->fail) {
      adamas_compile_result_set_error(result, "syntax error at line 1");
      return 1;
    }
    std::string image = "FAKE:compiled(" +
                        std::string(request->ir, request->ir_size) +
                        ") for " + request->chip + " kernels=main_kernel";
    adamas_compile_result_set_binary(result, image.c_str(), image.size() + 1);
    return 0;
  }
};

adamas_compile_request_t requestFor(const std::string &ir) {
  adamas_compile_request_t request;
  std::memset(&request, 0, sizeof(request));
  request.struct_size = sizeof(request);
  request.ir = ir.data();
  request.ir_size = ir.size();
  request.pipeline_options = "adamas-gpu-pipeline{chip=sm_90}";
  request.chip = "sm_90";
  request.compiler_version = "adamas 0.1";
  return request;
}

class RuntimeCAPITest : public ::testing::Test {
protected:
  void SetUp() override {
    fakecuda_reset();
    runtime = create(root.path());
    ASSERT_NE(runtime, nullptr);
  }
  void TearDown() override { adamas_runtime_destroy(runtime); }

  static adamas_runtime_t *create(const std::string &cacheDir) {
    adamas_runtime_options_t options;
    std::memset(&options, 0, sizeof(options));
    options.struct_size = sizeof(options);
    options.cache_dir = cacheDir.c_str();
    options.cache_max_bytes = 1 << 20;
    adamas_runtime_t *runtime = nullptr;
    EXPECT_EQ(adamas_runtime_create(ADAMAS_RUNTIME_API_VERSION, &options,
                                    &runtime),
              ADAMAS_OK)
        << lastError();
    return runtime;
  }

  TemporaryDirectory root;
  adamas_runtime_t *runtime = nullptr;
};
} // namespace

TEST(RuntimeCAPI, VersionAndArguments) {
  EXPECT_EQ(adamas_runtime_api_version(), ADAMAS_RUNTIME_API_VERSION);
  adamas_runtime_t *runtime = nullptr;
  EXPECT_EQ(adamas_runtime_create(ADAMAS_RUNTIME_API_VERSION + 1, nullptr,
                                  &runtime),
            ADAMAS_ERROR_VERSION_MISMATCH);
  EXPECT_EQ(runtime, nullptr);
  EXPECT_TRUE(contains(lastError(), "library implements 1")) << lastError();
  EXPECT_EQ(adamas_runtime_create(ADAMAS_RUNTIME_API_VERSION, nullptr, nullptr),
            ADAMAS_ERROR_INVALID_ARGUMENT);
  adamas_runtime_options_t options;
  std::memset(&options, 0, sizeof(options));
  options.struct_size = 4;
  EXPECT_EQ(adamas_runtime_create(ADAMAS_RUNTIME_API_VERSION, &options,
                                  &runtime),
            ADAMAS_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(lastError(), "struct_size is 4")) << lastError();
  EXPECT_STREQ(adamas_status_name(ADAMAS_ERROR_NOT_FOUND),
               "ADAMAS_ERROR_NOT_FOUND");
  adamas_runtime_destroy(nullptr); // Harmless.
}

TEST(RuntimeCAPI, KeyMatchesIndependentComputation) {
  std::string ir = "func.func @f() { return }";
  adamas_compile_request_t request = requestFor(ir);
  char key[ADAMAS_KEY_HEX_SIZE];
  ASSERT_EQ(adamas_artifact_key(&request, key), ADAMAS_OK);
  // Python hashlib over the documented encoding (see HashTest.cpp).
  EXPECT_STREQ(key,
               "1990f58fcf692631dd7f19c52921436087ef3b089fe83cf79e79fdc7755636cd");
  request.struct_size = 8;
  EXPECT_EQ(adamas_artifact_key(&request, key), ADAMAS_ERROR_INVALID_ARGUMENT);
}

TEST_F(RuntimeCAPITest, GetOrCompileFromCompilerMemoryAndDisk) {
  EXPECT_EQ(std::string(adamas_runtime_disk_cache_dir(runtime)),
            root.path() + "/artifacts-v1");
  std::string ir = "gpu.module @m {}";
  adamas_compile_request_t request = requestFor(ir);
  const adamas_artifact_t *artifact = nullptr;
  adamas_artifact_source_t source;

  // No compiler yet: a clear error naming the key.
  char key[ADAMAS_KEY_HEX_SIZE];
  ASSERT_EQ(adamas_artifact_key(&request, key), ADAMAS_OK);
  EXPECT_EQ(adamas_runtime_get_or_compile(runtime, &request, &artifact, &source),
            ADAMAS_ERROR_NOT_FOUND);
  EXPECT_TRUE(contains(lastError(), std::string("no compiled artifact for key ") +
                                        key))
      << lastError();

  FakeCompiler compiler;
  ASSERT_EQ(adamas_runtime_set_compiler(runtime, FakeCompiler::callback,
                                        &compiler),
            ADAMAS_OK);
  ASSERT_EQ(adamas_runtime_get_or_compile(runtime, &request, &artifact, &source),
            ADAMAS_OK)
      << lastError();
  EXPECT_EQ(source, ADAMAS_ARTIFACT_FROM_COMPILER);
  EXPECT_EQ(compiler.calls, 1);
  EXPECT_EQ(compiler.lastKey, key);
  EXPECT_STREQ(adamas_artifact_key_hex(artifact), key);
  std::string expected =
      "FAKE:compiled(gpu.module @m {}) for sm_90 kernels=main_kernel";
  ASSERT_EQ(adamas_artifact_size(artifact), expected.size() + 1);
  EXPECT_STREQ(static_cast<const char *>(adamas_artifact_data(artifact)),
               expected.c_str());

  const adamas_artifact_t *again = nullptr;
  ASSERT_EQ(adamas_runtime_get_or_compile(runtime, &request, &again, &source),
            ADAMAS_OK);
  EXPECT_EQ(source, ADAMAS_ARTIFACT_FROM_MEMORY);
  EXPECT_EQ(again, artifact);

  // Another runtime on the same directory, without a compiler: disk hit.
  adamas_runtime_t *second = create(root.path());
  const adamas_artifact_t *fromDisk = nullptr;
  ASSERT_EQ(adamas_runtime_get_or_compile(second, &request, &fromDisk, &source),
            ADAMAS_OK)
      << lastError();
  EXPECT_EQ(source, ADAMAS_ARTIFACT_FROM_DISK);
  EXPECT_STREQ(static_cast<const char *>(adamas_artifact_data(fromDisk)),
               expected.c_str());
  EXPECT_EQ(compiler.calls, 1);

  adamas_runtime_stats_t stats;
  stats.struct_size = sizeof(stats);
  ASSERT_EQ(adamas_runtime_get_stats(second, &stats), ADAMAS_OK);
  EXPECT_EQ(stats.artifact_disk_hits, 1u);
  EXPECT_EQ(stats.artifact_compiles, 0u);
  ASSERT_EQ(adamas_runtime_get_stats(runtime, &stats), ADAMAS_OK);
  EXPECT_EQ(stats.artifact_compiles, 1u);
  EXPECT_EQ(stats.artifact_memory_hits, 1u);
  EXPECT_EQ(stats.artifact_disk_misses, 2u);
  EXPECT_EQ(stats.artifact_disk_writes, 1u);
  adamas_runtime_destroy(second);
}

TEST_F(RuntimeCAPITest, LookupByKeyNeverCompiles) {
  FakeCompiler compiler;
  adamas_runtime_set_compiler(runtime, FakeCompiler::callback, &compiler);
  std::string ir = "looked up by key";
  adamas_compile_request_t request = requestFor(ir);
  char key[ADAMAS_KEY_HEX_SIZE];
  ASSERT_EQ(adamas_artifact_key(&request, key), ADAMAS_OK);
  const adamas_artifact_t *artifact = nullptr;
  adamas_artifact_source_t source;
  EXPECT_EQ(adamas_runtime_lookup(runtime, key, &artifact, &source),
            ADAMAS_ERROR_NOT_FOUND);
  EXPECT_TRUE(contains(lastError(), key)) << lastError();
  EXPECT_EQ(compiler.calls, 0); // A lookup never compiles.

  const adamas_artifact_t *compiled = nullptr;
  ASSERT_EQ(adamas_runtime_get_or_compile(runtime, &request, &compiled, nullptr),
            ADAMAS_OK);
  ASSERT_EQ(adamas_runtime_lookup(runtime, key, &artifact, &source), ADAMAS_OK);
  EXPECT_EQ(artifact, compiled);
  EXPECT_EQ(source, ADAMAS_ARTIFACT_FROM_MEMORY);

  adamas_runtime_t *second = create(root.path());
  ASSERT_EQ(adamas_runtime_lookup(second, key, &artifact, &source), ADAMAS_OK);
  EXPECT_EQ(source, ADAMAS_ARTIFACT_FROM_DISK);
  EXPECT_EQ(adamas_artifact_size(artifact), adamas_artifact_size(compiled));
  adamas_runtime_destroy(second);

  EXPECT_EQ(adamas_runtime_lookup(runtime, "xyz", &artifact, &source),
            ADAMAS_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(lastError(), "'xyz' is not a key")) << lastError();
}

TEST_F(RuntimeCAPITest, CompilerFailureIsReported) {
  FakeCompiler compiler;
  compiler.fail = true;
  adamas_runtime_set_compiler(runtime, FakeCompiler::callback, &compiler);
  std::string ir = "broken";
  adamas_compile_request_t request = requestFor(ir);
  const adamas_artifact_t *artifact = nullptr;
  EXPECT_EQ(adamas_runtime_get_or_compile(runtime, &request, &artifact, nullptr),
            ADAMAS_ERROR_COMPILE_FAILED);
  EXPECT_TRUE(contains(lastError(),
                       "the compiler callback failed (returned 1): syntax "
                       "error at line 1"))
      << lastError();
  EXPECT_EQ(artifact, nullptr);
}

TEST_F(RuntimeCAPITest, LoadGetFunctionAndLaunch) {
  FakeCompiler compiler;
  adamas_runtime_set_compiler(runtime, FakeCompiler::callback, &compiler);
  std::string ir = "kernel source for launch" + adamas::test::uniqueSuffix();
  adamas_compile_request_t request = requestFor(ir);
  const adamas_artifact_t *artifact = nullptr;
  ASSERT_EQ(adamas_runtime_get_or_compile(runtime, &request, &artifact, nullptr),
            ADAMAS_OK);

  adamas_runtime_stats_t before, after;
  before.struct_size = after.struct_size = sizeof(before);
  adamas_runtime_get_stats(nullptr, &before);
  adamas_module_t *module = nullptr;
  ASSERT_EQ(adamas_runtime_load_artifact(runtime, artifact, 0, &module),
            ADAMAS_OK)
      << lastError();
  adamas_module_t *again = nullptr;
  ASSERT_EQ(adamas_runtime_load_artifact(runtime, artifact, 0, &again),
            ADAMAS_OK);
  EXPECT_EQ(again, module);
  // The same bytes through load_module, from another runtime: a module
  // cache hit on the same CUmodule, no second driver load.
  adamas_runtime_t *other = create(root.path());
  adamas_module_t *viaBytes = nullptr;
  ASSERT_EQ(adamas_runtime_load_module(other, adamas_artifact_data(artifact),
                                       adamas_artifact_size(artifact), 0,
                                       &viaBytes),
            ADAMAS_OK);
  EXPECT_EQ(adamas_module_cu_handle(viaBytes), adamas_module_cu_handle(module));
  adamas_runtime_get_stats(nullptr, &after);
  EXPECT_EQ(after.module_driver_loads - before.module_driver_loads, 1u);
  EXPECT_EQ(after.module_cache_hits - before.module_cache_hits, 1u);
  EXPECT_EQ(fakecuda_call_count("cuModuleLoadData"), 1u);

  adamas_function_t *function = nullptr;
  ASSERT_EQ(adamas_module_get_function(module, "main_kernel", &function),
            ADAMAS_OK)
      << lastError();
  adamas_function_t *sameFunction = nullptr;
  ASSERT_EQ(adamas_module_get_function(module, "main_kernel", &sameFunction),
            ADAMAS_OK);
  EXPECT_EQ(sameFunction, function);
  EXPECT_EQ(fakecuda_call_count("cuModuleGetFunction"), 1u);
  EXPECT_NE(adamas_function_cu_handle(function), nullptr);

  adamas_function_t *missing = nullptr;
  EXPECT_EQ(adamas_module_get_function(module, "nope", &missing),
            ADAMAS_ERROR_CUDA);
  EXPECT_EQ(lastError(), "cuModuleGetFunction('nope') failed: "
                         "CUDA_ERROR_NOT_FOUND (named symbol not found)");

  int value = 5;
  void *params[] = {&value};
  uint32_t grid[3] = {3, 1, 1}, block[3] = {64, 1, 1};
  ASSERT_EQ(adamas_launch(function, grid, block, 0, nullptr, params), ADAMAS_OK)
      << lastError();
  FakeLaunchRecord record;
  ASSERT_TRUE(fakecuda_last_launch(&record));
  EXPECT_STREQ(record.function, "main_kernel");
  EXPECT_EQ(record.grid[0], 3u);
  EXPECT_EQ(record.block[0], 64u);
  EXPECT_EQ(record.params, params);

  uint32_t badBlock[3] = {2048, 1, 1};
  EXPECT_EQ(adamas_launch(function, grid, badBlock, 0, nullptr, params),
            ADAMAS_ERROR_CUDA);
  EXPECT_EQ(lastError(), "adamas_launch: cuLaunchKernel failed: "
                         "CUDA_ERROR_INVALID_VALUE (invalid argument)");
  EXPECT_EQ(fakecuda_context_depth(), 0u);
  adamas_runtime_destroy(other);
}

TEST_F(RuntimeCAPITest, LoadErrorsAreReported) {
  adamas_module_t *module = nullptr;
  std::string bad = "FAKE:FAKE-BAD";
  EXPECT_EQ(adamas_runtime_load_module(runtime, bad.c_str(), bad.size() + 1, 0,
                                       &module),
            ADAMAS_ERROR_CUDA);
  EXPECT_EQ(lastError(), "cuModuleLoadData failed: CUDA_ERROR_INVALID_IMAGE "
                         "(device kernel image is invalid)");
  EXPECT_EQ(module, nullptr);
  std::string good = "FAKE:load-error-test";
  EXPECT_EQ(adamas_runtime_load_module(runtime, good.c_str(), good.size() + 1,
                                       /*device=*/4, &module),
            ADAMAS_ERROR_CUDA);
  EXPECT_EQ(lastError(), "device 4: cuDeviceGet failed: "
                         "CUDA_ERROR_INVALID_DEVICE (invalid device ordinal)");
  EXPECT_EQ(adamas_runtime_load_module(runtime, nullptr, 10, 0, &module),
            ADAMAS_ERROR_INVALID_ARGUMENT);
}

TEST_F(RuntimeCAPITest, DestroyReleasesModulesForTrim) {
  std::string image = "FAKE:destroy-release-test" + adamas::test::uniqueSuffix();
  adamas_runtime_t *scratch = create(root.path());
  adamas_module_t *module = nullptr;
  ASSERT_EQ(adamas_runtime_load_module(scratch, image.c_str(), image.size() + 1,
                                       0, &module),
            ADAMAS_OK);
  size_t loaded = fakecuda_loaded_modules();
  adamas_runtime_destroy(scratch);
  EXPECT_EQ(fakecuda_loaded_modules(), loaded); // Released, still cached.
  // Trim unloads it (and whatever else nobody holds), so loading it again
  // goes to the driver.
  EXPECT_GE(adamas_module_cache_trim(), 1u);
  EXPECT_LE(fakecuda_loaded_modules(), loaded - 1);
  EXPECT_EQ(fakecuda_call_count("cuModuleLoadData"), 1u);
  ASSERT_EQ(adamas_runtime_load_module(runtime, image.c_str(), image.size() + 1,
                                       0, &module),
            ADAMAS_OK);
  EXPECT_EQ(fakecuda_call_count("cuModuleLoadData"), 2u);
}

TEST_F(RuntimeCAPITest, StatsRespectAnOlderSmallerStruct) {
  // A caller compiled when the struct ended after module_cache_hits.
  struct {
    adamas_runtime_stats_t stats;
  } buffer;
  std::memset(&buffer, 0xAB, sizeof(buffer));
  buffer.stats.struct_size =
      uint32_t(offsetof(adamas_runtime_stats_t, module_resident));
  ASSERT_EQ(adamas_runtime_get_stats(runtime, &buffer.stats), ADAMAS_OK);
  EXPECT_EQ(buffer.stats.struct_size,
            offsetof(adamas_runtime_stats_t, module_resident));
  EXPECT_NE(buffer.stats.module_driver_loads, 0xABABABABABABABABull);
  EXPECT_EQ(buffer.stats.module_resident, 0xABABABABABABABABull); // untouched
  EXPECT_EQ(buffer.stats.artifact_evictions, 0xABABABABABABABABull);
}

TEST(RuntimeCAPIUnwritable, CacheDirectoryDegradesToMemoryOnly) {
  TemporaryDirectory root;
  std::string blocker = root.path() + "/file";
  adamas::test::writeFile(blocker, {1});
  adamas_runtime_options_t options;
  std::memset(&options, 0, sizeof(options));
  options.struct_size = sizeof(options);
  options.cache_dir = blocker.c_str();
  adamas_runtime_t *runtime = nullptr;
  ASSERT_EQ(adamas_runtime_create(ADAMAS_RUNTIME_API_VERSION, &options,
                                  &runtime),
            ADAMAS_OK);
  EXPECT_EQ(adamas_runtime_disk_cache_dir(runtime), nullptr);
  FakeCompiler compiler;
  adamas_runtime_set_compiler(runtime, FakeCompiler::callback, &compiler);
  std::string ir = "memory only";
  adamas_compile_request_t request = requestFor(ir);
  const adamas_artifact_t *artifact = nullptr;
  adamas_artifact_source_t source;
  EXPECT_EQ(adamas_runtime_get_or_compile(runtime, &request, &artifact, &source),
            ADAMAS_OK);
  EXPECT_EQ(source, ADAMAS_ARTIFACT_FROM_COMPILER);
  EXPECT_EQ(adamas_runtime_get_or_compile(runtime, &request, &artifact, &source),
            ADAMAS_OK);
  EXPECT_EQ(source, ADAMAS_ARTIFACT_FROM_MEMORY);
  adamas_runtime_destroy(runtime);
}

// Runs in a child process whose ADAMAS_CUDA_DRIVER names no library (see
// WithoutADriver below); skipped otherwise.
TEST(RuntimeWithoutDriverChild, EverythingButTheGpuStillWorks) {
  if (!getenv("ADAMAS_TEST_NO_DRIVER_CHILD"))
    GTEST_SKIP() << "runs only as WithoutADriver's child process";
  EXPECT_EQ(adamas_runtime_check_driver(), ADAMAS_ERROR_DRIVER_UNAVAILABLE);
  EXPECT_TRUE(contains(lastError(), "cannot load the CUDA driver "
                                    "'/nonexistent/libcuda.so.1'"))
      << lastError();

  TemporaryDirectory root;
  adamas_runtime_options_t options;
  std::memset(&options, 0, sizeof(options));
  options.struct_size = sizeof(options);
  options.cache_dir = root.path().c_str();
  adamas_runtime_t *runtime = nullptr;
  ASSERT_EQ(adamas_runtime_create(ADAMAS_RUNTIME_API_VERSION, &options,
                                  &runtime),
            ADAMAS_OK);
  FakeCompiler compiler;
  adamas_runtime_set_compiler(runtime, FakeCompiler::callback, &compiler);
  std::string ir = "no gpu here";
  adamas_compile_request_t request = requestFor(ir);
  const adamas_artifact_t *artifact = nullptr;
  ASSERT_EQ(adamas_runtime_get_or_compile(runtime, &request, &artifact, nullptr),
            ADAMAS_OK);
  adamas_module_t *module = nullptr;
  EXPECT_EQ(adamas_runtime_load_artifact(runtime, artifact, 0, &module),
            ADAMAS_ERROR_DRIVER_UNAVAILABLE);
  EXPECT_TRUE(contains(lastError(), "/nonexistent/libcuda.so.1"));

  std::string image = "FAKE:x";
  EXPECT_EQ(mgpuModuleLoad(const_cast<char *>(image.c_str()), image.size()),
            nullptr);
  EXPECT_TRUE(contains(lastError(), "mgpuModuleLoad: cannot load the CUDA "
                                    "driver"))
      << lastError();
  EXPECT_EQ(mgpuStreamCreate(), nullptr);
  EXPECT_TRUE(contains(lastError(), "mgpuStreamCreate: cannot load"))
      << lastError();
  adamas_runtime_destroy(runtime);
}

TEST(RuntimeCAPI, WithoutADriver) {
  // The process driver is loaded once per process, so this needs a process
  // of its own.
  EXPECT_EQ(adamas::test::runSelf(
                "RuntimeWithoutDriverChild.*",
                {"ADAMAS_CUDA_DRIVER=/nonexistent/libcuda.so.1",
                 "ADAMAS_TEST_NO_DRIVER_CHILD=1"}),
            0);
}
