#!/usr/bin/env bash
# Sets up everything, builds, and runs every test: the lit suite (dialect,
# passes, CPU integration through mlir-runner), the whole lit suite again and
# a one-minute fuzzer run on a build with AddressSanitizer and
# UndefinedBehaviorSanitizer, the runtime's GoogleTest suite, and pytest.
# Ends with one line: "N passed, N failed, N skipped".
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
set +e
adamas_build || { echo "build failed"; exit 1; }

results="$ADAMAS_BUILD/test-results"
rm -rf "$results" && mkdir -p "$results"
status=0

echo "== lit: $ADAMAS_BUILD/test"
"$LLVM_PREFIX/bin/lit" -sv -j "$JOBS" --xunit-xml-output "$results/lit.xml" \
  "$ADAMAS_BUILD/test" || status=1

# One sanitizer build serves the lit suite and the fuzzer. The installed
# LLVM CMake package does not define LLVM_UBSAN_FLAGS (without it
# "Address;Undefined" would mean ASan alone): every UBSan report is fatal.
# Release drops -DNDEBUG here, so our asserts and those of the MLIR headers
# we instantiate are on.
san="$ADAMAS_ROOT/build-san"
san_env=(env "ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}"
         "UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}")
echo "== sanitizer build (ASan + UBSan, asserts on): $san"
if adamas_configure "$san" -DLLVM_USE_SANITIZER="Address;Undefined" \
     "-DLLVM_UBSAN_FLAGS=-fsanitize=undefined -fno-sanitize=vptr -fno-sanitize-recover=all" \
     "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -g1" \
   && ninja -C "$san" -j "$JOBS" adamas-opt AdamasPlugin; then
  echo "== lit under ASan + UBSan: the whole suite"
  "${san_env[@]}" "$LLVM_PREFIX/bin/lit" -sv -j "$JOBS" \
    --xunit-xml-output "$results/lit-san.xml" "$san/test" || status=1
  # ADAMAS_FUZZ_SECONDS (default 60) and ADAMAS_FUZZ_SEED (default 1) set
  # the run; scripts/fuzz/adamas_fuzz.py --help says more.
  echo "== fuzz adamas-opt under ASan + UBSan (${ADAMAS_FUZZ_SECONDS:-60} s)"
  "${san_env[@]}" /usr/bin/python3 "$ADAMAS_ROOT/scripts/fuzz/adamas_fuzz.py" \
    --adamas-opt "$san/bin/adamas-opt" --jobs "$JOBS" \
    --out "$results/fuzz-failures" --junit "$results/fuzz.xml" || status=1
else
  echo "sanitizer build failed"; status=1
fi

echo "== ctest (runtime unit tests)"
ctest --test-dir "$ADAMAS_BUILD" --output-on-failure -j "$JOBS" \
  --output-junit "$results/ctest.xml" || status=1

echo "== pytest: python/tests, test/Integration/CPU/Inputs (the harness)"
# ADAMAS_BUILD_DIR: adamas.runtime's tests use this build's runtime library
# and fake CUDA driver (and fail, not skip, if they are missing).
ADAMAS_BUILD_DIR="$ADAMAS_BUILD" PYTHONPATH="$ADAMAS_ROOT/python" /usr/bin/python3 -m pytest -q \
  -p no:cacheprovider --junitxml="$results/pytest.xml" \
  "$ADAMAS_ROOT/python/tests" "$ADAMAS_ROOT/test/Integration/CPU/Inputs" \
  || status=1

/usr/bin/python3 "$ADAMAS_ROOT/scripts/summarize_junit.py" "$results"/*.xml || status=1
exit $status
