//===- AdamasPlugin.cpp - adamas as an mlir-opt plugin --------------------===//

#include "adamas/InitAllAdamas.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/Plugins/DialectPlugin.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "llvm/Config/llvm-config.h"

extern "C" LLVM_ATTRIBUTE_WEAK mlir::DialectPluginLibraryInfo
mlirGetDialectPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "Adamas", LLVM_VERSION_STRING,
          [](mlir::DialectRegistry *registry) {
            mlir::adamas::registerAdamasDialects(*registry);
          }};
}

extern "C" LLVM_ATTRIBUTE_WEAK mlir::PassPluginLibraryInfo
mlirGetPassPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "AdamasPasses", LLVM_VERSION_STRING,
          []() { mlir::adamas::registerAdamasPasses(); }};
}
