//===- KernelConfig.cpp - Launch configurations of the fused kernels ------===//

#include "adamas/Conversion/AdamasToGPU/KernelConfig.h"
#include "adamas/Dialect/Adamas/Utils/CodeArithmetic.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/Support/MathExtras.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::adamas;

static std::string str(int64_t v) { return std::to_string(v); }

static DictionaryAttr
dictionary(MLIRContext *ctx,
           std::initializer_list<std::pair<StringRef, int64_t>> entries) {
  Builder b(ctx);
  SmallVector<NamedAttribute> attrs;
  for (auto [name, value] : entries)
    attrs.push_back(b.getNamedAttr(name, b.getI64IntegerAttr(value)));
  return b.getDictionaryAttr(attrs);
}

//===----------------------------------------------------------------------===//
// Encode
//===----------------------------------------------------------------------===//

ConfigOr<EncodeConfig> EncodeConfig::get(const EncodeProblem &problem,
                                         const TargetInfo &target) {
  int64_t d = problem.dims;
  // One warp holds a row, `d / 32` values per lane in registers.
  if (d < target.warpSize || d > 32 * target.warpSize ||
      !llvm::isPowerOf2_64(d))
    return ConfigOr<EncodeConfig>::fail(
        "the GPU encode kernel needs a row length D that is a power of two "
        "in [32, 1024], got D = " +
        str(d));
  EncodeConfig config;
  config.valuesPerLane = d / target.warpSize;
  if (problem.bits) {
    std::optional<int64_t> words = codeWordsPerRow(d, problem.bits);
    if (!words)
      return ConfigOr<EncodeConfig>::fail("no code layout for D = " + str(d) +
                                          " and bits = " + str(problem.bits));
    config.words = *words;
  }
  return {config, ""};
}

DictionaryAttr EncodeConfig::toAttr(MLIRContext *ctx) const {
  return dictionary(ctx, {{"warps_per_block", warpsPerBlock},
                          {"values_per_lane", valuesPerLane},
                          {"words", words}});
}

//===----------------------------------------------------------------------===//
// Select
//===----------------------------------------------------------------------===//

/// The tensor-core pass with the key ring: kAsyncKeyTiles tiles a slot (at
/// most the register pass's) in kAsyncKeyStages slots per warp.
static void useKeyRing(SelectConfig &c) {
  c.keyTilesPerWarp =
      std::min(c.keyTilesPerWarp, SelectConfig::kAsyncKeyTiles);
  c.asyncKeyStages = SelectConfig::kAsyncKeyStages;
}

ConfigOr<SelectConfig> SelectConfig::get(const SelectProblem &p,
                                         const TargetInfo &target,
                                         const SelectOptions &options) {
  using Result = ConfigOr<SelectConfig>;
  std::optional<int64_t> numBins = numDistanceBins(p.words, p.bits);
  if (!numBins)
    return Result::fail(
        "W = " + str(p.words) +
        " code words do not hold whole groups of bits = " + str(p.bits));
  if (p.kvHeads <= 0 || p.queryHeads % p.kvHeads != 0)
    return Result::fail("the GPU select kernel needs static heads with Hq a "
                        "multiple of Hkv, got Hq = " +
                        str(p.queryHeads) + ", Hkv = " + str(p.kvHeads));
  if (p.rows <= 0)
    return Result::fail("the GPU select kernel needs a static, positive M");
  if (p.k <= 0 || p.sink < 0 || p.recent < 0 || p.sink > p.k - p.recent)
    return Result::fail("k, sink and recent out of range");

  int64_t codeDims = *codeDimsOfWords(p.words, p.bits);
  if (p.encodesQueries &&
      (codeDims < target.warpSize || codeDims > 32 * target.warpSize ||
       !llvm::isPowerOf2_64(codeDims)))
    return Result::fail("the GPU select kernel encodes query rows of a power "
                        "of two in [32, 1024] values, got D = " +
                        str(codeDims));

  SelectConfig c;
  c.numBins = *numBins;
  c.encodesQueries = p.encodesQueries;
  c.groupSize = p.queryHeads / p.kvHeads;
  c.selectionHeads = p.sharedGroup ? p.kvHeads : p.queryHeads;
  c.queryHeadsPerRow = p.sharedGroup ? c.groupSize : 1;
  c.rowsPerKvHead = p.sharedGroup ? p.rows : c.groupSize * p.rows;

  // Query code words of a CTA's rows stay in registers for the whole pass.
  constexpr int64_t kMaxQueryWordsInRegisters = 64;
  int64_t wordsPerRow = c.queryHeadsPerRow * p.words;
  if (wordsPerRow > 2 * kMaxQueryWordsInRegisters)
    return Result::fail("a selection row needs " + str(wordsPerRow) +
                        " query code words in registers (more than " +
                        str(2 * kMaxQueryWordsInRegisters) +
                        "); use fewer heads per group or shorter codes");
  // Each row of a histogram CTA keeps a shared-memory histogram of i32
  // bins, the plan kernel one (the row's totals). Codes whose histogram
  // leaves room for fewer than two rows per CTA are refused (one CTA per SM
  // would starve the histogram pass of loads in flight).
  int64_t histBytes = 4 * c.numBins;
  if (2 * histBytes + 1024 > target.maxStaticSharedBytes)
    return Result::fail("D = " + str(*codeDimsOfWords(p.words, p.bits)) +
                        " with bits = " + str(p.bits) + " has " +
                        str(c.numBins) +
                        " distance bins, too many for shared memory");
  int64_t byRegisters =
      std::max<int64_t>(1, kMaxQueryWordsInRegisters / wordsPerRow);
  int64_t byShared = target.maxStaticSharedBytes / histBytes;
  c.rowsPerCta = std::min({c.rowsPerKvHead, byRegisters, byShared});
  c.rowGroups = llvm::divideCeil(c.rowsPerKvHead, c.rowsPerCta);
  c.loadWords = p.words % 4 == 0 ? 4 : p.words % 2 == 0 ? 2 : 1;
  // The threshold kernel keeps its bins' counts of every chunk slot in
  // registers (2 x maxChunks at D = 128, 2 bits: 124 registers with 32
  // slots, 2 CTAs per SM, so B = 16's 512 MHA or per-head rows ran in two
  // waves). With >= 32 selection rows per batch row the grid bounds
  // (emitSelect) leave at most 16 chunks at B <= 2 and about 528 / (B Hkv)
  // beyond, so 16 slots lose little there and fit 4 CTAs per SM; fewer
  // rows (shared_group, Hkv = 8: 8 rows at B = 1) keep 32 chunks for the
  // histogram pass's parallelism. NOTES.md item 21.
  if (c.selectionHeads * p.rows >= 32)
    c.maxChunks = 16;

  // Asked for (cluster-select: it measured no faster at 32K and slower at
  // 128K, bench/NOTES.md item 10) and with clusters, the cluster kernel (one
  // launch for the selection) where it measured best: one selection row of
  // one query head per CTA (MHA-like, M = 1). With several rows per CTA their
  // plans and compactions run in series and the histogram pass's registers
  // (4 query heads' words) halve the compaction's CTAs per SM: three
  // kernels win. At most 8 CTAs per cluster: 16 measured slower (37.5 vs
  // 27.8 us at 32K MHA), as did CTAs of 512 threads. Its shared memory: the
  // histogram, the row's totals and the earlier chunks' sums.
  constexpr int64_t kMaxClusterChunks = 8;
  bool clusterFits = 3 * histBytes + 1024 <= target.maxStaticSharedBytes;
  if (options.clusterSelect && target.maxClusterSize >= 2 && c.rowsPerCta == 1 &&
      c.queryHeadsPerRow == 1 && clusterFits)
    c.clusterChunks = std::min(target.maxClusterSize, kMaxClusterChunks);
  c.targetCtas = 4 * target.numMultiprocessors;
  // `ld.global.cs` and `discard.global.L2` are sm_80 PTX: every target.
  c.l2CacheHints = options.l2CacheHints;
  c.releasesLate = options.releasesLate;

  // Binary tensor-core distances (b1 mma.sync, sm_80 and newer: every
  // target here) where a CTA has at least two queries to rank, where each
  // lane's share of the product's k dimension is whole code groups (D / 32
  // groups a multiple of 4, or dividing 4), where a selection row's queries
  // (shared_group: its G heads, whose minimum ranks) tile the product's
  // 4 query columns evenly, and where the query side stays small in
  // registers (a word per slab and query tile). With one query per CTA
  // (MHA) the pass is bound by memory, not by its popcounts.
  int64_t groups = codeDims / kDimsPerGroup;
  int64_t queries = c.rowsPerCta * c.queryHeadsPerRow;
  int64_t queryTiles = llvm::divideCeil(queries, 4);
  int64_t rowHeads = c.queryHeadsPerRow;
  bool lanesHoldGroups = groups % 4 == 0 || 4 % groups == 0;
  bool rowsTile = 4 % rowHeads == 0 || rowHeads % 4 == 0;
  constexpr int64_t kMaxQueryFragmentWords = 32;
  bool queryWordsFit =
      queryTiles * c.tensorCoreSlabs() <= kMaxQueryFragmentWords;
  if (options.tensorCoreDistances && queries >= 2 && lanesHoldGroups && rowsTile &&
      queryWordsFit && c.clusterChunks == 0) {
    c.tensorCoreDistances = true;
    // About 24 code words in flight per lane (6 tiles at D = 128, 2 bits:
    // with 32-bit positions the pass fits 64 registers, 4 CTAs per SM, and
    // ran faster than 4 tiles where its stores do not dominate; 8 tiles
    // took 72 registers; NOTES.md item 24).
    int64_t groupsPerLane = groups % 4 == 0 ? groups / 4 : 1;
    c.keyTilesPerWarp =
        std::clamp<int64_t>(24 / (2 * groupsPerLane * p.bits), 1, 6);
    // Keys streamed into shared memory by asynchronous copies, where asked
    // for and key rows are whole 16-byte pieces: 3 tiles a slot (1.5 KB per
    // warp at D = 128, 2 bits) in 3 slots, 36 KB, which beside 4 rows'
    // histograms and the distance stage fits 48 KB (4 CTAs per SM, as the
    // register pass). Off by default: twice the iterations of 6 tiles, and
    // their overhead outweighed the latency the ring hid (NOTES.md items
    // 78-79); one bulk copy per slot instead (cp.async.bulk on an mbarrier)
    // was slower still (item 77).
    // Where the pass is short (B = 1 GQA), a second pass kernel with the
    // ring, which the host takes by the grid's size (NOTES.md item 81).
    bool ringable = p.words % 4 == 0;
    if (options.asyncKeyCopies && ringable)
      useKeyRing(c);
    else if (options.shortPassKeyCopies && ringable)
      c.ringPassMaxCtas = 2 * target.numMultiprocessors;
    int64_t stageBytes = 2 * c.distanceStageSize();
    int64_t queryBytes = 4 * queryTiles * 4 * (4 * c.tensorCoreSlabs() + 1);
    if (c.encodesQueries)
      queryBytes += 4 * queries * p.words;
    c.stagedDistanceStores = c.rowsPerCta * histBytes + queryBytes +
                                 stageBytes <=
                             target.maxStaticSharedBytes;
  }
  // The popcount pass's keys pipelined where a CTA ranks one query (MHA):
  // two sets of keys in flight then fit 64 registers (4 CTAs per SM, the
  // grid's sizing); with several queries' words in registers they would
  // not (G = 7 shared_group, D = 64: 100 registers, spills at 64).
  c.pipelinesKeys =
      options.pipelinesKeys && !c.tensorCoreDistances && queries == 1;
  // The grid-synchronised selection where a histogram CTA's chunk is one
  // row's (its plan and compaction are then the CTA's alone; with several
  // rows per CTA they would run in series, as in the cluster kernel).
  c.gridSync = options.gridSync && c.rowsPerCta == 1 && c.clusterChunks == 0;
  c.precompactsCandidates = c.gridSync && options.precompactsCandidates;
  return {c, ""};
}

SelectConfig SelectConfig::ringForm() const {
  assert(ringPassMaxCtas > 0 && "no ring form");
  SelectConfig r = *this;
  useKeyRing(r);
  r.ringPassMaxCtas = 0;
  return r;
}

int64_t SelectConfig::tensorCoreSlabs() const {
  // numBins - 1 = (2^b - 1) * D: the thermometer bits of a code row.
  return llvm::divideCeil(numBins - 1, 128);
}

int64_t SelectConfig::distanceStageSize() const {
  return (blockSize / 32) * (rowsPerCta + 1) * keyTilesPerWarp * 16;
}

DictionaryAttr SelectConfig::toAttr(MLIRContext *ctx) const {
  return dictionary(ctx, {{"async_key_stages", asyncKeyStages},
                          {"bins", numBins},
                          {"block_size", blockSize},
                          {"cluster_chunks", clusterChunks},
                          {"encodes_queries", encodesQueries},
                          {"grid_sync", gridSync},
                          {"key_tiles_per_warp", keyTilesPerWarp},
                          {"keys_per_thread", keysPerThread},
                          {"l2_cache_hints", l2CacheHints},
                          {"load_words", loadWords},
                          {"max_chunks", maxChunks},
                          {"min_chunk", minChunk},
                          {"pipelines_keys", pipelinesKeys},
                          {"precompacts_candidates", precompactsCandidates},
                          {"query_heads_per_row", queryHeadsPerRow},
                          {"releases_late", releasesLate},
                          {"ring_pass_max_ctas", ringPassMaxCtas},
                          {"row_groups", rowGroups},
                          {"rows_per_cta", rowsPerCta},
                          {"staged_distance_stores", stagedDistanceStores},
                          {"target_ctas", targetCtas},
                          {"tensor_core_distances", tensorCoreDistances}});
}

//===----------------------------------------------------------------------===//
// Attend
//===----------------------------------------------------------------------===//

/// The long form's CTAs per SM: where a CTA attends one head, the
/// `.minnctapersm` longForm() asks for; with tensor-core dots, what ptxas's
/// registers leave (95-128 at D = 128). A wave of long CTAs is this many
/// per SM (the cluster merge's bound).
constexpr int64_t kOneHeadLongCtasPerSm = 8, kTensorCoreLongCtasPerSm = 4;

/// Splits `slots` index slots into `splits` splits of whole warps' runs.
static void setSplits(AttendConfig &c, int64_t slots, int64_t splits) {
  c.splits = splits;
  c.slotsPerSplit = llvm::divideCeil(slots, splits);
  c.slotsPerWarp = llvm::divideCeil(c.slotsPerSplit, c.warpsPerBlock);
}

ConfigOr<AttendConfig> AttendConfig::get(const AttendProblem &p,
                                         const TargetInfo &target,
                                         const AttendOptions &options) {
  using Result = ConfigOr<AttendConfig>;
  auto laneDims = [&](int64_t d) -> std::optional<int64_t> {
    if (d < target.warpSize || d % target.warpSize != 0 ||
        d / target.warpSize > 8)
      return std::nullopt;
    return d / target.warpSize;
  };
  std::optional<int64_t> dimsPerLane = laneDims(p.dims);
  std::optional<int64_t> valueDimsPerLane = laneDims(p.valueDims);
  if (!dimsPerLane || !valueDimsPerLane)
    return Result::fail("the GPU attend kernel needs D and Dv multiples of 32 "
                        "up to 256, got D = " +
                        str(p.dims) + ", Dv = " + str(p.valueDims));
  if (p.kvHeads <= 0 || p.queryHeads % p.kvHeads != 0)
    return Result::fail("the GPU attend kernel needs static heads with Hq a "
                        "multiple of Hkv, got Hq = " +
                        str(p.queryHeads) + ", Hkv = " + str(p.kvHeads));
  if (p.slots <= 0)
    return Result::fail("the GPU attend kernel needs a static, positive "
                        "number of indices per row");
  AttendConfig c;
  c.dimsPerLane = *dimsPerLane;
  c.valueDimsPerLane = *valueDimsPerLane;
  c.headsPerCta = p.indicesPerKvHead ? p.queryHeads / p.kvHeads : 1;
  if (c.headsPerCta * (c.valueDimsPerLane + c.dimsPerLane) > 96)
    return Result::fail("a CTA would keep " + str(c.headsPerCta) +
                        " heads' accumulators in registers; too many");
  // Eight slots per warp and split: enough loads in flight per warp, enough
  // CTAs to spread a decode step's few rows over the chip.
  constexpr int64_t kSlotsPerWarp = 8;
  auto splitsOf = [&](int64_t slotsPerWarp) {
    int64_t perSplit = slotsPerWarp * c.warpsPerBlock;
    return std::clamp<int64_t>(llvm::divideCeil(p.slots, perSplit), 1, 64);
  };
  setSplits(c, p.slots, splitsOf(kSlotsPerWarp));
  if (c.slotsPerWarp > target.warpSize)
    return Result::fail("the GPU attend kernel takes at most 8192 indices per "
                        "row, got " +
                        str(p.slots));
  // The splits merged in a cluster (no merge kernel) where it fits the
  // target's clusters.
  c.clusterMerge = c.splits >= 2 && c.splits <= target.maxClusterSize;
  c.asyncClusterMerge = c.clusterMerge && options.asyncClusterMerge;
  // Taken only where the lowering also sets compactsSelection.
  c.asyncClusterCompaction =
      c.clusterMerge && options.asyncClusterCompaction;
  // With one head per CTA a wave is 4 CTAs of 128 threads per SM: B = 1 at
  // 32 heads, k = 256 is 256 CTAs (cluster merge 3.3 us faster), B = 16
  // 4096 (2.5 us slower), and B = 4 1024, two waves: once 1.3 us slower
  // (NOTES.md item 52), 2.1 us faster since its CTAs compact the selection
  // by chunks across the cluster (items 64, 65, 68), hence
  // `attend-cluster-waves` = 2. With several heads per CTA (shared_group,
  // ~80 registers) 6 per SM, one wave: B = 1 and 4 take the cluster, B = 16
  // (1024 CTAs) the merge kernel (the cluster measured 1.0 us slower there,
  // item 68). (With 125 registers, 4 CTAs per SM, it once measured no
  // faster at B = 1: NOTES.md items 11 and 46.)
  if (c.clusterMerge)
    c.clusterMergeMaxCtas =
        (c.headsPerCta == 1 ? options.clusterWaves * 4 : 6) *
        target.numMultiprocessors;
  // Several heads' scores per slot as one small tensor-core product: a
  // warp's 8 slots x G heads x D in D / 16 `mma.sync`s, where the per-lane
  // dots, the sums over the warp (reduce-scatters: ~2 selects per shuffle)
  // and their f32 conversions of K were most of the shared_group partial's
  // ~180 instructions per slot (NOTES.md items 43-44).
  c.tensorCoreDots = options.tensorCoreDots && p.halfElements &&
                     c.headsPerCta > 1 && c.headsPerCta <= 8 &&
                     p.dims % 16 == 0 && c.slotsPerWarp % 8 == 0;
  // Their softmax in the lanes that hold the products: per group of 8
  // slots and G = 4 heads, 2 exponentials per lane instead of 32, and the
  // 32 scores' shuffles become the 32 weights' (NOTES.md item 71).
  c.softmaxInQuads = c.tensorCoreDots && options.softmaxInQuads;
  // The long form: a warp per 32 slots (4x the short splits' 8) where that
  // means fewer splits. From 6 CTAs of 4 warps per SM (the default of
  // `attend-long-form-ctas-per-sm`), each warp with two groups of 4 slots'
  // K/V rows in flight (96 KB per SM at D = 128 in f16, three times DRAM's
  // latency times an SM's share of its bandwidth), the long CTAs keep the
  // chip busy. Fewer do not: from 1 per SM, B=16 shared_group (256 long
  // CTAs instead of 1024 short ones) measured 67.3 us against 61.3
  // (NOTES.md item 39).
  // With tensor-core dots (shared_group) the long form keeps them, a warp
  // per 16 slots (two groups of 8): 4 splits at k = 256 instead of 8, so
  // B=16's 128 rows are 512 CTAs, one wave where the short splits' 1024
  // ran in 1.3 (NOTES.md item 70). Its CTAs carry half the long form's
  // slots, so it is taken from half as many CTAs per SM, rounded up (3 by
  // default: where the short splits' grid outgrows a wave of 6 per SM).
  bool longDots = options.longFormTensorCoreDots && c.tensorCoreDots;
  int64_t longSplits = splitsOf(longDots ? 16 : target.warpSize);
  if (options.longSplits && longSplits < c.splits) {
    c.longSplits = longSplits;
    c.longFormTensorCoreDots = longDots;
    // Its splits (4 at k = 256 with tensor-core dots, else 2) fit a
    // cluster: where its grid is one wave (B=16 shared_group: 512 CTAs at 4
    // per SM; B=16 per head: 1024 at 8), the leader merges them from its
    // shared memory instead of a merge kernel reading them from L2 (the
    // short splits' cluster merge, item 59; NOTES.md items 72 and 75).
    // Past one wave shared_group's clusters measured slower (item 68; B=64:
    // 2048 CTAs); the per-head form's past one wave (B=64: 4096) was not
    // tried. (With several heads per CTA and per-lane dots, none.)
    if ((longDots || c.headsPerCta == 1) && options.longFormClusterMerge &&
        options.asyncClusterMerge && longSplits >= 2 &&
        longSplits <= target.maxClusterSize)
      c.longFormClusterMaxCtas =
          (longDots ? kTensorCoreLongCtasPerSm : kOneHeadLongCtasPerSm) *
          target.numMultiprocessors;
    c.longFormMinCtas =
        (longDots ? llvm::divideCeil(options.longFormCtasPerSm, 2)
                  : options.longFormCtasPerSm) *
        target.numMultiprocessors;
  }
  return {c, ""};
}

AttendConfig AttendConfig::longForm(const AttendProblem &p) const {
  assert(longSplits > 0 && "no long form");
  AttendConfig l = *this;
  setSplits(l, p.slots, longSplits);
  l.clusterMerge = false;
  l.asyncClusterMerge = false;
  l.asyncClusterCompaction = false;
  l.clusterMergeMaxCtas = 0;
  l.longSplits = 0;
  l.longFormMinCtas = 0;
  l.tensorCoreDots = longFormTensorCoreDots;
  l.softmaxInQuads = softmaxInQuads && l.tensorCoreDots;
  // (The tensor-core groups are not software-pipelined: loading a warp's
  // second group before computing on its first measured no faster at B=16
  // and 64, NOTES.md item 72.)
  l.prefetchNextGroup = !l.tensorCoreDots;
  l.longFormTensorCoreDots = false;
  l.longFormClusterMaxCtas = 0;
  l.compactsSelection = false;
  // Registers for a full wave of long CTAs where the grid is one (B = 16
  // per head: 1024 CTAs, 8 per SM: 64 registers, 4 bytes spilled as in the
  // short form); with several heads per CTA (shared_group) their
  // accumulators and queries need ~120, so 4; with tensor-core dots
  // ptxas's choice (128 with both groups' loads in flight at D = 128: 4
  // per SM, B=16's 512 CTAs one wave).
  l.minCtasPerSm = headsPerCta == 1 ? kOneHeadLongCtasPerSm
                  : l.tensorCoreDots ? 0
                                     : 4;
  return l;
}

DictionaryAttr AttendConfig::toAttr(MLIRContext *ctx) const {
  return dictionary(ctx, {{"async_cluster_compaction", asyncClusterCompaction},
                          {"async_cluster_merge", asyncClusterMerge},
                          {"cluster_merge", clusterMerge},
                          {"cluster_merge_max_ctas", clusterMergeMaxCtas},
                          {"compacts_selection", compactsSelection},
                          {"dims_per_lane", dimsPerLane},
                          {"heads_per_cta", headsPerCta},
                          {"long_form_cluster_max_ctas",
                           longFormClusterMaxCtas},
                          {"long_form_min_ctas", longFormMinCtas},
                          {"long_form_tensor_core_dots",
                           longFormTensorCoreDots},
                          {"long_splits", longSplits},
                          {"min_ctas_per_sm", minCtasPerSm},
                          {"prefetch_next_group", prefetchNextGroup},
                          {"slots_in_flight", slotsInFlight},
                          {"slots_per_split", slotsPerSplit},
                          {"slots_per_warp", slotsPerWarp},
                          {"softmax_in_quads", softmaxInQuads},
                          {"splits", splits},
                          {"tensor_core_dots", tensorCoreDots},
                          {"value_dims_per_lane", valueDimsPerLane},
                          {"warps_per_block", warpsPerBlock}});
}
