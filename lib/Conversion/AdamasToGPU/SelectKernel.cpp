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
//    thermometer planes (`tensorCorePass` below: a warp's 16 keys against 4
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
// writes the histograms per (row, chunk); `<name>_threshold` (grid: rows)
// loads them all at once (each thread its bins of every chunk, kept in
// registers), sums, scans, counts per chunk the positions below T and at T
// from those registers and writes the row's plan: T, skip, and per chunk
// its first output slot and the ties of the earlier chunks;
// `<name>_compact` (grid: rows x chunks) reads its plan entry and
// compacts. (The threshold used to be found by every compaction CTA, each
// summing all of its row's chunk histograms; NOTES.md has the measurements
// of each form.)
//
// Nothing needs zeroed scratch: every histogram entry is written each step.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"
#include "Kernels.h"
#include "adamas/Dialect/Adamas/Utils/CodeArithmetic.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::adamas;

using Pred = arith::CmpIPredicate;

namespace {
/// Kernel arguments shared by the two kernels, in this order.
enum SelectArg : unsigned {
  kQueryCodes,
  kKeyCodes,
  kLengths,
  kDistances,
  kHistograms,
  kResult,
  kPlan,
  kBatches,
  kCapacity,
  kDistStride,
  kChunks,
  kNumArgs
};

/// Builds what both kernels compute the same way.
class SelectCommon {
public:
  SelectCommon(KernelBuilder &kb, const SelectLaunch &s)
      : kb(kb), b(kb.builder()), p(s.problem), c(s.config) {}

  /// The visible length of the batch row's last query row, clamp(len, 0, N):
  /// the range the chunks split.
  Value visibleAll(Value length) {
    return clamp(b, length, kb.idx(0), kb.arg(kCapacity));
  }

  /// [begin, end) of chunk `chunk` within [0, visible).
  std::pair<Value, Value> chunkRange(Value chunk, Value visible) {
    Value len = kb.ceilDiv(visible, kb.arg(kChunks));
    len = kb.mul(kb.ceilDiv(len, kb.idx(32)), kb.idx(32));
    Value begin = kb.minS(kb.mul(chunk, len), visible);
    Value end = kb.minS(kb.add(begin, len), visible);
    return {begin, end};
  }

  /// Selection row `row` of the result (<B x H' x M>, the threshold and
  /// compaction kernels' grid x): its batch row's length, the positions it
  /// sees and its selection window.
  struct ResultRow {
    Value length, visible;
    SelectionWindow window;
  };
  /// Runs `body` for `row` when it exists (row < B * H' * M).
  void ifResultRow(Value row, function_ref<void(const ResultRow &)> body) {
    Value rowsPerBatch = kb.idx(c.selectionHeads * p.rows);
    Value numRows = kb.mul(kb.arg(kBatches), rowsPerBatch);
    kb.ifThen(kb.cmp(Pred::ult, row, numRows), [&] {
      ResultRow r;
      Value batch = kb.divu(row, rowsPerBatch);
      Value m = kb.remu(row, kb.idx(p.rows));
      r.length = kb.toIdx(kb.load(kb.arg(kLengths), batch));
      r.visible = buildVisibleLength(b, r.length, kb.idx(p.rows), m,
                                     kb.arg(kCapacity));
      r.window = buildSelectionWindow(b, r.visible, p.k, p.sink, p.recent);
      body(r);
    });
  }
  /// Runs `plan()` for a row that needs a plan: rows that see at most k
  /// positions, or have no free slot, need none (the compaction writes them
  /// without one).
  void ifRowNeedsPlan(const ResultRow &r, function_ref<void()> plan) {
    Value needed = arith::AndIOp::create(
        b, kb.cmp(Pred::sgt, r.visible, kb.idx(p.k)),
        kb.cmp(Pred::sgt, r.window.take, kb.idx(0)));
    kb.ifThen(needed, plan);
  }

  /// The row's plan (written by the threshold kernel): T, skip, then per
  /// chunk (first output slot, ties in earlier chunks).
  Value planEntry(Value row, int64_t field) {
    Value stride = kb.add(kb.idx(2), kb.mul(kb.arg(kChunks), kb.idx(2)));
    return kb.add(kb.mul(row, stride), kb.idx(field));
  }
  Value chunkPlanEntry(Value row, Value chunk, int64_t field) {
    return kb.add(planEntry(row, 2 + field), kb.mul(chunk, kb.idx(2)));
  }

  /// Block-wide inclusive scan of an i32 (one value per thread); `total`
  /// gets the block's sum.
  Value blockScan(Value value, Value warpSums, Value &total);

  /// The threshold distance T of a row whose summed histogram is in
  /// `totals` (shared, numBins): the bin where the running count first
  /// reaches `take` (index), and `skip` (i32), the positions at T that lose.
  struct Threshold {
    Value value, index, skip;
  };
  Threshold findThreshold(Value totals, Value take, Value warpSums,
                          Value found);

  /// What the compaction of one (row, chunk) needs (all i32): T, skip, the
  /// chunk's first output slot and the ties at T in the earlier chunks.
  struct ChunkPlan {
    Value threshold, skip, firstSlot, tiesBefore;
  };
  /// The selection of result row `row` within chunk `chunk`: chunk 0 writes
  /// the forced slots (or every position when the row sees at most k), and
  /// every chunk compacts its free positions with `plan()` (built only
  /// where it is needed).
  void compactRow(Value row, Value chunk, const ResultRow &r,
                  function_ref<ChunkPlan()> plan, Value warpSums);

private:
  void writeAll(Value rowOut, Value visible);
  void writeForced(Value rowOut, Value visible);
  void compact(Value row, Value rowOut, Value begin, Value end,
               Value freeBegin, Value freeEnd, const ChunkPlan &plan,
               Value warpSums);

public:

  int64_t numWarps() const { return c.blockSize / 32; }

  KernelBuilder &kb;
  ImplicitLocOpBuilder &b;
  const SelectProblem &p;
  const SelectConfig &c;
};

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
// Kernel 1: distances and histograms
//===----------------------------------------------------------------------===//

class HistogramKernel : protected SelectCommon {
public:
  using SelectCommon::SelectCommon;
  void build();

protected:
  /// One selection row of the CTA.
  struct Row {
    Value valid; // i1: the row exists (the last group may be short)
    Value index; // global row of the result, <B x H' x M>
    Value freeBegin, freeEnd;
    SmallVector<SmallVector<Value>> queryWords; // [query head][word]
  };
  /// Row `rowInHead` of the KV head's selection rows (invalid at or past
  /// rowsPerKvHead); with `loadQueries` its query heads' code words too.
  Row makeRow(Value batch, Value kvHead, Value rowInHead, Value length,
              bool loadQueries = true);
  /// The row of the query codes (<B x Hq x M x W>) of query head `g` of
  /// the (existing) selection row `rowInHead`.
  Value queryRowOf(Value batch, Value kvHead, Value rowInHead, Value g);
  Value distance(const Row &row, ArrayRef<Value> keyWords);
  /// The pass over the CTA's chunk; then `epilogue(chunk, rows, hist)` with
  /// every row's histogram complete in `hist` (shared, row r's bins at
  /// r * numBins).
  void buildPass(
      function_ref<void(Value chunk, ArrayRef<Row> rows, Value hist)>
          epilogue);

private:
  /// Where a free position's distance goes: the i16 for the compaction and
  /// a count in the CTA's histogram of row `rowInCta`.
  void recordDistance(Value rowIndex, Value rowInCta, Value pos, Value d,
                      Value hist);
  /// The pass with per-thread popcounts: each thread takes whole keys,
  /// `keysPerThread` in flight, and every row's distance to each.
  void popcountPass(Value begin, Value end, Value keyBase, ArrayRef<Row> rows,
                    Value hist);
  /// The pass with binary tensor-core products (SelectConfig::
  /// tensorCoreDistances): `queryWords` (shared) holds the CTA's queries'
  /// thermometer words (query-major, 4 * slabs words each, zero past the
  /// last query) and `querySums` their S(q).
  void tensorCorePass(Value begin, Value end, Value keyBase, Value batch,
                      Value kvHead, Value group, Value length,
                      ArrayRef<Row> rows, Value hist, Value queryWords,
                      Value querySums);
  /// Fills `queryWords` and adds into `querySums` (zeroed) for the CTA's
  /// queries (query qi: head qi % G' of row qi / G').
  void fillQueryWords(Value batch, Value kvHead, Value group,
                      Value queryWords, Value querySums);
};
} // namespace

HistogramKernel::Row HistogramKernel::makeRow(Value batch, Value kvHead,
                                              Value rowInHead, Value length,
                                              bool loadQueries) {
  Row row;
  row.valid = kb.cmp(Pred::ult, rowInHead, kb.idx(c.rowsPerKvHead));
  // Rows past the end read row 0's codes and select nothing.
  Value r = kb.select(row.valid, rowInHead, kb.idx(0));
  Value m = kb.remu(r, kb.idx(p.rows));
  Value headOfRow = p.sharedGroup ? kvHead
                                  : kb.add(kb.mul(kvHead, kb.idx(c.groupSize)),
                                           kb.divu(r, kb.idx(p.rows)));
  row.index =
      kb.add(kb.mul(kb.add(kb.mul(batch, kb.idx(c.selectionHeads)), headOfRow),
                    kb.idx(p.rows)),
             m);
  Value visible =
      buildVisibleLength(b, length, kb.idx(p.rows), m, kb.arg(kCapacity));
  SelectionWindow window =
      buildSelectionWindow(b, visible, p.k, p.sink, p.recent);
  row.freeBegin = window.freeBegin;
  row.freeEnd = kb.select(row.valid, window.freeEnd, kb.idx(0));
  if (!loadQueries)
    return row;
  for (int64_t g = 0; g < c.queryHeadsPerRow; ++g) {
    Value queryRow = queryRowOf(batch, kvHead, r, kb.idx(g));
    Value first = kb.mul(queryRow, kb.idx(p.words));
    SmallVector<Value> words;
    for (int64_t w = 0; w < p.words; ++w)
      words.push_back(kb.load(kb.arg(kQueryCodes), kb.add(first, kb.idx(w))));
    row.queryWords.push_back(words);
  }
  return row;
}

Value HistogramKernel::queryRowOf(Value batch, Value kvHead, Value rowInHead,
                                  Value g) {
  Value m = kb.remu(rowInHead, kb.idx(p.rows));
  Value firstHead = kb.mul(kvHead, kb.idx(c.groupSize));
  Value queryHead =
      kb.add(firstHead, p.sharedGroup ? g : kb.divu(rowInHead, kb.idx(p.rows)));
  return kb.add(
      kb.mul(kb.add(kb.mul(batch, kb.idx(p.queryHeads)), queryHead),
             kb.idx(p.rows)),
      m);
}

Value HistogramKernel::distance(const Row &row, ArrayRef<Value> keyWords) {
  Value best;
  for (ArrayRef<Value> query : row.queryWords) {
    Value sum;
    for (int64_t w = 0; w < p.words; w += p.bits) {
      Value d = buildGroupDistance(b, query.slice(w, p.bits),
                                   keyWords.slice(w, p.bits));
      sum = sum ? arith::AddIOp::create(b, sum, d).getResult() : d;
    }
    best = best ? arith::MinUIOp::create(b, best, sum).getResult() : sum;
  }
  return best;
}

void HistogramKernel::build() {
  buildPass([&](Value chunk, ArrayRef<Row> rows, Value hist) {
    // Every (row, chunk) histogram is written, empty or not.
    Value tid = kb.threadId();
    for (auto [r, row] : llvm::enumerate(rows)) {
      kb.ifThen(row.valid, [&] {
        Value out = kb.mul(kb.add(kb.mul(row.index, kb.arg(kChunks)), chunk),
                           kb.idx(c.numBins));
        kb.forLoop(tid, kb.idx(c.numBins), kb.idx(c.blockSize), [&](Value bin) {
          Value count =
              kb.load(hist, kb.add(kb.idx(int64_t(r) * c.numBins), bin));
          kb.store(count, kb.arg(kHistograms), kb.add(out, bin));
        });
      });
    }
  });
}

void HistogramKernel::buildPass(
    function_ref<void(Value chunk, ArrayRef<Row> rows, Value hist)>
        epilogue) {
  Value chunk = kb.blockId(gpu::Dimension::x);
  Value y = kb.blockId(gpu::Dimension::y);
  Value batch = kb.blockId(gpu::Dimension::z);
  Value kvHead = kb.divu(y, kb.idx(c.rowGroups));
  Value group = kb.remu(y, kb.idx(c.rowGroups));
  Value tid = kb.threadId();
  Value hist = kb.sharedBuffer(b.getI32Type(), c.rowsPerCta * c.numBins);
  int64_t queryColumns =
      4 * llvm::divideCeil(c.rowsPerCta * c.queryHeadsPerRow, 4);
  Value queryWords, querySums;
  if (c.tensorCoreDistances) {
    queryWords = kb.sharedBuffer(b.getI32Type(),
                                 queryColumns * 4 * c.tensorCoreSlabs());
    querySums = kb.sharedBuffer(b.getI32Type(), queryColumns);
  }

  kb.ifThen(kb.cmp(Pred::ult, batch, kb.arg(kBatches)), [&] {
    Value length = kb.toIdx(kb.load(kb.arg(kLengths), batch));
    auto [begin, end] = chunkRange(chunk, visibleAll(length));

    SmallVector<Row> rows;
    for (int64_t r = 0; r < c.rowsPerCta; ++r)
      rows.push_back(makeRow(
          batch, kvHead, kb.add(kb.mul(group, kb.idx(c.rowsPerCta)), kb.idx(r)),
          length, /*loadQueries=*/!c.tensorCoreDistances));

    Value threads = kb.idx(c.blockSize);
    auto zero = [&](Value buffer, int64_t size) {
      kb.forLoop(tid, kb.idx(size), threads,
                 [&](Value i) { kb.store(kb.i32(0), buffer, i); });
    };
    zero(hist, c.rowsPerCta * c.numBins);
    if (c.tensorCoreDistances) {
      zero(queryWords, queryColumns * 4 * c.tensorCoreSlabs());
      zero(querySums, queryColumns);
    }
    kb.barrier();

    // The key rows of this KV head start at ((b * Hkv + h) * N) * W.
    Value keyBase =
        kb.mul(kb.mul(kb.add(kb.mul(batch, kb.idx(p.kvHeads)), kvHead),
                      kb.arg(kCapacity)),
               kb.idx(p.words));
    if (c.tensorCoreDistances) {
      fillQueryWords(batch, kvHead, group, queryWords, querySums);
      kb.barrier();
      tensorCorePass(begin, end, keyBase, batch, kvHead, group, length, rows,
                     hist, queryWords, querySums);
    } else {
      popcountPass(begin, end, keyBase, rows, hist);
    }
    kb.barrier();
    epilogue(chunk, rows, hist);
  });
}

void HistogramKernel::recordDistance(Value rowIndex, Value rowInCta, Value pos,
                                     Value d, Value hist) {
  Value at = kb.add(kb.mul(rowIndex, kb.arg(kDistStride)), pos);
  kb.store(arith::TruncIOp::create(b, b.getI16Type(), d), kb.arg(kDistances),
           at);
  Value bin = kb.add(kb.mul(rowInCta, kb.idx(c.numBins)), kb.toIdx(d));
  kb.atomicAdd(kb.i32(1), hist, bin);
}

void HistogramKernel::popcountPass(Value begin, Value end, Value keyBase,
                                   ArrayRef<Row> rows, Value hist) {
  Value tid = kb.threadId();
  int64_t perIteration = c.blockSize * c.keysPerThread;
  kb.forLoop(kb.add(begin, tid), end, kb.idx(perIteration), [&](Value pos0) {
    // Load every key first, then compute: keysPerThread loads in flight.
    SmallVector<Value> positions, inChunk;
    SmallVector<SmallVector<Value>> keys;
    for (int64_t u = 0; u < c.keysPerThread; ++u) {
      Value pos = kb.add(pos0, kb.idx(u * c.blockSize));
      Value valid = kb.cmp(Pred::ult, pos, end);
      Value safe = kb.minS(pos, kb.sub(end, kb.idx(1)));
      Value first = kb.add(keyBase, kb.mul(safe, kb.idx(p.words)));
      SmallVector<Value> words;
      for (int64_t w = 0; w < p.words; w += c.loadWords) {
        Value vec = kb.loadVector(kb.arg(kKeyCodes), kb.add(first, kb.idx(w)),
                                  c.loadWords, 4 * c.loadWords);
        for (int64_t e = 0; e < c.loadWords; ++e)
          words.push_back(vector::ExtractOp::create(b, vec, e));
      }
      positions.push_back(pos);
      inChunk.push_back(valid);
      keys.push_back(words);
    }
    for (int64_t u = 0; u < c.keysPerThread; ++u) {
      for (auto [r, row] : llvm::enumerate(rows)) {
        Value pos = positions[u];
        Value free = arith::AndIOp::create(
            b, inChunk[u],
            arith::AndIOp::create(b, kb.cmp(Pred::sge, pos, row.freeBegin),
                                  kb.cmp(Pred::slt, pos, row.freeEnd)));
        Value d = distance(row, keys[u]);
        kb.ifThen(free, [&] {
          recordDistance(row.index, kb.idx(int64_t(r)), pos, d, hist);
        });
      }
    }
  });
}

// The tensor-core pass. The product's k dimension is a code row's
// thermometer bits: word w (32 bits) is plane w / (D/32) of group w % (D/32),
// padded with zero words to `slabs` slabs of 4 words. In each 128-bit slab
// lane l holds word l % 4, so a lane needs the key code groups
// {(4s + l % 4) % (D/32)}: groups l % 4, l % 4 + 4, ... where D/32 is a
// multiple of 4, else (D/32 = 1, 2) group (l % 4) % (D/32) in planes that
// depend on the lane.
//
// A warp's product: rows are its 16 keys (lane l loads keys l/4 and l/4 + 8
// of the tile), columns 2q are 4 queries and columns 2q + 1 all ones, so
// lane l's accumulator holds, for query q = l % 4 and each of its two keys,
// popc(U(query) & U(key)) and S(key); with S(query) from shared memory that
// is the distance S(q) + S(k) - 2 popc(U(q) & U(k)). Per-head rows take
// their query's distance directly; shared_group rows the minimum over
// their G heads (lanes of a quad, or tiles of the row).

void HistogramKernel::fillQueryWords(Value batch, Value kvHead, Value group,
                                     Value queryWords, Value querySums) {
  int64_t groups = p.words / p.bits;
  int64_t paddedWords = 4 * c.tensorCoreSlabs();
  int64_t qh = c.queryHeadsPerRow;
  int64_t entries = c.rowsPerCta * qh * groups;
  kb.forLoop(kb.threadId(), kb.idx(entries), kb.idx(c.blockSize),
             [&](Value i) {
    Value qi = kb.divu(i, kb.idx(groups));
    Value codeGroup = kb.remu(i, kb.idx(groups));
    Value r = kb.divu(qi, kb.idx(qh));
    Value rowInHead = kb.add(kb.mul(group, kb.idx(c.rowsPerCta)), r);
    // Rows past the end take row 0's codes; nothing selects by them.
    rowInHead = kb.select(kb.cmp(Pred::ult, rowInHead, kb.idx(c.rowsPerKvHead)),
                          rowInHead, kb.idx(0));
    Value queryRow =
        queryRowOf(batch, kvHead, rowInHead, kb.remu(qi, kb.idx(qh)));
    Value first = kb.add(kb.mul(queryRow, kb.idx(p.words)),
                         kb.mul(codeGroup, kb.idx(p.bits)));
    SmallVector<Value> codePlanes;
    for (int64_t j = 0; j < p.bits; ++j)
      codePlanes.push_back(
          kb.load(kb.arg(kQueryCodes), kb.add(first, kb.idx(j))));
    Value sum = kb.i32(0);
    for (auto [t, word] :
         llvm::enumerate(buildThermometerPlanes(b, codePlanes))) {
      kb.store(word, queryWords,
               kb.add(kb.mul(qi, kb.idx(paddedWords)),
                      kb.add(kb.idx(int64_t(t) * groups), codeGroup)));
      sum = arith::AddIOp::create(b, sum, math::CtPopOp::create(b, word));
    }
    kb.atomicAdd(sum, querySums, qi);
  });
}

void HistogramKernel::tensorCorePass(Value begin, Value end, Value keyBase,
                                     Value batch, Value kvHead, Value group,
                                     Value length, ArrayRef<Row> rows,
                                     Value hist, Value queryWords,
                                     Value querySums) {
  const int64_t groups = p.words / p.bits;
  const int64_t planes = numThresholds(p.bits);
  const int64_t slabs = c.tensorCoreSlabs();
  const int64_t paddedWords = 4 * slabs;
  const int64_t qh = c.queryHeadsPerRow;
  const int64_t tiles = llvm::divideCeil(c.rowsPerCta * qh, 4);
  const int64_t keyTiles = c.keyTilesPerWarp;
  const bool wholeGroups = groups % 4 == 0;
  const int64_t groupsPerLane = wholeGroups ? groups / 4 : 1;

  Value lane = kb.toIdx(kb.laneId());
  Value gid = kb.divu(lane, kb.idx(4)); // the lane's keys: gid, gid + 8
  Value tig = kb.remu(lane, kb.idx(4)); // its query column of each tile
  Value onesColumn = kb.cmp(Pred::eq, kb.remu(gid, kb.idx(2)), kb.idx(1));

  // Loop-invariant: each tile's B words (the lane's column is gid: query
  // 4j + gid/2, or ones) and S(query 4j + tig).
  SmallVector<SmallVector<Value>> bWords(tiles);
  SmallVector<Value> querySum(tiles);
  for (int64_t j = 0; j < tiles; ++j) {
    Value column = kb.add(kb.idx(4 * j), kb.divu(gid, kb.idx(2)));
    for (int64_t sl = 0; sl < slabs; ++sl) {
      Value word = kb.load(queryWords,
                           kb.add(kb.mul(column, kb.idx(paddedWords)),
                                  kb.add(kb.idx(4 * sl), tig)));
      bWords[j].push_back(kb.select(onesColumn, kb.i32(-1), word));
    }
    querySum[j] = kb.load(querySums, kb.add(kb.idx(4 * j), tig));
  }

  // The lane's selection row of tile j where it depends on the lane
  // (per-head rows, or shared_group rows of G dividing 4): its query's row.
  auto laneRow = [&](int64_t j) {
    Value r = kb.divu(kb.add(kb.idx(4 * j), tig), kb.idx(qh));
    Value exists = kb.cmp(Pred::ult, r, kb.idx(c.rowsPerCta));
    Value rowInHead =
        kb.select(exists, kb.add(kb.mul(group, kb.idx(c.rowsPerCta)), r),
                  kb.idx(c.rowsPerKvHead));
    return std::make_pair(r, makeRow(batch, kvHead, rowInHead, length,
                                     /*loadQueries=*/false));
  };
  SmallVector<std::pair<Value, Row>> laneRows;
  if (qh % 4 != 0)
    for (int64_t j = 0; j < tiles; ++j)
      laneRows.push_back(laneRow(j));

  auto isFree = [&](Value pos, Value inChunk, const Row &row) -> Value {
    return arith::AndIOp::create(
        b, inChunk,
        arith::AndIOp::create(b, kb.cmp(Pred::sge, pos, row.freeBegin),
                              kb.cmp(Pred::slt, pos, row.freeEnd)));
  };
  auto minU = [&](Value x, Value y) -> Value {
    return arith::MinUIOp::create(b, x, y);
  };

  Value warp = kb.warpId();
  int64_t perIteration = numWarps() * keyTiles * 16;
  // Key h (0, 1) of the lane in tile tt of the iteration at `iteration`.
  auto keyPosition = [&](Value iteration, int64_t tt, int64_t h) {
    Value tile = kb.add(kb.mul(warp, kb.idx(keyTiles)), kb.idx(tt));
    return kb.add(kb.add(iteration, kb.mul(tile, kb.idx(16))),
                  kb.add(gid, kb.idx(8 * h)));
  };
  // The lane's code words of an iteration, one value per load (an 8-byte
  // vector of a group's two planes, else one word per plane), in the order
  // tile, key, group. Positions past the chunk read its last key.
  auto loadKeys = [&](Value iteration) {
    SmallVector<Value> loaded;
    Value last = kb.sub(end, kb.idx(1));
    for (int64_t tt = 0; tt < keyTiles; ++tt) {
      for (int64_t h = 0; h < 2; ++h) {
        Value safe = kb.minS(keyPosition(iteration, tt, h), last);
        Value first = kb.add(keyBase, kb.mul(safe, kb.idx(p.words)));
        for (int64_t i = 0; i < groupsPerLane; ++i) {
          Value codeGroup = wholeGroups ? kb.add(tig, kb.idx(4 * i))
                                        : kb.remu(tig, kb.idx(groups));
          Value at = kb.add(first, kb.mul(codeGroup, kb.idx(p.bits)));
          if (p.bits == 2) {
            // Even words per row and group: 8-byte aligned.
            loaded.push_back(kb.loadVector(kb.arg(kKeyCodes), at, 2, 8));
            continue;
          }
          for (int64_t e = 0; e < p.bits; ++e)
            loaded.push_back(
                kb.load(kb.arg(kKeyCodes), kb.add(at, kb.idx(e))));
        }
      }
    }
    return loaded;
  };

  // Every key word of an iteration is loaded first, then computed on.
  // (Loading the next iteration's keys before computing measured no
  // faster: NOTES.md item 17.)
  kb.forLoop(begin, end, kb.idx(perIteration), [&](Value iteration) {
    SmallVector<Value> loaded = loadKeys(iteration);
    SmallVector<Value> positions, inChunk;             // [tile * 2 + h]
    SmallVector<SmallVector<SmallVector<Value>>> keys; // [.][group][plane]
    size_t at = 0;
    for (int64_t tt = 0; tt < keyTiles; ++tt) {
      for (int64_t h = 0; h < 2; ++h) {
        Value pos = keyPosition(iteration, tt, h);
        positions.push_back(pos);
        inChunk.push_back(kb.cmp(Pred::ult, pos, end));
        SmallVector<SmallVector<Value>> keyGroups;
        for (int64_t i = 0; i < groupsPerLane; ++i) {
          SmallVector<Value> codePlanes;
          if (p.bits == 2) {
            for (int64_t e = 0; e < 2; ++e)
              codePlanes.push_back(
                  vector::ExtractOp::create(b, loaded[at], e));
            ++at;
          } else {
            for (int64_t e = 0; e < p.bits; ++e)
              codePlanes.push_back(loaded[at++]);
          }
          keyGroups.push_back(codePlanes);
        }
        keys.push_back(keyGroups);
      }
    }

    for (int64_t tt = 0; tt < keyTiles; ++tt) {
      // A words of each slab for the lane's two keys.
      SmallVector<std::array<Value, 2>> aWords(slabs);
      for (int64_t h = 0; h < 2; ++h) {
        SmallVector<SmallVector<Value>> thermo;
        for (ArrayRef<Value> codePlanes : keys[2 * tt + h])
          thermo.push_back(buildThermometerPlanes(b, codePlanes));
        for (int64_t sl = 0; sl < slabs; ++sl) {
          if (wholeGroups) {
            aWords[sl][h] =
                thermo[(4 * sl % groups) / 4][4 * sl / groups];
            continue;
          }
          // Lanes of one slab cover 4 / groups planes: the lane's is
          // 4 sl / groups + tig / groups (zero past the last plane).
          Value laneExtra = kb.divu(tig, kb.idx(groups));
          Value word = kb.i32(0);
          for (int64_t e = 0; e < 4 / groups; ++e) {
            int64_t plane = 4 * sl / groups + e;
            if (plane < planes)
              word = kb.select(kb.cmp(Pred::eq, laneExtra, kb.idx(e)),
                               thermo[0][plane], word);
          }
          aWords[sl][h] = word;
        }
      }
      // Distances of query 4j + tig to the lane's keys, per query tile.
      SmallVector<std::array<Value, 2>> dist(tiles);
      for (int64_t j = 0; j < tiles; ++j) {
        SmallVector<Value> acc(4, kb.i32(0));
        for (int64_t sl = 0; sl < slabs;) {
          if (sl + 1 < slabs) {
            acc = kb.mmaAndPopc({aWords[sl][0], aWords[sl][1],
                                 aWords[sl + 1][0], aWords[sl + 1][1]},
                                {bWords[j][sl], bWords[j][sl + 1]}, acc);
            sl += 2;
          } else {
            acc = kb.mmaAndPopc({aWords[sl][0], aWords[sl][1]},
                                {bWords[j][sl]}, acc);
            sl += 1;
          }
        }
        for (int64_t h = 0; h < 2; ++h) {
          Value twice = arith::ShLIOp::create(b, acc[2 * h], kb.i32(1));
          dist[j][h] = arith::SubIOp::create(
              b, arith::AddIOp::create(b, querySum[j], acc[2 * h + 1]), twice);
        }
      }

      for (int64_t h = 0; h < 2; ++h) {
        Value pos = positions[2 * tt + h];
        Value valid = inChunk[2 * tt + h];
        if (qh == 1) {
          for (int64_t j = 0; j < tiles; ++j) {
            auto &[r, row] = laneRows[j];
            kb.ifThen(isFree(pos, valid, row), [&] {
              recordDistance(row.index, r, pos, dist[j][h], hist);
            });
          }
        } else if (qh % 4 != 0) {
          // A row's G heads are lanes tig .. tig + G - 1 of the quad.
          for (int64_t j = 0; j < tiles; ++j) {
            Value d = dist[j][h];
            for (int64_t mask = 1; mask < qh; mask *= 2)
              d = minU(d, kb.shuffleXor(d, mask));
            auto &[r, row] = laneRows[j];
            Value lead = kb.cmp(Pred::eq, kb.remu(tig, kb.idx(qh)), kb.idx(0));
            kb.ifThen(arith::AndIOp::create(b, lead, isFree(pos, valid, row)),
                      [&] { recordDistance(row.index, r, pos, d, hist); });
          }
        } else {
          // A row's G heads fill G / 4 whole tiles: their minimum, then the
          // quad's; lane tig == h records key h.
          int64_t tilesPerRow = qh / 4;
          for (int64_t r = 0; r < c.rowsPerCta; ++r) {
            Value d = dist[r * tilesPerRow][h];
            for (int64_t j = 1; j < tilesPerRow; ++j)
              d = minU(d, dist[r * tilesPerRow + j][h]);
            d = minU(d, kb.shuffleXor(d, 1));
            d = minU(d, kb.shuffleXor(d, 2));
            Value lead = kb.cmp(Pred::eq, tig, kb.idx(h));
            kb.ifThen(
                arith::AndIOp::create(b, lead, isFree(pos, valid, rows[r])),
                [&] {
                  recordDistance(rows[r].index, kb.idx(r), pos, d, hist);
                });
          }
        }
      }
    }
  });
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
// Kernel 2: the threshold and every chunk's place in the output
//===----------------------------------------------------------------------===//

namespace {
class ThresholdKernel : SelectCommon {
public:
  using SelectCommon::SelectCommon;
  void build();

private:
  void plan(Value row, Value take);
};
} // namespace

void ThresholdKernel::plan(Value row, Value take) {
  Value tid = kb.threadId();
  Value total = kb.sharedBuffer(b.getI32Type(), c.numBins);
  Value warpSums = kb.sharedBuffer(b.getI32Type(), numWarps());
  Value found = kb.sharedBuffer(b.getI32Type(), 2);
  // Step 4 scans the chunks with one warp, a lane per chunk slot (slots
  // past maxChunks count 0).
  constexpr int64_t kLanes = 32;
  assert(c.maxChunks <= kLanes && "a chunk per lane");
  Value lessOfWarp = kb.sharedBuffer(b.getI32Type(), numWarps() * kLanes);
  Value tiesOf = kb.sharedBuffer(b.getI32Type(), c.maxChunks);

  // 1. Every count of the row's chunk histograms, loaded at once: thread t
  // holds bins t + j * blockSize (j < binsPerThread) of every chunk slot
  // (maxChunks: slots past the last chunk load it again and count 0), one
  // round of L2 loads; their sums over the chunks are the row's totals. The
  // counts stay in registers for step 3 (binsPerThread * maxChunks of them:
  // 32 or 64 at D = 128 and 2 bits, see SelectConfig::maxChunks; more than
  // 4 bins per thread of 32 slots would spill).
  int64_t binsPerThread = llvm::divideCeil(c.numBins, c.blockSize);
  Value chunks = kb.arg(kChunks);
  Value histRow = kb.mul(kb.mul(row, chunks), kb.idx(c.numBins));
  Value lastChunk = kb.sub(chunks, kb.idx(1));
  SmallVector<Value> bins;
  SmallVector<SmallVector<Value>> counts(binsPerThread);
  for (int64_t j = 0; j < binsPerThread; ++j) {
    Value bin = kb.add(tid, kb.idx(j * c.blockSize));
    Value safeBin = kb.minS(bin, kb.idx(c.numBins - 1));
    bins.push_back(bin);
    for (int64_t slot = 0; slot < c.maxChunks; ++slot) {
      Value chunk = kb.minS(kb.idx(slot), lastChunk);
      Value at = kb.add(kb.add(histRow, kb.mul(chunk, kb.idx(c.numBins))),
                        safeBin);
      counts[j].push_back(kb.load(kb.arg(kHistograms), at));
    }
  }
  for (int64_t j = 0; j < binsPerThread; ++j) {
    Value sum = kb.i32(0);
    for (int64_t slot = 0; slot < c.maxChunks; ++slot)
      sum = arith::AddIOp::create(
          b, sum,
          kb.select(kb.cmp(Pred::ult, kb.idx(slot), chunks), counts[j][slot],
                    kb.i32(0)));
    kb.ifThen(kb.cmp(Pred::ult, bins[j], kb.idx(c.numBins)),
              [&] { kb.store(sum, total, bins[j]); });
  }
  kb.barrier();

  // 2. Threshold T and skip.
  Threshold t = findThreshold(total, take, warpSums, found);
  Value threshold = t.value, thresholdIndex = t.index, skip = t.skip;

  // 3. Per chunk: positions below T, from the counts in registers (each
  // thread's bins below T, summed over a warp by a reduce-scatter: lane l
  // gets chunk l's sum; then over the warps in shared memory), and at T
  // (the thread holding bin T has every chunk's count of it). No second
  // round of L2 loads (NOTES.md item 13).
  SmallVector<Value> below;
  for (int64_t slot = 0; slot < kLanes; ++slot) {
    if (slot >= c.maxChunks) {
      below.push_back(kb.i32(0));
      continue;
    }
    Value sum = kb.i32(0);
    for (int64_t j = 0; j < binsPerThread; ++j)
      sum = arith::AddIOp::create(
          b, sum,
          kb.select(kb.cmp(Pred::ult, bins[j], thresholdIndex),
                    counts[j][slot], kb.i32(0)));
    below.push_back(sum);
  }
  for (int64_t j = 0; j < binsPerThread; ++j)
    kb.ifThen(kb.cmp(Pred::eq, bins[j], thresholdIndex), [&] {
      for (int64_t slot = 0; slot < c.maxChunks; ++slot)
        kb.store(counts[j][slot], tiesOf, kb.idx(slot));
    });
  Value lane = kb.toIdx(kb.laneId());
  Value warp = kb.toIdx(kb.warpId());
  kb.store(kb.warpReduceScatter(below), lessOfWarp,
           kb.add(kb.mul(warp, kb.idx(kLanes)), lane));
  kb.barrier();

  // 4. Warp 0, lane = chunk: exclusive scans over the chunks, the plan.
  kb.ifThen(kb.cmp(Pred::eq, warp, kb.idx(0)), [&] {
    Value exists = kb.cmp(Pred::ult, lane, chunks);
    Value less = kb.i32(0);
    for (int64_t w = 0; w < numWarps(); ++w)
      less = arith::AddIOp::create(
          b, less,
          kb.load(lessOfWarp, kb.add(kb.idx(w * kLanes), lane)));
    less = kb.select(exists, less, kb.i32(0));
    Value ties = kb.select(
        exists,
        kb.load(tiesOf, kb.minS(lane, kb.idx(c.maxChunks - 1))),
        kb.i32(0));
    Value lessBefore =
        arith::SubIOp::create(b, kb.warpInclusiveScan(less), less);
    Value tiesBefore =
        arith::SubIOp::create(b, kb.warpInclusiveScan(ties), ties);
    Value tiesTaken = arith::MaxSIOp::create(
        b, arith::SubIOp::create(b, tiesBefore, skip), kb.i32(0));
    Value firstSlot = arith::AddIOp::create(
        b, kb.i32(p.sink), arith::AddIOp::create(b, lessBefore, tiesTaken));
    kb.ifThen(exists, [&] {
      kb.store(firstSlot, kb.arg(kPlan), chunkPlanEntry(row, lane, 0));
      kb.store(tiesBefore, kb.arg(kPlan), chunkPlanEntry(row, lane, 1));
    });
    kb.ifThen(kb.cmp(Pred::eq, lane, kb.idx(0)), [&] {
      kb.store(threshold, kb.arg(kPlan), planEntry(row, 0));
      kb.store(skip, kb.arg(kPlan), planEntry(row, 1));
    });
  });
}

void ThresholdKernel::build() {
  Value row = kb.blockId(gpu::Dimension::x);
  ifResultRow(row, [&](const ResultRow &r) {
    ifRowNeedsPlan(r, [&] { plan(row, r.window.take); });
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

void SelectCommon::compact(Value row, Value rowOut, Value begin, Value end,
                           Value freeBegin, Value freeEnd,
                           const ChunkPlan &plan, Value warpSums) {
  Value tid = kb.threadId();
  Value threshold = plan.threshold, skip = plan.skip;

  // Ordered compaction of the free positions of the chunk. Thread t owns
  // the run of kRun consecutive positions at first + t * kRun (one 16-byte
  // load of their i16 distances), so a pass covers blockSize * kRun
  // positions with one block scan of the thread's counts below T and at T,
  // packed into one i32 (16 bits each: a pass counts at most blockSize *
  // kRun = 2048 of either). The ties' ranks decide which lose (the `skip`
  // smallest); a thread's first output slot is the positions below T before
  // it plus the winning ties before it, both from that one scan (it was a
  // scan of the ties, then one of the selected positions: NOTES.md item 14
  // has what the second cost). Chunks start at multiples of 32 and distance
  // rows are padded to multiples of kRun, so the loads are aligned.
  constexpr int64_t kRun = 8;
  assert(c.blockSize * kRun < (1 << 16) && "a pass's counts fit 16 bits");
  Value lo = kb.maxS(begin, freeBegin);
  Value hi = kb.minS(end, freeEnd);
  // Position p is a candidate iff p - lo < hi - lo as unsigned i32
  // (positions fit i32): one add and one compare per position.
  Value candidates = toI32(b, kb.maxS(kb.sub(hi, lo), kb.idx(0)));
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
  // The thread's run of the pass at `pass`; a run past the row reads the
  // row's last run and selects nothing.
  auto loadRun = [&](Value pass) {
    Value first = kb.add(pass, kb.mul(tid, kb.idx(kRun)));
    Value safe = kb.minS(first, kb.sub(stride, kb.idx(kRun)));
    return kb.loadVector(kb.arg(kDistances), kb.add(distRow, safe), kRun,
                         2 * kRun);
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
        SmallVector<Value> positions, less, tie;
        Value localLess = kb.i32(0), localTies = kb.i32(0);
        Value firstOffset = toI32(b, kb.sub(first, lo));
        for (int64_t e = 0; e < kRun; ++e) {
          Value pos = kb.add(first, kb.idx(e));
          Value candidate = arith::CmpIOp::create(
              b, Pred::ult, add(firstOffset, kb.i32(e)), candidates);
          Value d = arith::ExtUIOp::create(
              b, b.getI32Type(), vector::ExtractOp::create(b, vec, e));
          positions.push_back(pos);
          less.push_back(arith::AndIOp::create(
              b, candidate, arith::CmpIOp::create(b, Pred::ult, d, threshold)));
          tie.push_back(arith::AndIOp::create(
              b, candidate, arith::CmpIOp::create(b, Pred::eq, d, threshold)));
          localLess = add(localLess, i32(less.back()));
          localTies = add(localTies, i32(tie.back()));
        }
        // One scan of (below T) << 16 | (at T).
        Value sixteen = kb.i32(16), lowMask = kb.i32(0xFFFF);
        Value packed = arith::OrIOp::create(
            b, arith::ShLIOp::create(b, localLess, sixteen), localTies);
        Value passPacked;
        Value exclusive = sub(blockScan(packed, warpSums, passPacked), packed);
        Value lessBefore = arith::ShRUIOp::create(b, exclusive, sixteen);
        Value tiesBefore = arith::AndIOp::create(b, exclusive, lowMask);
        Value passLess = arith::ShRUIOp::create(b, passPacked, sixteen);
        Value passTies = arith::AndIOp::create(b, passPacked, lowMask);
        // Ties of this pass win from global rank max(skip, tieRank0) on.
        Value firstWinner = arith::MaxSIOp::create(b, skip, tieRank0);
        auto winnersBelow = [&](Value rank) -> Value {
          return arith::MaxSIOp::create(b, sub(rank, firstWinner), kb.i32(0));
        };
        // Most runs hold no position below or at T (k of N are selected):
        // they skip the run's eight conditional stores.
        Value anyCandidate = arith::CmpIOp::create(
            b, Pred::ne, arith::OrIOp::create(b, localLess, localTies),
            kb.i32(0));
        kb.ifThen(anyCandidate, [&] {
          Value rank = add(tieRank0, tiesBefore);
          Value slot = add(slot0, add(lessBefore, winnersBelow(rank)));
          for (int64_t e = 0; e < kRun; ++e) {
            Value wins = arith::CmpIOp::create(b, Pred::sge, rank, skip);
            Value selected = arith::OrIOp::create(
                b, less[e], arith::AndIOp::create(b, tie[e], wins));
            Value at = slot;
            kb.ifThen(selected, [&] {
              kb.store(toI32(b, positions[e]), kb.arg(kResult),
                       kb.add(rowOut, kb.toIdx(at)));
            });
            slot = add(slot, i32(selected));
            rank = add(rank, i32(tie[e]));
          }
        });
        Value rankAfter = add(tieRank0, passTies);
        return {rankAfter, add(slot0, add(passLess, winnersBelow(rankAfter))),
                next};
      });
  });
}

void SelectCommon::compactRow(Value row, Value chunk, const ResultRow &r,
                              function_ref<ChunkPlan()> plan,
                              Value warpSums) {
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
          compact(row, rowOut, begin, end, r.window.freeBegin,
                  r.window.freeEnd, plan(), warpSums);
        });
      });
}

namespace {
class CompactKernel : SelectCommon {
public:
  using SelectCommon::SelectCommon;
  void build();
};
} // namespace

void CompactKernel::build() {
  Value row = kb.blockId(gpu::Dimension::x);
  Value chunk = kb.blockId(gpu::Dimension::y);
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
// Host
//===----------------------------------------------------------------------===//

/// Builds kernel `Kernel` (one of the classes above) as `<name><suffix>`
/// into the step's kernel module, its configuration attached.
template <typename Kernel>
static gpu::GPUFuncOp buildKernel(HostBuilder &host, StringRef name,
                                  StringRef suffix, TypeRange types,
                                  const SelectLaunch &s) {
  OpBuilder mb = host.moduleBuilder();
  KernelBuilder kb(mb, host.kernelModule(), (name + suffix).str(), types,
                   s.config.blockSize, host.builder().getLoc());
  Kernel(kb, s).build();
  gpu::GPUFuncOp kernel = kb.finish();
  kernel->setAttr("adamas.config",
                  s.config.toAttr(host.builder().getContext()));
  return kernel;
}

void mlir::adamas::emitSelect(HostBuilder &host, StringRef name,
                              const SelectLaunch &s) {
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
  // Distance rows padded to multiples of 8 (16-byte loads in the
  // compaction).
  Value distStride = mul(ceilDiv(capacity, idx(8)), idx(8));
  Value distances = host.allocScratch(hb.getI16Type(), mul(rows, distStride));
  Value result = host.flatten(s.result);
  SmallVector<Value> args(kNumArgs);
  args[kQueryCodes] = host.flatten(s.queryCodes);
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
  SmallVector<Type> types = llvm::to_vector(ValueRange(args).getTypes());

  if (c.clusterChunks) {
    gpu::GPUFuncOp cluster =
        buildKernel<ClusterSelectKernel>(host, name, "_cluster", types, s);
    host.launch(cluster, chunks, yBlocks, batches, c.blockSize, args,
                /*clusterX=*/chunks);
    return;
  }

  gpu::GPUFuncOp hist =
      buildKernel<HistogramKernel>(host, name, "_hist", types, s);
  // The threshold kernel scans the chunks with one warp, a lane per chunk.
  assert(c.maxChunks <= 32 && "the threshold kernel's chunk scan is one warp");
  gpu::GPUFuncOp threshold =
      buildKernel<ThresholdKernel>(host, name, "_threshold", types, s);
  gpu::GPUFuncOp compact =
      buildKernel<CompactKernel>(host, name, "_compact", types, s);

  host.launch(hist, chunks, yBlocks, batches, c.blockSize, args);
  host.launch(threshold, rows, idx(1), idx(1), c.blockSize, args);
  host.launch(compact, rows, chunks, idx(1), c.blockSize, args);
}
