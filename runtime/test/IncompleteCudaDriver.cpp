//===- IncompleteCudaDriver.cpp - A "driver" that is missing entry points -===//
//
// Exports only a few driver symbols, as a very old libcuda would, so the
// loader's missing-symbol error can be tested.
//
//===----------------------------------------------------------------------===//

extern "C" __attribute__((visibility("default"))) int cuInit(unsigned) {
  return 0;
}

extern "C" __attribute__((visibility("default"))) int
cuDriverGetVersion(int *version) {
  *version = 12040;
  return 0;
}
