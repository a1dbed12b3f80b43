//===- OutlineDecodeSteps.cpp - adamas-outline-decode-steps ---------------===//
//
// Moves the adamas ops of a model function into decode-step functions, the
// unit adamas-lower-to-gpu compiles (DESIGN.md section 4): every tensor of a
// step is an argument or the result of one of its adamas ops.
//
// Grouping. Ops are numbered in one walk of the function's block:
//
//   group(adamas op)    = max over its operands of group(def) for an adamas
//                         def, stage(def) for another op, 0 for an argument;
//   stage(other op)     = max over the values it uses (nested regions too)
//                         of group(def) + 1 for an adamas def, stage(def)
//                         for another op, 0 for an argument.
//
// So an adamas op that reads, through any non-adamas op, the result of an
// adamas op of group g lands in a group > g, and a group never needs a value
// that depends on itself: every group is a valid step. With the code cache
// of adamas-cache-key-codes grown by `tensor.concat(past_codes, new_codes)`
// (the examples' KV caches grow that way too) the layer gets two steps:
// encode (query and new keys), then select + attend on the grown cache.
// (adamas-cache-key-codes grows the code cache by `tensor.concat` or
// `tensor.insert_slice`, as the model grows its KV cache; it could emit an
// in-place `adamas.cache_write` only where it proved the position to be
// `lengths - M`, which a model's IR rarely shows.) The alternative, one step
// with the concat inside, would need a kernel for the concat; two steps keep
// the step contract and let the concat be an upstream-mapped copy kernel. A
// step written with `adamas.cache_write` (the decode-step form of DESIGN.md
// section 4) stays one step, with the code-cache write fused into encode.
//
//===----------------------------------------------------------------------===//

#include "adamas/Dialect/Adamas/IR/AdamasOps.h"
#include "adamas/Dialect/Adamas/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::adamas {
#define GEN_PASS_DEF_ADAMASOUTLINEDECODESTEPS
#include "adamas/Dialect/Adamas/Transforms/Passes.h.inc"
} // namespace mlir::adamas

using namespace mlir;
using namespace mlir::adamas;

static bool isAdamasOp(Operation *op) {
  return op && isa<AdamasDialect>(op->getDialect());
}

/// Values `op` uses, its nested regions included, that are defined outside
/// it.
static SmallVector<Value> usedValues(Operation *op) {
  SmallVector<Value> used;
  op->walk([&](Operation *nested) {
    for (Value v : nested->getOperands()) {
      Operation *owner = v.getDefiningOp();
      if (!owner)
        owner = v.getParentBlock()->getParentOp();
      if (!op->isAncestor(owner))
        used.push_back(v);
    }
  });
  return used;
}

/// The function's body already is a decode step: adamas ops and the return.
static bool isDecodeStep(func::FuncOp func) {
  if (!func.getBody().hasOneBlock())
    return false;
  return llvm::all_of(func.getBody().front(), [](Operation &op) {
    return isAdamasOp(&op) || isa<func::ReturnOp>(op);
  });
}

namespace {

struct OutlineDecodeStepsPass
    : adamas::impl::AdamasOutlineDecodeStepsBase<OutlineDecodeStepsPass> {
  void runOnOperation() override;

private:
  LogicalResult outline(func::FuncOp func, SymbolTable &symbols);
  /// Outlines `group` into a step function created after `*after`, which
  /// then points to the step.
  LogicalResult outlineGroup(func::FuncOp func, ArrayRef<Operation *> group,
                             int64_t index, SymbolTable &symbols,
                             Operation **after);
};

} // namespace

LogicalResult
OutlineDecodeStepsPass::outlineGroup(func::FuncOp func,
                                     ArrayRef<Operation *> group,
                                     int64_t index, SymbolTable &symbols,
                                     Operation **after) {
  DenseSet<Operation *> members(group.begin(), group.end());
  std::string name =
      (func.getSymName() + "_adamas_step_" + Twine(index)).str();
  if (symbols.lookup(name))
    return func.emitOpError("cannot outline its adamas ops: the step "
                            "function name '")
           << name << "' is taken";

  // Arguments: values used from outside the group, first use first.
  // Results: values used outside the group, first definition first.
  llvm::SetVector<Value> inputs;
  llvm::SetVector<Value> outputs;
  for (Operation *op : group) {
    for (Value v : op->getOperands())
      if (!members.contains(v.getDefiningOp()))
        inputs.insert(v);
    for (Value result : op->getResults())
      if (llvm::any_of(result.getUsers(), [&](Operation *user) {
            return !members.contains(user);
          }))
        outputs.insert(result);
  }
  // An in-place cache update needs the cache from the caller (the step
  // writes that argument).
  for (Operation *op : group)
    if (auto write = dyn_cast<CacheWriteOp>(op))
      if (members.contains(write.getCache().getDefiningOp()))
        return write.emitOpError(
            "cannot be outlined into a decode step: its 'cache' must come "
            "from outside the step (it is updated in place), not from an "
            "adamas op of the same step");
  if (outputs.empty())
    return group.front()->emitOpError(
        "cannot be outlined into a decode step: no result of its group of "
        "adamas ops is used");

  // The step function, after the model function and its earlier steps.
  OpBuilder builder(func);
  builder.setInsertionPointAfter(*after);
  SmallVector<Type> inputTypes, outputTypes;
  for (Value v : inputs)
    inputTypes.push_back(v.getType());
  for (Value v : outputs)
    outputTypes.push_back(v.getType());
  Location loc = group.front()->getLoc();
  auto step = func::FuncOp::create(
      builder, loc, name, builder.getFunctionType(inputTypes, outputTypes));
  step.setPrivate();
  symbols.insert(step); // already in place: only registered
  *after = step;
  Block *entry = step.addEntryBlock();
  IRMapping mapping;
  for (auto [v, arg] : llvm::zip(inputs, entry->getArguments()))
    mapping.map(v, arg);
  OpBuilder body = OpBuilder::atBlockEnd(entry);
  for (Operation *op : group)
    body.clone(*op, mapping);
  SmallVector<Value> returned;
  for (Value v : outputs)
    returned.push_back(mapping.lookup(v));
  func::ReturnOp::create(body, loc, returned);

  // The call, where the last op of the group was. Ops between the group's
  // first and last op that use its results (transitively) move after the
  // call, in order; none of them feeds the group (see the file comment).
  Operation *last = group.back();
  builder.setInsertionPointAfter(last);
  auto call = func::CallOp::create(builder, loc, step, inputs.getArrayRef());
  DenseSet<Operation *> dependent(members);
  SmallVector<Operation *> toMove;
  for (Operation *op = group.front(); op != last; op = op->getNextNode()) {
    if (members.contains(op))
      continue;
    if (llvm::any_of(usedValues(op), [&](Value v) {
          return dependent.contains(v.getDefiningOp());
        })) {
      dependent.insert(op);
      toMove.push_back(op);
    }
  }
  Operation *previous = call;
  for (Operation *op : toMove) {
    op->moveAfter(previous);
    previous = op;
  }
  for (auto [v, result] : llvm::zip(outputs, call.getResults()))
    Value(v).replaceAllUsesWith(result);
  for (Operation *op : llvm::reverse(group))
    op->erase();
  return success();
}

LogicalResult OutlineDecodeStepsPass::outline(func::FuncOp func,
                                              SymbolTable &symbols) {
  // Adamas ops only at the top level of a one-block body.
  WalkResult nested = func.walk([&](Operation *op) {
    if (!isAdamasOp(op) || op->getParentOp() == func.getOperation())
      return WalkResult::advance();
    op->emitOpError("cannot be outlined into a decode step: it is inside a "
                    "nested region (only adamas ops directly in a function's "
                    "body form steps)");
    return WalkResult::interrupt();
  });
  if (nested.wasInterrupted())
    return failure();
  if (!llvm::any_of(func.getBody().getOps(),
                    [](Operation &op) { return isAdamasOp(&op); }))
    return success();
  if (!func.getBody().hasOneBlock())
    return func.emitOpError("cannot outline its adamas ops into decode steps: "
                            "the body has several blocks");

  Block &block = func.getBody().front();
  DenseMap<Operation *, int64_t> level; // group of adamas ops, else stage
  int64_t groups = 0;
  for (Operation &op : block) {
    bool adamas = isAdamasOp(&op);
    int64_t value = 0;
    for (Value v : adamas ? SmallVector<Value>(op.getOperands())
                          : usedValues(&op)) {
      Operation *def = v.getDefiningOp();
      if (!def || def->getBlock() != &block)
        continue;
      int64_t defLevel = level.lookup(def);
      value = std::max(value, isAdamasOp(def) && !adamas ? defLevel + 1
                                                         : defLevel);
    }
    level[&op] = value;
    if (adamas)
      groups = std::max(groups, value + 1);
  }
  llvm::MapVector<int64_t, SmallVector<Operation *>> byGroup;
  for (int64_t g = 0; g < groups; ++g)
    byGroup[g];
  for (Operation &op : block)
    if (isAdamasOp(&op))
      byGroup[level[&op]].push_back(&op);
  int64_t index = 0;
  Operation *after = func;
  for (auto &[g, ops] : byGroup) {
    if (ops.empty())
      continue;
    if (failed(outlineGroup(func, ops, index++, symbols, &after)))
      return failure();
  }
  // The model function is the host entry point, callable from C like the
  // steps adamas-lower-to-gpu makes (`_mlir_ciface_<name>`).
  func->setAttr("llvm.emit_c_interface", UnitAttr::get(func.getContext()));
  return success();
}

void OutlineDecodeStepsPass::runOnOperation() {
  ModuleOp module = getOperation();
  SymbolTable symbols(module);
  SmallVector<func::FuncOp> funcs;
  for (auto func : module.getOps<func::FuncOp>())
    if (!func.isExternal() && !isDecodeStep(func))
      funcs.push_back(func);
  for (func::FuncOp func : funcs)
    if (failed(outline(func, symbols)))
      return signalPassFailure();
}
