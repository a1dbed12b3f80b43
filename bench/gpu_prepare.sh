#!/usr/bin/env bash
# Lowers the runtime's GPU test programs (bench/runtime/*.mlir) with upstream
# MLIR passes into x86-64 host objects that embed the device code, for
# bench/gpu_check.sh to link against libadamas_runtime.so on a GPU machine
# (which has no LLVM/MLIR). Runs here, where MLIR 22 and the CUDA toolkit are.
#
#   bench/gpu_prepare.sh [OUTPUT_DIR]        (default: .carry/runtime)
#
# Environment:
#   ADAMAS_OPT  the opt tool (default: build/bin/adamas-opt if built, else
#               upstream mlir-opt); it must register the upstream GPU passes.
#   LLVM_BIN    directory of mlir-opt, mlir-translate, llc (/usr/lib/llvm-22/bin)
#   CUDA_HOME   CUDA toolkit for ptxas and libdevice (/usr/local/cuda)
#   CHIP        target chip (sm_90)
#   FORMAT      bin: embed cubins, loaded with mgpuModuleLoad;
#               isa: embed PTX, loaded with mgpuModuleLoadJIT (needs no
#               toolkit; what the fake-driver test in runtime/test uses);
#               both (default): bin objects in OUTPUT_DIR, isa objects in
#               OUTPUT_DIR/isa.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=${1:-$root/.carry/runtime}
LLVM_BIN=${LLVM_BIN:-/usr/lib/llvm-22/bin}
export CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
CHIP=${CHIP:-sm_90}
FORMAT=${FORMAT:-both}
if [[ $FORMAT == both ]]; then
  FORMAT=isa "$0" "$out/isa"
  FORMAT=bin
fi
if [[ -n ${ADAMAS_OPT:-} ]]; then
  opt=$ADAMAS_OPT
elif [[ -x $root/build/bin/adamas-opt ]]; then
  opt=$root/build/bin/adamas-opt
else
  opt=$LLVM_BIN/mlir-opt
fi

mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# PTX 8.0 is the first ISA with sm_90; the default (6.0) makes ptxas fail.
pipeline="builtin.module(gpu-lower-to-nvvm-pipeline{cubin-chip=$CHIP cubin-features=+ptx80 cubin-format=$FORMAT})"

lower() { # NAME SOURCE.mlir
  local name=$1 source=$2
  "$opt" "$source" --pass-pipeline="$pipeline" -o "$work/$name.llvm.mlir"
  "$LLVM_BIN/mlir-translate" --mlir-to-llvmir "$work/$name.llvm.mlir" -o "$work/$name.ll"
  # PIC: the objects are linked into position-independent executables.
  "$LLVM_BIN/llc" -O2 -filetype=obj -relocation-model=pic -mtriple=x86_64-unknown-linux-gnu \
    "$work/$name.ll" -o "$out/$name.o"
}

lower vecadd "$here/runtime/vecadd.mlir"
# The same kernels behind another host function: its constructor loads a
# byte-identical image, which the module cache must serve without the driver.
sed 's/func.func @vecadd(/func.func @vecadd_again(/' "$here/runtime/vecadd.mlir" \
  > "$work/vecadd_again.mlir"
lower vecadd_again "$work/vecadd_again.mlir"
lower reduce "$here/runtime/reduce.mlir"
lower loop "$here/runtime/loop.mlir"

if [[ $FORMAT == bin ]]; then
  # The vecadd kernel as PTX (for cache_demo's compile-on-miss through ptxas
  # on the GPU machine) and as the cubin the pipeline built (its fallback).
  python3 "$here/runtime/extract_gpu_binary.py" "$work/vecadd.ll" kernels "$out/vecadd.cubin"
  pipeline="builtin.module(gpu-lower-to-nvvm-pipeline{cubin-chip=$CHIP cubin-features=+ptx80 cubin-format=isa})"
  "$opt" "$here/runtime/vecadd.mlir" --pass-pipeline="$pipeline" -o "$work/ptx.llvm.mlir"
  "$LLVM_BIN/mlir-translate" --mlir-to-llvmir "$work/ptx.llvm.mlir" -o "$work/ptx.ll"
  python3 "$here/runtime/extract_gpu_binary.py" "$work/ptx.ll" kernels "$work/vecadd.ptx.z"
  tr -d '\000' < "$work/vecadd.ptx.z" > "$out/vecadd.ptx"
  cmp -s <(python3 "$here/runtime/extract_gpu_binary.py" "$work/vecadd_again.ll" kernels /dev/stdout) \
    "$out/vecadd.cubin" || { echo "vecadd_again embeds a different cubin" >&2; exit 1; }
fi

if [[ $FORMAT == bin ]]; then
  # The generated decode-step kernels and their host code (bench/steps).
  /usr/bin/python3 "$here/steps/prepare.py" "$(dirname "$out")/steps" --chip "$CHIP"
  # Not the loader's copies of the artifacts (libs-v1/: written again from
  # artifacts-v1/ on first use there): the device call carries 64 MiB at most.
  rm -rf "$(dirname "$out")/steps/cache/libs-v1"
  # The example decoder layers, whole (bench/steps/examples.py).
  /usr/bin/python3 "$here/steps/examples.py" prepare "$(dirname "$out")/examples" --chip "$CHIP"
fi

{
  echo "prepared: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "opt: $opt ($("$opt" --version | grep -m1 -o 'LLVM version [0-9.]*'))"
  echo "pipeline: gpu-lower-to-nvvm-pipeline{cubin-chip=$CHIP cubin-features=+ptx80 cubin-format=$FORMAT}"
  [[ $FORMAT == bin ]] && echo "ptxas: $("$CUDA_HOME/bin/ptxas" --version | tail -1)"
  (cd "$out" && sha256sum ./*.o ./*.cubin ./*.ptx ./isa/*.o 2>/dev/null || true)
} > "$out/MANIFEST"
echo "wrote $(ls "$out" | tr '\n' ' ')to $out"
