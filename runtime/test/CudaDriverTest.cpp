//===- CudaDriverTest.cpp - Loading the driver and reporting its errors ---===//

#include "CudaDriver.h"
#include "FakeCudaDriverControl.h"

#include <cstdlib>
#include <gtest/gtest.h>

using namespace adamas::rt;

namespace {
/// Sets an environment variable for the scope of a test.
class ScopedEnv {
public:
  ScopedEnv(const char *name, const char *value) : name_(name) {
    setenv(name, value, 1);
  }
  ~ScopedEnv() { unsetenv(name_); }

private:
  const char *name_;
};

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}
} // namespace

TEST(CudaDriver, LoadsTheFakeDriverAndReadsItsVersion) {
  std::string error;
  std::unique_ptr<CudaDriver> driver =
      CudaDriver::load(ADAMAS_FAKE_CUDA_DRIVER_PATH, &error);
  ASSERT_TRUE(driver) << error;
  EXPECT_EQ(driver->version(), 13000);
  EXPECT_EQ(driver->path(), ADAMAS_FAKE_CUDA_DRIVER_PATH);
  EXPECT_NE(driver->cuModuleLoadData, nullptr);
  EXPECT_NE(driver->cuLaunchKernelEx, nullptr);
}

TEST(CudaDriver, TheProcessDriverHonoursTheEnvironment) {
  EXPECT_EQ(CudaDriver::defaultPath(), ADAMAS_FAKE_CUDA_DRIVER_PATH);
  std::string error;
  const CudaDriver *driver = CudaDriver::get(&error);
  ASSERT_NE(driver, nullptr) << error;
  EXPECT_EQ(driver->path(), ADAMAS_FAKE_CUDA_DRIVER_PATH);
  EXPECT_EQ(CudaDriver::get(nullptr), driver); // Loaded once.
}

TEST(CudaDriver, MissingLibraryNamesThePath) {
  std::string error;
  EXPECT_EQ(CudaDriver::load("/nonexistent/libcuda.so.1", &error), nullptr);
  EXPECT_TRUE(contains(error, "cannot load the CUDA driver "
                              "'/nonexistent/libcuda.so.1'"))
      << error;
  EXPECT_TRUE(contains(error, "No such file")) << error;
  EXPECT_TRUE(contains(error, "ADAMAS_CUDA_DRIVER")) << error;
}

TEST(CudaDriver, TooOldDriverIsRefusedWithBothVersions) {
  ScopedEnv version("FAKECUDA_DRIVER_VERSION", "11080");
  std::string error;
  EXPECT_EQ(CudaDriver::load(ADAMAS_FAKE_CUDA_DRIVER_PATH, &error), nullptr);
  EXPECT_TRUE(contains(error, "is too old: version 11.8")) << error;
  EXPECT_TRUE(contains(error, "needs 12.0 or newer")) << error;
}

TEST(CudaDriver, MissingEntryPointsAreListed) {
  std::string error;
  EXPECT_EQ(CudaDriver::load(ADAMAS_INCOMPLETE_CUDA_DRIVER_PATH, &error),
            nullptr);
  EXPECT_TRUE(contains(error, "(version 12.4) lacks entry points")) << error;
  EXPECT_TRUE(contains(error, "cuModuleLoadData")) << error;
  EXPECT_TRUE(contains(error, "cuCtxPushCurrent_v2")) << error;
  EXPECT_FALSE(contains(error, "cuInit,")) << error; // It has cuInit.
}

TEST(CudaDriver, InitializationFailureCarriesTheCudaError) {
  ScopedEnv init("FAKECUDA_INIT_ERROR", "100"); // CUDA_ERROR_NO_DEVICE
  std::string error;
  EXPECT_EQ(CudaDriver::load(ADAMAS_FAKE_CUDA_DRIVER_PATH, &error), nullptr);
  EXPECT_EQ(error, "cannot initialize the CUDA driver '" +
                       std::string(ADAMAS_FAKE_CUDA_DRIVER_PATH) +
                       "': cuInit failed: CUDA_ERROR_NO_DEVICE (no "
                       "CUDA-capable device is detected)");
}

TEST(CudaDriver, FailuresNameTheCallAndTheError) {
  std::string error;
  std::unique_ptr<CudaDriver> driver =
      CudaDriver::load(ADAMAS_FAKE_CUDA_DRIVER_PATH, &error);
  ASSERT_TRUE(driver) << error;
  EXPECT_EQ(driver->describeFailure("cuModuleLoadData", 200),
            "cuModuleLoadData failed: CUDA_ERROR_INVALID_IMAGE (device kernel "
            "image is invalid)");
  // Codes the driver has no name for still say something useful.
  EXPECT_EQ(driver->describeFailure("cuFoo", 12345),
            "cuFoo failed: CUDA error 12345");
  uint64_t before = CudaDriver::cudaErrorCount();
  EXPECT_TRUE(driver->check(0, "cuInit").ok());
  Status status = driver->check(1, "cuMemAlloc");
  EXPECT_EQ(status.code(), ADAMAS_ERROR_CUDA);
  EXPECT_EQ(status.message(),
            "cuMemAlloc failed: CUDA_ERROR_INVALID_VALUE (invalid argument)");
  EXPECT_EQ(CudaDriver::cudaErrorCount(), before + 1);
}

TEST(CudaDriver, FormatsVersions) {
  EXPECT_EQ(formatDriverVersion(13000), "13.0");
  EXPECT_EQ(formatDriverVersion(12040), "12.4");
  EXPECT_EQ(formatDriverVersion(11080), "11.8");
}
