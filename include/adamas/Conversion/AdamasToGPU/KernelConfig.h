//===- KernelConfig.h - Launch configurations of the fused kernels -*- C++
//-*-===//
//
// The configuration of each fused kernel (DESIGN.md section 4) is chosen here,
// in plain C++ from static shapes and the target, apart from the code that
// builds the kernel (as IREE's LLVMGPU chooses a lowering config before
// codegen). A configuration either fits its problem or says why not; the
// lowering turns that reason into a diagnostic naming the op, so nothing it
// cannot do is miscompiled. The chosen values are attached to each
// `gpu.func` as `adamas.config` and checked by lit tests.
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_CONVERSION_ADAMASTOGPU_KERNELCONFIG_H
#define ADAMAS_CONVERSION_ADAMASTOGPU_KERNELCONFIG_H

#include "adamas/Conversion/AdamasToGPU/TargetInfo.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/Support/LLVM.h"

#include <cstdint>
#include <optional>
#include <string>

namespace mlir::adamas {

/// A configuration, or the reason the problem is not supported.
template <typename Config> struct ConfigOr {
  std::optional<Config> config;
  std::string reason;

  static ConfigOr fail(std::string why) { return {std::nullopt, why}; }
  explicit operator bool() const { return config.has_value(); }
  const Config &operator*() const { return *config; }
  const Config *operator->() const { return &*config; }
};

//===----------------------------------------------------------------------===//
// Encode: hadamard and/or bucketize of rows, one warp per row.
//===----------------------------------------------------------------------===//

struct EncodeProblem {
  /// Row length D.
  int64_t dims = 0;
  /// Apply the Walsh-Hadamard transform first.
  bool hadamard = false;
  /// Code bits, 0 when the rows are not bucketized (hadamard only).
  int64_t bits = 0;
};

struct EncodeConfig {
  /// Rows (warps) per CTA.
  int64_t warpsPerBlock = 4;
  /// Elements of a row each lane holds: lane l holds dims l + 32 j.
  int64_t valuesPerLane = 0;
  /// Code words per row (0 without bucketize).
  int64_t words = 0;

  static ConfigOr<EncodeConfig> get(const EncodeProblem &problem,
                                    const TargetInfo &target);
  DictionaryAttr toAttr(MLIRContext *ctx) const;
};

//===----------------------------------------------------------------------===//
// Select: l1_topk as one kernel of thread block clusters (a cluster per row
// group, a CTA per chunk: histograms, the plan from the cluster's histograms
// in distributed shared memory, ordered compaction), or without clusters as
// three kernels: histograms, the row plans (threshold and each chunk's output
// slots), ordered compaction.
//===----------------------------------------------------------------------===//

struct SelectProblem {
  int64_t words = 0, bits = 2;
  int64_t queryHeads = 0, kvHeads = 0, rows = 1;
  int64_t k = 0, sink = 0, recent = 1;
  bool sharedGroup = false;
  /// The kernels get the query rows (D = 32 W / bits values each) instead
  /// of their codes, and encode them (the lowering fused the query's
  /// bucketize, and its hadamard, into l1_topk).
  bool encodesQueries = false;
};

/// The lowering's choices for l1_topk (adamas-lower-to-gpu's options of
/// these names).
struct SelectOptions {
  /// `cluster-select`: the cluster kernel where it applies.
  bool clusterSelect = false;
  /// `tensor-core-distances`: the tensor-core histogram pass where it
  /// applies.
  bool tensorCoreDistances = true;
  /// `l2-cache-hints`: SelectConfig::l2CacheHints.
  bool l2CacheHints = true;
  /// `select-encodes-queries`: the lowering fuses the query's encoding into
  /// l1_topk where its codes feed nothing else (SelectProblem::
  /// encodesQueries), and then writes the new keys' codes after the step's
  /// attention where no selection ranks them.
  bool encodesQueries = true;
  /// `select-releases-late`: SelectConfig::releasesLate.
  bool releasesLate = true;
  /// `select-pipelines-keys`: SelectConfig::pipelinesKeys.
  bool pipelinesKeys = true;
  /// `select-grid-sync`: SelectConfig::gridSync.
  bool gridSync = true;
  /// `select-precompacts-candidates`: SelectConfig::precompactsCandidates.
  bool precompactsCandidates = false;
  /// `select-async-key-copies`: SelectConfig::asyncKeyStages.
  bool asyncKeyCopies = false;
  /// `select-short-pass-key-copies`: SelectConfig::ringPassMaxCtas.
  bool shortPassKeyCopies = true;
};

struct SelectConfig {
  /// Distinct distances, (2^b - 1) * D + 1.
  int64_t numBins = 0;
  /// Query heads per KV head.
  int64_t groupSize = 1;
  /// Heads of the result: Hq, or Hkv with shared_group.
  int64_t selectionHeads = 0;
  /// Query heads whose minimum distance ranks one selection row (G with
  /// shared_group, else 1).
  int64_t queryHeadsPerRow = 1;
  /// Selection rows that read one KV head's codes: G * M, or M with
  /// shared_group. A CTA of the histogram kernel takes `rowsPerCta` of them
  /// (one pass over a chunk of codes serves them all).
  int64_t rowsPerKvHead = 1;
  int64_t rowsPerCta = 1;
  int64_t rowGroups = 1;
  /// Threads per CTA of the three kernels.
  int64_t blockSize = 256;
  /// Keys each thread loads before computing (memory-level parallelism).
  int64_t keysPerThread = 2;
  /// i32 words per vector load of a key's codes (4 = 16 bytes).
  int64_t loadWords = 4;
  /// Chunks per row: the host takes
  /// clamp(min(ceil(N / minChunk), floor(targetCtas / CTAs per chunk),
  /// floor(targetCtas / rows) if that is >= 8), 1, maxChunks), so the
  /// histogram and compaction grids fill the chip in one wave where they
  /// can, without tiny chunks (SelectKernel.cpp, emitSelect). The plan
  /// kernel scans the chunks of a row with one warp: maxChunks <= 32.
  int64_t minChunk = 1024;
  int64_t maxChunks = 32;
  int64_t targetCtas = 0;
  /// Chunks of a row group are the CTAs of one cluster, at most this many
  /// (the target's cluster size); 0: no clusters, three kernels.
  int64_t clusterChunks = 0;
  /// The histogram pass takes a CTA's distances from binary tensor-core
  /// products (`mma.sync .b1.and.popc`) instead of per-thread popcounts:
  /// with thermometer planes U_t, |a - c| summed over a key is
  /// S(a) + S(c) - 2 sum_t popc(U_t(a) & U_t(c)), so one product of a warp's
  /// 16 keys (rows) against 4 queries and an all-ones column (columns, the
  /// latter giving S(c)) yields 64 distances. Where a CTA serves several
  /// queries (GQA, M > 1); NOTES.md item 17 has the measurements.
  bool tensorCoreDistances = false;
  /// Tiles of 16 keys each warp loads before computing (loads in flight).
  int64_t keyTilesPerWarp = 0;
  /// Where not 0, the tensor-core pass reads its keys from shared memory:
  /// each warp has a ring of (at most; a kernel with less shared memory to
  /// spare takes fewer, and none below 2) this many slots, one iteration's
  /// keys each (keyTilesPerWarp * 16 whole key rows, contiguous in the
  /// codes), which its lanes fill by asynchronous copies of 16 bytes
  /// (`cp.async.cg`, one group per slot) asyncKeyStages - 1 iterations
  /// ahead. The bytes in flight then cost no registers, and stay in flight
  /// while the warp computes. Where asked for (`select-async-key-copies`,
  /// off by default: at B=16 the pass's stalls per instruction fell from 21
  /// to 13 cycles, but its instructions rose by 58% and it ran slower;
  /// NOTES.md items 77-79) and keys are whole 16-byte pieces (W a multiple
  /// of 4).
  int64_t asyncKeyStages = 0;
  /// With tensor-core distances and no ring (asyncKeyStages == 0): the
  /// largest histogram grid (CTAs, known at run time) that takes
  /// `_hist_ring`, the pass with the key ring (ringForm()), built beside
  /// `_hist`. With one or two CTAs per SM (B = 1 GQA: 128-256 CTAs) each
  /// warp's register loads leave the SM short of bytes in flight, which
  /// the ring's copies supply (its first ones before the query encoding):
  /// B = 1 per head 14.4 -> 14.1 us at 32K, 27.4 -> 25.2 at 128K, 72.4 ->
  /// 62.3 at 512K; where the grid is larger its extra instructions cost
  /// more than it hides (NOTES.md items 79, 81). Two CTAs per SM
  /// (`select-short-pass-key-copies`); 0: none.
  int64_t ringPassMaxCtas = 0;
  /// The tensor-core pass writes its i16 distances through shared memory:
  /// each warp stages an iteration's distances per row, then stores them as
  /// 16-byte pieces (whole sectors) instead of one 2-byte store per lane
  /// and key. Where the stage fits in shared memory beside the histograms.
  bool stagedDistanceStores = false;

  /// The i16 distances stay in L2 between the histogram pass that writes
  /// them and the compaction that reads them, and never reach DRAM: the
  /// pass reads the key codes (read once per step) evict-first
  /// (`ld.global.cs`), so they, not the distances, make room as the codes
  /// stream through; the compaction discards each 128-byte line of
  /// distances it has read (`discard.global.L2`), so no dirty line is
  /// written back. At B = 16 (32/8, 32K) the round trip was 33.5 MB each
  /// way through DRAM (NOTES.md item 31). The host turns the discards off
  /// where the step's codes and distances fit L2 together (they cost 0.3-0.4
  /// us at B <= 4 there and save nothing; NOTES.md item 49).
  bool l2CacheHints = false;

  /// The histogram pass encodes its CTA's queries (hadamard + bucketize, a
  /// warp per query, EncodeRow.h) into shared memory before the pass, so
  /// that no encode kernel runs before the selection (SelectProblem::
  /// encodesQueries).
  bool encodesQueries = false;

  /// The threshold and compaction kernels let the next kernel launch only
  /// as their CTAs finish (`launch_dependents` last), so its CTAs are not
  /// placed beside theirs (NOTES.md items 52, 54 and 55).
  bool releasesLate = true;
  /// The popcount histogram pass loads each thread's next keys while it
  /// ranks the current ones, and its first keys before the barrier that
  /// waits for the query's encoding, where a CTA ranks one query (MHA;
  /// NOTES.md item 56).
  bool pipelinesKeys = true;
  /// Where a histogram CTA ranks one selection row: the grid-synchronised
  /// kernels (`_grid`, `_grid_long`) are built, whose CTAs, after their
  /// histograms and a grid-wide barrier, plan their row and compact their
  /// chunk, in place of the threshold and compaction kernels. The host
  /// takes them where those would run and the grid fits targetCtas (every
  /// CTA resident: a cooperative launch; NOTES.md item 60).
  bool gridSync = false;
  /// With gridSync, in the kernels whose distances stay in shared memory:
  /// between its arrival at the grid-wide barrier and its wait there, each
  /// CTA compacts its chunk's candidates, the positions at or below T_c,
  /// its chunk's first bin whose running count reaches the row's free
  /// slots (the row's T is at most T_c), into shared memory where at most
  /// 1024; after the plan the compaction walks them instead of the chunk.
  /// The CTAs' compaction then runs while they wait for the last one
  /// (NOTES.md item 87; off by default until measured).
  bool precompactsCandidates = false;

  static ConfigOr<SelectConfig> get(const SelectProblem &problem,
                                    const TargetInfo &target,
                                    const SelectOptions &options = {});
  /// Words (32 b1 elements each) of the product's k dimension a lane holds
  /// per 16 keys and the key code groups it loads for them (see
  /// SelectKernel.cpp): the thermometer words of the D / 32 groups, plane
  /// major, padded to a multiple of 4 (one 128-bit k slab per 4 words).
  int64_t tensorCoreSlabs() const;
  /// The tensor-core pass's distance stage (stagedDistanceStores), in i16:
  /// per warp a row per selection row and one for tiles past the last row,
  /// keyTilesPerWarp * 16 keys long.
  int64_t distanceStageSize() const;
  /// The configuration of `_hist_ring` (ringPassMaxCtas > 0): the key ring's
  /// slots of kAsyncKeyTiles tiles in kAsyncKeyStages stages.
  SelectConfig ringForm() const;
  DictionaryAttr toAttr(MLIRContext *ctx) const;

  /// The key ring's tiles per slot and slots (asyncKeyStages).
  static constexpr int64_t kAsyncKeyTiles = 3, kAsyncKeyStages = 3;
};

//===----------------------------------------------------------------------===//
// Attend: sparse_attn as split-K flash decoding plus an f32 merge.
//===----------------------------------------------------------------------===//

struct AttendProblem {
  int64_t dims = 0, valueDims = 0;
  int64_t queryHeads = 0, kvHeads = 0, rows = 1, slots = 0;
  /// Indices have Hkv heads: the G query heads of a KV head share them, and
  /// a CTA loads each selected K/V row once for all G.
  bool indicesPerKvHead = false;
  /// Q, K and V are f16 or bf16 (else f32): tensor-core products apply.
  bool halfElements = false;
};

/// The lowering's choices for sparse_attn (adamas-lower-to-gpu's options of
/// these names).
struct AttendOptions {
  /// `attend-long-splits`: AttendConfig::longSplits where it applies.
  bool longSplits = true;
  /// `attend-long-form-ctas-per-sm`: AttendConfig::longFormMinCtas per
  /// multiprocessor.
  int64_t longFormCtasPerSm = 6;
  /// `attend-tensor-core-dots`: AttendConfig::tensorCoreDots where it
  /// applies.
  bool tensorCoreDots = true;
  /// `attend-compacts-selection`: AttendConfig::compactsSelection where the
  /// indices are an l1_topk's that nothing else reads (the lowering decides).
  bool compactsSelection = true;
  /// `attend-async-cluster-merge`: AttendConfig::asyncClusterMerge.
  bool asyncClusterMerge = true;
  /// `attend-async-cluster-compaction`: AttendConfig::asyncClusterCompaction.
  bool asyncClusterCompaction = true;
  /// `attend-cluster-waves`: AttendConfig::clusterMergeMaxCtas in waves of
  /// the cluster kernel's CTAs, where a CTA attends one head.
  int64_t clusterWaves = 2;
  /// `attend-long-form-tensor-core-dots`:
  /// AttendConfig::longFormTensorCoreDots where the short form has them.
  bool longFormTensorCoreDots = true;
  /// `attend-softmax-in-quads`: AttendConfig::softmaxInQuads where the
  /// scores are tensor-core products.
  bool softmaxInQuads = true;
  /// `attend-long-form-cluster-merge`: AttendConfig::longFormClusterMaxCtas
  /// where it applies.
  bool longFormClusterMerge = true;
};

struct AttendConfig {
  int64_t warpsPerBlock = 4;
  /// Query heads a CTA serves with each loaded K/V row.
  int64_t headsPerCta = 1;
  /// Slot splits (CTAs) per row, each merged in f32 by the second kernel.
  int64_t splits = 1;
  /// Slots per split, per warp (<= 32: one index per lane), and walked at a
  /// time with their K/V loads in flight together.
  int64_t slotsPerSplit = 0;
  int64_t slotsPerWarp = 0;
  int64_t slotsInFlight = 4;
  /// Elements of q/k (D) and of v (Dv) per lane, contiguous.
  int64_t dimsPerLane = 0, valueDimsPerLane = 0;
  /// The splits of a row are one thread block cluster that merges its
  /// partials in distributed shared memory (no merge kernel): where the
  /// target has clusters of at least `splits` CTAs.
  bool clusterMerge = false;
  /// With clusterMerge, the splits send their partials to the leader with
  /// `st.async` (each completing bytes on an mbarrier of the leader's, which
  /// the leader waits on) instead of stores before a cluster barrier, whose
  /// release arrive costs a MEMBAR.ALL.GPU after the stores (NOTES.md item
  /// 59). The other CTAs exit right after their stores.
  bool asyncClusterMerge = false;
  /// With clusterMerge, the largest grid (rows x splits CTAs, known at run
  /// time) that takes the cluster kernel; larger grids take the partial and
  /// merge kernels, which are built beside it (the host gives the form not
  /// taken an empty grid, which launches nothing). Two waves where a CTA
  /// attends one head (`attend-cluster-waves`), one where it attends
  /// several (NOTES.md items 32, 52, 68).
  int64_t clusterMergeMaxCtas = 0;
  /// A second form for grids of many rows (B known at run time), built
  /// beside the first: `longSplits` splits of a row, a warp taking up to 32
  /// slots (one index per lane) and loading each next group's K/V rows
  /// before it computes on the current one (prefetchNextGroup; with
  /// longFormTensorCoreDots 16 slots in two tensor-core groups). Fewer,
  /// longer CTAs: the per-CTA prologue, the warps' merge and the partials
  /// shared by 4x the slots. The host takes it where its grid (rows x
  /// longSplits CTAs) is at least `longFormMinCtas`, enough warps on every
  /// SM to keep DRAM busy; smaller grids need the short splits' CTAs to
  /// fill the chip. 0: no long form (the short splits already take 32
  /// slots per warp, or `attend-long-splits=false`).
  int64_t longSplits = 0;
  int64_t longFormMinCtas = 0;
  /// With tensorCoreDots: the long form keeps them, a warp taking 16 slots
  /// (two groups of 8) instead of 32 (NOTES.md item 70).
  bool longFormTensorCoreDots = false;
  /// With longFormTensorCoreDots or one head per CTA, where the long splits
  /// fit a cluster: the largest long grid whose splits merge in their
  /// cluster (`_cluster_long`: st.async into the leader, no merge kernel),
  /// one wave (4 CTAs per SM with tensor-core dots, 8 with one head per
  /// CTA); larger ones take the long partial and merge kernels. 0: never
  /// (NOTES.md items 72 and 75).
  int64_t longFormClusterMaxCtas = 0;
  /// Each warp issues the loads of its next group of slots before the
  /// arithmetic on the current one (two groups in flight).
  bool prefetchNextGroup = false;
  /// CTAs per SM the partial kernel's registers must allow (`nvvm.minctasm`;
  /// 0: ptxas's choice).
  int64_t minCtasPerSm = 0;
  /// With several heads per CTA (shared_group, at most 8) in f16 or bf16,
  /// a warp's scores for a group of 8 slots come from tensor-core products
  /// (`mma.sync.m16n8k16`: the heads' queries as rows of A, the slots' keys
  /// as columns of B, f32 accumulators) instead of per-lane dots summed over
  /// the warp. Groups of 8 slots (slotsPerWarp a multiple of 8); the long
  /// form keeps them with longFormTensorCoreDots.
  bool tensorCoreDots = false;
  /// With tensorCoreDots, the softmax of a group's scores is taken where
  /// the products leave them: lane l takes the weights of head l / 4's
  /// slots 2 (l % 4) and +1 (2 exponentials, not G x 8 in every lane), the
  /// head's maximum over its quad, and keeps its share of the head's
  /// weight sum; every lane then gets every head's maximum and every
  /// weight by shuffles for its slice of the values (NOTES.md item 71).
  bool softmaxInQuads = false;
  /// The short forms' CTAs plan and compact the slots they attend from the
  /// l1_topk that writes the indices (its distances and cumulative chunk
  /// histograms; the lowering sets this where nothing else reads the
  /// indices and the select runs as three kernels): no threshold or
  /// compaction kernel between the histogram pass and the attention, and
  /// no plan or index through global memory. The host still launches those
  /// kernels where it takes the long form, whose CTAs read the indices, and
  /// where a chunk is longer than one pass of a CTA's runs (each CTA would
  /// walk several whole chunks).
  bool compactsSelection = false;
  /// With clusterMerge and compactsSelection, the cluster's CTAs send the
  /// positions each compacts to the CTA holding their slot with `st.async`,
  /// completing bytes on an mbarrier of that CTA's, which waits for its
  /// free slots' bytes (known from its rank), instead of stores before a
  /// cluster barrier, whose release costs a MEMBAR.ALL.GPU (NOTES.md items
  /// 59, 65). The lowering keeps it only where the CTAs compact.
  bool asyncClusterCompaction = false;

  static ConfigOr<AttendConfig> get(const AttendProblem &problem,
                                    const TargetInfo &target,
                                    const AttendOptions &options = {});
  /// The long form's configuration (longSplits > 0): splits, slots per
  /// split and warp for `problem`, prefetching, no cluster merge.
  AttendConfig longForm(const AttendProblem &problem) const;
  DictionaryAttr toAttr(MLIRContext *ctx) const;
};

} // namespace mlir::adamas

#endif // ADAMAS_CONVERSION_ADAMASTOGPU_KERNELCONFIG_H
