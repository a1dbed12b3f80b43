//===- AssertToLLVM.cpp - cf.assert to a message on stderr ----------------===//
//
// Failed run-time checks (`-generate-runtime-verification`, or any
// `cf.assert`) must be seen. Upstream's lowering prints the message with
// `puts` and then calls `abort()`; `abort()` does not flush stdio, so when
// stdout is a pipe (FileCheck, a log) the message is lost and all one sees
// is SIGABRT. Here the message goes to file descriptor 2 through `write`,
// which is unbuffered, before `abort()`.
//
//===----------------------------------------------------------------------===//

#include "adamas/Conversion/AssertToLLVM/AssertToLLVM.h"

#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

namespace mlir::adamas {
#define GEN_PASS_DEF_ADAMASASSERTTOLLVM
#include "adamas/Conversion/Passes.h.inc"
} // namespace mlir::adamas

using namespace mlir;

/// The declaration `name` of type `type` in `module`, created if missing;
/// null (after an error) if the name is taken by something else.
static LLVM::LLVMFuncOp getOrDeclare(ModuleOp module, SymbolTable &symbols,
                                     StringRef name,
                                     LLVM::LLVMFunctionType type) {
  if (Operation *existing = symbols.lookup(name)) {
    auto fn = dyn_cast<LLVM::LLVMFuncOp>(existing);
    if (fn && fn.getFunctionType() == type)
      return fn;
    existing->emitError() << "'" << name << "' is needed as " << type
                          << " to report failed assertions";
    return nullptr;
  }
  OpBuilder b(module.getContext());
  auto fn = LLVM::LLVMFuncOp::create(b, module.getLoc(), name, type);
  symbols.insert(fn, module.getBody()->begin());
  return fn;
}

namespace {
struct AdamasAssertToLLVMPass
    : adamas::impl::AdamasAssertToLLVMBase<AdamasAssertToLLVMPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Only asserts directly in a function body can become branches: a
    // single-block region (scf.for, ...) cannot be split. Others are left to
    // the upstream lowering.
    SmallVector<cf::AssertOp> asserts;
    module.walk([&](cf::AssertOp op) {
      if (isa<FunctionOpInterface>(op->getParentOp()))
        asserts.push_back(op);
    });
    if (asserts.empty())
      return;

    MLIRContext *ctx = &getContext();
    SymbolTable symbols(module);
    Type i32 = IntegerType::get(ctx, 32), i64 = IntegerType::get(ctx, 64);
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    // ssize_t write(int fd, const void *buf, size_t count); void abort(void)
    LLVM::LLVMFuncOp writeFn =
        getOrDeclare(module, symbols, "write",
                     LLVM::LLVMFunctionType::get(i64, {i32, ptr, i64}));
    LLVM::LLVMFuncOp abortFn = getOrDeclare(
        module, symbols, "abort",
        LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), {}));
    if (!writeFn || !abortFn)
      return signalPassFailure();

    OpBuilder b(ctx);
    OpBuilder globals = OpBuilder::atBlockBegin(module.getBody());
    for (cf::AssertOp op : asserts) {
      Location loc = op.getLoc();
      std::string text = (op.getMsg() + "\n").str();
      auto global = LLVM::GlobalOp::create(
          globals, loc, LLVM::LLVMArrayType::get(b.getI8Type(), text.size()),
          /*isConstant=*/true, LLVM::Linkage::Internal, "adamas_assert_msg",
          b.getStringAttr(text));
      symbols.insert(global); // Uniques the name.

      // before: ... cf.cond_br %cond, ^cont, ^fail
      // ^fail:  write(2, msg, len); abort(); unreachable
      // ^cont:  the ops after the assert
      Block *before = op->getBlock();
      Block *cont = before->splitBlock(op);
      Block *fail = b.createBlock(cont);
      Value message = LLVM::AddressOfOp::create(b, loc, global);
      Value stderrFd =
          LLVM::ConstantOp::create(b, loc, i32, b.getI32IntegerAttr(2));
      Value length = LLVM::ConstantOp::create(
          b, loc, i64, b.getI64IntegerAttr(static_cast<int64_t>(text.size())));
      LLVM::CallOp::create(b, loc, writeFn,
                           ValueRange{stderrFd, message, length});
      LLVM::CallOp::create(b, loc, abortFn, ValueRange{});
      LLVM::UnreachableOp::create(b, loc);

      b.setInsertionPointToEnd(before);
      cf::CondBranchOp::create(b, loc, op.getArg(), cont, ValueRange{}, fail,
                               ValueRange{});
      op.erase();
    }
  }
};
} // namespace
