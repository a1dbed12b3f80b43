//===- SelectKernels.h - The l1_topk kernels' shared builders ---*- C++ -*-===//
//
// What the select kernels (SelectKernel.cpp: the plan and compaction
// kernels, the cluster kernel and the host side; SelectHistogram.cpp: the
// histogram pass and its two ways to compute distances) share: their
// argument list, the row arithmetic and block scans (SelectCommon), and the
// histogram pass the cluster kernel extends (HistogramKernel).
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_LIB_CONVERSION_ADAMASTOGPU_SELECTKERNELS_H
#define ADAMAS_LIB_CONVERSION_ADAMASTOGPU_SELECTKERNELS_H

#include "KernelBuilder.h"
#include "Kernels.h"
#include "adamas/Dialect/Adamas/Utils/CodeArithmetic.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

namespace mlir::adamas::select {

using Pred = arith::CmpIPredicate;

/// Positions per thread and pass of the compaction (a run): short runs
/// where a chunk is at most one pass of them, long runs beyond (fewer
/// passes, each with its block scan; both compaction kernels are built and
/// the host picks by chunk length). Distance rows are padded to whole long
/// runs, so both kernels' loads are aligned.
constexpr int64_t kShortRun = 16, kLongRun = 32;

/// Positions per chunk of a batch row that sees `visible` positions split
/// into `chunks`: ceil(visible / chunks) rounded up to a multiple of 32
/// (every phase's chunks, and the host's choice of compaction kernel).
inline Value buildChunkLength(ImplicitLocOpBuilder &b, Value visible,
                              Value chunks) {
  Value thirtyTwo = indexConst(b, 32);
  Value len = arith::CeilDivSIOp::create(b, visible, chunks);
  return arith::MulIOp::create(
      b, arith::CeilDivSIOp::create(b, len, thirtyTwo), thirtyTwo);
}

/// Kernel arguments shared by the select kernels, in this order.
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
  /// 1 where the compaction discards the distance lines it has read
  /// (SelectConfig::l2CacheHints, and the step's codes and distances
  /// together outgrow L2), else 0.
  kDiscardDistances,
  /// 1 where the histogram pass lets the next kernel launch at its start,
  /// 0 where only as its CTAs finish (emitAttend's launchSelection: where
  /// sparse_attn plans and compacts, and the pass has more CTAs than the
  /// chip has SMs).
  kReleaseEarly,
  kNumArgs
};
/// With SelectConfig::encodesQueries, kQueryCodes holds the query rows
/// (<B x Hq x M x D>, the query's element type), and per-head bucketize
/// thresholds (<Hq x 2^b - 1>), where the query's bucketize has them, come
/// last.
constexpr unsigned kQueryHeadThresholds = kNumArgs;

/// Builds what the select kernels compute the same way.
class SelectCommon {
public:
  SelectCommon(KernelBuilder &kb, const SelectLaunch &s)
      : kb(kb), b(kb.builder()), p(s.problem), c(s.config),
        queryEncoding(s.queryEncoding ? &*s.queryEncoding : nullptr),
        maxSharedBytes(s.maxSharedBytes) {}

  /// The visible length of the batch row's last query row, clamp(len, 0, N):
  /// the range the chunks split.
  Value visibleAll(Value length) {
    return clamp(b, length, kb.idx(0), kb.arg(kCapacity));
  }

  /// [begin, end) of chunk `chunk` within [0, visible).
  std::pair<Value, Value> chunkRange(Value chunk, Value visible) {
    Value len = buildChunkLength(b, visible, kb.arg(kChunks));
    Value begin = kb.minS(kb.mul(chunk, len), visible);
    Value end = kb.minS(kb.add(begin, len), visible);
    return {begin, end};
  }

  /// A row's free positions [freeBegin, freeEnd) within the chunk
  /// [begin, end): [lo, hi), and as i32 its first position and length:
  /// position p is one iff p - lo32 < width as unsigned i32 (one add and
  /// one compare per position; positions fit i32).
  struct FreeRange {
    Value lo, hi, lo32, width;
  };
  FreeRange clipFreeRange(Value begin, Value end, Value freeBegin,
                          Value freeEnd) {
    Value lo = kb.maxS(begin, freeBegin);
    Value hi = kb.minS(end, freeEnd);
    Value lo32 = toI32(b, lo);
    return {lo, hi, lo32, toI32(b, kb.maxS(kb.sub(hi, lo), kb.idx(0)))};
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
      Value batch = kb.divu(row, rowsPerBatch);
      body(resultRow(row, kb.toIdx(kb.load(kb.arg(kLengths), batch))));
    });
  }
  /// Existing row `row`'s ResultRow, its batch row's length (index) known.
  ResultRow resultRow(Value row, Value length) {
    ResultRow r;
    Value m = kb.remu(row, kb.idx(p.rows));
    r.length = length;
    r.visible = buildVisibleLength(b, r.length, kb.idx(p.rows), m,
                                   kb.arg(kCapacity));
    r.window = buildSelectionWindow(b, r.visible, p.k, p.sink, p.recent);
    return r;
  }
  /// Runs `plan()` for a row that needs a plan: rows that see at most k
  /// positions, or have no free slot, need none (the compaction writes them
  /// without one).
  void ifRowNeedsPlan(const ResultRow &r, function_ref<void()> plan) {
    kb.ifThen(ranksFreeSlots(r), plan);
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
  /// A chunk's positions that its row may select, found before the row's
  /// plan (the grid-synchronised kernels, SelectConfig::
  /// precompactsCandidates): `count` (index) of them, ascending, in
  /// `positions` (shared i32) with their distances in `distances` (shared
  /// i16, kCandidateCapacity, aligned as a run's loads), or count -1 where
  /// the chunk's positions are compacted as they are.
  struct ChunkCandidates {
    Value count, positions, distances;
  };
  static constexpr int64_t kCandidateCapacity = 1024;
  /// The selection of result row `row` within chunk `chunk`: chunk 0 writes
  /// the forced slots (or every position when the row sees at most k), and
  /// every chunk compacts its free positions with `plan()` (built only
  /// where it is needed); with `candidates` (count >= 0) the compaction
  /// walks them instead of the chunk.
  void compactRow(Value row, Value chunk, const ResultRow &r,
                  function_ref<ChunkPlan()> plan, Value warpSums,
                  const ChunkCandidates *candidates = nullptr);

  /// Row `row`'s plan as compactSlots takes it: lane c's chunk entry (its
  /// first output slot and the ties at T of the earlier chunks; lanes past
  /// the chunks hold what no ballot over existing chunks reads), T and
  /// skip, the same in every lane and warp.
  struct SlotPlan {
    Value first, ties, threshold, skip;
  };
  /// The first half of planRow: this thread's probe, the row's running
  /// count at bin min((t + 1) * s - 1, numBins - 1) with s = probeStride()
  /// (its chunks' cumulative histograms summed: one round of L2 loads).
  /// It needs only the row, so it can be in flight with the row's length.
  Value probeRow(Value row);
  /// Row `row`'s plan from its chunks' cumulative histograms (the
  /// histogram pass writes running counts, so a count below or at any bin
  /// is one load per chunk), by the whole CTA: the probes below `take`
  /// (ballots, one barrier through `warpCounts`, numWarps i32 of shared
  /// memory) say which s bins hold T; then every warp loads its chunks'
  /// counts at those bins (lane c: chunk c) and sums them over the lanes,
  /// which gives T, skip, and per chunk the positions below T and at T,
  /// whose scans over the lanes are the chunk entries. What the threshold
  /// kernel writes, and what sparse_attn's CTAs compute where they compact
  /// the slots they attend, in two dependent rounds of loads.
  SlotPlan planRow(Value row, Value probe, Value take, Value warpCounts);
  /// Chunk `chunk`'s (index or i32, below 32) entry of a row's plan: T and
  /// skip, its first slot and the ties at T before it (from its lane).
  ChunkPlan chunkPlan(const SlotPlan &plan, Value chunk) {
    return ChunkPlan{plan.threshold, plan.skip, kb.shuffleIdx(plan.first, chunk),
                     kb.shuffleIdx(plan.ties, chunk)};
  }
  /// Bins per probe of planRow: ceil(numBins / blockSize).
  int64_t probeStride() const {
    return llvm::divideCeil(c.numBins, c.blockSize);
  }
  /// Where bin `bin` of row `row`'s cumulative histogram of chunk `chunk`
  /// is in kHistograms.
  Value histogramEntry(Value row, Value chunk, Value bin) {
    return kb.add(
        kb.mul(kb.add(kb.mul(row, kb.arg(kChunks)), chunk), kb.idx(c.numBins)),
        bin);
  }
  /// Result row `row`'s slots [slotBegin, slotEnd) (a range of the k
  /// slots) into `slots` (shared, i32, slot s at s - slotBegin), as the
  /// compaction kernels would write them, by the whole CTA: the forced
  /// slots directly, the free ones by one ordered compaction over the
  /// chunks whose output slots meet the range (their first slots from the
  /// plan). What sparse_attn's CTAs do where they compact the selection
  /// they attend (AttendLaunch::selection).
  void compactSlots(Value row, const ResultRow &r, const SlotPlan &plan,
                    Value slotBegin, Value slotEnd, Value slots,
                    Value warpSums);
  /// compactSlots where a row's `splits` CTAs are one thread block cluster,
  /// CTA `rank` (index) holding slots [rank * perSplit, + perSplit) in its
  /// `slots`: each writes the slots of its range no plan decides, and
  /// compacts the row's chunks [rank * q, rank * q + q), q = ceil(chunks /
  /// splits), in one walk, storing each selected position into `slots` of
  /// the CTA that holds its slot (distributed shared memory). So every CTA
  /// walks the same share of the row's positions, once, where compactSlots
  /// walks every chunk that meets its slots (2-3 at B = 1, 32K: one pass or
  /// two). The caller makes sure every CTA of the cluster runs before, and
  /// that every CTA's stores are done after: a cluster barrier, or, given
  /// `arrived` (each CTA's mbarrier, the same shared buffer in every CTA),
  /// the positions go by st.async completing on the holder's `arrived`,
  /// which expects 4 bytes for each of its filledSlotCount.
  void compactSlotsAcrossCluster(Value row, const ResultRow &r,
                                 const SlotPlan &plan, Value rank,
                                 int64_t splits, int64_t perSplit,
                                 Value slots, Value warpSums,
                                 Value arrived = Value());
  /// How many of the slots [slotBegin, slotEnd) of row `r` a plan fills
  /// (index): its free slots (freeSlotRange) where the row has a plan
  /// (ranksFreeSlots), else none.
  Value filledSlotCount(const ResultRow &r, Value slotBegin, Value slotEnd);
  /// Positions per thread and pass of the compaction (kShortRun, kLongRun).
  void setCompactionRun(int64_t run) { compactionRun = run; }

  /// Where the histogram pass writes a row's distances and the compaction
  /// reads them: kDistances (row r at r * kDistStride, position p at p), or
  /// with `sharedDistances` (the grid-synchronised kernel's one row, i16,
  /// `sharedDistanceCapacity` positions) position p at p - sharedOrigin (the
  /// CTA's chunk begin, set by the pass).
  Value distanceBuffer() {
    return sharedDistances ? sharedDistances : kb.arg(kDistances);
  }
  Value distanceIndex(Value row, Value pos) {
    if (sharedDistances)
      return kb.sub(pos, sharedOrigin);
    return kb.add(kb.mul(row, kb.arg(kDistStride)), pos);
  }

private:
  /// The slots [slotBegin, slotEnd) of `slots` that no plan decides (step 1
  /// of compactSlots).
  void writeUndecidedSlots(const ResultRow &r, Value slotBegin, Value slotEnd,
                           Value slots);
  /// The free slots of [slotBegin, slotEnd), [lo, hi) (empty where hi <=
  /// lo): those past the sink and before the recent ones.
  std::pair<Value, Value> freeSlotRange(Value slotBegin, Value slotEnd) {
    return {kb.maxS(slotBegin, kb.idx(p.sink)),
            kb.minS(slotEnd, kb.idx(p.k - p.recent))};
  }
  /// Whether row `r` has free slots that a plan fills: it sees more than k
  /// positions and takes some (i1).
  Value ranksFreeSlots(const ResultRow &r) {
    return arith::AndIOp::create(
        b, kb.cmp(Pred::sgt, r.visible, kb.idx(p.k)),
        kb.cmp(Pred::sgt, r.window.take, kb.idx(0)));
  }
  void writeAll(Value rowOut, Value visible);
  void writeForced(Value rowOut, Value visible);
  /// Where the compaction puts a selected position (i32) at output slot
  /// `slot` (i32).
  using PutSlot = function_ref<void(Value slot, Value position)>;
  void compact(Value row, Value begin, Value end, Value freeBegin,
               Value freeEnd, const ChunkPlan &plan, Value warpSums,
               PutSlot put);
  /// compact() over `candidates` (count >= 0) with `plan`: `put` gets each
  /// selected candidate's position.
  void compactCandidates(Value row, const ChunkCandidates &candidates,
                         const ChunkPlan &plan, Value warpSums, PutSlot put);
  /// With SelectConfig::l2CacheHints: drops the L2 lines of distances the
  /// compaction pass whose thread's run starts at `first` has read (row
  /// `distRow`, chunk ending at `end`), so they are never written back.
  void discardPassLines(Value first, Value end, Value distRow);

protected:
  /// Whether row `r` has free slots that a plan fills (ranksFreeSlots).
  Value needsPlan(const ResultRow &r) { return ranksFreeSlots(r); }
  /// The ordered compaction of compactRow, for kernels that narrow the
  /// positions first (GridSelectKernel).
  void compactPositions(Value row, Value begin, Value end, Value freeBegin,
                        Value freeEnd, const ChunkPlan &plan, Value warpSums,
                        PutSlot put) {
    compact(row, begin, end, freeBegin, freeEnd, plan, warpSums, put);
  }
  /// The compaction's run (kShortRun or kLongRun).
  int64_t compactionRun = kShortRun;
  /// The compaction tests only runs that hold candidates (a branch per
  /// thread): for a short list of candidates (ChunkCandidates) walked by a
  /// few of the CTA's warps.
  bool compactionSkipsEmptyRuns = false;
  /// See distanceBuffer.
  Value sharedDistances, sharedOrigin;
  int64_t sharedDistanceCapacity = 0;

public:

  int64_t numWarps() const { return c.blockSize / 32; }

  KernelBuilder &kb;
  ImplicitLocOpBuilder &b;
  const SelectProblem &p;
  const SelectConfig &c;
  /// How the queries are encoded, with SelectConfig::encodesQueries.
  const EncodeJob *queryEncoding;
  /// The target's static shared memory per kernel.
  int64_t maxSharedBytes;
};


//===----------------------------------------------------------------------===//
// Kernel 1: distances and histograms (SelectHistogram.cpp)
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
    Value length; // its batch row's length (index)
    Value freeBegin, freeEnd;
    SmallVector<SmallVector<Value>> queryWords; // [query head][word]
    // The row's free positions within the CTA's chunk (clipToChunk): lo
    // as i32 and width. Position p ranks iff p - lo < width unsigned.
    Value lo, width;
  };
  /// Sets `row.lo` and `row.width` for the chunk [begin, end).
  void clipToChunk(Row &row, Value begin, Value end);
  /// Row `rowInHead` of the KV head's selection rows (invalid at or past
  /// rowsPerKvHead); with `loadQueries` its query heads' code words too.
  Row makeRow(Value batch, Value kvHead, Value rowInHead, Value length,
              bool loadQueries = true);
  /// The row of the query codes (<B x Hq x M x W>) of query head `g` of
  /// the (existing) selection row `rowInHead`.
  Value queryRowOf(Value batch, Value kvHead, Value rowInHead, Value g);
  /// The query row of the CTA's query qi (head qi % G' of its row qi / G',
  /// in row group `group`); rows past the end take row 0's.
  Value ctaQueryRow(Value batch, Value kvHead, Value group, Value qi);
  Value distance(const Row &row, ArrayRef<Value> keyWords);
  /// `width` (1, 2, 4) words of the key codes at `index`, aligned to the
  /// whole load: evict-first with SelectConfig::l2CacheHints.
  Value loadKeyCodes(Value index, int64_t width);
  /// The pass over the CTA's chunk; then `epilogue(chunk, rows, hist)` with
  /// every row's histogram complete in `hist` (shared, row r's bins at
  /// r * numBins).
  void buildPass(
      function_ref<void(Value chunk, ArrayRef<Row> rows, Value hist)>
          epilogue);
  /// Writes every row's histogram of the CTA's chunk (`hist`, complete) to
  /// kHistograms as running counts.
  void storeHistograms(Value chunk, ArrayRef<Row> rows, Value hist);

private:
  /// Whether `pos` (i32) is one of `row`'s free positions in the chunk,
  /// whose distances rank.
  Value isFree(Value pos, const Row &row);
  /// Where a free position's distance goes: the i16 for the compaction and
  /// a count in the CTA's histogram of row `rowInCta`.
  void recordDistance(Value rowIndex, Value rowInCta, Value pos, Value d,
                      Value hist);
  /// The code words of the thread's keys at pos0 + u * blockSize (u <
  /// keysPerThread; positions past `end` take its last key), key-major.
  SmallVector<Value> loadThreadKeys(Value pos0, Value end, Value keyBase);
  /// The pass with per-thread popcounts: each thread takes whole keys,
  /// `keysPerThread` in flight, and every row's distance to each. With
  /// `firstKeys` (the thread's first keys, loadThreadKeys) the next keys
  /// load while these rank (SelectConfig::pipelinesKeys).
  void popcountPass(Value begin, Value end, Value keyBase, ArrayRef<Row> rows,
                    Value hist, ArrayRef<Value> firstKeys);
  /// SelectConfig::asyncKeyStages: each warp's ring of key slots in shared
  /// memory, slot s of warp w at (w * stages + s) * slotWords (i32).
  /// Iteration i of the pass goes to slot i % stages, copied by the warp's
  /// lanes as the i-th group of asynchronous copies of each lane.
  struct KeyRing {
    int64_t stages = 0, slotKeys = 0, slotWords = 0;
    Value slots;
    Value begin, end, keyBase; // the chunk, and its KV head's first key word
    Value policy; // the copies' L2 cache policy (SelectConfig::l2CacheHints)
    explicit operator bool() const { return stages != 0; }
  };
  /// The CTA's key ring where SelectConfig::asyncKeyStages asks for one and
  /// at least two slots fit the shared memory the kernel's buffers so far
  /// leave (allocate every other buffer first).
  KeyRing makeKeyRing(Value begin, Value end, Value keyBase);
  /// Every lane: its 16-byte pieces of the warp's keys of pass iteration
  /// `iteration` (index, from 0; none past the chunk's end) copied into
  /// their slot, as one group (committed, empty or not).
  void issueKeyCopy(const KeyRing &ring, Value iteration);
  /// The pass with binary tensor-core products (SelectConfig::
  /// tensorCoreDistances): `queryWords` (shared) holds the CTA's queries'
  /// thermometer words (query-major, 4 * slabs words each, zero past the
  /// last query) and `querySums` their S(q).
  /// `stage` (or null): the distance stage (SelectConfig::
  /// stagedDistanceStores); `ring` (or empty): the keys' ring.
  void tensorCorePass(Value begin, Value end, Value keyBase, Value batch,
                      Value kvHead, Value group, Value length,
                      ArrayRef<Row> rows, Value hist, Value queryWords,
                      Value querySums, Value stage, const KeyRing &ring);
  /// Fills `queryWords` and adds into `querySums` (zeroed) for the CTA's
  /// queries (query qi: head qi % G' of row qi / G'), from `queryCodes`
  /// where the CTA encoded them (encodeQueries), else from the kernel's.
  void fillQueryWords(Value batch, Value kvHead, Value group,
                      Value queryWords, Value querySums, Value queryCodes);
  /// With SelectConfig::encodesQueries: the code words of the CTA's
  /// queries, encoded from the query rows by a warp each, into `queryCodes`
  /// (shared; query qi as in fillQueryWords at qi * W), for after the next
  /// barrier. Rows past the end take row 0's query, like makeRow.
  void encodeQueries(Value batch, Value kvHead, Value group,
                     Value queryCodes);
};


} // namespace mlir::adamas::select

#endif // ADAMAS_LIB_CONVERSION_ADAMASTOGPU_SELECTKERNELS_H
