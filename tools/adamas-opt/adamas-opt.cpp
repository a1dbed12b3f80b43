//===- adamas-opt.cpp - The adamas optimizer driver -----------------------===//

#include "adamas/InitAllAdamas.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::adamas::registerAllAdamasAndUpstream(registry);
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "adamas optimizer driver\n", registry));
}
