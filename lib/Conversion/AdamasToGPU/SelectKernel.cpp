//===- SelectKernel.cpp - l1_topk: histograms, threshold, compaction ------===//
//
// DESIGN.md section 4, stage 2, over chunks of positions (chunk c of a batch
// row covers [c * len, (c + 1) * len) of its visible length, `len` a
// multiple of 32, the same in every phase), in three phases:
//
// 1. histograms: one pass over the chunk's key codes serves every
//    selection row of a KV head (its G query heads and M query rows, or
//    with shared_group the minimum over the G heads): the exact L1 distance,
//    stored as i16 for the compaction, counted in a shared-memory histogram
//    per row. The distance comes from per-thread popcounts (CodeArithmetic.h;
//    16-byte loads, `keysPerThread` whole keys in flight per thread) or,
//    where a CTA ranks several queries, from binary tensor-core products of
//    thermometer planes (SelectHistogram.cpp: a warp's 16 keys against 4
//    queries per mma.sync .b1.and.popc).
// 2. the plan of each row: the threshold distance T (the bin where the
//    running count over the row's summed chunk histograms first reaches
//    `take`, by a block-wide scan), `skip`, the number of positions at
//    distance T that lose (the smallest ones), and per chunk its first
//    output slot and the ties of the earlier chunks.
// 3. ordered compaction of each chunk: tiles of runs of positions per
//    thread, block scans for the ranks of the ties (the `skip` smallest tied
//    positions lose) and of the selected positions. Chunk 0 also writes the
//    forced sink and recent slots, or, when the row sees at most k
//    positions, all of them and the -1 padding.
//
// With `cluster-select` on a chip with thread block clusters (sm_90), and
// one selection row per CTA (SelectConfig::clusterChunks), all three are one
// kernel, `<name>_cluster`, grid (chunks, Hkv * row groups, B) in clusters
// of (chunks, 1, 1): the CTAs of a cluster are the chunks of one row group,
// and after a cluster barrier each CTA reads its rows' chunk histograms
// from the others' shared memory, computes the plan entries it needs (T,
// skip, its own first slot) and compacts its chunk; a second cluster barrier
// keeps every histogram alive until all are read. No launch between the
// phases, and no histogram or plan goes through global memory.
//
// Otherwise they are three kernels: `<name>_hist` (grid as above)
// writes the histograms per (row, chunk) as running counts (bin t: the
// chunk's free positions at distance <= t); `<name>_threshold` (grid: rows)
// finds T in two rounds of loads (SelectCommon::planRow: each thread's
// probe, one bin of every chunk, says which few bins hold T; then each
// chunk's counts at those bins give T, skip and the chunk's positions below
// and at T) and writes the row's plan: T, skip, and per chunk its first
// output slot and the ties of the earlier chunks; `<name>_compact` (grid:
// rows x chunks) reads its plan entry and compacts, in runs of 16 positions
// per thread, or `<name>_compact_long` in runs of 32 where a chunk is
// longer than one pass of 16 (the host picks one per call by chunk length
// and gives the other an empty grid).
// Where sparse_attn compacts the slots it attends itself (AttendConfig::
// compactsSelection), the threshold and compaction kernels are built but
// launched by it, with empty grids where its CTAs plan and compact
// (SelectCommon::planRow, then compactSlots: a CTA's range of output slots
// from one compaction over the chunks that meet it, into shared memory).
// (The threshold used to be found by every compaction CTA, each summing
// all of its row's chunk histograms, then by a threshold kernel summing
// them all; NOTES.md has the measurements of each form.)
// Nothing needs zeroed scratch: every histogram entry is written each step.
//
//===----------------------------------------------------------------------===//

#include "SelectKernels.h"

#include "adamas/Conversion/AdamasToGPU/TargetInfo.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <optional>
#include <tuple>

using namespace mlir;
using namespace mlir::adamas;
using namespace mlir::adamas::select;

Value SelectCommon::blockScan(Value value, Value warpSums, Value &total) {
  Value inclusive = kb.warpInclusiveScan(value);
  Value lane = kb.laneId();
  Value warp = kb.warpId();
  kb.ifThen(arith::CmpIOp::create(b, Pred::eq, lane, kb.i32(31)),
            [&] { kb.store(inclusive, warpSums, warp); });
  kb.barrier();
  Value offset = kb.i32(0);
  total = kb.i32(0);
  for (int64_t w = 0; w < numWarps(); ++w) {
    Value sum = kb.load(warpSums, kb.idx(w));
    Value earlier = kb.cmp(Pred::ult, kb.idx(w), warp);
    offset = kb.select(earlier, arith::AddIOp::create(b, offset, sum), offset);
    total = arith::AddIOp::create(b, total, sum);
  }
  kb.barrier(); // warpSums may be reused right after.
  return arith::AddIOp::create(b, inclusive, offset);
}

SelectCommon::Threshold SelectCommon::findThreshold(Value totals, Value take,
                                                    Value warpSums,
                                                    Value found) {
  // Thread t scans bins [t * P, t * P + P).
  Value tid = kb.threadId();
  int64_t perThread = llvm::divideCeil(c.numBins, c.blockSize);
  Value firstBin = kb.mul(tid, kb.idx(perThread));
  SmallVector<Value> counts;
  Value local = kb.i32(0);
  for (int64_t i = 0; i < perThread; ++i) {
    Value bin = kb.add(firstBin, kb.idx(i));
    Value inRange = kb.cmp(Pred::ult, bin, kb.idx(c.numBins));
    Value safe = kb.minS(bin, kb.idx(c.numBins - 1));
    Value count = kb.select(inRange, kb.load(totals, safe), kb.i32(0));
    counts.push_back(count);
    local = arith::AddIOp::create(b, local, count);
  }
  Value blockTotal;
  Value inclusive = blockScan(local, warpSums, blockTotal);
  Value running = arith::SubIOp::create(b, inclusive, local);
  Value take32 = toI32(b, take);
  for (int64_t i = 0; i < perThread; ++i) {
    Value next = arith::AddIOp::create(b, running, counts[i]);
    Value crosses = arith::AndIOp::create(
        b, arith::CmpIOp::create(b, Pred::slt, running, take32),
        arith::CmpIOp::create(b, Pred::sge, next, take32));
    Value bin = kb.add(firstBin, kb.idx(i));
    Value runningNow = running;
    kb.ifThen(crosses, [&] {
      kb.store(toI32(b, bin), found, kb.idx(0));
      kb.store(runningNow, found, kb.idx(1));
    });
    running = next;
  }
  kb.barrier();
  Threshold t;
  t.value = kb.load(found, kb.idx(0));
  t.index = kb.toIdx(t.value);
  Value below = kb.load(found, kb.idx(1));
  // The `skip` smallest positions at distance T lose to the larger ones.
  t.skip = arith::SubIOp::create(b, kb.load(totals, t.index),
                                 arith::SubIOp::create(b, take32, below));
  return t;
}


//===----------------------------------------------------------------------===//
// With clusters: the whole selection in one kernel
//===----------------------------------------------------------------------===//

namespace {
class ClusterSelectKernel : HistogramKernel {
public:
  using HistogramKernel::HistogramKernel;
  void build();

private:
  struct Buffers {
    Value totals, earlier, warpSums, found, plans;
  };
  /// Row `r`'s plan entries for this CTA's chunk, from the histograms of
  /// every CTA of the cluster, into `plans[4r .. 4r + 3]` (ChunkPlan order).
  void planFromCluster(int64_t r, Value chunk, Value hist, Value take,
                       const Buffers &buffers);
};
} // namespace

void ClusterSelectKernel::planFromCluster(int64_t r, Value chunk, Value hist,
                                          Value take, const Buffers &buf) {
  Value tid = kb.threadId();
  Value threads = kb.idx(c.blockSize);
  // 1. Per bin, the row's count over all chunks and over the chunks before
  // this one, from every CTA's histogram (distributed shared memory),
  // kRanksInFlight loads at a time (each holds a 64-bit address until it
  // returns: more would cost registers the histogram pass needs).
  constexpr int64_t kRanksInFlight = 8;
  Value chunks = kb.arg(kChunks);
  Value lastChunk = kb.sub(chunks, kb.idx(1));
  kb.forLoop(tid, kb.idx(c.numBins), threads, [&](Value bin) {
    Value at = kb.add(kb.idx(r * c.numBins), bin);
    Value all = kb.i32(0), before = kb.i32(0);
    for (int64_t first = 0; first < c.clusterChunks; first += kRanksInFlight) {
      int64_t last = std::min(first + kRanksInFlight, c.clusterChunks);
      SmallVector<Value> counts;
      for (int64_t other = first; other < last; ++other) {
        Value rank = toI32(b, kb.minS(kb.idx(other), lastChunk));
        counts.push_back(kb.loadFromClusterRank(hist, at, rank));
      }
      for (int64_t other = first; other < last; ++other) {
        Value count = counts[other - first];
        Value exists = kb.cmp(Pred::ult, kb.idx(other), chunks);
        Value earlier = kb.cmp(Pred::ult, kb.idx(other), chunk);
        all = arith::AddIOp::create(b, all,
                                    kb.select(exists, count, kb.i32(0)));
        before = arith::AddIOp::create(b, before,
                                       kb.select(earlier, count, kb.i32(0)));
      }
    }
    kb.store(all, buf.totals, bin);
    kb.store(before, buf.earlier, bin);
  });
  kb.barrier();

  // 2. T and skip (every CTA of the cluster finds the same).
  Threshold t = findThreshold(buf.totals, take, buf.warpSums, buf.found);

  // 3. This chunk's first slot: the earlier chunks' positions below T, and
  // their ties at T past the `skip` that lose. (`earlier` is read before the
  // scan's barriers: the next row rewrites it right after them.)
  Value tiesBefore = kb.load(buf.earlier, t.index);
  SmallVector<Value> partial = kb.forLoop(
      tid, t.index, threads, {kb.i32(0)},
      [&](Value bin, ValueRange acc) -> SmallVector<Value> {
        return {arith::AddIOp::create(b, acc[0], kb.load(buf.earlier, bin))};
      });
  Value lessBefore;
  blockScan(partial[0], buf.warpSums, lessBefore);
  Value tiesTaken = arith::MaxSIOp::create(
      b, arith::SubIOp::create(b, tiesBefore, t.skip), kb.i32(0));
  Value firstSlot = arith::AddIOp::create(
      b, kb.i32(p.sink), arith::AddIOp::create(b, lessBefore, tiesTaken));
  kb.ifThen(kb.cmp(Pred::eq, tid, kb.idx(0)), [&] {
    Value values[] = {t.value, t.skip, firstSlot, tiesBefore};
    for (auto [field, value] : llvm::enumerate(values))
      kb.store(value, buf.plans, kb.idx(4 * r + int64_t(field)));
  });
}

void ClusterSelectKernel::build() {
  Buffers buf;
  buf.totals = kb.sharedBuffer(b.getI32Type(), c.numBins);
  buf.earlier = kb.sharedBuffer(b.getI32Type(), c.numBins);
  buf.warpSums = kb.sharedBuffer(b.getI32Type(), numWarps());
  buf.found = kb.sharedBuffer(b.getI32Type(), 2);
  buf.plans = kb.sharedBuffer(b.getI32Type(), 4 * c.rowsPerCta);
  // A row group's chunks are one cluster (grid x = cluster x = chunks), so
  // a CTA's chunk is its rank in the cluster, and every condition below
  // (batch, row, length) is the same for all CTAs of a cluster: they meet
  // at both cluster barriers.
  buildPass([&](Value chunk, ArrayRef<Row> rows, Value hist) {
    kb.clusterBarrier(); // every histogram of the cluster is complete
    for (auto [r, row] : llvm::enumerate(rows)) {
      kb.ifThen(row.valid, [&] {
        ifResultRow(row.index, [&](const ResultRow &rr) {
          ifRowNeedsPlan(rr, [&] {
            planFromCluster(int64_t(r), chunk, hist, rr.window.take, buf);
          });
        });
      });
    }
    // No CTA leaves (its shared memory) before all have read it; this also
    // publishes the plans to the CTA's threads.
    kb.clusterBarrier();
    for (auto [r, row] : llvm::enumerate(rows)) {
      kb.ifThen(row.valid, [&] {
        ifResultRow(row.index, [&](const ResultRow &rr) {
          compactRow(
              row.index, chunk, rr,
              [&] {
                SmallVector<Value> v;
                for (int64_t field = 0; field < 4; ++field)
                  v.push_back(
                      kb.load(buf.plans, kb.idx(4 * int64_t(r) + field)));
                return ChunkPlan{v[0], v[1], v[2], v[3]};
              },
              buf.warpSums);
        });
      });
    }
  });
}

//===----------------------------------------------------------------------===//
// A row's plan from its chunks' cumulative histograms
//===----------------------------------------------------------------------===//

Value SelectCommon::probeRow(Value row) {
  int64_t stride = probeStride();
  Value bin = kb.minS(kb.add(kb.mul(kb.threadId(), kb.idx(stride)),
                             kb.idx(stride - 1)),
                      kb.idx(c.numBins - 1));
  Value chunks = kb.arg(kChunks);
  // Every chunk slot's load at once (slots past the chunks count 0).
  SmallVector<Value> counts;
  for (int64_t slot = 0; slot < c.maxChunks; ++slot)
    counts.push_back(kb.loadIf(kb.cmp(Pred::ult, kb.idx(slot), chunks),
                               kb.arg(kHistograms),
                               histogramEntry(row, kb.idx(slot), bin),
                               kb.i32(0)));
  Value sum = kb.i32(0);
  for (Value count : counts)
    sum = arith::AddIOp::create(b, sum, count);
  return sum;
}

SelectCommon::SlotPlan SelectCommon::planRow(Value row, Value probe,
                                             Value take, Value warpCounts) {
  int64_t stride = probeStride();
  Value take32 = toI32(b, take);
  Value lane = kb.toIdx(kb.laneId());
  auto addI = [&](Value x, Value y) -> Value {
    return arith::AddIOp::create(b, x, y);
  };
  auto subI = [&](Value x, Value y) -> Value {
    return arith::SubIOp::create(b, x, y);
  };
  auto lessThan = [&](Value x, Value y) -> Value {
    return arith::CmpIOp::create(b, Pred::slt, x, y);
  };

  // 1. The running counts ascend with the bin, so the probes below `take`
  // are the first `probesBelow` threads': T is in the bins of the first
  // probe at or above it, [probesBelow * s, probesBelow * s + s).
  Value belowInWarp = math::CtPopOp::create(b, kb.ballot(lessThan(probe,
                                                                  take32)));
  kb.ifThen(kb.cmp(Pred::eq, lane, kb.idx(0)),
            [&] { kb.store(belowInWarp, warpCounts, kb.toIdx(kb.warpId())); });
  kb.barrier();
  Value probesBelow = kb.i32(0);
  for (int64_t w = 0; w < numWarps(); ++w)
    probesBelow = addI(probesBelow, kb.load(warpCounts, kb.idx(w)));

  // 2. Every warp, lane c = chunk c: the chunk's running counts at bins
  // base + j (j = 0 .. s; base = probesBelow * s - 1, the bin below the
  // candidates; bins below 0 count 0, bins past the last hold the chunk's
  // total), and their sums over the chunks (the row's).
  Value base = subI(arith::MulIOp::create(b, probesBelow, kb.i32(stride)),
                    kb.i32(1));
  Value chunks = kb.arg(kChunks);
  Value exists = kb.cmp(Pred::ult, lane, chunks);
  Value chunk = kb.minS(lane, kb.sub(chunks, kb.idx(1)));
  SmallVector<Value> counts;
  for (int64_t j = 0; j <= stride; ++j) {
    Value bin = addI(base, kb.i32(j));
    Value inRow = arith::AndIOp::create(
        b, exists, arith::CmpIOp::create(b, Pred::sge, bin, kb.i32(0)));
    Value safe = kb.minS(kb.maxS(kb.toIdx(bin), kb.idx(0)),
                         kb.idx(c.numBins - 1));
    counts.push_back(kb.loadIf(inRow, kb.arg(kHistograms),
                               histogramEntry(row, chunk, safe), kb.i32(0)));
  }
  SmallVector<Value> rowCounts = kb.warpSumEach(counts);

  // 3. T = base + jT, jT the first j >= 1 whose row count reaches `take`
  // (j = s always does: it is the probe's bin, or past the last bin).
  Value jT = kb.i32(1);
  for (int64_t j = 1; j < stride; ++j)
    jT = addI(jT, arith::ExtUIOp::create(b, b.getI32Type(),
                                          lessThan(rowCounts[j], take32)));
  Value chunkBelow = counts[0], chunkAtOrBelow = counts[1];
  Value rowAtOrBelow = rowCounts[1];
  for (int64_t j = 2; j <= stride; ++j) {
    Value isT = arith::CmpIOp::create(b, Pred::eq, jT, kb.i32(j));
    chunkBelow = kb.select(isT, counts[j - 1], chunkBelow);
    chunkAtOrBelow = kb.select(isT, counts[j], chunkAtOrBelow);
    rowAtOrBelow = kb.select(isT, rowCounts[j], rowAtOrBelow);
  }
  SlotPlan plan;
  plan.threshold = addI(base, jT);
  // The `skip` smallest positions at distance T lose to the larger ones.
  plan.skip = subI(rowAtOrBelow, take32);

  // 4. The chunk entries: exclusive scans over the chunks of the positions
  // below T and of the ties at T; a chunk's first slot follows the earlier
  // chunks' positions below T and their ties that win.
  Value ties = subI(chunkAtOrBelow, chunkBelow);
  Value lessBefore = subI(kb.warpInclusiveScan(chunkBelow), chunkBelow);
  plan.ties = subI(kb.warpInclusiveScan(ties), ties);
  Value tiesTaken =
      arith::MaxSIOp::create(b, subI(plan.ties, plan.skip), kb.i32(0));
  plan.first = addI(kb.i32(p.sink), addI(lessBefore, tiesTaken));
  return plan;
}

//===----------------------------------------------------------------------===//
// Kernel 2: the threshold and every chunk's place in the output
//===----------------------------------------------------------------------===//

namespace {
class ThresholdKernel : SelectCommon {
public:
  using SelectCommon::SelectCommon;
  void build();
};
} // namespace

void ThresholdKernel::build() {
  Value row = kb.blockId(gpu::Dimension::x);
  Value warpCounts = kb.sharedBuffer(b.getI32Type(), numWarps());
  // The probe's loads in flight with the row's length.
  Value probe = probeRow(row);
  kb.compilerBarrier();
  ifResultRow(row, [&](const ResultRow &r) {
    ifRowNeedsPlan(r, [&] {
      SlotPlan plan = planRow(row, probe, r.window.take, warpCounts);
      Value lane = kb.toIdx(kb.laneId());
      kb.ifThen(kb.cmp(Pred::eq, kb.toIdx(kb.warpId()), kb.idx(0)), [&] {
        kb.ifThen(kb.cmp(Pred::ult, lane, kb.arg(kChunks)), [&] {
          kb.store(plan.first, kb.arg(kPlan), chunkPlanEntry(row, lane, 0));
          kb.store(plan.ties, kb.arg(kPlan), chunkPlanEntry(row, lane, 1));
        });
        kb.ifThen(kb.cmp(Pred::eq, lane, kb.idx(0)), [&] {
          kb.store(plan.threshold, kb.arg(kPlan), planEntry(row, 0));
          kb.store(plan.skip, kb.arg(kPlan), planEntry(row, 1));
        });
      });
    });
  });
}

//===----------------------------------------------------------------------===//
// Kernel 3: ordered compaction
//===----------------------------------------------------------------------===//

void SelectCommon::writeAll(Value rowOut, Value visible) {
  // Every visible position, then -1 up to k.
  kb.forLoop(kb.threadId(), kb.idx(p.k), kb.idx(c.blockSize), [&](Value s) {
    Value value =
        kb.select(kb.cmp(Pred::slt, s, visible), toI32(b, s), kb.i32(-1));
    kb.store(value, kb.arg(kResult), kb.add(rowOut, s));
  });
}

void SelectCommon::writeForced(Value rowOut, Value visible) {
  Value tid = kb.threadId(), threads = kb.idx(c.blockSize);
  kb.forLoop(tid, kb.idx(p.sink), threads, [&](Value s) {
    kb.store(toI32(b, s), kb.arg(kResult), kb.add(rowOut, s));
  });
  // Slots k - recent .. k - 1 hold positions visible - recent .. visible - 1.
  kb.forLoop(tid, kb.idx(p.recent), threads, [&](Value s) {
    Value slot = kb.add(kb.idx(p.k - p.recent), s);
    Value pos = kb.add(kb.sub(visible, kb.idx(p.recent)), s);
    kb.store(toI32(b, pos), kb.arg(kResult), kb.add(rowOut, slot));
  });
}

void SelectCommon::compact(Value row, Value begin, Value end, Value freeBegin,
                           Value freeEnd, const ChunkPlan &plan,
                           Value warpSums, PutSlot put) {
  Value tid = kb.threadId();
  Value threshold = plan.threshold, skip = plan.skip;

  // Ordered compaction of the free positions of the chunk. Thread t owns
  // the run of kRun (16, or 32 in the long-run kernel) consecutive
  // positions at first + t * kRun (two or four 16-byte loads of their i16
  // distances), so a pass covers blockSize * kRun positions with one block
  // scan of the thread's counts below T and at T, packed into one i32 (16
  // bits each: a pass counts at most blockSize * kRun = 4096 or 8192 of
  // either). The ties' ranks decide which lose (the `skip`
  // smallest); a thread's first output slot is the positions below T before
  // it plus the winning ties before it, both from that one scan (it was a
  // scan of the ties, then one of the selected positions: NOTES.md item 14
  // has what the second cost). Chunks start at multiples of 32 and distance
  // rows are padded to multiples of kLongRun, so the loads are aligned.
  //
  // The kernel is bound by its instructions (ncu at B = 16: the ALU pipe
  // 75% busy), so a run is tested two distances per instruction (SWAR on
  // the 8 words of the run) into 16-bit masks, bit e for position first +
  // e, and counted with popc; only the run's selected positions are then
  // visited, lowest first (NOTES.md item 23). Runs of 16 rather than 8: a
  // pass's block scan, barriers and loop overhead are shared by twice the
  // positions, which halves the passes where a CTA walks several (B = 16:
  // 8K positions per chunk; 128K and longer at B = 1; NOTES.md item 29);
  // runs of 32 halve them again where a chunk is longer than one pass of
  // 16 (NOTES.md item 34; the host picks the kernel by chunk length).
  const int64_t kRun = compactionRun;
  assert(c.blockSize * kRun < (1 << 16) && "a pass's counts fit 16 bits");
  assert(kRun <= 32 && "a run's masks fit an i32");
  // Distances and T are below numBins, which shared memory bounds far
  // below 2^15 (SelectConfig::get): the SWAR tests need 15-bit halves.
  assert(c.numBins < (1 << 15) && "distances fit 15 bits");
  // Positions lo .. hi - 1 are candidates.
  FreeRange range = clipFreeRange(begin, end, freeBegin, freeEnd);
  Value lo = range.lo, hi = range.hi, candidates = range.width;
  Value stride = kb.arg(kDistStride);
  Value distRow = kb.mul(row, stride);
  int64_t perPass = c.blockSize * kRun;
  auto i32 = [&](Value flag) -> Value {
    return arith::ExtUIOp::create(b, b.getI32Type(), flag);
  };
  auto add = [&](Value x, Value y) -> Value {
    return arith::AddIOp::create(b, x, y);
  };
  auto sub = [&](Value x, Value y) -> Value {
    return arith::SubIOp::create(b, x, y);
  };
  auto andI = [&](Value x, Value y) -> Value {
    return arith::AndIOp::create(b, x, y);
  };
  auto orI = [&](Value x, Value y) -> Value {
    return arith::OrIOp::create(b, x, y);
  };
  auto shr = [&](Value x, int64_t n) -> Value {
    return arith::ShRUIOp::create(b, x, kb.i32(n));
  };
  auto shl = [&](Value x, Value n) -> Value {
    return arith::ShLIOp::create(b, x, n);
  };
  auto clampRun = [&](Value x) -> Value {
    return arith::MaxSIOp::create(
        b, arith::MinSIOp::create(b, x, kb.i32(kRun)), kb.i32(0));
  };
  auto popc = [&](Value x) -> Value { return math::CtPopOp::create(b, x); };
  // Both halves of a word hold `v`.
  auto splat16 = [&](Value v) -> Value { return orI(shl(v, kb.i32(16)), v); };
  // For a half d <= 0x7FFF: (0x8000 + T) - d has its top bit set iff d <= T,
  // (0x7FFF + T) - d iff d < T, and neither borrows from the other half.
  Value atMostT = splat16(add(threshold, kb.i32(0x8000)));
  Value belowT = splat16(add(threshold, kb.i32(0x7FFF)));
  Value halfTops = kb.i32(0x80008000), halfValues = kb.i32(0x7FFF7FFF);
  // The top bits of words 0..3 (positions 2j at bit 15, 2j + 1 at bit 31)
  // as bits 0..7 in position order; of words 4q..4q+3 as bits 8q..8q+7.
  auto gather4 = [&](ArrayRef<Value> tops) -> Value {
    Value m = orI(orI(shr(tops[0], 15), shr(tops[1], 13)),
                  orI(shr(tops[2], 11), shr(tops[3], 9)));
    return andI(orI(m, shr(m, 15)), kb.i32(0xFF));
  };
  auto gather = [&](ArrayRef<Value> tops) -> Value {
    Value m = gather4(tops.take_front(4));
    for (size_t q = 4; q < tops.size(); q += 4)
      m = orI(m, shl(gather4(tops.slice(q, 4)), kb.i32(2 * q)));
    return m;
  };
  // The thread's run of the pass at `pass`; a run past the row reads the
  // row's last run and selects nothing.
  // (From shared memory: the buffer's last run.)
  auto loadRun = [&](Value pass) {
    Value first = kb.add(pass, kb.mul(tid, kb.idx(kRun)));
    Value at =
        sharedDistances
            ? kb.minS(kb.sub(first, sharedOrigin),
                      kb.idx(sharedDistanceCapacity - kRun))
            : kb.add(distRow, kb.minS(first, kb.sub(stride, kb.idx(kRun))));
    return kb.loadVector(distanceBuffer(), at, kRun, 2 * kRun);
  };
  // Each pass loads the next pass's run before its block scan, so the
  // load's latency overlaps the scan (a CTA walks several passes where
  // chunks are longer than one pass: 128K, B = 16). The first load only
  // where there is a pass (an empty cache has no distance rows).
  kb.ifThen(kb.cmp(Pred::slt, begin, hi), [&] {
  kb.forLoop(
      begin, hi, kb.idx(perPass),
      {plan.tiesBefore, plan.firstSlot, loadRun(begin)},
      [&](Value pass, ValueRange carried) -> SmallVector<Value> {
        Value tieRank0 = carried[0], slot0 = carried[1], vec = carried[2];
        Value first = kb.add(pass, kb.mul(tid, kb.idx(kRun)));
        Value next = loadRun(kb.add(pass, kb.idx(perPass)));
        // Bits [max(0, lo - first), min(kRun, hi - first)) are candidates.
        auto candidateBits = [&]() -> std::pair<Value, Value> {
          Value firstOffset = toI32(b, kb.sub(first, lo));
          return {clampRun(sub(kb.i32(0), firstOffset)),
                  clampRun(sub(candidates, firstOffset))};
        };
        // The run's masks of the candidates below T and at T.
        auto test = [&](std::optional<std::pair<Value, Value>> bits)
            -> SmallVector<Value> {
          Value words = vector::BitCastOp::create(
              b, VectorType::get({kRun / 2}, b.getI32Type()), vec);
          SmallVector<Value> le, lt;
          for (int64_t j = 0; j < kRun / 2; ++j) {
            // The top bit of each half cleared: a distance never has it,
            // and it keeps whatever a non-candidate position holds from
            // borrowing across the halves.
            Value w =
                andI(vector::ExtractOp::create(b, words, j), halfValues);
            le.push_back(andI(sub(atMostT, w), halfTops));
            lt.push_back(andI(sub(belowT, w), halfTops));
          }
          auto [loE, hiE] = bits ? *bits : candidateBits();
          Value one = kb.i32(1);
          // Bits 0 .. n - 1 (n <= kRun; a shift by 32 would be poison).
          auto lowBits = [&](Value n) -> Value {
            Value bits = sub(shl(one, n), one);
            if (kRun < 32)
              return bits;
            return arith::SelectOp::create(
                b, arith::CmpIOp::create(b, Pred::sge, n, kb.i32(32)),
                kb.i32(-1), bits);
          };
          Value candidate =
              andI(lowBits(hiE),
                   arith::XOrIOp::create(b, lowBits(loE), kb.i32(-1)));
          Value ltMask = gather(lt);
          return {andI(ltMask, candidate),
                  andI(arith::XOrIOp::create(b, gather(le), ltMask),
                       candidate)};
        };
        // With compactionSkipsEmptyRuns a run without candidates skips the
        // tests (where most runs lie past the candidates: only the warps
        // whose runs meet them spend the instructions).
        SmallVector<Value> masks;
        if (compactionSkipsEmptyRuns) {
          std::pair<Value, Value> bits = candidateBits();
          masks = kb.ifThenElseValues(
              arith::CmpIOp::create(b, Pred::slt, bits.first, bits.second),
              [&] { return test(bits); }, ValueRange{kb.i32(0), kb.i32(0)});
        } else {
          masks = test(std::nullopt);
        }
        Value less = masks[0], tie = masks[1];
        Value localLess = popc(less), localTies = popc(tie);
        // One scan of (below T) << 16 | (at T).
        Value sixteen = kb.i32(16), lowMask = kb.i32(0xFFFF);
        Value packed = orI(shl(localLess, sixteen), localTies);
        Value passPacked;
        Value exclusive = sub(blockScan(packed, warpSums, passPacked), packed);
        if (c.l2CacheHints && !sharedDistances)
          discardPassLines(first, end, distRow);
        Value lessBefore = arith::ShRUIOp::create(b, exclusive, sixteen);
        Value tiesBefore = andI(exclusive, lowMask);
        Value passLess = arith::ShRUIOp::create(b, passPacked, sixteen);
        Value passTies = andI(passPacked, lowMask);
        // Ties of this pass win from global rank max(skip, tieRank0) on.
        Value firstWinner = arith::MaxSIOp::create(b, skip, tieRank0);
        auto winnersBelow = [&](Value rank) -> Value {
          return arith::MaxSIOp::create(b, sub(rank, firstWinner), kb.i32(0));
        };
        // Most runs hold no position below or at T (k of N are selected);
        // the others visit their set bits only, lowest position first.
        Value marked = orI(less, tie);
        kb.ifThen(
            arith::CmpIOp::create(b, Pred::ne, marked, kb.i32(0)), [&] {
              Value rank = add(tieRank0, tiesBefore);
              Value slot = add(slot0, add(lessBefore, winnersBelow(rank)));
              Value firstPos = toI32(b, first);
              kb.whileLoop(
                  {marked, slot, rank},
                  [&](ValueRange a) {
                    return arith::CmpIOp::create(b, Pred::ne, a[0],
                                                 kb.i32(0));
                  },
                  [&](ValueRange a) -> SmallVector<Value> {
                    Value m = a[0], at = a[1], r = a[2];
                    Value lowest = andI(m, sub(kb.i32(0), m));
                    Value isTie = arith::CmpIOp::create(
                        b, Pred::ne, andI(tie, lowest), kb.i32(0));
                    Value wins = arith::CmpIOp::create(b, Pred::sge, r, skip);
                    Value selected = orI(notI1(b, isTie), wins);
                    kb.ifThen(selected, [&] {
                      Value e = math::CountTrailingZerosOp::create(b, m);
                      put(at, add(firstPos, e));
                    });
                    return {arith::XOrIOp::create(b, m, lowest),
                            add(at, i32(selected)), add(r, i32(isTie))};
                  });
            });
        Value rankAfter = add(tieRank0, passTies);
        return {rankAfter, add(slot0, add(passLess, winnersBelow(rankAfter))),
                next};
      });
  });
}

void SelectCommon::discardPassLines(Value first, Value end, Value distRow) {
  // Called after the pass's block scan: its barriers have passed, so every
  // thread has used its run and each load of this pass has returned. A
  // thread whose run starts a 128-byte line (64 positions) that the runs of
  // its next threads complete within this pass (short runs: the next three,
  // thread < blockSize - 3; long runs: the next one) and within the chunk
  // (`end`: no other CTA reads it) drops the line. The few lines that
  // straddle a pass or chunk border are written back.
  constexpr int64_t kLineBytes = 128, kLinePositions = kLineBytes / 2;
  const int64_t threadsPerLine = kLinePositions / compactionRun;
  Value tid = kb.threadId();
  Value at = kb.add(distRow, first);
  Value byte = kb.byteAddress(kb.arg(kDistances), at);
  Value startsLine =
      kb.cmp(Pred::eq, kb.remu(byte, kb.idx(kLineBytes)), kb.idx(0));
  Value inChunk =
      kb.cmp(Pred::sle, kb.add(first, kb.idx(kLinePositions)), end);
  Value inPass =
      kb.cmp(Pred::ult, tid, kb.idx(c.blockSize - threadsPerLine + 1));
  Value discards = kb.cmp(Pred::ne, kb.arg(kDiscardDistances), kb.idx(0));
  Value owns = arith::AndIOp::create(
      b, arith::AndIOp::create(b, startsLine, inChunk),
      arith::AndIOp::create(b, inPass, discards));
  kb.ifThen(owns, [&] { kb.discardL2Line(kb.arg(kDistances), at); });
}

void SelectCommon::compactRow(Value row, Value chunk, const ResultRow &r,
                              function_ref<ChunkPlan()> plan, Value warpSums,
                              const ChunkCandidates *candidates) {
  Value rowOut = kb.mul(row, kb.idx(p.k));
  Value isFirstChunk = kb.cmp(Pred::eq, chunk, kb.idx(0));
  Value fits = kb.cmp(Pred::sle, r.visible, kb.idx(p.k));
  kb.ifThenElse(
      fits,
      [&] { kb.ifThen(isFirstChunk, [&] { writeAll(rowOut, r.visible); }); },
      [&] {
        kb.ifThen(isFirstChunk, [&] { writeForced(rowOut, r.visible); });
        auto [begin, end] = chunkRange(chunk, visibleAll(r.length));
        kb.ifThen(kb.cmp(Pred::sgt, r.window.take, kb.idx(0)), [&] {
          auto putResult = [&](Value slot, Value position) {
            kb.store(position, kb.arg(kResult),
                     kb.add(rowOut, kb.toIdx(slot)));
          };
          ChunkPlan chunkPlan = plan();
          auto compactChunk = [&] {
            compact(row, begin, end, r.window.freeBegin, r.window.freeEnd,
                    chunkPlan, warpSums, putResult);
          };
          if (!candidates) {
            compactChunk();
            return;
          }
          kb.ifThenElse(
              kb.cmp(Pred::sge, candidates->count, kb.idx(0)),
              [&] { compactCandidates(row, *candidates, chunkPlan, warpSums,
                                      putResult); },
              compactChunk);
        });
      });
}

void SelectCommon::compactCandidates(Value row,
                                     const ChunkCandidates &candidates,
                                     const ChunkPlan &plan, Value warpSums,
                                     PutSlot put) {
  // The candidates are the compaction's positions 0 .. count - 1 (all free,
  // ascending as the chunk's), their distances the shared buffer: the plan
  // selects from them what it would from the chunk. Short runs, and only
  // the runs that hold candidates are tested (the list is short: one pass,
  // a few warps).
  auto saved = std::make_tuple(sharedDistances, sharedOrigin,
                               sharedDistanceCapacity, compactionRun,
                               compactionSkipsEmptyRuns);
  sharedDistances = candidates.distances;
  sharedOrigin = kb.idx(0);
  sharedDistanceCapacity = kCandidateCapacity;
  compactionRun = kShortRun;
  compactionSkipsEmptyRuns = true;
  Value zero = kb.idx(0);
  compact(row, zero, candidates.count, zero, candidates.count, plan,
          warpSums, [&](Value slot, Value index) {
            put(slot, kb.load(candidates.positions, kb.toIdx(index)));
          });
  std::tie(sharedDistances, sharedOrigin, sharedDistanceCapacity,
           compactionRun, compactionSkipsEmptyRuns) = saved;
}

void SelectCommon::writeUndecidedSlots(const ResultRow &r, Value slotBegin,
                                      Value slotEnd, Value slots) {
  // Every slot where the row sees at most k positions (slot s holds s, or
  // -1 past them), else the sink slots (s) and the recent ones (slot k -
  // recent + j holds visible - recent + j), as writeAll and writeForced
  // write them.
  Value tid = kb.threadId();
  Value fits = kb.cmp(Pred::sle, r.visible, kb.idx(p.k));
  Value recentFirst = kb.idx(p.k - p.recent);
  auto orI = [&](Value x, Value y) -> Value {
    return arith::OrIOp::create(b, x, y);
  };
  kb.forLoop(kb.add(slotBegin, tid), slotEnd, kb.idx(c.blockSize),
             [&](Value s) {
    Value isSink = kb.cmp(Pred::slt, s, kb.idx(p.sink));
    Value isRecent = kb.cmp(Pred::sge, s, recentFirst);
    kb.ifThen(orI(fits, orI(isSink, isRecent)), [&] {
      Value all = kb.select(kb.cmp(Pred::slt, s, r.visible), toI32(b, s),
                            kb.i32(-1));
      Value recent = toI32(b, kb.add(kb.sub(r.visible, kb.idx(p.k)), s));
      Value forced = kb.select(isRecent, recent, toI32(b, s));
      kb.store(kb.select(fits, all, forced), slots, kb.sub(s, slotBegin));
    });
  });
}

void SelectCommon::compactSlots(Value row, const ResultRow &r,
                                const SlotPlan &plan, Value slotBegin,
                                Value slotEnd, Value slots, Value warpSums) {
  auto andI = [&](Value x, Value y) -> Value {
    return arith::AndIOp::create(b, x, y);
  };
  // 1. The slots no plan decides.
  writeUndecidedSlots(r, slotBegin, slotEnd, slots);
  // 2. The free slots of the range, [freeLo, freeHi): one compaction over
  // the chunks whose output slots meet them, from the first one's plan
  // entry (its first slot and the ties before it: what the compaction of
  // each chunk in turn would carry from one to the next).
  auto [freeLo, freeHi] = freeSlotRange(slotBegin, slotEnd);
  Value free =
      andI(ranksFreeSlots(r), kb.cmp(Pred::slt, freeLo, freeHi));
  kb.ifThen(free, [&] {
    Value exists =
        kb.cmp(Pred::ult, kb.toIdx(kb.laneId()), kb.arg(kChunks));
    Value first = plan.first;
    // The chunks' first slots ascend (chunk 0's is `sink` <= freeLo): the
    // chunks starting at or before slot freeLo are 0 .. cLo, those starting
    // before freeHi 0 .. cHi.
    auto lastChunkWith = [&](Value startsBefore) -> Value {
      Value mask = kb.ballot(andI(exists, startsBefore));
      return arith::SubIOp::create(b, math::CtPopOp::create(b, mask),
                                   kb.i32(1));
    };
    Value lo32 = toI32(b, freeLo), hi32 = toI32(b, freeHi);
    Value cLo = lastChunkWith(
        arith::CmpIOp::create(b, Pred::sle, first, lo32));
    Value cHi =
        lastChunkWith(arith::CmpIOp::create(b, Pred::slt, first, hi32));
    Value visible = visibleAll(r.length);
    Value begin = chunkRange(kb.toIdx(cLo), visible).first;
    Value end = chunkRange(kb.toIdx(cHi), visible).second;
    Value begin32 = toI32(b, slotBegin), end32 = toI32(b, slotEnd);
    compact(row, begin, end, r.window.freeBegin, r.window.freeEnd,
            chunkPlan(plan, cLo),
            warpSums, [&](Value slot, Value position) {
              Value mine = andI(
                  arith::CmpIOp::create(b, Pred::sge, slot, begin32),
                  arith::CmpIOp::create(b, Pred::slt, slot, end32));
              kb.ifThen(mine, [&] {
                kb.store(position, slots,
                         kb.toIdx(arith::SubIOp::create(b, slot, begin32)));
              });
            });
  });
}

void SelectCommon::compactSlotsAcrossCluster(Value row, const ResultRow &r,
                                             const SlotPlan &plan, Value rank,
                                             int64_t splits, int64_t perSplit,
                                             Value slots, Value warpSums,
                                             Value arrived) {
  Value slotBegin = kb.mul(rank, kb.idx(perSplit));
  Value slotEnd = kb.minS(kb.add(slotBegin, kb.idx(perSplit)), kb.idx(p.k));
  writeUndecidedSlots(r, slotBegin, slotEnd, slots);
  // This CTA's chunks, [first, last]: the same share of the row for every
  // CTA (the last ones may have fewer, or none).
  Value chunks = kb.arg(kChunks);
  Value perCta = kb.ceilDiv(chunks, kb.idx(splits));
  Value first = kb.mul(rank, perCta);
  Value after = kb.minS(kb.add(first, perCta), chunks);
  Value walks = arith::AndIOp::create(b, ranksFreeSlots(r),
                                     kb.cmp(Pred::slt, first, after));
  kb.ifThen(walks, [&] {
    Value visible = visibleAll(r.length);
    Value begin = chunkRange(first, visible).first;
    Value end = chunkRange(kb.sub(after, kb.idx(1)), visible).second;
    // From the first chunk's plan entry: its first slot and the ties at T
    // of the chunks before it.
    Value per = kb.i32(perSplit);
    compact(row, begin, end, r.window.freeBegin, r.window.freeEnd,
            chunkPlan(plan, first), warpSums,
            [&](Value slot, Value position) {
              Value owner = arith::DivUIOp::create(b, slot, per);
              Value at = arith::RemUIOp::create(b, slot, per);
              if (arrived)
                kb.storeAsyncToClusterRank(position, slots, kb.toIdx(at),
                                           arrived, owner);
              else
                kb.storeToClusterRank(position, slots, kb.toIdx(at), owner);
            });
  });
}

Value SelectCommon::filledSlotCount(const ResultRow &r, Value slotBegin,
                                    Value slotEnd) {
  auto [lo, hi] = freeSlotRange(slotBegin, slotEnd);
  return kb.select(ranksFreeSlots(r), kb.maxS(kb.sub(hi, lo), kb.idx(0)),
                   kb.idx(0));
}

namespace {
class CompactKernel : SelectCommon {
public:
  CompactKernel(KernelBuilder &kb, const SelectLaunch &s, int64_t run)
      : SelectCommon(kb, s) {
    compactionRun = run;
  }
  void build();
};
} // namespace

void CompactKernel::build() {
  Value row = kb.blockId(gpu::Dimension::x);
  Value chunk = kb.blockId(gpu::Dimension::y);
  if (c.l2CacheHints) {
    // The newest distances first: the histogram CTAs ran chunk-fastest,
    // batch row last, so the lines still in L2 at its end are mostly the
    // last batch rows'. CTAs start in the order of x + rows * y; that
    // order is taken chunk-fastest from the last row back, so the reads
    // that miss (the oldest rows) come after the hits instead of evicting
    // them (reading in the writing order would miss on every line once
    // the distances outgrow L2).
    Value rows = kb.mul(kb.arg(kBatches), kb.idx(c.selectionHeads * p.rows));
    Value chunks = kb.arg(kChunks);
    Value order = kb.add(row, kb.mul(rows, chunk));
    chunk = kb.remu(order, chunks);
    row = kb.sub(kb.sub(rows, kb.idx(1)), kb.divu(order, chunks));
  }
  Value warpSums = kb.sharedBuffer(b.getI32Type(), numWarps());
  ifResultRow(row, [&](const ResultRow &r) {
    compactRow(
        row, chunk, r,
        [&] {
          Value plan = kb.arg(kPlan);
          return ChunkPlan{kb.load(plan, planEntry(row, 0)),
                           kb.load(plan, planEntry(row, 1)),
                           kb.load(plan, chunkPlanEntry(row, chunk, 0)),
                           kb.load(plan, chunkPlanEntry(row, chunk, 1))};
        },
        warpSums);
  });
}

//===----------------------------------------------------------------------===//
// With a grid-wide barrier: the whole selection in one kernel
//===----------------------------------------------------------------------===//

namespace {
/// SelectConfig::gridSync: the histogram pass (one row per CTA), its
/// histograms stored as the pass stores them; then a grid-wide barrier, and
/// each CTA plans its row as the threshold kernel does (every chunk's CTA of
/// a row finds the same plan) and compacts its chunk as the compaction
/// kernel does. The threshold and compaction launches go, and their CTAs'
/// loads of the plan. With `sharedCapacity` (positions; 0: none) the chunk's
/// distances stay in the CTA's shared memory (a chunk of at most that many
/// positions) instead of going to L2 and back.
class GridSelectKernel : HistogramKernel {
public:
  GridSelectKernel(KernelBuilder &kb, const SelectLaunch &s, int64_t run,
                   int64_t sharedCapacity)
      : HistogramKernel(kb, s) {
    compactionRun = run;
    sharedDistanceCapacity = sharedCapacity;
  }
  void build();

private:
  /// SelectConfig::precompactsCandidates: `row`'s candidates in the CTA's
  /// chunk into `cand`'s buffers, its count returned (ChunkCandidates;
  /// `hist` its running counts, `found` one i32 of shared memory), built
  /// between the grid barrier's arrive and wait.
  Value precompact(const Row &row, Value chunk, Value hist,
                   const ChunkCandidates &cand, Value found, Value warpSums);
};
} // namespace

Value GridSelectKernel::precompact(const Row &row, Value chunk, Value hist,
                                   const ChunkCandidates &cand, Value found,
                                   Value warpSums) {
  // The row's running count at any bin is at least the chunk's, so the
  // row's T is at most T_c, the chunk's first bin whose running count
  // reaches `take` (the last bin where none does), and no position above
  // T_c is ever selected: those at or below it are the candidates, in
  // position order with their distances, where they fit the buffers (a
  // few hundred at k = 256; NOTES.md item 87). The same compaction finds
  // them: T_c as T, every tie taken, slots from 0.
  Value none = kb.idx(-1);
  return kb.ifThenElseValues(row.valid, [&]() -> SmallVector<Value> {
    ResultRow r = resultRow(row.index, row.length);
    return kb.ifThenElseValues(needsPlan(r), [&]() -> SmallVector<Value> {
      Value take = toI32(b, r.window.take);
      Value last = kb.idx(c.numBins - 1);
      // Thread t tests bins [t * P, t * P + P): the one whose count reaches
      // `take` where the one below does not (one bin, or none).
      int64_t perThread = llvm::divideCeil(c.numBins, c.blockSize);
      Value firstBin = kb.mul(kb.threadId(), kb.idx(perThread));
      for (int64_t i = 0; i < perThread; ++i) {
        Value bin = kb.add(firstBin, kb.idx(i));
        Value inRange = kb.cmp(Pred::ult, bin, kb.idx(c.numBins));
        Value count = kb.loadIf(inRange, hist, kb.minS(bin, last), kb.i32(0));
        Value below = kb.loadIf(
            arith::AndIOp::create(b, inRange,
                                  kb.cmp(Pred::ugt, bin, kb.idx(0))),
            hist, kb.maxS(kb.sub(bin, kb.idx(1)), kb.idx(0)), kb.i32(0));
        Value crosses = arith::AndIOp::create(
            b, inRange,
            arith::AndIOp::create(
                b, arith::CmpIOp::create(b, Pred::sge, count, take),
                arith::CmpIOp::create(b, Pred::slt, below, take)));
        kb.ifThen(crosses,
                  [&] { kb.store(toI32(b, bin), found, kb.idx(0)); });
      }
      kb.barrier();
      Value reached = arith::CmpIOp::create(b, Pred::sge,
                                            kb.load(hist, last), take);
      Value tc = kb.select(reached, kb.load(found, kb.idx(0)),
                           kb.i32(c.numBins - 1));
      Value count = kb.toIdx(kb.load(hist, kb.toIdx(tc)));
      return kb.ifThenElseValues(
          kb.cmp(Pred::sle, count, kb.idx(kCandidateCapacity)),
          [&]() -> SmallVector<Value> {
            auto [begin, end] = chunkRange(chunk, visibleAll(row.length));
            Value zero = kb.i32(0);
            compactPositions(
                row.index, begin, end, r.window.freeBegin, r.window.freeEnd,
                ChunkPlan{tc, zero, zero, zero}, warpSums,
                [&](Value slot, Value position) {
                  Value at = kb.toIdx(slot);
                  kb.store(position, cand.positions, at);
                  kb.store(kb.load(sharedDistances,
                                   distanceIndex(row.index,
                                                 kb.toIdx(position))),
                           cand.distances, at);
                });
            return {count};
          },
          ValueRange{none});
    }, ValueRange{none});
  }, ValueRange{none}).front();
}

void GridSelectKernel::build() {
  assert(c.rowsPerCta == 1 && "one selection row per CTA");
  assert(sharedDistanceCapacity % kLongRun == 0 && "whole runs");
  Value warpSums = kb.sharedBuffer(b.getI32Type(), numWarps());
  Value warpCounts = kb.sharedBuffer(b.getI32Type(), numWarps());
  // Aligned as the compaction's loads of a whole run (2 * kRun bytes).
  if (sharedDistanceCapacity)
    sharedDistances = kb.sharedBuffer(b.getI16Type(), sharedDistanceCapacity,
                                      2 * compactionRun);
  // Every CTA of the grid runs the epilogue (grid z is the batch), so every
  // CTA meets the barrier.
  // The candidates' buffers before the pass's (a key ring takes what the
  // others leave).
  bool precompacts = c.precompactsCandidates && sharedDistanceCapacity;
  ChunkCandidates cand;
  Value found;
  if (precompacts) {
    cand.positions = kb.sharedBuffer(b.getI32Type(), kCandidateCapacity);
    cand.distances = kb.sharedBuffer(b.getI16Type(), kCandidateCapacity,
                                     2 * kLongRun);
    found = kb.sharedBuffer(b.getI32Type(), 1);
  }
  buildPass([&](Value chunk, ArrayRef<Row> rows, Value hist) {
    storeHistograms(chunk, rows, hist);
    // With precompactsCandidates the CTA narrows its chunk to its row's
    // candidates while the other CTAs arrive.
    std::optional<ChunkCandidates> candidates;
    if (precompacts) {
      Value arrival = kb.gridArrive();
      candidates = cand;
      candidates->count =
          precompact(rows.front(), chunk, hist, cand, found, warpSums);
      kb.gridWait(arrival);
    } else {
      kb.gridBarrier();
    }
    // The next kernel launches now: its CTAs are placed as the pass's
    // memory traffic is over (none beside the pass: item 52), and reach
    // their grid dependency wait while these plan and compact.
    kb.releaseDependents();
    // The probe's loads first, and nothing else to wait for: the row's
    // length is the pass's (an ncu reading had the first load after the
    // barrier, the length's, in series before the probe's).
    const Row &row = rows.front();
    Value probe = probeRow(row.index);
    kb.compilerBarrier();
    kb.ifThen(row.valid, [&] {
      ResultRow r = resultRow(row.index, row.length);
      compactRow(
          row.index, chunk, r,
          [&] {
            return chunkPlan(
                planRow(row.index, probe, r.window.take, warpCounts), chunk);
          },
          warpSums, candidates ? &*candidates : nullptr);
    });
  });
}

//===----------------------------------------------------------------------===//
// Host
//===----------------------------------------------------------------------===//

/// Builds kernel `Kernel` (one of the classes above) as `<name><suffix>`
/// into the step's kernel module, its configuration attached.
template <typename Kernel, typename... Extra>
static gpu::GPUFuncOp
buildKernel(HostBuilder &host, StringRef name, StringRef suffix,
            TypeRange types, const SelectLaunch &s, GridDependency dependency,
            Extra... extra) {
  OpBuilder mb = host.moduleBuilder();
  KernelBuilder kb(mb, host.kernelModule(), (name + suffix).str(), types,
                   s.config.blockSize, host.builder().getLoc(), dependency);
  Kernel(kb, s, extra...).build();
  gpu::GPUFuncOp kernel = kb.finish();
  kernel->setAttr("adamas.config",
                  s.config.toAttr(host.builder().getContext()));
  return kernel;
}

void mlir::adamas::emitSelect(HostBuilder &host, StringRef name,
                              const SelectLaunch &s,
                              SelectionKernels *deferred) {
  ImplicitLocOpBuilder &hb = host.builder();
  const SelectProblem &p = s.problem;
  const SelectConfig &c = s.config;
  auto idx = [&](int64_t v) { return indexConst(hb, v); };
  auto mul = [&](Value x, Value y) -> Value {
    return arith::MulIOp::create(hb, x, y);
  };
  auto ceilDiv = [&](Value x, Value y) -> Value {
    return arith::CeilDivSIOp::create(hb, x, y);
  };

  Value batches = host.dim(s.keyCodes, 0);
  Value capacity = host.dim(s.keyCodes, 2);
  // Chunks per batch row: as many CTAs as fit the chip at once (targetCtas)
  // but not more -- rounded down, because one CTA past a full wave costs a
  // whole CTA's latency (measured: 544 compaction CTAs on 528 slots at 32K
  // MHA) --, no chunk shorter than minChunk positions, at most maxChunks
  // (the threshold kernel scans a row's chunks with one warp), or with
  // clusters at most clusterChunks (a row group's chunks are one cluster).
  // Chunks that keep a grid of `ctasPerChunk` CTAs per chunk within targetCtas.
  auto chunksFitting = [&](Value ctasPerChunk) -> Value {
    return arith::DivUIOp::create(
        hb, idx(c.targetCtas),
        arith::MaxUIOp::create(hb, ctasPerChunk, idx(1)));
  };
  Value byFill = chunksFitting(mul(batches, idx(p.kvHeads * c.rowGroups)));
  Value byLength = ceilDiv(capacity, idx(c.minChunk));
  Value chunks = arith::MinUIOp::create(hb, byFill, byLength);
  Value rows = mul(batches, idx(c.selectionHeads * p.rows));
  // Distance rows padded to whole long runs (aligned loads in both
  // compaction kernels).
  Value distStride = mul(ceilDiv(capacity, idx(kLongRun)), idx(kLongRun));
  Value distances = host.allocScratch(hb.getI16Type(), mul(rows, distStride));
  Value result = host.flatten(s.result);
  SmallVector<Value> args(kNumArgs);
  // The query codes, or the query rows the histogram pass encodes (and
  // their per-head thresholds last).
  args[kQueryCodes] = host.flatten(c.encodesQueries ? s.queryEncoding->input
                                                    : s.queryCodes);
  if (c.encodesQueries && s.queryEncoding->headThresholds)
    args.push_back(host.flatten(s.queryEncoding->headThresholds));
  args[kKeyCodes] = host.flatten(s.keyCodes);
  args[kLengths] = host.flatten(s.lengths);
  args[kDistances] = distances;
  args[kResult] = result;
  args[kBatches] = batches;
  args[kCapacity] = capacity;
  args[kDistStride] = distStride;
  Value yBlocks = idx(p.kvHeads * c.rowGroups);

  if (c.clusterChunks) {
    // One cluster per row group: its chunks are its CTAs. (The compaction
    // is in the same CTAs, so the bound below does not apply.)
    chunks = clamp(hb, chunks, idx(1), idx(c.clusterChunks));
    // Histograms and plans stay in shared memory: any i32 buffer will do.
    args[kHistograms] = args[kPlan] = result;
  } else {
    // The compaction runs rows x chunks CTAs, G times the histogram grid
    // with G query heads per KV head: keep it to one wave too while that
    // leaves at least kMinCompactionChunks chunks (B = 1 per-head GQA at
    // 32K: 32 chunks made 1024 compaction CTAs, two waves of a latency-bound
    // kernel). With more rows (B >= 4, M > 1) one wave would mean walking
    // most of N per CTA, and the bound is not applied.
    constexpr int64_t kMinCompactionChunks = 8;
    Value byCompaction = chunksFitting(rows);
    Value compactionBound = arith::SelectOp::create(
        hb,
        arith::CmpIOp::create(hb, arith::CmpIPredicate::uge, byCompaction,
                              idx(kMinCompactionChunks)),
        byCompaction, idx(c.maxChunks));
    chunks = arith::MinUIOp::create(hb, chunks, compactionBound);
    chunks = clamp(hb, chunks, idx(1), idx(c.maxChunks));
    args[kHistograms] = host.allocScratch(
        hb.getI32Type(), mul(mul(rows, chunks), idx(c.numBins)));
    // Per row: T, skip, and (first slot, earlier ties) per chunk.
    args[kPlan] = host.allocScratch(
        hb.getI32Type(),
        mul(rows, arith::AddIOp::create(hb, idx(2), mul(chunks, idx(2)))));
  }
  args[kChunks] = chunks;
  // Dirty distance lines cost a write-back only where the step streams more
  // than L2 holds: the codes read and the distances written together. Below
  // that the discards' instructions cost 0.3-0.4 us at B <= 4 and save
  // nothing; beyond they save 2-3.5 us at B=16 (NOTES.md item 49).
  Value codeBytes = mul(mul(mul(batches, idx(p.kvHeads)), capacity),
                        idx(4 * p.words));
  Value distanceBytes = mul(mul(rows, distStride), idx(2));
  Value outgrowsL2 = arith::CmpIOp::create(
      hb, arith::CmpIPredicate::ugt,
      arith::AddIOp::create(hb, codeBytes, distanceBytes),
      idx(host.target().l2Bytes));
  args[kDiscardDistances] = arith::SelectOp::create(
      hb, outgrowsL2, idx(c.l2CacheHints ? 1 : 0), idx(0));
  // The histogram pass lets the next kernel launch at its start: the
  // threshold kernel's CTAs are few, and take nothing it needs beside it
  // (emitAttend decides where the attention may follow it instead).
  args[kReleaseEarly] = idx(1);
  SmallVector<Type> types = llvm::to_vector(ValueRange(args).getTypes());

  if (c.clusterChunks) {
    gpu::GPUFuncOp cluster =
        buildKernel<ClusterSelectKernel>(host, name, "_cluster", types, s,
                                         GridDependency::WaitFirst);
    host.launch(cluster, chunks, yBlocks, batches, c.blockSize, args,
                /*clusterX=*/chunks);
    return;
  }

  // The histogram pass's grid is sized for targetCtas: this many CTAs per
  // SM.
  int64_t passCtasPerSm =
      std::max<int64_t>(1, c.targetCtas / host.target().numMultiprocessors);
  // The pass lets the next kernel launch at its start (kReleaseEarly) or as
  // its CTAs finish (below, and emitAttend).
  gpu::GPUFuncOp hist =
      buildKernel<HistogramKernel>(host, name, "_hist", types, s,
                                   GridDependency::WaitFirstReleaseByKernel);
  // Its grid fills targetCtas: the popcount pass's two sets of keys in
  // registers (pipelinesKeys; 64 registers at D = 128, 2 bits) must keep
  // that many CTAs per SM.
  if (c.pipelinesKeys)
    hist->setAttr("nvvm.minctasm", hb.getI32IntegerAttr(passCtasPerSm));
  // The threshold kernel scans the chunks with one warp, a lane per chunk.
  assert(c.maxChunks <= 32 && "the threshold kernel's chunk scan is one warp");
  // With SelectConfig::releasesLate the next kernels launch only as these
  // finish.
  GridDependency planAndCompaction =
      c.releasesLate ? GridDependency::WaitFirstReleaseLast
                     : GridDependency::WaitFirst;
  gpu::GPUFuncOp threshold = buildKernel<ThresholdKernel>(
      host, name, "_threshold", types, s, planAndCompaction);
  gpu::GPUFuncOp compact = buildKernel<CompactKernel>(
      host, name, "_compact", types, s, planAndCompaction, kShortRun);
  gpu::GPUFuncOp compactLong = buildKernel<CompactKernel>(
      host, name, "_compact_long", types, s, planAndCompaction, kLongRun);
  // A full SM of short-run compaction CTAs (2048 threads): ptxas then keeps
  // the runs of 16 in 30-32 registers (35 unasked, 6 CTAs per SM) without
  // spilling; the long runs need 39 (8 CTAs spilled 24 bytes), so 6 CTAs.
  // (`.minnctapersm`, the key convert-gpu-to-nvvm carries to the PTX.)
  auto ctasPerSm = [&](gpu::GPUFuncOp kernel, int64_t threads) {
    kernel->setAttr("nvvm.minctasm", hb.getI32IntegerAttr(std::max<int64_t>(
                                         1, threads / c.blockSize)));
  };
  ctasPerSm(compact, 2048);
  ctasPerSm(compactLong, 1536);

  // Long runs where a chunk is longer than one pass of short ones (B=16 at
  // 32K, 128K at B = 1: 8K positions per chunk, one pass instead of two;
  // NOTES.md item 34), else short runs (B = 1 at 32K: 2K positions, where
  // long runs would leave 3/4 of the threads idle). The chunk length is
  // the kernels' at the capacity; the kernel not chosen gets an empty grid
  // (the runtime launches nothing).
  Value chunkLength = buildChunkLength(hb, capacity, chunks);
  Value longRuns =
      arith::CmpIOp::create(hb, arith::CmpIPredicate::ugt, chunkLength,
                            idx(c.blockSize * kShortRun));
  Value zero = idx(0);
  Value shortChunks = arith::SelectOp::create(hb, longRuns, zero, chunks);
  Value longChunks = arith::SelectOp::create(hb, longRuns, chunks, zero);

  SelectionKernels kernels{s,           args,
                           hist,        {chunks, yBlocks, batches},
                           {},          {},
                           threshold,   compact,
                           compactLong, rows,
                           shortChunks, longChunks,
                           chunkLength};
  // Where the pass's grid is small (B = 1 GQA), its form with the key ring
  // (NOTES.md item 81).
  if (c.ringPassMaxCtas > 0) {
    SelectLaunch ring = s;
    ring.config = c.ringForm();
    kernels.histRing =
        buildKernel<HistogramKernel>(host, name, "_hist_ring", types, ring,
                                     GridDependency::WaitFirstReleaseByKernel);
    Value ctas = mul(mul(chunks, yBlocks), batches);
    kernels.ringTaken = arith::CmpIOp::create(
        hb, arith::CmpIPredicate::ule, ctas, idx(c.ringPassMaxCtas));
  }
  // The grid-synchronised kernels (SelectConfig::gridSync), in the
  // compaction kernels' two runs, where the histogram grid fits the device
  // at once at the CTAs per SM they are built for (B * Hkv * row groups
  // above it, at one chunk per row, takes the three kernels). Their names end
  // with kGridSyncSuffix (the runtime launches them cooperatively). A chunk
  // of at most one pass of the run keeps its distances in shared memory
  // (short runs always: 4096 positions; long runs up to 8192, 16 KB: 128K
  // at B = 1, B=16 shared_group at 32K); longer ones (B=64 shared_group,
  // 512K) go through L2, as the compaction kernels read them.
  if (c.gridSync) {
    int64_t shortPass = c.blockSize * kShortRun;
    int64_t longPass = c.blockSize * kLongRun;
    auto build = [&](StringRef suffix, int64_t run, int64_t sharedCapacity) {
      gpu::GPUFuncOp kernel = buildKernel<GridSelectKernel>(
          host, name, (suffix + kGridSyncSuffix).str(), types, s,
          GridDependency::WaitFirstReleaseByKernel, run, sharedCapacity);
      kernel->setAttr("nvvm.minctasm", hb.getI32IntegerAttr(passCtasPerSm));
      return kernel;
    };
    kernels.grid = build("", kShortRun, shortPass);
    kernels.gridLong = build("_long", kLongRun, longPass);
    kernels.gridLongGlobal = build("_long_global", kLongRun, 0);
    // (Where the pass's own shared memory leaves no room for a long pass's
    // distances, long chunks all go through L2.)
    if (workgroupBytes(kernels.gridLong) > host.target().maxStaticSharedBytes) {
      kernels.gridLong.erase();
      kernels.gridLong = {};
    }
    // Against the device's multiprocessors, not the target's usual count
    // (the grid's sizing): a smaller part or a MIG slice holds fewer CTAs,
    // and a cooperative launch of more fails.
    Value resident = mul(host.deviceMultiprocessors(), idx(passCtasPerSm));
    Value ctas = mul(mul(chunks, yBlocks), batches);
    kernels.gridFits = arith::CmpIOp::create(hb, arith::CmpIPredicate::ule,
                                             ctas, resident);
    kernels.longRuns = longRuns;
    kernels.longFitsShared = arith::CmpIOp::create(
        hb, arith::CmpIPredicate::ule, chunkLength, idx(longPass));
  }
  if (deferred) {
    *deferred = kernels;
    return;
  }
  launchSelection(host, kernels, args, /*attentionCompacts=*/Value());
}

void mlir::adamas::launchSelection(HostBuilder &host,
                                   const SelectionKernels &selection,
                                   ValueRange args, Value attentionCompacts) {
  ImplicitLocOpBuilder &hb = host.builder();
  int64_t threads = selection.launch.config.blockSize;
  Value zero = indexConst(hb, 0), one = indexConst(hb, 1);
  auto andI = [&](Value x, Value y) -> Value {
    return arith::AndIOp::create(hb, x, y);
  };
  auto unless = [&](Value taken, Value grid) -> Value {
    return taken ? arith::SelectOp::create(hb, taken, zero, grid) : grid;
  };
  auto when = [&](Value taken, Value grid) -> Value {
    return arith::SelectOp::create(hb, taken, grid, zero);
  };
  // The grid-synchronised kernel where it is built, fits, and the attention
  // does not compact; the threshold and compaction kernels where neither
  // that kernel nor the attention plans. (Every grid value is named before
  // its launch.)
  auto [histX, histY, histZ] = selection.histGrid;
  Value gridTaken, separatePlanSkipped = attentionCompacts;
  if (selection.grid) {
    gridTaken = attentionCompacts
                    ? andI(selection.gridFits, notI1(hb, attentionCompacts))
                    : selection.gridFits;
    separatePlanSkipped =
        attentionCompacts
            ? arith::OrIOp::create(hb, attentionCompacts, gridTaken)
            : gridTaken;
  }
  Value passX = unless(gridTaken, histX);
  Value ringX;
  if (selection.histRing) {
    ringX = when(selection.ringTaken, passX);
    passX = unless(selection.ringTaken, passX);
  }
  Value thresholdRows = unless(separatePlanSkipped, selection.rows);
  Value compactChunks = unless(separatePlanSkipped, selection.compactChunks);
  Value compactLongChunks =
      unless(separatePlanSkipped, selection.compactLongChunks);
  Value gridX, gridLongX, gridLongGlobalX;
  if (selection.grid) {
    gridX = when(andI(gridTaken, notI1(hb, selection.longRuns)), histX);
    Value longTaken = andI(gridTaken, selection.longRuns);
    if (selection.gridLong) {
      gridLongX = when(andI(longTaken, selection.longFitsShared), histX);
      longTaken = andI(longTaken, notI1(hb, selection.longFitsShared));
    }
    gridLongGlobalX = when(longTaken, histX);
  }
  host.launch(selection.hist, passX, histY, histZ, threads, args, Value(),
              /*choosable=*/bool(gridTaken) || bool(selection.histRing));
  if (selection.histRing)
    host.launch(selection.histRing, ringX, histY, histZ, threads, args,
                Value(), /*choosable=*/true);
  if (selection.grid) {
    host.launch(selection.grid, gridX, histY, histZ, threads, args, Value(),
                /*choosable=*/true);
    if (selection.gridLong)
      host.launch(selection.gridLong, gridLongX, histY, histZ, threads, args,
                  Value(), /*choosable=*/true);
    host.launch(selection.gridLongGlobal, gridLongGlobalX, histY, histZ,
                threads, args, Value(), /*choosable=*/true);
  }
  host.launch(selection.threshold, thresholdRows, one, one, threads, args,
              Value(), /*choosable=*/bool(separatePlanSkipped));
  host.launch(selection.compact, selection.rows, compactChunks, one, threads,
              args, Value(), /*choosable=*/true);
  host.launch(selection.compactLong, selection.rows, compactLongChunks, one,
              threads, args, Value(), /*choosable=*/true);
}
