//===- TestMain.cpp - GoogleTest main for the runtime tests ---------------===//
//
// Points the runtime at the fake driver this build made (whatever the
// environment says: the tests count the fake's calls, so it must be the
// same library they link) before any test can load a driver, and keeps the
// runtime's stderr diagnostics quiet (tests check messages through
// adamas_runtime_last_error() instead). Only child processes of tests that
// need another driver (ADAMAS_TEST_NO_DRIVER_CHILD, ADAMAS_TEST_KEEP_DRIVER)
// keep the driver path their parent gave them.
//
//===----------------------------------------------------------------------===//

#include <cstdlib>
#include <gtest/gtest.h>

int main(int argc, char **argv) {
  if (!getenv("ADAMAS_TEST_NO_DRIVER_CHILD") &&
      !getenv("ADAMAS_TEST_KEEP_DRIVER"))
    setenv("ADAMAS_CUDA_DRIVER", ADAMAS_FAKE_CUDA_DRIVER_PATH, 1);
  setenv("ADAMAS_RUNTIME_QUIET", "1", /*overwrite=*/0);
  // The tests must not touch the user's real cache.
  unsetenv("ADAMAS_CACHE_DIR");
  unsetenv("ADAMAS_CACHE_MAX_BYTES");
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
