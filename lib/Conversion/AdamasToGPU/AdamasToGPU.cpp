//===- AdamasToGPU.cpp - Fused GPU kernels of adamas decode steps ---------===//
//
// The GPU lowering of DESIGN.md section 4, structured as
//
//   group     (here)              which ops fuse into which kernel;
//   configure (KernelConfig.cpp)  launch parameters from shapes and chip;
//   build     (KernelBuilder + EncodeKernel / SelectKernel / AttendKernel)
//   launch    (HostBuilder)       the host side on the step's stream.
//
// A decode-step function on tensors becomes a host function on memrefs:
// arguments keep their shapes (identity layout), results become trailing
// output arguments (the caller's buffers, written by the kernels directly),
// and a `cache_write` into an argument updates that argument in place. The
// body is then a chain of `gpu.launch_func async` with scratch from
// `gpu.alloc`, all on one stream.
//
// Calls of a step on tensors (a model function that calls the steps
// adamas-outline-decode-steps made) are rewritten to the new signature on
// the caller's side: the arguments become buffers (`bufferization.to_buffer`,
// read-only but for a cache the step updates in place), the outputs fresh
// buffers (`memref.alloc`, sized from the arguments), and the results
// tensors over them (`bufferization.to_tensor restrict writable`), so that
// one-shot bufferization of the caller, later in adamas-gpu-pipeline, joins
// them up without copies.
//
//===----------------------------------------------------------------------===//

#include "adamas/Conversion/AdamasToGPU/AdamasToGPU.h"
#include "HostBuilder.h"
#include "Kernels.h"
#include "adamas/Conversion/AdamasToGPU/KernelConfig.h"
#include "adamas/Conversion/AdamasToGPU/TargetInfo.h"
#include "adamas/Dialect/Adamas/IR/AdamasDialect.h"
#include "adamas/Dialect/Adamas/IR/AdamasOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/Support/FileSystem.h"

namespace mlir::adamas {
#define GEN_PASS_DEF_ADAMASLOWERTOGPU
#include "adamas/Conversion/Passes.h.inc"
} // namespace mlir::adamas

using namespace mlir;
using namespace mlir::adamas;

namespace {

/// The memref type a tensor gets on the host side: same shape and element
/// type, identity layout.
MemRefType bufferType(Type tensorType) {
  auto type = cast<RankedTensorType>(tensorType);
  return MemRefType::get(type.getShape(), type.getElementType());
}

bool isAdamasOp(Operation *op) { return isa<AdamasDialect>(op->getDialect()); }

/// Converts one decode-step function.
class StepLowering {
public:
  StepLowering(func::FuncOp func, const TargetInfo &target,
               const SelectOptions &selectOptions,
               const AttendOptions &attendOptions)
      : func(func), target(target), selectOptions(selectOptions),
        attendOptions(attendOptions) {}

  LogicalResult run();

private:
  LogicalResult validate();
  LogicalResult planEncode();
  /// The buffer holding tensor `value` (mapped arguments, or a fresh one).
  Value bufferOf(Value value);
  /// The buffer a result gets: an output argument if returned, the cache
  /// for a cache_write, else scratch shaped like the op's result.
  Value resultBuffer(Value result, ArrayRef<Value> dynamicSizes);
  /// Maps the encode jobs' results to their buffers (before any kernel
  /// that reads them is emitted) and returns the jobs on buffers.
  SmallVector<EncodeJob> mapEncodeJobs();
  /// Whether the encode jobs left (after the queries fused into selects)
  /// may run after every other kernel of the step: they only write new
  /// keys' codes into caches, and every selection over such a cache forces
  /// the new positions (recent >= their count), so no distance to them
  /// ranks.
  bool encodeJobsMayRunLast();
  LogicalResult emitSelect(L1TopKOp op, int64_t ordinal);
  LogicalResult emitAttend(SparseAttnOp op, int64_t ordinal);
  Value dimOf(Value tensor, int64_t i);
  /// Rewrites the tensor calls of the step to the new signature.
  LogicalResult rewriteCalls(ArrayRef<func::CallOp> calls,
                             ArrayRef<Value> outputValues);

  func::FuncOp func;
  const TargetInfo &target;
  SelectOptions selectOptions;
  AttendOptions attendOptions;
  std::string name;
  // Filled while lowering.
  func::FuncOp newFunc;
  std::unique_ptr<ImplicitLocOpBuilder> b;
  std::unique_ptr<HostBuilder> host;
  IRMapping buffers;
  /// Results returned by the function and their output arguments.
  DenseMap<Value, Value> outputs;
  /// Encode jobs by the bucketize or hadamard op they lower.
  SmallVector<std::pair<Operation *, EncodeJob>> encodeJobs;
  /// hadamard ops fused into every bucketize that reads them.
  DenseSet<Operation *> fusedHadamards;
  /// cache_write ops whose rows a bucketize writes into the cache.
  DenseSet<Operation *> fusedCacheWrites;
  /// Query encodings fused into the l1_topk op that reads their codes
  /// (SelectOptions::encodesQueries): the select kernels encode the queries.
  DenseMap<Operation *, EncodeJob> selectQueryJobs;
  /// The encode kernel runs after the step's other kernels
  /// (encodeJobsMayRunLast), off the selection's critical path.
  bool encodeLast = false;
  /// Selections whose sparse_attn (the key) may plan and compact the slots
  /// it attends (AttendConfig::compactsSelection): the kernels emitSelect
  /// left it to launch.
  DenseMap<Operation *, std::unique_ptr<SelectionKernels>> deferredSelections;
};
} // namespace

//===----------------------------------------------------------------------===//
// Validation: the body is a decode step
//===----------------------------------------------------------------------===//

LogicalResult StepLowering::validate() {
  if (!func.getBody().hasOneBlock())
    return func.emitOpError("cannot be lowered to the GPU: a decode step "
                            "function has one block");
  for (Operation &op : func.getBody().front()) {
    if (isa<func::ReturnOp>(op))
      continue;
    if (!isAdamasOp(&op))
      return op.emitOpError(
          "cannot be lowered by adamas-lower-to-gpu: a decode-step function "
          "may hold only adamas ops (every tensor an argument or an adamas "
          "result)");
    for (Value operand : op.getOperands())
      if (!isa<BlockArgument>(operand) && !isAdamasOp(operand.getDefiningOp()))
        return op.emitOpError("cannot be lowered to the GPU: operand defined "
                              "by a non-adamas op");
  }
  DenseSet<Value> returned;
  for (Value result : func.getBody().front().getTerminator()->getOperands()) {
    if (!returned.insert(result).second)
      return func.emitOpError("cannot be lowered to the GPU: a value is "
                              "returned twice");
    if (isa<BlockArgument>(result))
      return func.emitOpError("cannot be lowered to the GPU: an argument is "
                              "returned unchanged");
  }
  // A cache_write updates its cache in place: the old cache must have no
  // other use.
  for (auto write : func.getOps<CacheWriteOp>())
    if (!write.getCache().hasOneUse())
      return write.emitOpError(
          "cannot be lowered to the GPU: its 'cache' is updated in place, so "
          "the cache before the write may have no other use");
  return success();
}

//===----------------------------------------------------------------------===//
// Grouping: encode jobs
//===----------------------------------------------------------------------===//

LogicalResult StepLowering::planEncode() {
  DenseSet<Value> returned;
  for (Value v : func.getBody().front().getTerminator()->getOperands())
    returned.insert(v);

  // A hadamard read only by bucketize ops (and not returned) fuses into them.
  for (auto hadamard : func.getOps<HadamardOp>()) {
    bool onlyBucketize = !returned.contains(hadamard.getResult()) &&
                         llvm::all_of(hadamard->getUsers(), [](Operation *u) {
                           return isa<BucketizeOp>(u);
                         });
    if (onlyBucketize && !hadamard->use_empty())
      fusedHadamards.insert(hadamard);
  }

  for (Operation &op : func.getBody().front()) {
    auto hadamard = dyn_cast<HadamardOp>(&op);
    auto bucketize = dyn_cast<BucketizeOp>(&op);
    if (!hadamard && !bucketize)
      continue;
    if (hadamard && fusedHadamards.contains(hadamard))
      continue;
    EncodeJob job;
    Value input = hadamard ? hadamard.getInput() : bucketize.getInput();
    job.problem.hadamard = bool(hadamard);
    if (bucketize)
      if (auto producer = input.getDefiningOp<HadamardOp>();
          producer && fusedHadamards.contains(producer)) {
        job.problem.hadamard = true;
        input = producer.getInput();
      }
    auto inputType = cast<RankedTensorType>(input.getType());
    job.problem.dims = inputType.getShape().back();
    job.elementType = inputType.getElementType();
    job.input = input; // a tensor for now, mapped when emitted
    if (bucketize) {
      job.problem.bits = bucketize.getBits();
      job.thresholds = llvm::to_vector(bucketize.getThresholds());
      job.headThresholds = bucketize.getHeadThresholds();
      if (job.headThresholds && inputType.getRank() != 4)
        return bucketize.emitOpError("cannot be lowered to the GPU: per-head "
                                     "thresholds need a rank-4 input");
      job.destination = EncodeJob::Destination::Codes;
      Value codes = bucketize.getResult();
      if (codes.hasOneUse() && !returned.contains(codes))
        if (auto write = dyn_cast<CacheWriteOp>(*codes.getUsers().begin());
            write && write.getRows() == codes) {
          if (inputType.getRank() != 4)
            return write.emitOpError("cannot be lowered to the GPU: rows of "
                                     "rank 4 expected");
          job.destination = EncodeJob::Destination::Cache;
          fusedCacheWrites.insert(write);
        }
    } else {
      job.destination = EncodeJob::Destination::Values;
    }
    ConfigOr<EncodeConfig> config = EncodeConfig::get(job.problem, target);
    if (!config)
      return op.emitOpError("cannot be lowered to the GPU: ") << config.reason;
    job.config = *config;
    // Codes read only as an l1_topk's query codes (of the same bits) are
    // made by its histogram pass, from the query rows.
    if (selectOptions.encodesQueries &&
        job.destination == EncodeJob::Destination::Codes &&
        inputType.getRank() == 4) {
      Value codes = bucketize.getResult();
      auto select = codes.hasOneUse() && !returned.contains(codes)
                        ? dyn_cast<L1TopKOp>(*codes.getUsers().begin())
                        : L1TopKOp();
      if (select && select.getQueryCodes() == codes &&
          int64_t(select.getBits()) == int64_t(bucketize.getBits())) {
        selectQueryJobs[select] = job;
        continue;
      }
    }
    encodeJobs.push_back({&op, job});
  }
  for (auto write : func.getOps<CacheWriteOp>())
    if (!fusedCacheWrites.contains(write))
      return write.emitOpError(
          "cannot be lowered to the GPU: only the codes of a bucketize (used "
          "by nothing else) can be written into a cache");
  encodeLast = selectOptions.encodesQueries && encodeJobsMayRunLast();
  return success();
}

bool StepLowering::encodeJobsMayRunLast() {
  // Running last, the encode kernel reads the step's inputs before its wait
  // (GridDependency::WaitLast): only safe behind a kernel that waited first.
  if (func.getOps<L1TopKOp>().empty() && func.getOps<SparseAttnOp>().empty())
    return false;
  for (auto &[op, job] : encodeJobs) {
    if (job.destination != EncodeJob::Destination::Cache)
      return false;
    auto write =
        cast<CacheWriteOp>(*op->getResult(0).getUsers().begin());
    int64_t newRows =
        cast<RankedTensorType>(write.getRows().getType()).getDimSize(2);
    if (ShapedType::isDynamic(newRows))
      return false;
    for (Operation *user : write.getResult().getUsers()) {
      if (isa<func::ReturnOp>(user))
        continue;
      auto select = dyn_cast<L1TopKOp>(user);
      // The M new positions [len - M, len) are in the recent window of
      // every query row (row m sees up to len - M + m + 1).
      if (!select || select.getKeyCodes() != write.getResult() ||
          int64_t(select.getRecent()) < newRows)
        return false;
    }
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Buffers
//===----------------------------------------------------------------------===//

Value StepLowering::bufferOf(Value value) {
  Value buffer = buffers.lookupOrNull(value);
  assert(buffer && "tensor without a buffer: ops are lowered in order");
  return buffer;
}

Value StepLowering::dimOf(Value tensor, int64_t i) {
  return host->dim(bufferOf(tensor), i);
}

Value StepLowering::resultBuffer(Value result, ArrayRef<Value> dynamicSizes) {
  Value buffer;
  if (auto it = outputs.find(result); it != outputs.end())
    buffer = it->second;
  else
    buffer = host->allocScratch(bufferType(result.getType()), dynamicSizes);
  buffers.map(result, buffer);
  return buffer;
}

/// Dynamic sizes of `type` taken from `sources` (one per dimension).
static SmallVector<Value> dynamicSizesOf(Type type, ArrayRef<Value> sources) {
  SmallVector<Value> sizes;
  for (auto [i, size] :
       llvm::enumerate(cast<RankedTensorType>(type).getShape()))
    if (ShapedType::isDynamic(size))
      sizes.push_back(sources[i]);
  return sizes;
}

//===----------------------------------------------------------------------===//
// Emission
//===----------------------------------------------------------------------===//

SmallVector<EncodeJob> StepLowering::mapEncodeJobs() {
  SmallVector<EncodeJob> jobs;
  for (auto &[op, job] : encodeJobs) {
    EncodeJob mapped = job;
    mapped.input = bufferOf(job.input);
    if (job.headThresholds)
      mapped.headThresholds = bufferOf(job.headThresholds);
    Value result = op->getResult(0);
    if (job.destination == EncodeJob::Destination::Cache) {
      auto write = cast<CacheWriteOp>(*result.getUsers().begin());
      mapped.output = bufferOf(write.getCache());
      mapped.lengths = bufferOf(write.getLengths());
      buffers.map(write.getResult(), mapped.output);
    } else {
      SmallVector<Value> sources;
      auto inputType = cast<MemRefType>(mapped.input.getType());
      for (int64_t i = 0; i < inputType.getRank(); ++i)
        sources.push_back(host->dim(mapped.input, i));
      mapped.output =
          resultBuffer(result, dynamicSizesOf(result.getType(), sources));
    }
    jobs.push_back(mapped);
  }
  return jobs;
}

LogicalResult StepLowering::emitSelect(L1TopKOp op, int64_t ordinal) {
  auto queryType = cast<RankedTensorType>(op.getQueryCodes().getType());
  auto keyType = cast<RankedTensorType>(op.getKeyCodes().getType());
  SelectProblem p;
  p.words = queryType.isDynamicDim(3) ? keyType.getDimSize(3)
                                      : queryType.getDimSize(3);
  p.bits = op.getBits();
  p.queryHeads = queryType.getDimSize(1);
  p.kvHeads = keyType.getDimSize(1);
  p.rows = queryType.getDimSize(2);
  p.k = op.getK();
  p.sink = op.getSink();
  p.recent = op.getRecent();
  p.sharedGroup = op.getSharedGroup();
  auto jobIt = selectQueryJobs.find(op);
  p.encodesQueries = jobIt != selectQueryJobs.end();
  if (ShapedType::isDynamic(p.queryHeads) || ShapedType::isDynamic(p.kvHeads) ||
      ShapedType::isDynamic(p.rows))
    return op.emitOpError("cannot be lowered to the GPU: heads and M must be "
                          "static");
  ConfigOr<SelectConfig> config = SelectConfig::get(p, target, selectOptions);
  if (!config)
    return op.emitOpError("cannot be lowered to the GPU: ") << config.reason;

  SelectLaunch s;
  s.problem = p;
  s.config = *config;
  s.maxSharedBytes = target.maxStaticSharedBytes;
  // The query's codes, or its rows where the select encodes them (B and M
  // are theirs either way).
  Value query = op.getQueryCodes();
  if (p.encodesQueries) {
    EncodeJob job = jobIt->second;
    job.input = bufferOf(job.input);
    if (job.headThresholds)
      job.headThresholds = bufferOf(job.headThresholds);
    s.queryEncoding = job;
    query = jobIt->second.input;
  } else {
    s.queryCodes = bufferOf(query);
  }
  s.keyCodes = bufferOf(op.getKeyCodes());
  s.lengths = bufferOf(op.getLengths());
  s.result = resultBuffer(
      op.getResult(), dynamicSizesOf(op.getType(), {dimOf(query, 0), Value(),
                                                    dimOf(query, 2), Value()}));
  // Indices that only one sparse_attn reads (not returned) can be compacted
  // by its CTAs, where the selection has a separate compaction kernel.
  SparseAttnOp attend;
  Value indices = op.getResult();
  if (attendOptions.compactsSelection && !s.config.clusterChunks &&
      indices.hasOneUse() && !outputs.count(indices))
    if (auto user = dyn_cast<SparseAttnOp>(*indices.getUsers().begin());
        user && user.getIndices() == indices)
      attend = user;
  std::unique_ptr<SelectionKernels> deferred;
  if (attend)
    deferred = std::make_unique<SelectionKernels>();
  adamas::emitSelect(*host, name + "_select" + std::to_string(ordinal), s,
                     deferred.get());
  if (deferred)
    deferredSelections[attend] = std::move(deferred);
  return success();
}

LogicalResult StepLowering::emitAttend(SparseAttnOp op, int64_t ordinal) {
  auto queryType = cast<RankedTensorType>(op.getQuery().getType());
  auto keyType = cast<RankedTensorType>(op.getKeys().getType());
  auto valueType = cast<RankedTensorType>(op.getValues().getType());
  auto indexType = cast<RankedTensorType>(op.getIndices().getType());
  AttendProblem p;
  p.dims = queryType.getDimSize(3);
  p.valueDims = valueType.getDimSize(3);
  p.queryHeads = queryType.getDimSize(1);
  p.kvHeads = keyType.getDimSize(1);
  p.rows = queryType.getDimSize(2);
  p.slots = indexType.getDimSize(3);
  int64_t indexHeads = indexType.getDimSize(1);
  if (ShapedType::isDynamic(p.queryHeads) || ShapedType::isDynamic(p.kvHeads) ||
      ShapedType::isDynamic(p.rows) || ShapedType::isDynamic(p.valueDims) ||
      ShapedType::isDynamic(indexHeads))
    return op.emitOpError("cannot be lowered to the GPU: heads, M, Dv and "
                          "the indices' heads must be static");
  // Indices with Hkv heads (and Hq != Hkv) are shared by a group.
  p.indicesPerKvHead = indexHeads != p.queryHeads;
  p.halfElements = !queryType.getElementType().isF32();
  ConfigOr<AttendConfig> config = AttendConfig::get(p, target, attendOptions);
  if (!config)
    return op.emitOpError("cannot be lowered to the GPU: ") << config.reason;

  AttendLaunch a;
  a.problem = p;
  a.config = *config;
  a.elementType = queryType.getElementType();
  a.scale = op.getScaleOrDefault();
  a.query = bufferOf(op.getQuery());
  a.keys = bufferOf(op.getKeys());
  a.values = bufferOf(op.getValues());
  a.indices = bufferOf(op.getIndices());
  a.result = resultBuffer(
      op.getResult(),
      dynamicSizesOf(op.getType(), {dimOf(op.getQuery(), 0), Value(),
                                    dimOf(op.getQuery(), 2), Value()}));
  if (auto it = deferredSelections.find(op); it != deferredSelections.end()) {
    a.selection = it->second.get();
    a.config.compactsSelection = true;
  }
  // The compaction's st.async is the cluster form's where its CTAs compact.
  a.config.asyncClusterCompaction &= a.config.compactsSelection;
  adamas::emitAttend(*host, name + "_attend" + std::to_string(ordinal), a);
  return success();
}

LogicalResult StepLowering::run() {
  name = func.getSymName().str();
  if (failed(validate()) || failed(planEncode()))
    return failure();
  SmallVector<func::CallOp> calls;
  auto moduleOfFunc = func->getParentOfType<ModuleOp>();
  if (std::optional<SymbolTable::UseRange> uses =
          SymbolTable::getSymbolUses(func, moduleOfFunc)) {
    for (const SymbolTable::SymbolUse &use : *uses) {
      auto call = dyn_cast<func::CallOp>(use.getUser());
      if (!call)
        return use.getUser()->emitOpError(
            "cannot use decode step '")
               << name << "' lowered by adamas-lower-to-gpu other than by "
                          "func.call";
      calls.push_back(call);
    }
  }

  // The new signature: arguments as memrefs, then one output argument per
  // returned tensor that is not an in-place update of an argument.
  Block &body = func.getBody().front();
  auto returnOp = cast<func::ReturnOp>(body.getTerminator());
  SmallVector<Type> argTypes;
  for (Type t : func.getArgumentTypes())
    argTypes.push_back(bufferType(t));
  SmallVector<Value> outputValues;
  for (Value result : returnOp.getOperands()) {
    if (result.getDefiningOp<CacheWriteOp>())
      continue; // the cache argument itself, updated in place
    outputValues.push_back(result);
    argTypes.push_back(bufferType(result.getType()));
  }

  OpBuilder builder(func);
  newFunc = func::FuncOp::create(builder, func.getLoc(), name,
                                 builder.getFunctionType(argTypes, {}));
  newFunc.setVisibility(func.getVisibility());
  newFunc->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                   builder.getUnitAttr());
  Block *entry = newFunc.addEntryBlock();
  b = std::make_unique<ImplicitLocOpBuilder>(func.getLoc(), builder);
  b->setInsertionPointToStart(entry);

  // The kernels of this step live in their own module.
  auto moduleOp = func->getParentOfType<ModuleOp>();
  moduleOp->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    builder.getUnitAttr());
  OpBuilder moduleBuilder(moduleOp.getBodyRegion());
  moduleBuilder.setInsertionPointToEnd(moduleOp.getBody());
  auto kernels =
      gpu::GPUModuleOp::create(moduleBuilder, func.getLoc(), name + "_kernels");
  // Every kernel built into this module waits on its grid dependencies first
  // (KernelBuilder): say so to the runtime, which then launches them as
  // programmatic dependents. An external global survives to the cubin, where
  // cuModuleGetGlobal finds it.
  if (target.hasGridDependencyControl()) {
    OpBuilder inModule = OpBuilder::atBlockBegin(kernels.getBody());
    auto i32 = inModule.getI32Type();
    LLVM::GlobalOp::create(inModule, func.getLoc(), i32, /*isConstant=*/true,
                           LLVM::Linkage::External, kGridDependencyMarker,
                           inModule.getI32IntegerAttr(1), /*alignment=*/4,
                           /*addrSpace=*/1);
  }

  for (auto [arg, buffer] :
       llvm::zip(func.getArguments(), entry->getArguments()))
    buffers.map(arg, buffer);
  for (auto [i, result] : llvm::enumerate(outputValues))
    outputs[result] = entry->getArgument(func.getNumArguments() + i);

  host = std::make_unique<HostBuilder>(*b, kernels, target);
  bool encoded = false;
  SmallVector<EncodeJob> encodes;
  int64_t selects = 0, attends = 0;
  for (Operation &op : body) {
    LogicalResult status = success();
    if (isa<HadamardOp, BucketizeOp>(op)) {
      // All encode jobs read arguments only, so they run first, together
      // (or last, where nothing in the step reads what they write).
      if (!encoded) {
        encodes = mapEncodeJobs();
        if (!encodeLast && !encodes.empty())
          adamas::emitEncode(*host, name + "_encode", encodes);
      }
      encoded = true;
    } else if (auto select = dyn_cast<L1TopKOp>(op)) {
      status = emitSelect(select, selects++);
    } else if (auto attend = dyn_cast<SparseAttnOp>(op)) {
      status = emitAttend(attend, attends++);
    }
    if (failed(status)) {
      newFunc.erase();
      kernels.erase();
      return failure();
    }
  }
  if (encodeLast && !encodes.empty())
    adamas::emitEncode(*host, name + "_encode", encodes,
                       GridDependency::WaitLast);
  host->finish();
  func::ReturnOp::create(*b);
  if (failed(rewriteCalls(calls, outputValues))) {
    newFunc.erase();
    kernels.erase();
    return failure();
  }
  func.erase();
  return success();
}

/// Dimension `dim` of `value` in the step, as (argument, dimension) of the
/// step: what the lowering sizes the value's buffer from.
static std::optional<std::pair<unsigned, int64_t>> traceDim(Value value,
                                                            int64_t dim) {
  if (auto arg = dyn_cast<BlockArgument>(value))
    return std::make_pair(arg.getArgNumber(), dim);
  Operation *op = value.getDefiningOp();
  int64_t rank = cast<RankedTensorType>(value.getType()).getRank();
  if (auto hadamard = dyn_cast_or_null<HadamardOp>(op))
    return traceDim(hadamard.getInput(), dim);
  if (auto bucketize = dyn_cast_or_null<BucketizeOp>(op))
    return dim + 1 < rank ? traceDim(bucketize.getInput(), dim) : std::nullopt;
  if (auto write = dyn_cast_or_null<CacheWriteOp>(op))
    return traceDim(write.getCache(), dim);
  if (auto select = dyn_cast_or_null<L1TopKOp>(op))
    return dim == 0 || dim == 2 ? traceDim(select.getQueryCodes(), dim)
                                : std::nullopt;
  if (auto attend = dyn_cast_or_null<SparseAttnOp>(op)) {
    if (dim == 0 || dim == 2)
      return traceDim(attend.getQuery(), dim);
    if (dim == 3)
      return traceDim(attend.getValues(), dim);
  }
  return std::nullopt;
}

LogicalResult StepLowering::rewriteCalls(ArrayRef<func::CallOp> calls,
                                         ArrayRef<Value> outputValues) {
  auto returnOp = cast<func::ReturnOp>(func.getBody().front().getTerminator());
  // Arguments the step writes: the caches of cache_writes.
  DenseSet<unsigned> written;
  for (auto write : func.getOps<CacheWriteOp>())
    if (auto arg = dyn_cast<BlockArgument>(write.getCache()))
      written.insert(arg.getArgNumber());
  for (func::CallOp call : calls) {
    if (call.getNumOperands() != func.getNumArguments() ||
        call.getNumResults() != returnOp.getNumOperands())
      return call.emitOpError("does not match the decode step it calls");
    ImplicitLocOpBuilder cb(call.getLoc(), call);
    SmallVector<Value> operands;
    for (auto [i, operand] : llvm::enumerate(call.getOperands()))
      operands.push_back(bufferization::ToBufferOp::create(
          cb, bufferType(operand.getType()), operand,
          /*read_only=*/!written.contains(i)));
    SmallVector<Value> outBuffers;
    for (Value result : outputValues) {
      auto type = cast<RankedTensorType>(result.getType());
      SmallVector<Value> sizes;
      for (int64_t d = 0; d < type.getRank(); ++d) {
        if (!type.isDynamicDim(d))
          continue;
        std::optional<std::pair<unsigned, int64_t>> source =
            traceDim(result, d);
        if (!source)
          return call.emitOpError("cannot size the output buffer of decode "
                                  "step '")
                 << name << "': dimension " << d
                 << " of a result is not that of an argument";
        sizes.push_back(tensor::DimOp::create(
            cb, call.getOperand(source->first), source->second));
      }
      outBuffers.push_back(
          memref::AllocOp::create(cb, bufferType(type), sizes));
    }
    SmallVector<Value> newOperands(operands);
    llvm::append_range(newOperands, outBuffers);
    func::CallOp::create(cb, newFunc, newOperands);
    // Results: tensors over the output buffers, or over the cache argument
    // a cache_write updated in place.
    unsigned next = 0;
    for (auto [result, returned] :
         llvm::zip(call.getResults(), returnOp.getOperands())) {
      Value buffer;
      if (auto write = returned.getDefiningOp<CacheWriteOp>()) {
        auto arg = dyn_cast<BlockArgument>(write.getCache());
        if (!arg)
          return write.emitOpError("cannot be lowered to the GPU: a step "
                                   "that returns an updated cache must take "
                                   "the cache as an argument");
        buffer = operands[arg.getArgNumber()];
      } else {
        buffer = outBuffers[next++];
      }
      result.replaceAllUsesWith(bufferization::ToTensorOp::create(
          cb, result.getType(), buffer, /*restrict=*/true,
          /*writable=*/true));
    }
    call.erase();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Pass
//===----------------------------------------------------------------------===//

namespace {
struct AdamasLowerToGPUPass
    : adamas::impl::AdamasLowerToGPUBase<AdamasLowerToGPUPass> {
  using AdamasLowerToGPUBase::AdamasLowerToGPUBase;

  void runOnOperation() override {
    std::optional<TargetInfo> target =
        TargetInfo::get(chip, numMultiprocessors, maxClusterSize);
    if (!target) {
      std::optional<TargetInfo> chipOnly =
          TargetInfo::get(chip, numMultiprocessors);
      if (!chipOnly)
        getOperation().emitError()
            << "adamas-lower-to-gpu: unsupported chip '" << chip
            << "' (expected sm_80 or newer, e.g. sm_90)";
      else
        getOperation().emitError()
            << "adamas-lower-to-gpu: max-cluster-size = "
            << int64_t(maxClusterSize)
            << " is more than " << chip << " allows ("
            << chipOnly->maxClusterSize << ")";
      return signalPassFailure();
    }
    // Counts that must not be negative, by option name.
    for (auto [name, value] :
         {std::pair<StringRef, int64_t>{"attend-long-form-ctas-per-sm",
                                        attendLongFormCtasPerSm},
          {"attend-cluster-waves", attendClusterWaves}}) {
      if (value >= 0)
        continue;
      getOperation().emitError() << "adamas-lower-to-gpu: option '" << name
                                 << "' must be non-negative, got " << value;
      return signalPassFailure();
    }
    if (!toolkit.empty() && !llvm::sys::fs::is_directory(toolkit)) {
      getOperation().emitError()
          << "adamas-lower-to-gpu: CUDA toolkit '" << toolkit
          << "' is not a directory (option 'toolkit')";
      return signalPassFailure();
    }
    SmallVector<func::FuncOp> steps;
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (!func.isExternal() &&
          llvm::any_of(func.getBody().getOps(),
                       [](Operation &op) { return isAdamasOp(&op); }))
        steps.push_back(func);
    SelectOptions select;
    select.clusterSelect = clusterSelect;
    select.tensorCoreDistances = tensorCoreDistances;
    select.l2CacheHints = l2CacheHints;
    select.encodesQueries = selectEncodesQueries;
    select.releasesLate = selectReleasesLate;
    select.pipelinesKeys = selectPipelinesKeys;
    select.asyncKeyCopies = selectAsyncKeyCopies;
    select.shortPassKeyCopies = selectShortPassKeyCopies;
    select.gridSync = selectGridSync;
    select.precompactsCandidates = selectPrecompactsCandidates;
    AttendOptions attend;
    attend.longSplits = attendLongSplits;
    attend.longFormCtasPerSm = attendLongFormCtasPerSm;
    attend.tensorCoreDots = attendTensorCoreDots;
    attend.longFormTensorCoreDots = attendLongFormTensorCoreDots;
    attend.softmaxInQuads = attendSoftmaxInQuads;
    attend.longFormClusterMerge = attendLongFormClusterMerge;
    attend.compactsSelection = attendCompactsSelection;
    attend.asyncClusterMerge = attendAsyncClusterMerge;
    attend.asyncClusterCompaction = attendAsyncClusterCompaction;
    attend.clusterWaves = attendClusterWaves;
    for (func::FuncOp func : steps)
      if (failed(StepLowering(func, *target, select, attend).run()))
        return signalPassFailure();
  }
};
} // namespace
