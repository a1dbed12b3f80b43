//===- KernelBuilder.cpp - The shared layer the kernels are built with ----===//

#include "KernelBuilder.h"

#include "adamas/Conversion/AdamasToGPU/TargetInfo.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "llvm/ADT/StringExtras.h"

#include <limits>

using namespace mlir;
using namespace mlir::adamas;

int64_t mlir::adamas::workgroupBytes(gpu::GPUFuncOp kernel) {
  int64_t bytes = 0;
  for (BlockArgument buffer : kernel.getWorkgroupAttributions()) {
    auto type = cast<MemRefType>(buffer.getType());
    bytes += type.getNumElements() *
             llvm::divideCeil(type.getElementTypeBitWidth(), 8);
  }
  return bytes;
}

KernelBuilder::KernelBuilder(OpBuilder &builder, gpu::GPUModuleOp module,
                             StringRef name, TypeRange argTypes,
                             int64_t blockSize, Location loc,
                             GridDependency dependency)
    : b(loc, builder), threads(blockSize) {
  b.setInsertionPointToEnd(module.getBody());
  kernel = gpu::GPUFuncOp::create(b, name, b.getFunctionType(argTypes, {}));
  kernel->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  kernel.setKnownBlockSizeAttr(
      b.getDenseI32ArrayAttr({int32_t(blockSize), 1, 1}));
  b.setInsertionPointToStart(&kernel.getBody().front());
  // In a module that promises it (TargetInfo.h: kGridDependencyMarker), the
  // kernel waits for the kernels before it on the stream first thing, and
  // lets the next one launch at once: that one's CTAs are scheduled as this
  // grid's last CTAs start, and wait in turn, which hides the launch gap.
  // A kernel independent of the ones before it waits last instead, so that
  // its completion still implies theirs.
  if (module.lookupSymbol(kGridDependencyMarker)) {
    gridDependency = true;
    waitLast = dependency == GridDependency::WaitLast;
    releaseLast = dependency == GridDependency::WaitFirstReleaseLast;
    if (!waitLast)
      NVVM::GriddepcontrolOp::create(b, NVVM::GridDepActionKind::wait);
    if (!releaseLast && dependency != GridDependency::WaitFirstReleaseByKernel)
      NVVM::GriddepcontrolOp::create(
          b, NVVM::GridDepActionKind::launch_dependents);
  }
}

void KernelBuilder::releaseDependentsIf(Value cond) {
  if (gridDependency)
    ifThen(cond, [&] { releaseDependents(); });
}

void KernelBuilder::releaseDependents() {
  if (gridDependency)
    NVVM::GriddepcontrolOp::create(b,
                                   NVVM::GridDepActionKind::launch_dependents);
}

gpu::GPUFuncOp KernelBuilder::finish() {
  if (waitLast)
    NVVM::GriddepcontrolOp::create(b, NVVM::GridDepActionKind::wait);
  if (releaseLast)
    releaseDependents();
  gpu::ReturnOp::create(b);
  return kernel;
}

Value KernelBuilder::sharedBuffer(Type elementType, int64_t size,
                                  int64_t alignBytes) {
  auto space =
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  auto type =
      MemRefType::get({size}, elementType, MemRefLayoutAttrInterface(), space);
  BlockArgument buffer = kernel.addWorkgroupAttribution(type, b.getLoc());
  // At least 16-byte aligned: LLVM's load/store vectorizer merges
  // neighbouring accesses into 16-byte ones (seen: ld.shared.v4 of per-warp
  // sums), and the NVPTX back end declares the buffer with the alignment
  // given here.
  kernel.setWorkgroupAttributionAttr(
      kernel.getNumWorkgroupAttributions() - 1, "llvm.align",
      b.getI64IntegerAttr(std::max<int64_t>(16, alignBytes)));
  return buffer;
}

//===----------------------------------------------------------------------===//
// Ids
//===----------------------------------------------------------------------===//

Value KernelBuilder::threadId() {
  return gpu::ThreadIdOp::create(b, gpu::Dimension::x);
}

Value KernelBuilder::blockId(gpu::Dimension dim) {
  return gpu::BlockIdOp::create(b, dim);
}

Value KernelBuilder::laneId() {
  return arith::IndexCastOp::create(b, b.getI32Type(),
                                    remu(threadId(), idx(32)));
}

Value KernelBuilder::warpId() { return divu(threadId(), idx(32)); }

//===----------------------------------------------------------------------===//
// Warp-level operations
//===----------------------------------------------------------------------===//

Value KernelBuilder::shuffleXor(Value value, int64_t mask) {
  return gpu::ShuffleOp::create(b, value, int32_t(mask), 32,
                                gpu::ShuffleMode::XOR)
      .getShuffleResult();
}

Value KernelBuilder::shuffleIdx(Value value, Value lane) {
  return gpu::ShuffleOp::create(b, value, toI32(b, lane), i32(32),
                                gpu::ShuffleMode::IDX)
      .getShuffleResult();
}

Value KernelBuilder::shuffleUp(Value value, int64_t delta) {
  return gpu::ShuffleOp::create(b, value, int32_t(delta), 32,
                                gpu::ShuffleMode::UP)
      .getShuffleResult();
}

Value KernelBuilder::ballot(Value pred) {
  return NVVM::VoteSyncOp::create(b, b.getI32Type(), i32(-1), pred,
                                  NVVM::VoteSyncKind::ballot);
}

Value KernelBuilder::addAny(Value x, Value y) {
  if (isa<FloatType>(x.getType()))
    return arith::AddFOp::create(b, x, y);
  return arith::AddIOp::create(b, x, y);
}

Value KernelBuilder::warpSum(Value value) {
  for (int64_t mask = 16; mask >= 1; mask /= 2)
    value = addAny(value, shuffleXor(value, mask));
  return value;
}

SmallVector<int64_t> KernelBuilder::reduceScatter(SmallVector<Value> &v,
                                                  Value lane) {
  // At each step a lane keeps the half of the list its lane bit selects
  // (the upper half where it is set) and adds the lane across's copy of it.
  SmallVector<int64_t> masks;
  for (int64_t half = int64_t(v.size()) / 2, mask = 16; half >= 1;
       half /= 2, mask /= 2) {
    masks.push_back(mask);
    Value upper = arith::CmpIOp::create(
        b, arith::CmpIPredicate::ne, arith::AndIOp::create(b, lane, i32(mask)),
        i32(0));
    SmallVector<Value> next;
    for (int64_t i = 0; i < half; ++i) {
      Value keep = select(upper, v[i + half], v[i]);
      Value send = select(upper, v[i], v[i + half]);
      next.push_back(addAny(keep, shuffleXor(send, mask)));
    }
    v = std::move(next);
  }
  return masks;
}

SmallVector<Value> KernelBuilder::warpSumEach(ArrayRef<Value> values) {
  assert(!values.empty() && values.size() <= 32 && "1 to 32 values");
  if (values.size() == 1)
    return {warpSum(values[0])};
  Type type = values[0].getType();
  Value zero = arith::ConstantOp::create(b, b.getZeroAttr(type));
  SmallVector<Value> v(values);
  v.resize(llvm::PowerOf2Ceil(values.size()), zero);
  Value lane = laneId();
  SmallVector<int64_t> masks = reduceScatter(v, lane);
  // The value left, summed over the remaining lane bits.
  for (int64_t mask = masks.back() / 2; mask >= 1; mask /= 2)
    v[0] = addAny(v[0], shuffleXor(v[0], mask));
  // Gather back, the last split first: the lane across holds the other half.
  for (int64_t mask : llvm::reverse(masks)) {
    Value upper = arith::CmpIOp::create(
        b, arith::CmpIPredicate::ne, arith::AndIOp::create(b, lane, i32(mask)),
        i32(0));
    SmallVector<Value> lower, higher;
    for (Value mine : v) {
      Value other = shuffleXor(mine, mask);
      lower.push_back(select(upper, other, mine));
      higher.push_back(select(upper, mine, other));
    }
    v = std::move(lower);
    llvm::append_range(v, higher);
  }
  v.resize(values.size());
  return v;
}

Value KernelBuilder::warpReduceScatter(ArrayRef<Value> values) {
  assert(values.size() == 32 && "one value per lane");
  SmallVector<Value> v(values);
  reduceScatter(v, laneId());
  return v[0];
}

Value KernelBuilder::exp2(Value x) {
  // convert-gpu-to-nvvm turns llvm.intr.exp2 into a libdevice call; the NVVM
  // intrinsic is the instruction itself.
  return LLVM::CallIntrinsicOp::create(
             b, b.getF32Type(), b.getStringAttr("llvm.nvvm.ex2.approx.f32"),
             ValueRange{x})
      .getResult(0);
}

Value KernelBuilder::fma(Value a, Value x, Value c) {
  return LLVM::FMAOp::create(b, a, x, c);
}

Value KernelBuilder::warpInclusiveScan(Value value) {
  Value lane = laneId();
  for (int64_t delta = 1; delta < 32; delta *= 2) {
    Value other = shuffleUp(value, delta);
    Value has =
        arith::CmpIOp::create(b, arith::CmpIPredicate::sge, lane, i32(delta));
    value = arith::SelectOp::create(
        b, has, arith::AddIOp::create(b, value, other), value);
  }
  return value;
}

void KernelBuilder::barrier() { gpu::BarrierOp::create(b); }

void KernelBuilder::syncWarp() { NVVM::SyncWarpOp::create(b, i32(-1)); }

/// The first `n` fields of an LLVM struct value (an mma's fragment).
static SmallVector<Value> unpackStruct(ImplicitLocOpBuilder &b, Value d,
                                       int64_t n) {
  SmallVector<Value> out;
  for (int64_t i = 0; i < n; ++i)
    out.push_back(LLVM::ExtractValueOp::create(b, d, i));
  return out;
}

SmallVector<Value> KernelBuilder::mmaAndPopc(ArrayRef<Value> a,
                                             ArrayRef<Value> bWords,
                                             ArrayRef<Value> c) {
  assert((a.size() == 2 || a.size() == 4) && bWords.size() == a.size() / 2 &&
         c.size() == 4 && "m16n8k128 or m16n8k256 fragments");
  Type i32 = b.getI32Type();
  auto resultType =
      LLVM::LLVMStructType::getLiteral(b.getContext(), {i32, i32, i32, i32});
  int64_t k = a.size() == 4 ? 256 : 128;
  Value d = NVVM::MmaOp::create(
      b, resultType, a, bWords, c, {16, 8, k}, NVVM::MMAB1Op::and_popc,
      std::nullopt,
      std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::b1, NVVM::MMATypes::b1},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
  return unpackStruct(b, d, 4);
}

SmallVector<Value> KernelBuilder::mmaHalf(ArrayRef<Value> a,
                                          ArrayRef<Value> bRegs,
                                          ArrayRef<Value> c, bool bf16) {
  assert(a.size() == 4 && bRegs.size() == 2 && c.size() == 4 &&
         "m16n8k16 fragments");
  // f16 operands are <2 x f16> registers, bf16 ones i32 (NVVM's forms).
  auto operand = [&](Value reg) -> Value {
    if (bf16)
      return reg;
    return LLVM::BitcastOp::create(
        b, VectorType::get({2}, b.getF16Type()), reg);
  };
  SmallVector<Value> aOps = llvm::map_to_vector(a, operand);
  SmallVector<Value> bOps = llvm::map_to_vector(bRegs, operand);
  Type f32 = b.getF32Type();
  auto resultType =
      LLVM::LLVMStructType::getLiteral(b.getContext(), {f32, f32, f32, f32});
  NVVM::MMATypes type = bf16 ? NVVM::MMATypes::bf16 : NVVM::MMATypes::f16;
  Value d = NVVM::MmaOp::create(
      b, resultType, aOps, bOps, c, {16, 8, 16}, std::nullopt, std::nullopt,
      std::array<NVVM::MMATypes, 2>{type, type},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
  return unpackStruct(b, d, 4);
}

void KernelBuilder::clusterBarrier() {
  clusterArrive();
  clusterWait();
}

void KernelBuilder::gridBarrier() {
  barrier();
  ifThen(cmp(arith::CmpIPredicate::eq, threadId(), idx(0)), [&] {
    Value word = gridBarrierWord();
    waitAtGridBarrierWord(word, arriveAtGridBarrierWord(word));
  });
  barrier();
}

Value KernelBuilder::gridArrive() {
  barrier();
  return ifThenElseValues(
             cmp(arith::CmpIPredicate::eq, threadId(), idx(0)),
             [&]() -> SmallVector<Value> {
               return {arriveAtGridBarrierWord(gridBarrierWord())};
             },
             ValueRange{i32(0)})
      .front();
}

void KernelBuilder::gridWait(Value arrival) {
  ifThen(cmp(arith::CmpIPredicate::eq, threadId(), idx(0)),
         [&] { waitAtGridBarrierWord(gridBarrierWord(), arrival); });
  barrier();
}

Value KernelBuilder::gridBarrierWord() {
  // The barrier's word (cooperative_groups' grid sync): every CTA adds 1 but
  // CTA 0, which adds 2^31 - (G - 1) for a grid of G, so bit 31 flips
  // exactly when the last CTA arrives, whatever their order, and the low
  // bits return to 0: no reset, and every launch, of any grid size, finds
  // them as the zero-initialised global started. Each CTA's thread 0 waits
  // until bit 31 differs from what its own arrival saw. The CTA barrier
  // before orders the CTA's writes before the release; the one after passes
  // the acquire on to every thread (as CUTLASS's generic barrier).
  assert(kernel.getName().ends_with(kGridSyncSuffix) &&
         "a grid barrier's kernel is launched cooperatively by its name");
  auto module = kernel->getParentOfType<gpu::GPUModuleOp>();
  std::string name = (kernel.getName() + "_barrier").str();
  if (!module.lookupSymbol(name)) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(module.getBody());
    LLVM::GlobalOp::create(b, b.getI32Type(), /*isConstant=*/false,
                           LLVM::Linkage::External, name,
                           b.getI32IntegerAttr(0), /*alignment=*/4,
                           /*addrSpace=*/1);
  }
  auto globalPtr = LLVM::LLVMPointerType::get(b.getContext(), 1);
  return LLVM::AddressOfOp::create(b, globalPtr, name);
}

Value KernelBuilder::arriveAtGridBarrierWord(Value word) {
  auto dim = [&](gpu::Dimension d) -> Value {
    return gpu::GridDimOp::create(b, d);
  };
  Value ctas = toI32(b, mul(mul(dim(gpu::Dimension::x),
                                dim(gpu::Dimension::y)),
                            dim(gpu::Dimension::z)));
  Value firstCta = cmp(arith::CmpIPredicate::eq,
                       add(add(blockId(gpu::Dimension::x),
                               blockId(gpu::Dimension::y)),
                           blockId(gpu::Dimension::z)),
                       idx(0));
  Value bit31 = i32(std::numeric_limits<int32_t>::min()); // 1 << 31
  Value firstAdds = arith::SubIOp::create(
      b, bit31, arith::SubIOp::create(b, ctas, i32(1)));
  Value adds = select(firstCta, firstAdds, i32(1));
  return NVVM::InlinePtxOp::create(
             b, TypeRange{b.getI32Type()}, ValueRange{word, adds},
             ValueRange{}, "atom.add.release.gpu.u32 $0, [$1], $2;", Value())
      .getResult(0);
}

void KernelBuilder::waitAtGridBarrierWord(Value word, Value arrival) {
  Value bit31 = i32(std::numeric_limits<int32_t>::min());
  whileLoop(
      ValueRange{},
      [&](ValueRange) -> Value {
        Value now = NVVM::InlinePtxOp::create(
                        b, TypeRange{b.getI32Type()}, ValueRange{word},
                        ValueRange{}, "ld.acquire.gpu.u32 $0, [$1];", Value())
                        .getResult(0);
        Value flipped = arith::AndIOp::create(
            b, arith::XOrIOp::create(b, now, arrival), bit31);
        return cmp(arith::CmpIPredicate::eq, flipped, i32(0));
      },
      [&](ValueRange) -> SmallVector<Value> { return {}; });
}

void KernelBuilder::clusterArrive(bool relaxed) {
  // barrier.cluster.arrive has release and barrier.cluster.wait acquire
  // semantics by default (PTX ISA 8.0); .relaxed drops the release.
  if (relaxed)
    NVVM::ClusterArriveRelaxedOp::create(b, /*aligned=*/UnitAttr());
  else
    NVVM::ClusterArriveOp::create(b, /*aligned=*/UnitAttr());
}

void KernelBuilder::clusterWait() {
  NVVM::ClusterWaitOp::create(b, /*aligned=*/UnitAttr());
}

Value KernelBuilder::loadFromClusterRank(Value sharedMemref, Value index,
                                         Value rank) {
  Type elementType = cast<MemRefType>(sharedMemref.getType()).getElementType();
  return LLVM::LoadOp::create(b, elementType,
                              clusterAddress(sharedMemref, index, rank));
}

void KernelBuilder::storeToClusterRank(Value value, Value sharedMemref,
                                       Value index, Value rank) {
  LLVM::StoreOp::create(b, value, clusterAddress(sharedMemref, index, rank));
}

Value KernelBuilder::sharedPointer(Value sharedMemref, Value index) {
  MLIRContext *ctx = b.getContext();
  Type elementType = cast<MemRefType>(sharedMemref.getType()).getElementType();
  auto sharedPtr = LLVM::LLVMPointerType::get(ctx, /*addressSpace=*/3);
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, sharedMemref);
  Value address = LLVM::IntToPtrOp::create(
      b, sharedPtr, arith::IndexCastUIOp::create(b, b.getI64Type(), base),
      /*dereferenceable=*/nullptr);
  return LLVM::GEPOp::create(
      b, sharedPtr, elementType, address,
      ValueRange{arith::IndexCastUIOp::create(b, b.getI64Type(), index)});
}

Value KernelBuilder::clusterAddress(Value sharedMemref, Value index,
                                    Value rank) {
  // The buffer's shared-window address, made generic, mapped into the other
  // CTA's window: a generic access reaches distributed shared memory.
  auto genericPtr = LLVM::LLVMPointerType::get(b.getContext());
  Value generic = LLVM::AddrSpaceCastOp::create(
      b, genericPtr, sharedPointer(sharedMemref, index));
  return NVVM::MapaOp::create(b, genericPtr, generic, rank);
}

void KernelBuilder::storeAsyncToClusterRank(Value value, Value sharedMemref,
                                            Value index, Value bar,
                                            Value rank) {
  // Both addresses in the target CTA's window (`mapa.shared::cluster`).
  auto clusterPtr = LLVM::LLVMPointerType::get(b.getContext(), 7);
  Value to = NVVM::MapaOp::create(b, clusterPtr,
                                  sharedPointer(sharedMemref, index), rank);
  Value barrier = NVVM::MapaOp::create(b, clusterPtr,
                                       sharedPointer(bar, idx(0)), rank);
  Value bits = value;
  if (!value.getType().isInteger(32))
    bits = arith::BitcastOp::create(b, b.getI32Type(), value);
  NVVM::InlinePtxOp::create(
      b, TypeRange{}, ValueRange{to, bits, barrier}, ValueRange{},
      "st.async.shared::cluster.mbarrier::complete_tx::bytes.b32 [$0], $1, "
      "[$2];",
      Value());
}

void KernelBuilder::mbarrierInit(Value bar, int64_t count) {
  NVVM::MBarrierInitOp::create(b, sharedPointer(bar, idx(0)), i32(count),
                               /*predicate=*/Value());
}

void KernelBuilder::fenceMbarrierInit() { NVVM::FenceMbarrierInitOp::create(b); }

void KernelBuilder::mbarrierArriveExpectTx(Value bar, Value bytes) {
  NVVM::MBarrierArriveExpectTxOp::create(b, Type(), sharedPointer(bar, idx(0)),
                                         bytes, NVVM::MemScopeKind::CTA,
                                         /*relaxed=*/false,
                                         /*predicate=*/Value());
}

void KernelBuilder::mbarrierWait(Value bar, int64_t parity) {
  NVVM::MBarrierTryWaitParityOp::create(b, sharedPointer(bar, idx(0)),
                                        i32(parity), i32(0));
}

//===----------------------------------------------------------------------===//
// Memory
//===----------------------------------------------------------------------===//

Value KernelBuilder::load(Value memref, Value index) {
  return memref::LoadOp::create(b, memref, ValueRange{index});
}

void KernelBuilder::store(Value value, Value memref, Value index) {
  memref::StoreOp::create(b, value, memref, ValueRange{index});
}

Value KernelBuilder::loadVector(Value memref, Value index, int64_t width,
                                int64_t alignBytes) {
  auto type = VectorType::get(
      {width}, cast<MemRefType>(memref.getType()).getElementType());
  auto op = vector::LoadOp::create(b, type, memref, ValueRange{index});
  op.setAlignment(alignBytes);
  return op;
}

void KernelBuilder::storeVector(Value value, Value memref, Value index,
                                int64_t alignBytes) {
  auto op = vector::StoreOp::create(b, value, memref, ValueRange{index});
  op.setAlignment(alignBytes);
}

Value KernelBuilder::globalAddress(Value memref, Value index) {
  MLIRContext *ctx = b.getContext();
  Type elementType = cast<MemRefType>(memref.getType()).getElementType();
  auto globalPtr = LLVM::LLVMPointerType::get(ctx, /*addressSpace=*/1);
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, memref);
  Value address = LLVM::IntToPtrOp::create(
      b, globalPtr, arith::IndexCastUIOp::create(b, b.getI64Type(), base),
      /*dereferenceable=*/nullptr);
  return LLVM::GEPOp::create(
      b, globalPtr, elementType, address,
      ValueRange{arith::IndexCastUIOp::create(b, b.getI64Type(), index)});
}

Value KernelBuilder::loadVectorStreaming(Value memref, Value index,
                                         int64_t width) {
  Type i32 = b.getI32Type();
  assert(cast<MemRefType>(memref.getType()).getElementType() == i32 &&
         (width == 1 || width == 2 || width == 4) && "1, 2 or 4 i32");
  // `ld.global.cs.v4.u32 {$0, $1, $2, $3}, [$4];`: results first.
  SmallVector<std::string> results;
  for (int64_t e = 0; e < width; ++e)
    results.push_back("$" + std::to_string(e));
  std::string list = llvm::join(results, ", ");
  std::string ptx =
      width == 1 ? "ld.global.cs.u32 " + list
                 : "ld.global.cs.v" + std::to_string(width) + ".u32 {" +
                       list + "}";
  ptx += ", [$" + std::to_string(width) + "];";
  SmallVector<Type> types(width, i32);
  auto op = NVVM::InlinePtxOp::create(b, types,
                                      ValueRange{globalAddress(memref, index)},
                                      ValueRange{}, ptx, Value());
  return vector::FromElementsOp::create(b, VectorType::get({width}, i32),
                                        op.getResults());
}

void KernelBuilder::discardL2Line(Value memref, Value index) {
  NVVM::InlinePtxOp::create(b, TypeRange{},
                            ValueRange{globalAddress(memref, index)},
                            ValueRange{}, "discard.global.L2 [$0], 128;",
                            Value());
}

Value KernelBuilder::evictFirstPolicy() {
  // Inline PTX: no nvvm op creates a cache policy.
  return NVVM::InlinePtxOp::create(
             b, TypeRange{b.getI64Type()}, ValueRange{}, ValueRange{},
             "createpolicy.fractional.L2::evict_first.b64 $0, 1.0;", Value())
      .getResult(0);
}

void KernelBuilder::asyncCopy16(Value sharedMemref, Value sharedIndex,
                                Value globalMemref, Value globalIndex,
                                Value policy) {
  // Inline PTX: nvvm.cp.async.shared.global takes no cache policy.
  SmallVector<Value> operands = {sharedPointer(sharedMemref, sharedIndex),
                                 globalAddress(globalMemref, globalIndex)};
  std::string ptx = "cp.async.cg.shared.global [$0], [$1], 16;";
  if (policy) {
    operands.push_back(policy);
    ptx = "cp.async.cg.shared.global.L2::cache_hint [$0], [$1], 16, $2;";
  }
  NVVM::InlinePtxOp::create(b, TypeRange{}, operands, ValueRange{}, ptx,
                            Value());
}

void KernelBuilder::asyncCopyCommit() { NVVM::CpAsyncCommitGroupOp::create(b); }

void KernelBuilder::asyncCopyWait(int64_t pending) {
  NVVM::CpAsyncWaitGroupOp::create(b, pending);
}

void KernelBuilder::compilerBarrier() {
  LLVM::InlineAsmOp::create(b, TypeRange{}, ValueRange{}, /*asm_string=*/"",
                            /*constraints=*/"~{memory}",
                            /*has_side_effects=*/true,
                            /*is_align_stack=*/false,
                            LLVM::tailcallkind::TailCallKind::None,
                            /*asm_dialect=*/LLVM::AsmDialectAttr(),
                            /*operand_attrs=*/ArrayAttr());
}

Value KernelBuilder::byteAddress(Value memref, Value index) {
  Type elementType = cast<MemRefType>(memref.getType()).getElementType();
  int64_t elementBytes = elementType.getIntOrFloatBitWidth() / 8;
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, memref);
  return add(base, mul(index, idx(elementBytes)));
}

void KernelBuilder::atomicAdd(Value value, Value memref, Value index) {
  memref::AtomicRMWOp::create(b, arith::AtomicRMWKind::addi, value, memref,
                              ValueRange{index});
}

//===----------------------------------------------------------------------===//
// Index arithmetic
//===----------------------------------------------------------------------===//

Value KernelBuilder::add(Value a, Value c) {
  return arith::AddIOp::create(b, a, c);
}
Value KernelBuilder::sub(Value a, Value c) {
  return arith::SubIOp::create(b, a, c);
}
Value KernelBuilder::mul(Value a, Value c) {
  return arith::MulIOp::create(b, a, c);
}
Value KernelBuilder::divu(Value a, Value c) {
  return arith::DivUIOp::create(b, a, c);
}
Value KernelBuilder::remu(Value a, Value c) {
  return arith::RemUIOp::create(b, a, c);
}
Value KernelBuilder::minS(Value a, Value c) {
  return arith::MinSIOp::create(b, a, c);
}
Value KernelBuilder::maxS(Value a, Value c) {
  return arith::MaxSIOp::create(b, a, c);
}
Value KernelBuilder::ceilDiv(Value a, Value c) {
  return arith::CeilDivSIOp::create(b, a, c);
}
Value KernelBuilder::cmp(arith::CmpIPredicate predicate, Value a, Value c) {
  return arith::CmpIOp::create(b, predicate, a, c);
}
Value KernelBuilder::select(Value cond, Value a, Value c) {
  return arith::SelectOp::create(b, cond, a, c);
}

//===----------------------------------------------------------------------===//
// Control flow
//===----------------------------------------------------------------------===//

void KernelBuilder::forLoop(Value lb, Value ub, Value step,
                            function_ref<void(Value iv)> body) {
  auto loop = scf::ForOp::create(b, lb, ub, step);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(loop.getBody()->getTerminator());
  body(loop.getInductionVar());
}

SmallVector<Value> KernelBuilder::forLoop(
    Value lb, Value ub, Value step, ValueRange inits,
    function_ref<SmallVector<Value>(Value iv, ValueRange args)> body) {
  if (inits.empty()) {
    forLoop(lb, ub, step, [&](Value iv) { (void)body(iv, {}); });
    return {};
  }
  auto loop = scf::ForOp::create(b, lb, ub, step, inits);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(loop.getBody());
  SmallVector<Value> next =
      body(loop.getInductionVar(), loop.getRegionIterArgs());
  scf::YieldOp::create(b, next);
  return SmallVector<Value>(loop.getResults());
}

SmallVector<Value>
KernelBuilder::whileLoop(ValueRange inits, function_ref<Value(ValueRange)> cond,
                         function_ref<SmallVector<Value>(ValueRange)> body) {
  TypeRange types = inits.getTypes();
  SmallVector<Location> locs(inits.size(), b.getLoc());
  auto loop = scf::WhileOp::create(b, types, inits);
  OpBuilder::InsertionGuard guard(b);
  Block *before = b.createBlock(&loop.getBefore(), {}, types, locs);
  scf::ConditionOp::create(b, cond(before->getArguments()),
                           before->getArguments());
  Block *after = b.createBlock(&loop.getAfter(), {}, types, locs);
  scf::YieldOp::create(b, body(after->getArguments()));
  return SmallVector<Value>(loop.getResults());
}

void KernelBuilder::ifThen(Value cond, function_ref<void()> thenFn) {
  auto op = scf::IfOp::create(b, cond, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(op.thenBlock()->getTerminator());
  thenFn();
}

Value KernelBuilder::loadIf(Value cond, Value memref, Value index,
                            Value otherwise) {
  return ifThenElseValues(
      cond, [&] { return SmallVector<Value>{load(memref, index)}; },
      otherwise)[0];
}

SmallVector<Value>
KernelBuilder::ifThenElseValues(Value cond,
                                function_ref<SmallVector<Value>()> thenFn,
                                ValueRange otherwise) {
  auto op = scf::IfOp::create(b, otherwise.getTypes(), cond,
                              /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(op.thenBlock());
  scf::YieldOp::create(b, thenFn());
  b.setInsertionPointToStart(op.elseBlock());
  scf::YieldOp::create(b, otherwise);
  return op.getResults();
}

void KernelBuilder::ifThenElse(Value cond, function_ref<void()> thenFn,
                               function_ref<void()> elseFn) {
  auto op = scf::IfOp::create(b, cond, /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(op.thenBlock()->getTerminator());
  thenFn();
  b.setInsertionPoint(op.elseBlock()->getTerminator());
  elseFn();
}
