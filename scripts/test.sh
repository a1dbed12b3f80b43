#!/usr/bin/env bash
# Sets up everything, builds, and runs every test: the lit suite (dialect,
# passes, CPU integration through mlir-runner), the verifier suite again
# under AddressSanitizer, the runtime's GoogleTest suite, and pytest.
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

echo "== lit under AddressSanitizer: test/Dialect (malformed IR must not crash)"
asan="$ADAMAS_ROOT/build-asan"
if adamas_configure "$asan" -DLLVM_USE_SANITIZER=Address \
   && ninja -C "$asan" -j "$JOBS" adamas-opt; then
  "$LLVM_PREFIX/bin/lit" -sv -j "$JOBS" --xunit-xml-output "$results/lit-asan.xml" \
    "$asan/test/Dialect" || status=1
else
  echo "AddressSanitizer build failed"; status=1
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
