// Parses a file with adamas ops, runs adamas::buildCPUPipeline on it and
// prints the result: what an embedding compiler does with the package. With
// a second argument "sparsify", runs adamas::buildSparsifyPipeline instead;
// with "gpu", adamas::buildGPUPipeline (PTX, so no CUDA toolkit is needed).

#include "adamas/InitAllAdamas.h"
#include "adamas/Pipelines/Pipelines.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/raw_ostream.h"

int main(int argc, char **argv) {
  // With "sparsify": adamas::buildSparsifyPipeline on model IR (every
  // upstream dialect registered to parse it), printed before lowering.
  bool sparsify = argc == 3 && llvm::StringRef(argv[2]) == "sparsify";
  bool gpu = argc == 3 && llvm::StringRef(argv[2]) == "gpu";
  if (argc != 2 && !sparsify && !gpu) {
    llvm::errs() << "usage: consumer FILE.mlir [sparsify|gpu]\n";
    return 2;
  }
  mlir::DialectRegistry registry;
  registry.insert<mlir::func::FuncDialect>();
  mlir::adamas::registerAdamasDialects(registry);
  if (sparsify || gpu)
    mlir::adamas::registerAllAdamasAndUpstream(registry);
  mlir::MLIRContext context(registry);

  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceFile<mlir::ModuleOp>(argv[1], &context);
  if (!module)
    return 1;
  mlir::PassManager pm(&context);
  if (sparsify) {
    mlir::adamas::SparsifyPipelineOptions options;
    options.budget = 64;
    mlir::adamas::buildSparsifyPipeline(pm, options);
  } else if (gpu) {
    mlir::adamas::GPUPipelineOptions options;
    options.chip = "sm_90";
    options.format = mlir::adamas::KernelFormat::Isa;
    mlir::adamas::buildGPUPipeline(pm, options);
  } else {
    mlir::adamas::buildCPUPipeline(pm);
  }
  if (mlir::failed(pm.run(*module)))
    return 1;
  module->print(llvm::outs());
  return 0;
}
