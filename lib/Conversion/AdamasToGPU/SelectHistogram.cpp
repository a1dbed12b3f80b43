//===- SelectHistogram.cpp - l1_topk: distances and histograms -----------===//
//
// Phase 1 of the selection (SelectKernel.cpp has the whole picture): one
// pass over a chunk of a KV head's key codes computes every selection row's
// exact L1 distance to each free position, stores it as i16 for the
// compaction and counts it in a shared-memory histogram per row. Two ways
// to the distance: per-thread popcounts of whole keys (CodeArithmetic.h),
// or, where a CTA ranks several queries, binary tensor-core products of
// thermometer planes (SelectConfig::tensorCoreDistances). The tensor-core
// form writes its distances through a per-warp shared-memory stage in
// 16-byte pieces (SelectConfig::stagedDistanceStores; NOTES.md item 24).
// The key codes are read evict-first (SelectConfig::l2CacheHints), so the
// distances stay in L2 for the compaction. Asked to, the tensor-core pass
// reads them from a ring of shared-memory slots per warp that asynchronous
// copies fill ahead of it (SelectConfig::asyncKeyStages, off by default;
// NOTES.md items 77-79).
//
//===----------------------------------------------------------------------===//

#include "EncodeRow.h"
#include "SelectKernels.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::adamas;
using namespace mlir::adamas::select;

HistogramKernel::Row HistogramKernel::makeRow(Value batch, Value kvHead,
                                              Value rowInHead, Value length,
                                              bool loadQueries) {
  Row row;
  row.length = length;
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

Value HistogramKernel::loadKeyCodes(Value index, int64_t width) {
  if (c.l2CacheHints)
    return kb.loadVectorStreaming(kb.arg(kKeyCodes), index, width);
  return kb.loadVector(kb.arg(kKeyCodes), index, width, 4 * width);
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
  // The next kernel launches now, or as the pass's CTAs finish (kReleaseEarly;
  // GridDependency::WaitFirstReleaseByKernel).
  Value releaseEarly = kb.cmp(Pred::ne, kb.arg(kReleaseEarly), kb.idx(0));
  kb.releaseDependentsIf(releaseEarly);
  buildPass([&](Value chunk, ArrayRef<Row> rows, Value hist) {
    storeHistograms(chunk, rows, hist);
  });
  kb.releaseDependentsIf(notI1(b, releaseEarly));
}

void HistogramKernel::storeHistograms(Value chunk, ArrayRef<Row> rows,
                                      Value hist) {
  // Every (row, chunk) histogram is written, empty or not, as running
  // counts (bin t: the positions at distance <= t), so that a row's plan
  // needs one load per chunk for a count below or at a bin (planRow).
  // Row r is summed in place by warp r % numWarps: lane l's bins
  // [l * P, l * P + P) in turn, offset by a scan of the lanes' totals
  // (P = 13 at D = 128, 2 bits: odd strides, no bank conflicts).
  Value warp = kb.toIdx(kb.warpId());
  Value lane = kb.toIdx(kb.laneId());
  int64_t perLane = llvm::divideCeil(c.numBins, 32);
  for (auto [r, row] : llvm::enumerate(rows)) {
    Value mine = arith::AndIOp::create(
        b, row.valid,
        kb.cmp(Pred::eq, warp, kb.idx(int64_t(r) % numWarps())));
    kb.ifThen(mine, [&] {
      Value first = kb.add(kb.idx(int64_t(r) * c.numBins),
                           kb.mul(lane, kb.idx(perLane)));
      Value end = kb.idx((int64_t(r) + 1) * c.numBins);
      SmallVector<Value> inRow, running;
      Value total = kb.i32(0);
      for (int64_t i = 0; i < perLane; ++i) {
        Value at = kb.add(first, kb.idx(i));
        inRow.push_back(kb.cmp(Pred::ult, at, end));
        total = arith::AddIOp::create(
            b, total, kb.loadIf(inRow.back(), hist, at, kb.i32(0)));
        running.push_back(total);
      }
      Value before =
          arith::SubIOp::create(b, kb.warpInclusiveScan(total), total);
      for (int64_t i = 0; i < perLane; ++i)
        kb.ifThen(inRow[i], [&] {
          kb.store(arith::AddIOp::create(b, before, running[i]), hist,
                   kb.add(first, kb.idx(i)));
        });
    });
  }
  kb.barrier();
  Value tid = kb.threadId();
  for (auto [r, row] : llvm::enumerate(rows)) {
    kb.ifThen(row.valid, [&] {
      Value out = histogramEntry(row.index, chunk, kb.idx(0));
      kb.forLoop(tid, kb.idx(c.numBins), kb.idx(c.blockSize), [&](Value bin) {
        Value count =
            kb.load(hist, kb.add(kb.idx(int64_t(r) * c.numBins), bin));
        kb.store(count, kb.arg(kHistograms), kb.add(out, bin));
      });
    });
  }
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
  int64_t queries = c.rowsPerCta * c.queryHeadsPerRow;
  int64_t queryColumns = 4 * llvm::divideCeil(queries, 4);
  Value queryCodes; // encodesQueries: the CTA's queries' code words
  if (c.encodesQueries)
    queryCodes = kb.sharedBuffer(b.getI32Type(), queries * p.words);
  Value queryWords, querySums, stage;
  if (c.tensorCoreDistances) {
    queryWords = kb.sharedBuffer(b.getI32Type(),
                                 queryColumns * 4 * c.tensorCoreSlabs());
    querySums = kb.sharedBuffer(b.getI32Type(), queryColumns);
    // The tensor-core pass's distance stage, allocated here so that the
    // key ring (makeKeyRing) counts it.
    if (c.stagedDistanceStores)
      stage = kb.sharedBuffer(b.getI16Type(), c.distanceStageSize());
  }

  kb.ifThen(kb.cmp(Pred::ult, batch, kb.arg(kBatches)), [&] {
    Value length = kb.toIdx(kb.load(kb.arg(kLengths), batch));
    auto [begin, end] = chunkRange(chunk, visibleAll(length));
    if (sharedDistances)
      sharedOrigin = begin;
    // The key rows of this KV head start at ((b * Hkv + h) * N) * W: built
    // before the ring's first copies where there is one, and again where
    // the passes have always built it (the default kernels unchanged).
    auto firstKeyWord = [&] {
      return kb.mul(kb.mul(kb.add(kb.mul(batch, kb.idx(p.kvHeads)), kvHead),
                           kb.arg(kCapacity)),
                    kb.idx(p.words));
    };
    // With a key ring the first iterations' copies go out now, in flight
    // while the CTA encodes its queries and fills the product's query side.
    KeyRing ring;
    if (c.tensorCoreDistances && c.asyncKeyStages) {
      ring = makeKeyRing(begin, end, firstKeyWord());
      for (int64_t s = 0; s + 1 < ring.stages; ++s)
        issueKeyCopy(ring, kb.idx(s));
    }

    SmallVector<Row> rows;
    for (int64_t r = 0; r < c.rowsPerCta; ++r)
      rows.push_back(makeRow(
          batch, kvHead, kb.add(kb.mul(group, kb.idx(c.rowsPerCta)), kb.idx(r)),
          length,
          /*loadQueries=*/!c.tensorCoreDistances && !c.encodesQueries));
    for (Row &row : rows)
      clipToChunk(row, begin, end);
    if (c.encodesQueries)
      encodeQueries(batch, kvHead, group, queryCodes);
    Value keyBase = firstKeyWord();
    // With SelectConfig::pipelinesKeys the thread's first keys are loaded
    // here, before the barrier after the histogram's zeroing, which also
    // waits for the query's encoding where the CTA encodes it (warp 0; the
    // others' loads are in flight meanwhile).
    SmallVector<Value> firstKeys;
    if (c.pipelinesKeys) {
      Value lb = kb.add(begin, tid);
      SmallVector<Value> zeros(c.keysPerThread * p.words, kb.i32(0));
      firstKeys = kb.ifThenElseValues(
          kb.cmp(Pred::ult, lb, end),
          [&] { return loadThreadKeys(lb, end, keyBase); }, zeros);
    }

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
    // The popcount pass keeps the encoded query words in registers.
    if (c.encodesQueries && !c.tensorCoreDistances)
      for (auto [r, row] : llvm::enumerate(rows))
        for (int64_t g = 0; g < c.queryHeadsPerRow; ++g) {
          int64_t first = (int64_t(r) * c.queryHeadsPerRow + g) * p.words;
          SmallVector<Value> words;
          for (int64_t w = 0; w < p.words; ++w)
            words.push_back(kb.load(queryCodes, kb.idx(first + w)));
          row.queryWords.push_back(words);
        }

    if (c.tensorCoreDistances) {
      fillQueryWords(batch, kvHead, group, queryWords, querySums,
                     queryCodes);
      kb.barrier();
      tensorCorePass(begin, end, keyBase, batch, kvHead, group, length, rows,
                     hist, queryWords, querySums, stage, ring);
    } else {
      popcountPass(begin, end, keyBase, rows, hist, firstKeys);
    }
    kb.barrier();
    epilogue(chunk, rows, hist);
  });
}

HistogramKernel::KeyRing HistogramKernel::makeKeyRing(Value begin, Value end,
                                                      Value keyBase) {
  KeyRing ring;
  if (!c.asyncKeyStages)
    return ring;
  int64_t slotKeys = c.keyTilesPerWarp * 16;
  int64_t slotBytes = slotKeys * p.words * 4;
  // What the kernel's other buffers leave, less the ring's alignment.
  int64_t room = maxSharedBytes - workgroupBytes(kb.func()) - 16;
  int64_t stages = std::min(c.asyncKeyStages, room / (numWarps() * slotBytes));
  if (stages < 2)
    return ring;
  ring.stages = stages;
  ring.slotKeys = slotKeys;
  ring.slotWords = slotKeys * p.words;
  ring.slots =
      kb.sharedBuffer(b.getI32Type(), numWarps() * stages * ring.slotWords);
  ring.begin = begin;
  ring.end = end;
  ring.keyBase = keyBase;
  if (c.l2CacheHints)
    ring.policy = kb.evictFirstPolicy();
  return ring;
}

void HistogramKernel::issueKeyCopy(const KeyRing &ring, Value iteration) {
  // The warp's keys of the iteration are slotKeys whole key rows from
  // `first`: piece q (16 bytes) of the slot is piece q % (W / 4) of key
  // q / (W / 4); lane l copies pieces l, l + 32, ... (a warp's copy
  // instruction reads 512 contiguous bytes).
  Value warp = kb.warpId();
  Value lane = kb.toIdx(kb.laneId());
  Value first = kb.add(
      kb.add(ring.begin,
             kb.mul(iteration, kb.idx(numWarps() * ring.slotKeys))),
      kb.mul(warp, kb.idx(ring.slotKeys)));
  Value slotFirst = kb.mul(
      kb.add(kb.mul(warp, kb.idx(ring.stages)),
             kb.remu(iteration, kb.idx(ring.stages))),
      kb.idx(ring.slotWords));
  int64_t piecesPerKey = p.words / 4;
  int64_t pieces = ring.slotKeys * piecesPerKey;
  for (int64_t q0 = 0; q0 < pieces; q0 += 32) {
    Value piece = kb.add(lane, kb.idx(q0));
    Value pos = kb.add(first, kb.divu(piece, kb.idx(piecesPerKey)));
    Value copies = kb.cmp(Pred::slt, pos, ring.end);
    if (q0 + 32 > pieces)
      copies = arith::AndIOp::create(
          b, copies, kb.cmp(Pred::ult, piece, kb.idx(pieces)));
    kb.ifThen(copies, [&] {
      Value from = kb.add(kb.add(ring.keyBase, kb.mul(pos, kb.idx(p.words))),
                          kb.mul(kb.remu(piece, kb.idx(piecesPerKey)),
                                 kb.idx(4)));
      kb.asyncCopy16(ring.slots, kb.add(slotFirst, kb.mul(piece, kb.idx(4))),
                     kb.arg(kKeyCodes), from, ring.policy);
    });
  }
  kb.asyncCopyCommit();
}

void HistogramKernel::clipToChunk(Row &row, Value begin, Value end) {
  FreeRange range = clipFreeRange(begin, end, row.freeBegin, row.freeEnd);
  row.lo = range.lo32;
  row.width = range.width;
}

Value HistogramKernel::isFree(Value pos, const Row &row) {
  return arith::CmpIOp::create(b, Pred::ult,
                               arith::SubIOp::create(b, pos, row.lo),
                               row.width);
}

void HistogramKernel::recordDistance(Value rowIndex, Value rowInCta, Value pos,
                                     Value d, Value hist) {
  kb.store(arith::TruncIOp::create(b, b.getI16Type(), d), distanceBuffer(),
           distanceIndex(rowIndex, pos));
  Value bin = kb.add(kb.mul(rowInCta, kb.idx(c.numBins)), kb.toIdx(d));
  kb.atomicAdd(kb.i32(1), hist, bin);
}

SmallVector<Value> HistogramKernel::loadThreadKeys(Value pos0, Value end,
                                                  Value keyBase) {
  SmallVector<Value> words;
  for (int64_t u = 0; u < c.keysPerThread; ++u) {
    Value pos = kb.add(pos0, kb.idx(u * c.blockSize));
    Value safe = kb.minS(pos, kb.sub(end, kb.idx(1)));
    Value first = kb.add(keyBase, kb.mul(safe, kb.idx(p.words)));
    for (int64_t w = 0; w < p.words; w += c.loadWords) {
      Value vec = loadKeyCodes(kb.add(first, kb.idx(w)), c.loadWords);
      for (int64_t e = 0; e < c.loadWords; ++e)
        words.push_back(vector::ExtractOp::create(b, vec, e));
    }
  }
  return words;
}

void HistogramKernel::popcountPass(Value begin, Value end, Value keyBase,
                                   ArrayRef<Row> rows, Value hist,
                                   ArrayRef<Value> firstKeys) {
  Value tid = kb.threadId();
  int64_t perIteration = c.blockSize * c.keysPerThread;
  // Every row's distance to the thread's keys at pos0 + u * blockSize.
  auto rank = [&](Value pos0, ArrayRef<Value> words) {
    for (int64_t u = 0; u < c.keysPerThread; ++u) {
      Value pos = kb.add(pos0, kb.idx(u * c.blockSize));
      ArrayRef<Value> key = words.slice(u * p.words, p.words);
      for (auto [r, row] : llvm::enumerate(rows)) {
        Value free = isFree(toI32(b, pos), row);
        Value d = distance(row, key);
        kb.ifThen(free, [&] {
          recordDistance(row.index, kb.idx(int64_t(r)), pos, d, hist);
        });
      }
    }
  };
  Value lb = kb.add(begin, tid);
  if (firstKeys.empty()) {
    // Load every key first, then compute: keysPerThread loads in flight.
    kb.forLoop(lb, end, kb.idx(perIteration), [&](Value pos0) {
      rank(pos0, loadThreadKeys(pos0, end, keyBase));
    });
    return;
  }
  // Pipelined: the next iteration's keys in flight while these rank (past
  // the chunk's end they load its last key again: one sector per CTA).
  kb.forLoop(lb, end, kb.idx(perIteration), firstKeys,
             [&](Value pos0, ValueRange keys) {
               SmallVector<Value> next = loadThreadKeys(
                   kb.add(pos0, kb.idx(perIteration)), end, keyBase);
               rank(pos0, SmallVector<Value>(keys));
               return next;
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

Value HistogramKernel::ctaQueryRow(Value batch, Value kvHead, Value group,
                                   Value qi) {
  int64_t qh = c.queryHeadsPerRow;
  Value rowInHead =
      kb.add(kb.mul(group, kb.idx(c.rowsPerCta)), kb.divu(qi, kb.idx(qh)));
  // Rows past the end take row 0's query; nothing selects by them.
  rowInHead = kb.select(kb.cmp(Pred::ult, rowInHead, kb.idx(c.rowsPerKvHead)),
                        rowInHead, kb.idx(0));
  return queryRowOf(batch, kvHead, rowInHead, kb.remu(qi, kb.idx(qh)));
}

void HistogramKernel::encodeQueries(Value batch, Value kvHead, Value group,
                                    Value queryCodes) {
  const EncodeJob &job = *queryEncoding;
  int64_t qh = c.queryHeadsPerRow;
  kb.forLoop(kb.warpId(), kb.idx(c.rowsPerCta * qh), kb.idx(numWarps()),
             [&](Value qi) {
    Value queryRow = ctaQueryRow(batch, kvHead, group, qi);
    SmallVector<Value> rounded = transformWarpRow(
        kb, job.problem, job.elementType,
        loadWarpRow(kb, kb.arg(kQueryCodes), queryRow, job.problem.dims));
    SmallVector<Value> thresholds = rowThresholds(
        kb, job, job.headThresholds ? kb.arg(kQueryHeadThresholds) : Value(),
        queryRow, kb.idx(p.rows), kb.idx(p.queryHeads));
    Value word =
        laneWord(kb, codeWordsOfWarpRow(kb, p.bits, rounded, thresholds));
    Value lane = kb.toIdx(kb.laneId());
    kb.ifThen(kb.cmp(Pred::ult, lane, kb.idx(p.words)), [&] {
      kb.store(word, queryCodes, kb.add(kb.mul(qi, kb.idx(p.words)), lane));
    });
  });
}

void HistogramKernel::fillQueryWords(Value batch, Value kvHead, Value group,
                                     Value queryWords, Value querySums,
                                     Value queryCodes) {
  int64_t groups = p.words / p.bits;
  int64_t paddedWords = 4 * c.tensorCoreSlabs();
  int64_t qh = c.queryHeadsPerRow;
  int64_t entries = c.rowsPerCta * qh * groups;
  kb.forLoop(kb.threadId(), kb.idx(entries), kb.idx(c.blockSize),
             [&](Value i) {
    Value qi = kb.divu(i, kb.idx(groups));
    Value codeGroup = kb.remu(i, kb.idx(groups));
    // The query's row of codes: the CTA's own (encodeQueries) or the
    // kernel's argument.
    Value codeRow =
        c.encodesQueries ? qi : ctaQueryRow(batch, kvHead, group, qi);
    Value codes = c.encodesQueries ? queryCodes : kb.arg(kQueryCodes);
    Value first = kb.add(kb.mul(codeRow, kb.idx(p.words)),
                         kb.mul(codeGroup, kb.idx(p.bits)));
    SmallVector<Value> codePlanes;
    for (int64_t j = 0; j < p.bits; ++j)
      codePlanes.push_back(kb.load(codes, kb.add(first, kb.idx(j))));
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
                                     Value querySums, Value stage,
                                     const KeyRing &ring) {
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
    Row row = makeRow(batch, kvHead, rowInHead, length,
                      /*loadQueries=*/false);
    clipToChunk(row, begin, end);
    return std::make_pair(r, row);
  };
  SmallVector<std::pair<Value, Row>> laneRows;
  if (qh % 4 != 0)
    for (int64_t j = 0; j < tiles; ++j)
      laneRows.push_back(laneRow(j));

  auto minU = [&](Value x, Value y) -> Value {
    return arith::MinUIOp::create(b, x, y);
  };

  int64_t perIteration = numWarps() * keyTiles * 16;
  // Positions in i32 (they fit), so that the per-key address, clamp and
  // free-position arithmetic is 32-bit (ncu: the 64-bit forms were a third
  // of the pass's instructions). The lane's first key of an iteration is
  // at iteration + (warp * keyTiles * 16 + gid).
  Value laneFirst = toI32(
      b, kb.add(kb.mul(kb.warpId(), kb.idx(keyTiles * 16)), gid));
  Value last = toI32(b, kb.sub(end, kb.idx(1)));
  // Key h (0, 1) of the lane in tile tt of the iteration at `iteration`.
  auto keyPosition = [&](Value iteration32, int64_t tt, int64_t h) {
    return arith::AddIOp::create(
        b, iteration32,
        arith::AddIOp::create(b, laneFirst, kb.i32(16 * tt + 8 * h)));
  };
  // With stagedDistanceStores each lane writes its distances into its
  // warp's stage (row r's keys of the iteration at r * keysPerWarp; a row
  // past the CTA's last row for tiles that have none), and after the
  // iteration the warp stores the stage in 16-byte pieces: whole sectors,
  // 1/8 of the store instructions. Every (row, key) of the stage has one
  // writer, or lanes writing the same value (a quad's minimum). Pieces are
  // aligned (chunks start at multiples of 32, distance rows are padded to
  // multiples of 8); non-free positions of the chunk get a distance nothing
  // reads (the compaction tests its own candidates), positions past the
  // chunk none, except the last chunk's tail up to the row's padding.
  const int64_t keysPerWarp = keyTiles * 16;
  const int64_t stageRows = c.rowsPerCta + 1;
  Value warpStage, end32;
  if (c.stagedDistanceStores) {
    warpStage = kb.mul(kb.warpId(), kb.idx(stageRows * keysPerWarp));
    end32 = toI32(b, end);
  }
  // Distance d (i32) of the lane's key h of tile tt for the CTA's row r
  // (index; rowsPerCta and beyond: no row): staged, or stored directly if
  // the position is free; counted if it is free and `counts` (the lane is
  // its row's recorder).
  auto record = [&](Value r, Value rowIndex, Value free, Value counts,
                    Value pos, int64_t tt, int64_t h, Value d) {
    if (c.stagedDistanceStores) {
      Value slot = kb.add(
          kb.add(warpStage,
                 kb.mul(arith::MinUIOp::create(b, r, kb.idx(c.rowsPerCta)),
                        kb.idx(keysPerWarp))),
          kb.add(gid, kb.idx(16 * tt + 8 * h)));
      kb.store(arith::TruncIOp::create(b, b.getI16Type(), d), stage, slot);
      kb.ifThen(arith::AndIOp::create(b, counts, free), [&] {
        kb.atomicAdd(kb.i32(1), hist,
                     kb.add(kb.mul(r, kb.idx(c.numBins)), kb.toIdx(d)));
      });
      return;
    }
    kb.ifThen(arith::AndIOp::create(b, counts, free), [&] {
      recordDistance(rowIndex, r, kb.toIdx(pos), d, hist);
    });
  };
  // The warp's stage to the distance rows (after a warp barrier; another
  // one before the next iteration writes it again).
  auto flushStage = [&](Value iteration32) {
    kb.syncWarp();
    const int64_t piecesPerRow = keysPerWarp / 8;
    const int64_t pieces = c.rowsPerCta * piecesPerRow;
    Value warpFirst = arith::AddIOp::create(
        b, iteration32,
        toI32(b, kb.mul(kb.warpId(), kb.idx(keysPerWarp))));
    for (int64_t first = 0; first < pieces; first += 32) {
      Value piece = kb.add(lane, kb.idx(first));
      Value r = kb.divu(piece, kb.idx(piecesPerRow));
      Value k8 = kb.remu(piece, kb.idx(piecesPerRow));
      Value rowIndex = rows[0].index, valid = rows[0].valid;
      for (int64_t k = 1; k < c.rowsPerCta; ++k) {
        Value isK = kb.cmp(Pred::eq, r, kb.idx(k));
        rowIndex = kb.select(isK, rows[k].index, rowIndex);
        valid = kb.select(isK, rows[k].valid, valid);
      }
      Value pos = arith::AddIOp::create(
          b, warpFirst,
          arith::MulIOp::create(b, toI32(b, k8), kb.i32(8)));
      Value ok = arith::AndIOp::create(
          b, valid, arith::CmpIOp::create(b, Pred::slt, pos, end32));
      if (first + 32 > pieces)
        ok = arith::AndIOp::create(
            b, ok, kb.cmp(Pred::ult, piece, kb.idx(pieces)));
      kb.ifThen(ok, [&] {
        Value vec = kb.loadVector(
            stage,
            kb.add(warpStage, kb.add(kb.mul(r, kb.idx(keysPerWarp)),
                                     kb.mul(k8, kb.idx(8)))),
            8, 16);
        kb.storeVector(vec, distanceBuffer(),
                       distanceIndex(rowIndex, kb.toIdx(pos)), 16);
      });
    }
    kb.syncWarp();
  };

  // Every key word of an iteration is loaded first, then computed on: the
  // lane's code planes of each (tile, key h) and code group, from one 8-byte
  // load per group at 2 bits, else one load per plane. Without a ring they
  // come from global memory, positions past the chunk reading its last key
  // (loading the next iteration's keys before computing measured no
  // faster: NOTES.md item 19). With a ring (SelectConfig::asyncKeyStages)
  // from the warp's slot of the iteration, once its copies are complete;
  // the warp first refills the slot it read in the iteration before (every
  // lane has, by the warp barrier) with the keys of the iteration
  // stages - 1 ahead. Positions past the chunk read whatever their slot
  // row holds: their distances, like the last key's, are neither counted
  // nor read.
  kb.forLoop(begin, end, kb.idx(perIteration), [&](Value iteration) {
    SmallVector<Value> positions;                      // [tile * 2 + h]
    SmallVector<SmallVector<SmallVector<Value>>> keys; // [.][group][plane]
    Value iteration32 = toI32(b, iteration);
    Value slotFirst;
    if (ring) {
      Value it = kb.divu(kb.sub(iteration, begin), kb.idx(perIteration));
      kb.syncWarp();
      issueKeyCopy(ring, kb.add(it, kb.idx(ring.stages - 1)));
      // This iteration's group is the oldest of the stages pending; the
      // warp barrier makes every lane's pieces visible to the warp.
      kb.asyncCopyWait(ring.stages - 1);
      kb.syncWarp();
      Value slot = kb.add(kb.mul(kb.warpId(), kb.idx(ring.stages)),
                          kb.remu(it, kb.idx(ring.stages)));
      slotFirst = kb.mul(slot, kb.idx(ring.slotWords));
    }
    for (int64_t tt = 0; tt < keyTiles; ++tt) {
      for (int64_t h = 0; h < 2; ++h) {
        Value pos = keyPosition(iteration32, tt, h);
        positions.push_back(pos);
        Value codes = ring ? ring.slots : kb.arg(kKeyCodes), first;
        if (ring) {
          Value key = kb.add(gid, kb.idx(16 * tt + 8 * h));
          first = kb.add(slotFirst, kb.mul(key, kb.idx(p.words)));
        } else {
          Value safe = arith::MinSIOp::create(b, pos, last);
          first = kb.add(keyBase, kb.toIdx(arith::MulIOp::create(
                                      b, safe, kb.i32(p.words))));
        }
        auto load = [&](Value at, int64_t width) {
          return ring ? kb.loadVector(codes, at, width, 4 * width)
                      : loadKeyCodes(at, width);
        };
        SmallVector<SmallVector<Value>> keyGroups;
        for (int64_t i = 0; i < groupsPerLane; ++i) {
          Value codeGroup = wholeGroups ? kb.add(tig, kb.idx(4 * i))
                                        : kb.remu(tig, kb.idx(groups));
          Value at = kb.add(first, kb.mul(codeGroup, kb.idx(p.bits)));
          SmallVector<Value> codePlanes;
          if (p.bits == 2) {
            // Even words per row and group: 8-byte aligned.
            Value vec = load(at, 2);
            for (int64_t e = 0; e < 2; ++e)
              codePlanes.push_back(vector::ExtractOp::create(b, vec, e));
          } else {
            for (int64_t e = 0; e < p.bits; ++e)
              codePlanes.push_back(vector::ExtractOp::create(
                  b, load(kb.add(at, kb.idx(e)), 1), 0));
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
        Value always = arith::ConstantIntOp::create(b, 1, 1);
        if (qh == 1) {
          for (int64_t j = 0; j < tiles; ++j) {
            auto &[r, row] = laneRows[j];
            record(r, row.index, isFree(pos, row), always, pos, tt, h,
                   dist[j][h]);
          }
        } else if (qh % 4 != 0) {
          // A row's G heads are lanes tig .. tig + G - 1 of the quad.
          for (int64_t j = 0; j < tiles; ++j) {
            Value d = dist[j][h];
            for (int64_t mask = 1; mask < qh; mask *= 2)
              d = minU(d, kb.shuffleXor(d, mask));
            auto &[r, row] = laneRows[j];
            Value lead = kb.cmp(Pred::eq, kb.remu(tig, kb.idx(qh)), kb.idx(0));
            record(r, row.index, isFree(pos, row), lead, pos, tt, h, d);
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
            record(kb.idx(r), rows[r].index, isFree(pos, rows[r]), lead, pos,
                   tt, h, d);
          }
        }
      }
    }
    if (c.stagedDistanceStores)
      flushStage(iteration32);
  });
}
