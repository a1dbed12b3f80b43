#!/usr/bin/env bash
# Installs what adamas needs on Debian 12 (apt only) and builds it.
# Sourced by demo.sh and test.sh; safe to run again (skips what is done).
set -euo pipefail

ADAMAS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ADAMAS_BUILD="${ADAMAS_BUILD:-$ADAMAS_ROOT/build}"
LLVM_PREFIX=/usr/lib/llvm-22
JOBS="${JOBS:-$(nproc)}"

ADAMAS_PACKAGES=(
  cmake ninja-build g++ python3 python3-numpy python3-pytest
  llvm-22 llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
  libgtest-dev googletest
)

adamas_install_packages() {
  local missing=()
  for p in "${ADAMAS_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# adamas_configure BUILD_DIR [extra cmake args...]
adamas_configure() {
  local dir="$1"; shift
  cmake -G Ninja -S "$ADAMAS_ROOT" -B "$dir" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ \
    -DMLIR_DIR="$LLVM_PREFIX/lib/cmake/mlir" \
    -DLLVM_EXTERNAL_LIT="$LLVM_PREFIX/bin/lit" \
    -DPython3_EXECUTABLE=/usr/bin/python3 \
    "$@" >/dev/null
}

adamas_build() {
  adamas_install_packages
  echo "== configuring and building in $ADAMAS_BUILD"
  adamas_configure "$ADAMAS_BUILD"
  ninja -C "$ADAMAS_BUILD" -j "$JOBS"
}
