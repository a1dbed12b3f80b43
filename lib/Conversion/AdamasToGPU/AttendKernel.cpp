//===- AttendKernel.cpp - sparse_attn: split-K flash decoding -------------===//
//
// DESIGN.md section 4, stage 3, in two kernels (with clusters, one):
//
// 1. `<name>_partial`, grid (splits, row groups): a CTA takes one split of a
//    row's index slots, each warp a contiguous run of them (indices loaded
//    once, one per lane, then broadcast by shuffles; K/V rows of several
//    slots in flight), keeping an online softmax (running max m, sum l, f32
//    accumulator) per query head.
//    For a slot, lanes hold D / 32 contiguous elements of q, k and Dv / 32
//    of v (one vector load each); the score is a warp sum of q.k. When the
//    indices are per KV head (shared_group), one CTA serves the G query
//    heads of the group and loads each selected K/V row once for all of
//    them; there (f16/bf16, G <= 8, AttendConfig::tensorCoreDots) a warp's
//    8 slots' G x 8 scores are tensor-core products (mma.sync m16n8k16:
//    queries as A's rows, keys as B's columns) broadcast to every lane,
//    instead of per-lane dots summed over the warp.
//    The warps' states are merged through shared memory and written as
//    the split's partial (acc[Dv], m, l), in f32. Scores are kept in base 2
//    (scale * log2(e) folded into one multiply), so every weight is one
//    `ex2.approx`; no libdevice call, so PTX needs no CUDA toolkit.
// 2. `<name>_merge`, a warp per (batch, head, row): the splits' partials
//    rescaled to their common maximum and summed, divided by the total
//    weight, rounded once to the element type. A row without a valid index
//    has no weight and yields zeros.
//
// With thread block clusters of at least `splits` CTAs the splits of a row
// can be one cluster, and `<name>_cluster` replaces both where the grid fits
// AttendConfig::clusterMergeMaxCtas (two waves of one-head CTAs, one of
// several-head ones; the host chooses by the batch at run time, both forms
// are built; so does the tensor-core long form, `<name>_cluster_long`, up to
// AttendConfig::longFormClusterMaxCtas): each CTA sends its partial
// into the shared memory of the cluster's CTA 0 (distributed shared memory)
// by `st.async`, completing bytes on CTA 0's mbarrier (asyncClusterMerge;
// else stores and a cluster barrier); CTA 0 waits, merges them with the
// merge kernel's arithmetic and writes the row. The other CTAs exit as soon
// as they have sent it. No partials in global memory, no second launch.
// (Every split merging a slice of the dims from all the others' shared
// memory measured slower at B = 16: every CTA then waits for the slowest.)
//
// Where the indices are an l1_topk's that nothing else reads (AttendConfig::
// compactsSelection), the short forms' CTAs can plan and compact the slots
// they attend themselves, from the selection's distances and cumulative
// chunk histograms (SelectCommon::planRow, compactSlots), into shared
// memory: the host then gives the selection's threshold and compaction
// kernels empty grids (it does so where a chunk is at most one pass of the
// CTA's runs and the long form is not taken). In the cluster form the
// row's CTAs split the compaction by chunks instead of by slots: each walks
// its share of the row's chunks once and sends every position it selects
// to the slots of the CTA that holds them (distributed shared memory,
// SelectCommon::compactSlotsAcrossCluster; by `st.async` on that CTA's
// mbarrier, which expects its free slots' bytes, asyncClusterCompaction),
// where a CTA compacting its own slots walks every chunk they meet (2-3 at
// B = 1, 32K: one pass or two).
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"
#include "Kernels.h"
#include "SelectKernels.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

using namespace mlir;
using namespace mlir::adamas;

using Pred = arith::CmpIPredicate;

namespace {
enum AttendArg : unsigned {
  kQuery,
  kKeys,
  kValues,
  kIndices,
  kPartials,
  kResult,
  kBatches,
  kCapacity,
  kNumArgs
};
/// With AttendConfig::compactsSelection the kernels' arguments are the
/// select kernels' (SelectKernels.h) followed by the above, and then this
/// one: 1 where the CTAs plan and compact their slots from the selection's
/// distances and histograms (the threshold and compaction kernels did not
/// run), else 0.
constexpr unsigned kCompactsSelection = kNumArgs;

/// The online-softmax state of one query head in one warp.
struct SoftmaxState {
  Value max, sum;
  SmallVector<Value> acc; // valueDimsPerLane f32 values
};

class AttendKernels {
public:
  AttendKernels(KernelBuilder &kb, const AttendLaunch &a)
      : kb(kb), b(kb.builder()), a(a), p(a.problem), c(a.config),
        argBase(a.selection ? a.selection->args.size() : 0) {}

  void buildPartial();
  void buildMerge();

private:
  /// Argument `i` (AttendArg) of the kernel.
  Value arg(unsigned i) { return kb.arg(argBase + i); }
  /// The index of the CTA's slot `slot` for lane-held loads: from the
  /// indices buffer, or, with AttendConfig::compactsSelection where the
  /// host says so, compacted by the CTA into shared memory first.
  Value slotIndex(Value group, Value slotBegin, Value slotEnd, Value mine,
                  Value mySlot);
  /// Elements [lane * perLane, +perLane) of row `row` of a flat buffer with
  /// rows of `width` elements, extended to f32.
  SmallVector<Value> loadLaneSlice(Value buffer, Value row, int64_t width,
                                   int64_t perLane) {
    return extendLaneVector(loadLaneVector(buffer, row, width, perLane));
  }
  /// The same elements as loaded (one vector).
  Value loadLaneVector(Value buffer, Value row, int64_t width,
                       int64_t perLane);
  /// A lane's vector extended to f32, element by element.
  SmallVector<Value> extendLaneVector(Value vector);
  Value negInf() { return kb.f32(-std::numeric_limits<float>::infinity()); }
  /// Scores are kept in base-2 units (scale * log2(e) * q.k), so the
  /// softmax weights are 2^(s - max): one ex2.approx each.
  Value exp2(Value x) { return kb.exp2(x); }
  Value fma(Value a, Value x, Value c) { return kb.fma(a, x, c); }
  /// Weight 2^(m - target) of a state with maximum m; 0 for an empty state.
  Value rescale(Value m, Value target);
  /// 1 / sum, or 0 for a row without weight (no valid index: zeros).
  Value inverseWeight(Value sum);
  Value normalize(Value acc, Value sum) {
    return arith::MulFOp::create(b, acc, inverseWeight(sum));
  }
  /// The cluster leader's shared buffers of every split's partial:
  /// [split][head] maxima and sums, [split][head][Dv] accumulators.
  struct Partials {
    Value max, sum, acc;
    /// asyncClusterMerge: the mbarrier the partials' st.async complete on.
    Value arrived;
  };
  /// The leader merges the row's partials into the result.
  void mergeInLeader(ArrayRef<Value> queryRows, const Partials &leader);
  int64_t partialWidth() const { return p.valueDims + 2; }

  KernelBuilder &kb;
  ImplicitLocOpBuilder &b;
  const AttendLaunch &a;
  const AttendProblem &p;
  const AttendConfig &c;
  /// Where the attend arguments start (after the select's).
  unsigned argBase;
  /// With AttendConfig::asyncClusterCompaction: the CTA's mbarrier the
  /// cluster compaction's st.async of its slots complete on.
  Value compacted;
};
} // namespace

Value AttendKernels::loadLaneVector(Value buffer, Value row, int64_t width,
                                    int64_t perLane) {
  Value offset = kb.add(kb.mul(row, kb.idx(width)),
                        kb.mul(kb.toIdx(kb.laneId()), kb.idx(perLane)));
  int64_t elementBytes = a.elementType.getIntOrFloatBitWidth() / 8;
  return kb.loadVector(buffer, offset, perLane, perLane * elementBytes);
}

SmallVector<Value> AttendKernels::extendLaneVector(Value vector) {
  SmallVector<Value> values;
  int64_t n = cast<VectorType>(vector.getType()).getNumElements();
  for (int64_t e = 0; e < n; ++e)
    values.push_back(extendToF32(b, vector::ExtractOp::create(b, vector, e)));
  return values;
}

Value AttendKernels::slotIndex(Value group, Value slotBegin, Value slotEnd,
                              Value mine, Value mySlot) {
  Value indexAt = kb.add(kb.mul(group, kb.idx(p.slots)),
                         kb.select(mine, mySlot, kb.idx(0)));
  if (!c.compactsSelection)
    return kb.select(mine, kb.load(arg(kIndices), indexAt), kb.i32(-1));
  // The CTA's slots compacted into shared memory (SelectCommon::
  // compactSlots), where the threshold and compaction kernels did not run:
  // no plan or index goes through global memory, and no kernel runs
  // between the histogram pass and the attention. The configuration is the
  // select's, with this CTA's threads, and without discarding distance
  // lines (another CTA may read the same chunk).
  SelectLaunch launch = a.selection->launch;
  launch.config.blockSize = kb.blockSize();
  launch.config.l2CacheHints = false;
  select::SelectCommon selection(kb, launch);
  // A CTA's slots meet 2-3 chunks at B = 1 (8-16 output slots per chunk),
  // so the compaction walks several chunks: long runs halve its passes.
  selection.setCompactionRun(select::kLongRun);
  Value slots = kb.sharedBuffer(b.getI32Type(), c.slotsPerSplit);
  Value warpSums = kb.sharedBuffer(b.getI32Type(), c.warpsPerBlock);
  Value compacts = kb.cmp(select::Pred::ne, arg(kCompactsSelection),
                          kb.idx(0));
  Value warpCounts = kb.sharedBuffer(b.getI32Type(), c.warpsPerBlock);
  // In the cluster form the row's CTAs compact the row between them, each
  // its share of the chunks, into the slots of the CTAs that hold them
  // (compactSlotsAcrossCluster): remote stores, so first every CTA of the
  // cluster runs (the wait of the relaxed arrive at the start, which the
  // merge's remote stores would otherwise wait for), and after them a
  // cluster barrier; or, with asyncClusterCompaction, st.async on the
  // holder's mbarrier, which each CTA waits on for its own free slots.
  bool acrossCluster = c.clusterMerge;
  bool asyncAcross = c.asyncClusterCompaction; // implies clusterMerge
  if (acrossCluster)
    kb.clusterWait();
  kb.ifThen(compacts, [&] {
    // The row's plan from its chunks' cumulative histograms (no threshold
    // kernel ran), the probe's loads first, in flight with the length's
    // (the compiler barrier keeps LLVM from sinking them into the branches
    // that use them).
    Value probe = selection.probeRow(group);
    kb.compilerBarrier();
    selection.ifResultRow(group, [&](const select::SelectCommon::ResultRow
                                         &r) {
      select::SelectCommon::SlotPlan plan =
          selection.planRow(group, probe, r.window.take, warpCounts);
      if (acrossCluster) {
        Value rank = kb.blockId(gpu::Dimension::x);
        selection.compactSlotsAcrossCluster(group, r, plan, rank, c.splits,
                                            c.slotsPerSplit, slots, warpSums,
                                            asyncAcross ? compacted : Value());
        if (asyncAcross) {
          // Every free slot of the range gets one position, from whichever
          // CTA walks its chunk: the CTA expects 4 bytes per free slot and
          // waits for them (the stores may land before this arrive).
          Value bytes = selection.filledSlotCount(r, slotBegin, slotEnd);
          kb.ifThen(kb.cmp(Pred::eq, kb.threadId(), kb.idx(0)), [&] {
            kb.mbarrierArriveExpectTx(
                compacted, toI32(b, kb.mul(bytes, kb.idx(4))));
          });
          kb.mbarrierWait(compacted, /*parity=*/0);
        }
      } else {
        selection.compactSlots(group, r, plan, slotBegin, slotEnd, slots,
                               warpSums);
      }
    });
    // With st.async the CTA's own stores (the slots no plan decides) still
    // need a CTA barrier.
    if (acrossCluster && !asyncAcross)
      kb.clusterBarrier();
    else
      kb.barrier();
  });
  Value notCompacts = notI1(b, compacts);
  Value fromShared =
      kb.loadIf(arith::AndIOp::create(b, mine, compacts), slots,
                kb.sub(mySlot, slotBegin), kb.i32(-1));
  return kb.loadIf(arith::AndIOp::create(b, mine, notCompacts), arg(kIndices),
                   indexAt, fromShared);
}

Value AttendKernels::inverseWeight(Value sum) {
  // No valid index anywhere: no weight, and the row is zeros.
  Value empty =
      arith::CmpFOp::create(b, arith::CmpFPredicate::OLE, sum, kb.f32(0.0f));
  return kb.select(empty, kb.f32(0.0f),
                   arith::DivFOp::create(b, kb.f32(1.0f), sum));
}

Value AttendKernels::rescale(Value m, Value target) {
  Value empty =
      arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, m, negInf());
  return kb.select(empty, kb.f32(0.0f),
                   exp2(arith::SubFOp::create(b, m, target)));
}

void AttendKernels::buildPartial() {
  int64_t groupSize = p.queryHeads / p.kvHeads;
  int64_t indexHeads = p.indicesPerKvHead ? p.kvHeads : p.queryHeads;
  int64_t warps = c.warpsPerBlock;
  Value split = kb.blockId(gpu::Dimension::x);
  Value group = kb.blockId(gpu::Dimension::y);
  Value capacity = arg(kCapacity);
  Value numGroups = kb.mul(arg(kBatches), kb.idx(indexHeads * p.rows));

  Value sMax = kb.sharedBuffer(b.getF32Type(), warps * c.headsPerCta);
  Value sSum = kb.sharedBuffer(b.getF32Type(), warps * c.headsPerCta);
  Value sAcc =
      kb.sharedBuffer(b.getF32Type(), warps * c.headsPerCta * p.valueDims);
  // With the cluster merge every split's partial goes into these buffers of
  // the cluster's CTA 0 (the leader), slot `split`.
  Partials leader;
  assert((!c.asyncClusterMerge || c.clusterMerge) &&
         "the async merge is the cluster merge's");
  assert((!c.asyncClusterCompaction || c.clusterMerge) &&
         "the async compaction is the cluster form's");
  if (c.clusterMerge) {
    leader.max = kb.sharedBuffer(b.getF32Type(), c.splits * c.headsPerCta);
    leader.sum = kb.sharedBuffer(b.getF32Type(), c.splits * c.headsPerCta);
    leader.acc = kb.sharedBuffer(b.getF32Type(),
                                 c.splits * c.headsPerCta * p.valueDims);
    // With asyncClusterMerge: the leader's mbarrier, which every split's
    // st.async of its partial completes bytes on.
    if (c.asyncClusterMerge)
      leader.arrived = kb.sharedBuffer(b.getI64Type(), 1);
    // With asyncClusterCompaction: each CTA's mbarrier, which the
    // compaction's st.async of its slots complete bytes on.
    if (c.asyncClusterCompaction)
      compacted = kb.sharedBuffer(b.getI64Type(), 1);
  }

  kb.ifThen(kb.cmp(Pred::ult, group, numGroups), [&] {
    // The row's splits are one cluster (grid x = cluster x = splits): a
    // CTA's split is its rank. Remote shared memory may be written only
    // once every CTA of the cluster runs: this arrive, and the wait before
    // the first remote store.
    // The leader's mbarrier is initialised before that arrive (and fenced
    // for it), so the other CTAs' waits make it visible to them.
    // So is each CTA's own, where the cluster compaction sends positions.
    if (c.asyncClusterMerge || c.asyncClusterCompaction)
      kb.ifThen(kb.cmp(Pred::eq, kb.threadId(), kb.idx(0)), [&] {
        if (c.asyncClusterMerge)
          kb.ifThen(kb.cmp(Pred::eq, split, kb.idx(0)),
                    [&] { kb.mbarrierInit(leader.arrived, 1); });
        if (c.asyncClusterCompaction)
          kb.mbarrierInit(compacted, 1);
        kb.fenceMbarrierInit();
      });
    if (c.clusterMerge)
      kb.clusterArrive(/*relaxed=*/true);
    // `group` is the row of the indices, <B x H' x M>.
    Value batch = kb.divu(group, kb.idx(indexHeads * p.rows));
    Value indexHead =
        kb.remu(kb.divu(group, kb.idx(p.rows)), kb.idx(indexHeads));
    Value m = kb.remu(group, kb.idx(p.rows));
    Value kvHead =
        p.indicesPerKvHead ? indexHead : kb.divu(indexHead, kb.idx(groupSize));
    // The query row (of <B x Hq x M>) of head `head` for this CTA.
    auto queryRowOf = [&](Value head) {
      return kb.add(kb.mul(kb.add(kb.mul(batch, kb.idx(p.queryHeads)), head),
                           kb.idx(p.rows)),
                    m);
    };
    SmallVector<Value> queryRows;
    SmallVector<SmallVector<Value>> q;
    for (int64_t g = 0; g < c.headsPerCta; ++g) {
      Value head = p.indicesPerKvHead
                       ? kb.add(kb.mul(kvHead, kb.idx(groupSize)), kb.idx(g))
                       : indexHead;
      Value queryRow = queryRowOf(head);
      queryRows.push_back(queryRow);
      if (!c.tensorCoreDots)
        q.push_back(
            loadLaneSlice(arg(kQuery), queryRow, p.dims, c.dimsPerLane));
    }
    // With tensor-core dots lane l holds row l / 4 of A (head l / 4; rows
    // past the CTA's heads, and 8..15, zero): the D / 4 dims [(l % 4) D / 4,
    // +D / 4) of that head's query, as i32 pairs of elements. Each k-step
    // ks of 16 takes the lane's dims 4 ks .. 4 ks + 3: the dot sums every
    // dim once whatever order the k-steps see them in, as long as A and B
    // agree (B's lane l holds the same dims of slot l / 4).
    SmallVector<Value> queryWords;
    int64_t quarterDims = p.dims / 4;
    Value quadRow, quarter; // l / 4 and l % 4
    // Row `row`'s D / 4 dims [quarter D / 4, +D / 4) of `buffer` (16-byte
    // vector loads).
    auto loadQuarter = [&](Value buffer, Value row) {
      return kb.loadVector(buffer,
                           kb.add(kb.mul(row, kb.idx(p.dims)),
                                  kb.mul(quarter, kb.idx(quarterDims))),
                           quarterDims, 16);
    };
    auto laneWords = [&](Value vector) {
      auto words = VectorType::get({quarterDims / 2}, b.getI32Type());
      Value cast = vector::BitCastOp::create(b, words, vector);
      SmallVector<Value> out;
      for (int64_t w = 0; w < quarterDims / 2; ++w)
        out.push_back(vector::ExtractOp::create(b, cast, w));
      return out;
    };
    if (c.tensorCoreDots) {
      Value laneIndex = kb.toIdx(kb.laneId());
      quadRow = kb.divu(laneIndex, kb.idx(4));
      quarter = kb.remu(laneIndex, kb.idx(4));
      Value realHead = kb.cmp(Pred::ult, quadRow, kb.idx(c.headsPerCta));
      Value g = kb.select(realHead, quadRow, kb.idx(0));
      Value piece = loadQuarter(
          arg(kQuery),
          queryRowOf(kb.add(kb.mul(kvHead, kb.idx(groupSize)), g)));
      auto pieceType = cast<VectorType>(piece.getType());
      Value zeros = arith::ConstantOp::create(
          b, pieceType,
          DenseElementsAttr::get(pieceType,
                                 b.getZeroAttr(pieceType.getElementType())));
      queryWords = laneWords(arith::SelectOp::create(b, realHead, piece, zeros));
    }
    Value kvBase =
        kb.mul(kb.add(kb.mul(batch, kb.idx(p.kvHeads)), kvHead), capacity);
    // softmax(scale q.k) = 2^(scale log2(e) q.k - max) / sum: base-2 scores.
    Value scale = kb.f32(a.scale * static_cast<float>(M_LOG2E));

    Value slotBegin = kb.mul(split, kb.idx(c.slotsPerSplit));
    Value slotEnd =
        kb.minS(kb.add(slotBegin, kb.idx(c.slotsPerSplit)), kb.idx(p.slots));
    Value warp = kb.warpId();

    // The carried state: per head, max, sum, then the accumulator.
    SmallVector<Value> init;
    for (int64_t g = 0; g < c.headsPerCta; ++g) {
      init.push_back(negInf());
      init.push_back(kb.f32(0.0f));
      for (int64_t e = 0; e < c.valueDimsPerLane; ++e)
        init.push_back(kb.f32(0.0f));
    }
    int64_t stateSize = 2 + c.valueDimsPerLane;
    Value hasKeys = kb.cmp(Pred::sgt, capacity, kb.idx(0));
    // Warp w takes slots [begin + w * S, + S) of the split, S = slotsPerWarp
    // (<= 32): lane l loads the index of slot l once, and the slots are then
    // walked unrolled, `slotsInFlight` at a time with all their K and V rows
    // loaded before any is used, so the loads of a group overlap.
    Value lane32 = kb.laneId();
    Value warpBegin = kb.add(slotBegin, kb.mul(warp, kb.idx(c.slotsPerWarp)));
    Value mySlot = kb.add(warpBegin, kb.toIdx(lane32));
    Value mine = arith::AndIOp::create(
        b, arith::CmpIOp::create(b, Pred::slt, lane32, kb.i32(c.slotsPerWarp)),
        kb.cmp(Pred::slt, mySlot, slotEnd));
    Value myIndex = slotIndex(group, slotBegin, slotEnd, mine, mySlot);

    // A group of `count` slots from slot `first` (i32) of the warp's run:
    // their validity and the lane's slices of their K and V rows as loaded
    // (vectors), and in f32 once extended (right after each load, or where
    // a carried group is used: fewer registers while in flight).
    struct Group {
      SmallVector<Value> valid, keyVectors, valueVectors;
      SmallVector<SmallVector<Value>> keys, values;
    };
    auto extendGroup = [&](Group &group) {
      for (auto [k, v] : llvm::zip(group.keyVectors, group.valueVectors)) {
        group.keys.push_back(extendLaneVector(k));
        group.values.push_back(extendLaneVector(v));
      }
    };
    // The K/V row of the warp's slot `slot` (i32) and whether it is valid.
    // Invalid slots (-1 padding, junk, past the split) read row 0 and leave
    // the state unchanged.
    auto slotRow = [&](Value slot) -> std::pair<Value, Value> {
      Value pos = kb.toIdx(kb.shuffleIdx(myIndex, slot));
      Value ok = arith::AndIOp::create(
          b, hasKeys,
          arith::AndIOp::create(b, kb.cmp(Pred::sge, pos, kb.idx(0)),
                                kb.cmp(Pred::slt, pos, capacity)));
      return {ok, kb.add(kvBase, kb.select(ok, pos, kb.idx(0)))};
    };
    auto loadGroup = [&](Value first, int64_t count, bool extend,
                         bool withKeys = true) {
      Group group;
      for (int64_t u = 0; u < count; ++u) {
        auto [ok, row] =
            slotRow(arith::AddIOp::create(b, first, kb.i32(u)));
        group.valid.push_back(ok);
        if (withKeys) {
          group.keyVectors.push_back(
              loadLaneVector(arg(kKeys), row, p.dims, c.dimsPerLane));
          if (extend)
            group.keys.push_back(extendLaneVector(group.keyVectors.back()));
        }
        group.valueVectors.push_back(loadLaneVector(
            arg(kValues), row, p.valueDims, c.valueDimsPerLane));
        if (extend)
          group.values.push_back(extendLaneVector(group.valueVectors.back()));
      }
      return group;
    };
    // Every head's dot with every slot's key of `group` (extended), in
    // every lane: sums[g * slots + u].
    auto warpDots = [&](const Group &group) {
      ArrayRef<Value> valid = group.valid;
      ArrayRef<SmallVector<Value>> keys = group.keys;
      // Every head's dot with every slot's key, summed over the warp
      // together (warpSumEach: 9 shuffles for 4 dots where one warpSum
      // each took 20; NOTES.md item 27), at most 32 at a time.
      SmallVector<Value> dots;
      for (int64_t g = 0; g < c.headsPerCta; ++g)
        for (size_t u = 0; u < valid.size(); ++u) {
          Value dot = kb.f32(0.0f);
          for (int64_t e = 0; e < c.dimsPerLane; ++e)
            dot = fma(q[g][e], keys[u][e], dot);
          dots.push_back(dot);
        }
      SmallVector<Value> sums;
      for (size_t i = 0; i < dots.size(); i += 32)
        llvm::append_range(
            sums, kb.warpSumEach(ArrayRef<Value>(dots).slice(
                      i, std::min<size_t>(32, dots.size() - i))));
      return sums;
    };
    // A tensor-core group of 8 slots from `first` (i32) of the warp's run
    // as loaded: the V rows as loadGroup loads them (not extended), and
    // lane l's D / 4 dims [(l % 4) D / 4, +D / 4) of slot first + l / 4's
    // key (B's column l / 4), one vector.
    struct TensorCoreGroup {
      Group values;
      Value keyQuarter;
    };
    auto loadTensorCoreGroup = [&](Value first) {
      TensorCoreGroup group;
      group.values = loadGroup(first, 8, /*extend=*/false, /*withKeys=*/false);
      Value row =
          slotRow(arith::AddIOp::create(b, first, toI32(b, quadRow))).second;
      group.keyQuarter = loadQuarter(arg(kKeys), row);
      return group;
    };
    // The warp's tensor-core groups in turn (unrolled), each loaded, its V
    // rows extended, then computed on. (Loading the next group before
    // computing on this one measured no faster: NOTES.md item 72.)
    auto forEachTensorCoreGroup =
        [&](function_ref<void(int64_t first, Group &values,
                              Value keyQuarter)> compute) {
      for (int64_t first = 0; first < c.slotsPerWarp; first += 8) {
        TensorCoreGroup group = loadTensorCoreGroup(kb.i32(first));
        for (Value v : group.values.valueVectors)
          group.values.values.push_back(extendLaneVector(v));
        compute(first, group.values, group.keyQuarter);
      }
    };
    // The group's products: D / 16 k-steps of mma.sync leave C's fragment,
    // lane l holding head l / 4's dots with slots 2 (l % 4) and +1 in its
    // first two accumulators.
    auto tensorCoreProducts = [&](Value keyQuarter) {
      SmallVector<Value> keyWords = laneWords(keyQuarter);
      Value zero = kb.i32(0);
      SmallVector<Value> acc(4, kb.f32(0.0f));
      bool bf16 = a.elementType.isBF16();
      for (int64_t ks = 0; ks < p.dims / 16; ++ks)
        acc = kb.mmaHalf({queryWords[2 * ks], zero, queryWords[2 * ks + 1],
                          zero},
                         {keyWords[2 * ks], keyWords[2 * ks + 1]}, acc, bf16);
      return acc;
    };
    // Those scores broadcast: sums[g * 8 + u] in every lane (without
    // softmaxInQuads).
    auto tensorCoreScores = [&](Value keyQuarter) {
      SmallVector<Value> acc = tensorCoreProducts(keyQuarter);
      SmallVector<Value> sums;
      for (int64_t g = 0; g < c.headsPerCta; ++g)
        for (int64_t u = 0; u < 8; ++u)
          sums.push_back(kb.shuffleIdx(acc[u % 2], kb.idx(4 * g + u / 2)));
      return sums;
    };
    // The online softmax state after a group of slots: their validity, the
    // heads' dots (sums[g * slots + u]) and their values (extended).
    auto softmaxUpdate = [&](ArrayRef<Value> valid, ArrayRef<Value> sums,
                             ArrayRef<SmallVector<Value>> values,
                             ArrayRef<Value> state) {
      // The group's slots update the online softmax at once: one new
      // maximum and one rescale of the state per group (not per slot), so
      // per slot only its score, weight and weighted values remain.
      // Invalid slots weigh nothing (their score is -inf for the maximum).
      SmallVector<Value> next;
      for (int64_t g = 0; g < c.headsPerCta; ++g) {
        ArrayRef<Value> old = state.slice(g * stateSize, stateSize);
        SmallVector<Value> scores;
        Value newMax = old[0];
        for (size_t u = 0; u < valid.size(); ++u) {
          scores.push_back(
              arith::MulFOp::create(b, sums[g * valid.size() + u], scale));
          newMax = arith::MaximumFOp::create(
              b, newMax, kb.select(valid[u], scores.back(), negInf()));
        }
        Value alpha = rescale(old[0], newMax);
        Value sum = arith::MulFOp::create(b, old[1], alpha);
        SmallVector<Value> acc;
        for (int64_t e = 0; e < c.valueDimsPerLane; ++e)
          acc.push_back(arith::MulFOp::create(b, old[2 + e], alpha));
        for (size_t u = 0; u < valid.size(); ++u) {
          Value weight =
              kb.select(valid[u],
                        exp2(arith::SubFOp::create(b, scores[u], newMax)),
                        kb.f32(0.0f));
          sum = arith::AddFOp::create(b, sum, weight);
          for (int64_t e = 0; e < c.valueDimsPerLane; ++e)
            acc[e] = fma(weight, values[u][e], acc[e]);
        }
        next.push_back(newMax);
        next.push_back(sum);
        llvm::append_range(next, acc);
      }
      return next;
    };
    auto update = [&](const Group &group, ArrayRef<Value> state) {
      return softmaxUpdate(group.valid, warpDots(group), group.values, state);
    };
    SmallVector<Value> state = init;
    if (c.tensorCoreDots && c.softmaxInQuads) {
      // The softmax where the products leave the scores: the 4 lanes of a
      // quad hold one head's 8 scores of the group, 2 each, so each lane
      // takes the exponentials of its own 2 (not all G x 8 of them in
      // every lane), the head's maximum is a reduction over the quad, and
      // the lane keeps its share of the head's weight sum (summed over the
      // quad once, after the last group). Every lane then needs every
      // head's new maximum (G shuffles) and every weight (G x 8) for its
      // slice of the values. Lanes past the CTA's heads (A's zero rows)
      // compute on zeros that no lane reads. NOTES.md item 71.
      Value quarter32 = toI32(b, quarter);
      Value ownMax = negInf(), ownSum = kb.f32(0.0f);
      forEachTensorCoreGroup([&](int64_t first, Group &group,
                                 Value keyQuarter) {
        SmallVector<Value> products = tensorCoreProducts(keyQuarter);
        // The lane's slots: 2 (l % 4) + j of the group; an invalid one
        // scores -inf (for the maximum) and weighs nothing.
        SmallVector<Value> ownValid, ownScores;
        for (int64_t j = 0; j < 2; ++j) {
          Value slot = arith::AddIOp::create(
              b, kb.i32(first + j),
              arith::MulIOp::create(b, quarter32, kb.i32(2)));
          ownValid.push_back(slotRow(slot).first);
          ownScores.push_back(
              kb.select(ownValid[j],
                        arith::MulFOp::create(b, products[j], scale),
                        negInf()));
        }
        Value quadMax =
            arith::MaximumFOp::create(b, ownScores[0], ownScores[1]);
        for (int64_t mask : {1, 2})
          quadMax = arith::MaximumFOp::create(b, quadMax,
                                              kb.shuffleXor(quadMax, mask));
        Value newMax = arith::MaximumFOp::create(b, ownMax, quadMax);
        SmallVector<Value> weights;
        for (int64_t j = 0; j < 2; ++j)
          weights.push_back(kb.select(
              ownValid[j],
              exp2(arith::SubFOp::create(b, ownScores[j], newMax)),
              kb.f32(0.0f)));
        ownSum = fma(ownSum, rescale(ownMax, newMax),
                     arith::AddFOp::create(b, weights[0], weights[1]));
        ownMax = newMax;
        for (int64_t g = 0; g < c.headsPerCta; ++g) {
          MutableArrayRef<Value> st =
              MutableArrayRef<Value>(state).slice(g * stateSize, stateSize);
          Value headMax = kb.shuffleIdx(newMax, kb.idx(4 * g));
          Value alpha = rescale(st[0], headMax);
          st[0] = headMax;
          for (int64_t e = 0; e < c.valueDimsPerLane; ++e)
            st[2 + e] = arith::MulFOp::create(b, st[2 + e], alpha);
          for (int64_t u = 0; u < 8; ++u) {
            Value weight =
                kb.shuffleIdx(weights[u % 2], kb.idx(4 * g + u / 2));
            for (int64_t e = 0; e < c.valueDimsPerLane; ++e)
              st[2 + e] = fma(weight, group.values[u][e], st[2 + e]);
          }
        }
      });
      Value quadSum = ownSum;
      for (int64_t mask : {1, 2})
        quadSum = arith::AddFOp::create(b, quadSum,
                                        kb.shuffleXor(quadSum, mask));
      for (int64_t g = 0; g < c.headsPerCta; ++g)
        state[g * stateSize + 1] = kb.shuffleIdx(quadSum, kb.idx(4 * g));
    } else if (c.tensorCoreDots) {
      // Unrolled groups of 8 slots (B's 8 columns): V rows as below, the
      // scores from tensor-core products.
      forEachTensorCoreGroup([&](int64_t, Group &group, Value keyQuarter) {
        state = softmaxUpdate(group.valid, tensorCoreScores(keyQuarter),
                              group.values, state);
      });
    } else if (!c.prefetchNextGroup) {
      // Unrolled: each group loaded, then computed on.
      for (int64_t first = 0; first < c.slotsPerWarp;
           first += c.slotsInFlight) {
        int64_t count = std::min(c.slotsInFlight, c.slotsPerWarp - first);
        state = update(loadGroup(kb.i32(first), count, /*extend=*/true),
                       state);
      }
    } else {
      // Software-pipelined over whole groups (slots past slotsPerWarp have
      // index -1): group 0 loaded first, then each iteration loads group
      // i + 1 before it computes on group i (carried), the last group after
      // the loop. A loop, not unrolled: ptxas would hoist every group's
      // loads and spill. (Without the compiler barriers LLVM moves each
      // iteration's loads to the start of the next one, where they are
      // used: no prefetch.)
      int64_t groups = llvm::divideCeil(c.slotsPerWarp, c.slotsInFlight);
      Group first = loadGroup(kb.i32(0), c.slotsInFlight, /*extend=*/false);
      kb.compilerBarrier();
      auto pack = [&](ArrayRef<Value> st, const Group &g) {
        SmallVector<Value> carried(st);
        llvm::append_range(carried, g.valid);
        llvm::append_range(carried, g.keyVectors);
        llvm::append_range(carried, g.valueVectors);
        return carried;
      };
      auto unpack = [&](ValueRange carried) {
        size_t n = state.size(), u = c.slotsInFlight;
        Group g;
        g.valid = llvm::to_vector(carried.slice(n, u));
        g.keyVectors = llvm::to_vector(carried.slice(n + u, u));
        g.valueVectors = llvm::to_vector(carried.slice(n + 2 * u, u));
        extendGroup(g);
        return std::make_pair(llvm::to_vector(carried.take_front(n)), g);
      };
      SmallVector<Value> last = kb.forLoop(
          kb.idx(1), kb.idx(groups), kb.idx(1), pack(state, first),
          [&](Value i, ValueRange carried) -> SmallVector<Value> {
            auto [st, current] = unpack(carried);
            Value nextFirst = arith::MulIOp::create(
                b, toI32(b, i), kb.i32(c.slotsInFlight));
            Group next =
                loadGroup(nextFirst, c.slotsInFlight, /*extend=*/false);
            // The loads stay here, ahead of the arithmetic on `current`.
            kb.compilerBarrier();
            return pack(update(current, st), next);
          });
      auto [st, current] = unpack(last);
      state = update(current, st);
    }

    // Merge the warps' states into the split's partial.
    Value lane = kb.toIdx(kb.laneId());
    for (int64_t g = 0; g < c.headsPerCta; ++g) {
      ArrayRef<Value> s =
          ArrayRef<Value>(state).slice(g * stateSize, stateSize);
      Value slotIndex = kb.add(kb.mul(warp, kb.idx(c.headsPerCta)), kb.idx(g));
      kb.ifThen(kb.cmp(Pred::eq, lane, kb.idx(0)), [&] {
        kb.store(s[0], sMax, slotIndex);
        kb.store(s[1], sSum, slotIndex);
      });
      Value accBase = kb.add(kb.mul(slotIndex, kb.idx(p.valueDims)),
                             kb.mul(lane, kb.idx(c.valueDimsPerLane)));
      for (int64_t e = 0; e < c.valueDimsPerLane; ++e)
        kb.store(s[2 + e], sAcc, kb.add(accBase, kb.idx(e)));
    }
    kb.barrier();
    Value tid = kb.threadId();
    for (int64_t g = 0; g < c.headsPerCta; ++g) {
      Value target = negInf();
      SmallVector<Value> maxima;
      for (int64_t w = 0; w < warps; ++w) {
        maxima.push_back(kb.load(sMax, kb.idx(w * c.headsPerCta + g)));
        target = arith::MaximumFOp::create(b, target, maxima.back());
      }
      SmallVector<Value> factors;
      Value sum = kb.f32(0.0f);
      for (int64_t w = 0; w < warps; ++w) {
        factors.push_back(rescale(maxima[w], target));
        sum =
            fma(factors[w], kb.load(sSum, kb.idx(w * c.headsPerCta + g)), sum);
      }
      // The partial: into the leader's slot, or global memory for the
      // merge kernel.
      Value slot = kb.add(kb.mul(split, kb.idx(c.headsPerCta)), kb.idx(g));
      Value accFirst =
          c.clusterMerge
              ? kb.mul(slot, kb.idx(p.valueDims))
              : kb.mul(kb.add(kb.mul(queryRows[g], kb.idx(c.splits)), split),
                       kb.idx(partialWidth()));
      auto put = [&](Value value, Value buffer, Value index) {
        if (c.asyncClusterMerge)
          kb.storeAsyncToClusterRank(value, buffer, index, leader.arrived,
                                     kb.i32(0));
        else if (c.clusterMerge)
          kb.storeToClusterRank(value, buffer, index, kb.i32(0));
        else
          kb.store(value, arg(kPartials), index);
      };
      // Every CTA of the cluster runs (slotIndex waited already where the
      // CTAs compact the selection).
      if (c.clusterMerge && !c.compactsSelection && g == 0)
        kb.clusterWait();
      kb.forLoop(tid, kb.idx(p.valueDims), kb.idx(32 * warps), [&](Value d) {
        Value acc = kb.f32(0.0f);
        for (int64_t w = 0; w < warps; ++w) {
          Value at = kb.add(kb.idx((w * c.headsPerCta + g) * p.valueDims), d);
          acc = fma(factors[w], kb.load(sAcc, at), acc);
        }
        put(acc, leader.acc, kb.add(accFirst, d));
      });
      kb.ifThen(kb.cmp(Pred::eq, tid, kb.idx(0)), [&] {
        put(target, leader.max,
            c.clusterMerge ? slot : kb.add(accFirst, kb.idx(p.valueDims)));
        put(sum, leader.sum,
            c.clusterMerge ? slot : kb.add(accFirst, kb.idx(p.valueDims + 1)));
      });
    }
    if (c.asyncClusterMerge) {
      // The leader's one arrival expects every split's partial (st.async,
      // its own included); the others are done and exit (nothing reads
      // their shared memory).
      kb.ifThen(kb.cmp(Pred::eq, split, kb.idx(0)), [&] {
        int64_t bytes = 4 * c.splits * c.headsPerCta * (p.valueDims + 2);
        kb.ifThen(kb.cmp(Pred::eq, kb.threadId(), kb.idx(0)), [&] {
          kb.mbarrierArriveExpectTx(leader.arrived, kb.i32(bytes));
        });
        kb.mbarrierWait(leader.arrived, /*parity=*/0);
        mergeInLeader(queryRows, leader);
      });
    } else if (c.clusterMerge) {
      // Release this split's stores to the leader; the others are done (a
      // CTA may exit after arriving: nothing reads its shared memory).
      kb.clusterArrive();
      kb.ifThen(kb.cmp(Pred::eq, split, kb.idx(0)), [&] {
        kb.clusterWait();
        mergeInLeader(queryRows, leader);
      });
    }
  });
}

void AttendKernels::mergeInLeader(ArrayRef<Value> queryRows,
                                  const Partials &leader) {
  // Every split's partial is in this CTA's shared memory: a thread per
  // value dim of each head, the merge kernel's arithmetic.
  Value tid = kb.threadId();
  for (int64_t g = 0; g < c.headsPerCta; ++g) {
    kb.forLoop(tid, kb.idx(p.valueDims), kb.idx(32 * c.warpsPerBlock),
               [&](Value d) {
      SmallVector<Value> maxima, sums, accs;
      for (int64_t s = 0; s < c.splits; ++s) {
        int64_t slot = s * c.headsPerCta + g;
        maxima.push_back(kb.load(leader.max, kb.idx(slot)));
        sums.push_back(kb.load(leader.sum, kb.idx(slot)));
        accs.push_back(
            kb.load(leader.acc, kb.add(kb.idx(slot * p.valueDims), d)));
      }
      Value target = negInf();
      for (Value m : maxima)
        target = arith::MaximumFOp::create(b, target, m);
      Value sum = kb.f32(0.0f), acc = kb.f32(0.0f);
      for (int64_t s = 0; s < c.splits; ++s) {
        Value factor = rescale(maxima[s], target);
        sum = fma(factor, sums[s], sum);
        acc = fma(factor, accs[s], acc);
      }
      kb.store(roundFromF32(b, normalize(acc, sum), a.elementType),
               arg(kResult),
               kb.add(kb.mul(queryRows[g], kb.idx(p.valueDims)), d));
    });
  }
}

void AttendKernels::buildMerge() {
  int64_t warps = c.warpsPerBlock;
  Value row =
      kb.add(kb.mul(kb.blockId(gpu::Dimension::x), kb.idx(warps)), kb.warpId());
  Value numRows = kb.mul(arg(kBatches), kb.idx(p.queryHeads * p.rows));
  kb.ifThen(kb.cmp(Pred::ult, row, numRows), [&] {
    Value first = kb.mul(row, kb.idx(c.splits * partialWidth()));
    auto at = [&](int64_t split, int64_t i) {
      return kb.add(first, kb.idx(split * partialWidth() + i));
    };
    Value target = negInf();
    SmallVector<Value> maxima;
    for (int64_t s = 0; s < c.splits; ++s) {
      maxima.push_back(kb.load(arg(kPartials), at(s, p.valueDims)));
      target = arith::MaximumFOp::create(b, target, maxima.back());
    }
    Value laneFirst = kb.mul(kb.toIdx(kb.laneId()), kb.idx(c.valueDimsPerLane));
    Value sum = kb.f32(0.0f);
    SmallVector<Value> acc(c.valueDimsPerLane, kb.f32(0.0f));
    for (int64_t s = 0; s < c.splits; ++s) {
      Value factor = rescale(maxima[s], target);
      sum =
          fma(factor, kb.load(arg(kPartials), at(s, p.valueDims + 1)), sum);
      for (int64_t e = 0; e < c.valueDimsPerLane; ++e) {
        Value partial = kb.load(arg(kPartials),
                                kb.add(at(s, 0), kb.add(laneFirst, kb.idx(e))));
        acc[e] = fma(factor, partial, acc[e]);
      }
    }
    Value inverse = inverseWeight(sum);
    Value out = kb.add(kb.mul(row, kb.idx(p.valueDims)), laneFirst);
    for (int64_t e = 0; e < c.valueDimsPerLane; ++e) {
      Value y = arith::MulFOp::create(b, acc[e], inverse);
      kb.store(roundFromF32(b, y, a.elementType), arg(kResult),
               kb.add(out, kb.idx(e)));
    }
  });
}

void mlir::adamas::emitAttend(HostBuilder &host, StringRef name,
                              const AttendLaunch &a) {
  ImplicitLocOpBuilder &hb = host.builder();
  const AttendProblem &p = a.problem;
  const AttendConfig &c = a.config;
  auto idx = [&](int64_t v) { return indexConst(hb, v); };

  Value batches = host.dim(a.query, 0);
  Value queryRows =
      arith::MulIOp::create(hb, batches, idx(p.queryHeads * p.rows));
  // The partial kernel's partials (the cluster kernel keeps them in shared
  // memory, but past clusterMergeMaxCtas the partial kernel runs instead).
  Value partials = host.allocScratch(
      hb.getF32Type(),
      arith::MulIOp::create(hb, queryRows, idx(c.splits * (p.valueDims + 2))));

  SmallVector<Value> attendArgs(kNumArgs);
  attendArgs[kQuery] = host.flatten(a.query);
  attendArgs[kKeys] = host.flatten(a.keys);
  attendArgs[kValues] = host.flatten(a.values);
  attendArgs[kIndices] = host.flatten(a.indices);
  attendArgs[kPartials] = partials;
  attendArgs[kResult] = host.flatten(a.result);
  attendArgs[kBatches] = batches;
  attendArgs[kCapacity] = host.dim(a.keys, 2);

  OpBuilder mb = host.moduleBuilder();
  int64_t threads = 32 * c.warpsPerBlock;
  int64_t indexHeads = p.indicesPerKvHead ? p.kvHeads : p.queryHeads;
  Value groups = arith::MulIOp::create(hb, batches, idx(indexHeads * p.rows));
  SmallVector<Type> types; // the arguments', below
  auto build = [&](StringRef suffix, const AttendLaunch &form,
                   bool merge) -> gpu::GPUFuncOp {
    KernelBuilder kernel(mb, host.kernelModule(), (name + suffix).str(), types,
                         threads, hb.getLoc());
    if (merge)
      AttendKernels(kernel, form).buildMerge();
    else
      AttendKernels(kernel, form).buildPartial();
    gpu::GPUFuncOp func = kernel.finish();
    func->setAttr("adamas.config", form.config.toAttr(hb.getContext()));
    if (!merge && form.config.minCtasPerSm > 0)
      func->setAttr("nvvm.minctasm",
                    hb.getI32IntegerAttr(form.config.minCtasPerSm));
    return func;
  };
  // Up to four forms, chosen by the grid's size at run time, each form
  // not taken given an empty grid (the runtime launches nothing for it):
  // where the long splits' grid reaches longFormMinCtas, their cluster
  // kernel if it fits longFormClusterMaxCtas, else their partial and merge
  // kernels; else the cluster kernel where the short splits' grid fits
  // clusterMergeMaxCtas; else the short splits' partial and merge kernels
  // (the only form without clusters or a long form).
  // (Every grid value is named before its launch: the order of the ops
  // must not depend on the C++ compiler's order of evaluating arguments.)
  Value zero = idx(0), one = idx(1);
  Value splits = idx(c.splits);
  Value allMergeBlocks =
      arith::CeilDivSIOp::create(hb, queryRows, idx(c.warpsPerBlock));
  bool choosable = c.clusterMerge || c.longSplits > 0;
  auto unless = [&](Value taken, Value grid) -> Value {
    return arith::SelectOp::create(hb, taken, zero, grid);
  };
  auto when = [&](Value taken, Value grid) -> Value {
    return arith::SelectOp::create(hb, taken, grid, zero);
  };
  Value longTaken;
  if (c.longSplits > 0)
    longTaken = arith::CmpIOp::create(
        hb, arith::CmpIPredicate::uge,
        arith::MulIOp::create(hb, groups, idx(c.longSplits)),
        idx(c.longFormMinCtas));
  // `taken` and not the long form.
  Value notLong;
  if (longTaken)
    notLong = notI1(hb, longTaken);
  auto unlessLong = [&](Value taken) -> Value {
    return notLong ? arith::AndIOp::create(hb, taken, notLong) : taken;
  };

  // The arguments (SelectionKernels: the select's first), and with a
  // selection to compact, its kernels. The short forms' CTAs plan and
  // compact their slots (kCompactsSelection) where a chunk is at most one
  // pass of their long runs (B = 1 and 4 at 32K: 2K positions per chunk;
  // a CTA's slots meet 2-3 chunks). Longer chunks (B=16, 128K: 8K) take
  // the compaction kernels: each attention CTA would walk 2-3 whole chunks
  // (measured 1.9-4.4 us slower; they also lose the discards of dirty
  // distance lines). So does the long form, whose CTAs read the indices.
  SmallVector<Value> args;
  if (a.selection) {
    assert(c.compactsSelection && "a selection to compact");
    const SelectionKernels &selection = *a.selection;
    Value compacts = unlessLong(arith::CmpIOp::create(
        hb, arith::CmpIPredicate::ule, selection.chunkLength,
        idx(threads * select::kLongRun)));
    // Where the CTAs compact, this grid follows the histogram pass, which
    // then lets it launch only as its CTAs finish, unless they are at most
    // one per SM: launched beside a pass of several CTAs per SM, the
    // clusters crowd onto the SMs those leave free (NOTES.md item 52).
    auto [histX, histY, histZ] = selection.histGrid;
    Value histCtas = arith::MulIOp::create(
        hb, arith::MulIOp::create(hb, histX, histY), histZ);
    Value spread = arith::CmpIOp::create(
        hb, arith::CmpIPredicate::ule, histCtas,
        idx(host.target().numMultiprocessors));
    Value releaseEarly =
        arith::OrIOp::create(hb, spread, notI1(hb, compacts));
    SmallVector<Value> selectArgs = selection.args;
    selectArgs[select::kReleaseEarly] =
        arith::SelectOp::create(hb, releaseEarly, one, zero);
    llvm::append_range(args, selectArgs);
    llvm::append_range(args, attendArgs);
    args.push_back(arith::SelectOp::create(hb, compacts, one, zero));
    launchSelection(host, selection, selectArgs, compacts);
  } else {
    args = attendArgs;
  }
  types = llvm::to_vector(ValueRange(args).getTypes());
  Value partialGroups = groups, mergeBlocks = allMergeBlocks;
  if (c.clusterMerge) {
    gpu::GPUFuncOp cluster = build("_cluster", a, /*merge=*/false);
    Value clusterTaken = unlessLong(arith::CmpIOp::create(
        hb, arith::CmpIPredicate::ule,
        arith::MulIOp::create(hb, groups, splits), idx(c.clusterMergeMaxCtas)));
    Value clusterGroups = when(clusterTaken, groups);
    host.launch(cluster, splits, clusterGroups, one, threads, args,
                /*clusterX=*/splits, /*choosable=*/true);
    partialGroups = unless(clusterTaken, partialGroups);
    mergeBlocks = unless(clusterTaken, mergeBlocks);
  }
  if (longTaken) {
    partialGroups = unless(longTaken, partialGroups);
    mergeBlocks = unless(longTaken, mergeBlocks);
  }
  AttendLaunch twoKernels = a;
  twoKernels.config.clusterMerge = false;
  twoKernels.config.asyncClusterMerge = false;
  twoKernels.config.asyncClusterCompaction = false;
  twoKernels.config.clusterMergeMaxCtas = 0;
  gpu::GPUFuncOp partial = build("_partial", twoKernels, /*merge=*/false);
  gpu::GPUFuncOp merge = build("_merge", twoKernels, /*merge=*/true);
  host.launch(partial, splits, partialGroups, one, threads, args, Value(),
              choosable);
  host.launch(merge, mergeBlocks, one, one, threads, args, Value(),
              choosable);
  if (longTaken) {
    AttendLaunch longSplits = a;
    longSplits.config = c.longForm(p);
    Value longGroups = when(longTaken, groups);
    Value longMergeBlocks = when(longTaken, allMergeBlocks);
    if (c.longFormClusterMaxCtas > 0) {
      // Where the long grid is at most longFormClusterMaxCtas, its splits
      // are one cluster that merges by st.async in the leader.
      AttendLaunch longCluster = longSplits;
      longCluster.config.clusterMerge = true;
      longCluster.config.asyncClusterMerge = true;
      gpu::GPUFuncOp clusterLong =
          build("_cluster_long", longCluster, /*merge=*/false);
      Value longSplitCount = idx(c.longSplits);
      Value clusterLongTaken = arith::AndIOp::create(
          hb, longTaken,
          arith::CmpIOp::create(
              hb, arith::CmpIPredicate::ule,
              arith::MulIOp::create(hb, groups, longSplitCount),
              idx(c.longFormClusterMaxCtas)));
      Value clusterLongGroups = when(clusterLongTaken, groups);
      host.launch(clusterLong, longSplitCount, clusterLongGroups, one, threads,
                  args, /*clusterX=*/longSplitCount, /*choosable=*/true);
      longGroups = unless(clusterLongTaken, longGroups);
      longMergeBlocks = unless(clusterLongTaken, longMergeBlocks);
    }
    gpu::GPUFuncOp partialLong =
        build("_partial_long", longSplits, /*merge=*/false);
    gpu::GPUFuncOp mergeLong = build("_merge_long", longSplits, /*merge=*/true);
    host.launch(partialLong, idx(c.longSplits), longGroups, one, threads, args,
                Value(), /*choosable=*/true);
    host.launch(mergeLong, longMergeBlocks, one, one, threads, args, Value(),
                /*choosable=*/true);
  }
}
