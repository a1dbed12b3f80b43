#!/usr/bin/env bash
# Sets up everything, builds, and runs the embedded decode-attention example
# through adamas-cpu-pipeline, printing sparse vs dense attention outputs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
adamas_build

example="$ADAMAS_ROOT/examples/decode_attention.mlir"
echo "== $example: adamas-opt -adamas-cpu-pipeline | mlir-runner"
"$ADAMAS_BUILD/bin/adamas-opt" "$example" -adamas-cpu-pipeline \
  | "$LLVM_PREFIX/bin/mlir-runner" -e main -entry-point-result=void \
      -shared-libs="$LLVM_PREFIX/lib/libmlir_runner_utils.so,$LLVM_PREFIX/lib/libmlir_c_runner_utils.so"
