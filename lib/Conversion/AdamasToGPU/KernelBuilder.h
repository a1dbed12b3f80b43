//===- KernelBuilder.h - The shared layer the kernels are built with -*- C++
//-*-===//
//
// Every fused kernel of the GPU lowering is a `gpu.func` built with this
// class (as SparseTensor's SparseGPUCodegen builds its kernels): thread and
// warp ids, warp shuffles, ballots and reductions, shared memory, aligned
// vector loads, and loops/branches from lambdas. It emits only upstream
// gpu/nvvm/vector/memref/arith/math/scf ops, which upstream's
// convert-gpu-to-nvvm lowers (shuffles to shfl.sync, ballots to vote.sync,
// ctpop to popc, workgroup atomics to atom.shared).
//
// Kernel buffers are 1-D `memref<?xT>` (the host flattens each operand) and
// all offsets are computed here in `index` (64-bit) arithmetic.
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_LIB_CONVERSION_ADAMASTOGPU_KERNELBUILDER_H
#define ADAMAS_LIB_CONVERSION_ADAMASTOGPU_KERNELBUILDER_H

#include "adamas/Dialect/Adamas/Utils/BuilderUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::adamas {

/// Where a kernel of a module with programmatic dependent launch
/// (TargetInfo.h: kGridDependencyMarker) waits for the kernels before it on
/// the stream (`griddepcontrol.wait`).
enum class GridDependency {
  /// First thing: everything it reads may come from them.
  WaitFirst,
  /// Last thing, before it returns: it reads nothing they write and writes
  /// nothing they read, so it runs beside them, and still completes after
  /// them (what the next kernel's wait relies on). Only after a kernel that
  /// waited first: it launches once that one has let it (after its own
  /// wait), so whatever was written before the step is complete by then.
  WaitLast,
  /// First thing, as WaitFirst, and the next kernel launches only as this
  /// one's CTAs finish (`launch_dependents` last, in finish()), so its CTAs
  /// are not placed beside these (SelectConfig::releasesLate).
  WaitFirstReleaseLast,
  /// First thing, as WaitFirst, but the kernel itself says when the next one
  /// may launch (releaseDependentsIf): at its start, or only as its CTAs
  /// finish where that kernel's CTAs, scheduled beside this grid's, would
  /// crowd onto the SMs it leaves free (NOTES.md item 52: sparse_attn's
  /// clusters behind the histogram pass).
  WaitFirstReleaseByKernel,
};

/// The static shared memory of `kernel` (its workgroup attributions).
int64_t workgroupBytes(gpu::GPUFuncOp kernel);

class KernelBuilder {
public:
  /// Appends `gpu.func @name(argTypes) kernel` with `known_block_size =
  /// [blockSize, 1, 1]` to `module`; building starts at its entry.
  KernelBuilder(OpBuilder &builder, gpu::GPUModuleOp module, StringRef name,
                TypeRange argTypes, int64_t blockSize, Location loc,
                GridDependency dependency = GridDependency::WaitFirst);

  /// With GridDependency::WaitFirstReleaseByKernel: lets the next kernel on
  /// the stream launch (`griddepcontrol.launch_dependents`) where `cond`
  /// (i1, uniform over the grid) holds; a CTA that exits has let it too.
  void releaseDependentsIf(Value cond);
  /// The same, unconditionally.
  void releaseDependents();

  /// Ends the kernel with `gpu.return` and returns it.
  gpu::GPUFuncOp finish();

  ImplicitLocOpBuilder &builder() { return b; }
  gpu::GPUFuncOp func() { return kernel; }
  Value arg(unsigned i) { return kernel.getArgument(i); }
  int64_t blockSize() const { return threads; }

  /// A shared-memory buffer `memref<size x type, workgroup>`, aligned to
  /// `alignBytes` (at least 16).
  Value sharedBuffer(Type elementType, int64_t size, int64_t alignBytes = 16);

  // Constants.
  Value idx(int64_t v) { return indexConst(b, v); }
  Value i32(int64_t v) { return i32Const(b, v); }
  Value f32(float v) { return f32Const(b, v); }

  // Ids: thread and block as index, lane as i32, warp as index.
  Value threadId();
  Value blockId(gpu::Dimension dim);
  Value laneId();
  Value warpId();

  // Warp-level operations (all 32 lanes active).
  Value shuffleXor(Value value, int64_t mask);
  Value shuffleIdx(Value value, Value lane);
  Value shuffleUp(Value value, int64_t delta);
  /// Bit l set iff `pred` (i1) holds on lane l.
  Value ballot(Value pred);
  /// Butterfly reduction: every lane gets the warp's sum.
  Value warpSum(Value value);
  /// Every lane gets each of `values`' sums over the warp's lanes (as
  /// warpSum per value, f32 or integer), with fewer shuffles for several:
  /// the values are reduce-scattered over the top lane bits, the one left
  /// per lane is summed over the other bits, and the sums are gathered back
  /// (2n - 2 + 5 - log2 n shuffles for n a power of two, padded with zeros
  /// otherwise: 9 for 4 values where n warpSums take 20).
  SmallVector<Value> warpSumEach(ArrayRef<Value> values);
  /// Lane l gets the sum over the warp's lanes of `values[l]` (i32, one per
  /// lane): at each step a lane keeps the half of the indices whose bit
  /// matches its lane's and sends the other half to the lane across (31
  /// shuffles, where 32 warpSums take 160).
  Value warpReduceScatter(ArrayRef<Value> values);
  /// 2^x (f32), `ex2.approx` through the LLVM intrinsic (a math dialect op
  /// would become a libdevice call that needs the CUDA toolkit to link).
  Value exp2(Value x);
  /// a * x + c in one rounding (f32), the LLVM intrinsic for the same reason.
  Value fma(Value a, Value x, Value c);
  /// Inclusive prefix sum of an i32 over the lanes.
  Value warpInclusiveScan(Value value);
  void barrier();
  /// Every lane of the warp arrives (`bar.warp.sync`): shared-memory writes
  /// of any lane before it are visible to every lane after it.
  void syncWarp();
  /// One binary tensor-core product of the warp (sm_80+), `mma.sync
  /// .m16n8k128` (2 words of `a`, 1 of `bWords`) or `.m16n8k256` (4 and 2)
  /// `.b1.and.popc`: D = C + popc(A & B) for the 16 x 8 tile. `c` and the
  /// result are the lane's 4 i32 of the tile: (row l/4, columns 2(l%4) and
  /// 2(l%4)+1), then the same columns of row l/4 + 8. Lane l holds of A
  /// the k-bits [32(l%4), +32) of rows l/4 and l/4 + 8 (and with k256 the
  /// same 128 bits further), of B those k-bits of column l/4.
  SmallVector<Value> mmaAndPopc(ArrayRef<Value> a, ArrayRef<Value> bWords,
                                ArrayRef<Value> c);
  /// One f16 or bf16 tensor-core product of the warp (sm_80+), `mma.sync
  /// .m16n8k16.row.col.f32` with f32 accumulators: D = A x B + C for the
  /// 16 x 8 tile. `a`: the lane's 4 i32 of A, two elements each: (row l/4,
  /// k 2(l%4) and +1), (row l/4 + 8, same k), (row l/4, k + 8), (row l/4 +
  /// 8, k + 8); `bRegs`: its 2 i32 of B, (k 2(l%4) and +1, column l/4) and
  /// (k + 8, column l/4); `c` and the result: 4 f32, (row l/4, columns
  /// 2(l%4) and +1), then row l/4 + 8.
  SmallVector<Value> mmaHalf(ArrayRef<Value> a, ArrayRef<Value> bRegs,
                             ArrayRef<Value> c, bool bf16);

  // Thread block clusters (sm_90).
  /// Every thread of every CTA of the cluster arrives (release) and waits
  /// (acquire): what any of them wrote before, shared or global, is visible
  /// to all of them after. Every CTA of the cluster must execute it.
  void clusterBarrier();

  /// Every thread of every CTA of the grid arrives and waits: what any of
  /// them wrote before, global memory included, is visible to all of them
  /// after. Every CTA must execute it once (no CTA may exit before it), and
  /// all must be resident at once: the kernel's name ends with
  /// kGridSyncSuffix (TargetInfo.h), which makes the runtime launch it
  /// cooperatively. Its counter is the module's zero-initialised i32
  /// `<kernel>_barrier`. Launches of the kernel must not overlap (one
  /// stream).
  void gridBarrier();
  /// gridBarrier's halves, for work between them that needs no other CTA:
  /// every thread arrives (after a CTA barrier, so the CTA's writes are
  /// released with its arrival) and gets what `gridWait` takes; every
  /// thread waits (acquire). Each CTA arrives once, then waits once.
  Value gridArrive();
  void gridWait(Value arrival);
  /// The barrier's halves: arrive (release, or relaxed: no ordering) and
  /// wait (acquire). A thread may exit after arriving; waits count only the
  /// threads that have not exited.
  void clusterArrive(bool relaxed = false);
  void clusterWait();
  /// `sharedMemref[index]` of the cluster's CTA of rank `rank` (i32)
  /// (distributed shared memory: `mapa` of the local address, a generic
  /// load). The other CTA must have started (a cluster barrier since the
  /// kernel began) and not exited.
  Value loadFromClusterRank(Value sharedMemref, Value index, Value rank);
  /// `sharedMemref[index] = value` in the cluster's CTA of rank `rank`.
  /// `st.async` of `value` (32 bits) to `sharedMemref[index]` of the
  /// cluster's CTA `rank`, completing 4 bytes of the transactions that CTA's
  /// mbarrier `bar` (its own buffer of one i64) expects: no release, no
  /// cluster barrier; the target sees the value once it waits on `bar`.
  void storeAsyncToClusterRank(Value value, Value sharedMemref, Value index,
                               Value bar, Value rank);

  // mbarriers: `bar` is a shared buffer of one i64.
  /// Initialised for `count` arrivals (one thread).
  void mbarrierInit(Value bar, int64_t count);
  /// Makes the CTA's earlier mbarrier inits visible to the cluster by its
  /// next (even relaxed) cluster arrive.
  void fenceMbarrierInit();
  /// One arrival that also expects `bytes` (i32) of transactions.
  void mbarrierArriveExpectTx(Value bar, Value bytes);
  /// Waits until the phase of parity `parity` completes (acquire, CTA).
  void mbarrierWait(Value bar, int64_t parity);

  void storeToClusterRank(Value value, Value sharedMemref, Value index,
                          Value rank);

  // Memory.
  Value load(Value memref, Value index);
  /// `memref[index]` where `cond` holds, else `otherwise` (nothing loaded).
  Value loadIf(Value cond, Value memref, Value index, Value otherwise);
  void store(Value value, Value memref, Value index);
  /// `vector<width x T>` at `memref[index]`; `alignBytes` is what the caller
  /// guarantees, so a 16-byte access becomes one 128-bit load.
  Value loadVector(Value memref, Value index, int64_t width,
                   int64_t alignBytes);
  /// `memref[index .. index + width) = value` (a vector), `alignBytes` as
  /// for loadVector.
  void storeVector(Value value, Value memref, Value index, int64_t alignBytes);
  /// loadVector of 1, 2 or 4 i32 from global `memref` (aligned to the
  /// whole access) as `ld.global.cs`: its lines are marked evict-first in
  /// L1 and L2, for data read once that should not push out what a later
  /// kernel reads (inline PTX: the load has no cache-operator nvvm op).
  Value loadVectorStreaming(Value memref, Value index, int64_t width);
  /// Drops the 128-byte L2 line of global `memref` that starts at
  /// `memref[index]` (`discard.global.L2`): it is not written back, and its
  /// bytes read undefined afterwards. Only for a line wholly inside data
  /// nothing reads again, once every load of it has returned.
  void discardL2Line(Value memref, Value index);
  /// An L2 cache policy (i64) that marks the lines an access with it
  /// touches evict-first (`createpolicy.fractional.L2::evict_first`).
  Value evictFirstPolicy();
  /// One asynchronous copy of 16 bytes (sm_80 `cp.async.cg`: no registers,
  /// L2 only) from global `globalMemref[globalIndex]` to shared
  /// `sharedMemref[sharedIndex]`, both 16-byte aligned, in the thread's
  /// current group (asyncCopyCommit), with the L2 cache policy `policy`
  /// (evictFirstPolicy) where given.
  void asyncCopy16(Value sharedMemref, Value sharedIndex, Value globalMemref,
                   Value globalIndex, Value policy = {});
  /// Closes the thread's current group of asynchronous copies (an empty
  /// group too).
  void asyncCopyCommit();
  /// Waits until at most `pending` of the thread's groups are incomplete:
  /// the older groups' bytes are then visible to the thread (to the others
  /// after a barrier among them).
  void asyncCopyWait(int64_t pending);
  /// A compiler-only memory barrier (an empty `asm volatile` clobbering
  /// memory: nothing in the PTX): LLVM keeps loads issued before it there,
  /// e.g. a prefetch whose results a loop carries, which InstCombine would
  /// otherwise sink into the next iteration (folding a phi of loads).
  void compilerBarrier();
  /// The byte address of `memref[index]` (identity layout) as an index,
  /// e.g. to test its alignment.
  Value byteAddress(Value memref, Value index);
  /// `memref[index] += value` (i32, shared or global), returns nothing.
  void atomicAdd(Value value, Value memref, Value index);

  // Index arithmetic (index type).
  Value add(Value a, Value c);
  Value sub(Value a, Value c);
  Value mul(Value a, Value c);
  Value divu(Value a, Value c);
  Value remu(Value a, Value c);
  Value minS(Value a, Value c);
  Value maxS(Value a, Value c);
  Value ceilDiv(Value a, Value c);
  Value cmp(arith::CmpIPredicate predicate, Value a, Value c);
  Value select(Value cond, Value a, Value c);
  Value toIdx(Value v) { return toIndex(b, v); }

  // Control flow; the bodies are built with this builder (its insertion
  // point moves into the region and back).
  /// `for (iv = lb; iv < ub; iv += step) body(iv)` without results.
  void forLoop(Value lb, Value ub, Value step,
               function_ref<void(Value iv)> body);
  /// The same carrying `inits`; `body` returns the next values.
  SmallVector<Value>
  forLoop(Value lb, Value ub, Value step, ValueRange inits,
          function_ref<SmallVector<Value>(Value iv, ValueRange args)> body);
  /// `while (cond(args)) args = body(args)` from `inits`; returns the
  /// final values.
  SmallVector<Value>
  whileLoop(ValueRange inits, function_ref<Value(ValueRange args)> cond,
            function_ref<SmallVector<Value>(ValueRange args)> body);
  /// `if (cond) then()`.
  void ifThen(Value cond, function_ref<void()> thenFn);
  /// `if (cond) then() else otherwise()`.
  void ifThenElse(Value cond, function_ref<void()> thenFn,
                  function_ref<void()> elseFn);
  /// `cond ? then() : otherwise` for several values, `then` built only in
  /// its branch (e.g. loads that must not run otherwise).
  SmallVector<Value> ifThenElseValues(Value cond,
                                      function_ref<SmallVector<Value>()> thenFn,
                                      ValueRange otherwise);

private:
  /// x + y, f32 or integer.
  Value addAny(Value x, Value y);
  /// Reduce-scatter of `v` (a power of two, at most 32 values) over bits
  /// 16, 8, ... of `lane` (laneId): leaves one value per lane in `v`, summed
  /// over the lanes that differ in those bits; returns the bits, highest
  /// first.
  SmallVector<int64_t> reduceScatter(SmallVector<Value> &v, Value lane);
  /// The generic address of `sharedMemref[index]` in the CTA of `rank`.
  Value clusterAddress(Value sharedMemref, Value index, Value rank);
  /// `&sharedMemref[index]` as a shared::cta pointer (address space 3).
  Value sharedPointer(Value sharedMemref, Value index);
  /// `&memref[index]` of a global memref (identity layout) as a global
  /// pointer, for inline PTX.
  Value globalAddress(Value memref, Value index);
  /// The grid barrier's word (the module's `<kernel>_barrier`, created on
  /// first use), thread 0's arrival at it (what the word held before), and
  /// thread 0's wait until the last CTA's arrival flips its bit 31.
  Value gridBarrierWord();
  Value arriveAtGridBarrierWord(Value word);
  void waitAtGridBarrierWord(Value word, Value arrival);

  ImplicitLocOpBuilder b;
  gpu::GPUFuncOp kernel;
  int64_t threads;
  /// `griddepcontrol.wait` goes before the return (GridDependency::WaitLast).
  bool gridDependency = false, waitLast = false, releaseLast = false;
};

} // namespace mlir::adamas

#endif // ADAMAS_LIB_CONVERSION_ADAMASTOGPU_KERNELBUILDER_H
