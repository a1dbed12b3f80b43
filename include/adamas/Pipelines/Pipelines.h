//===- Pipelines.h - Adamas pass pipelines ----------------------*- C++ -*-===//
//
// Pipelines are plain functions over an OpPassManager so that another
// compiler can embed them without going through the textual registry.
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_PIPELINES_PIPELINES_H
#define ADAMAS_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

#include <string>

namespace mlir::adamas {

/// Options of `adamas-cpu-pipeline`.
struct CPUPipelineOptions : public PassPipelineOptions<CPUPipelineOptions> {
  PassOptions::Option<unsigned> runtimeVerification{
      *this, "runtime-verification",
      llvm::cl::desc(
          "Run-time checks (failed ones print on stderr and abort): 0 none; "
          "1 every dynamic-size rule of the adamas ops (and the checks of "
          "other run-time verifiable ops) of the input; 2 also every memory "
          "access of the lowered program (slow; for debugging lowerings)"),
      llvm::cl::init(0)};
};

/// adamas ops (and the surrounding tensor program) down to the LLVM dialect
/// through the portable reference lowering, runnable with `mlir-runner`.
void buildCPUPipeline(OpPassManager &pm, const CPUPipelineOptions &options);
/// The same with the default options.
void buildCPUPipeline(OpPassManager &pm);

/// What gpu-module-to-binary embeds.
enum class KernelFormat { Bin, Isa, Fatbin };

/// Options of `adamas-gpu-pipeline`.
struct GPUPipelineOptions : public PassPipelineOptions<GPUPipelineOptions> {
  PassOptions::Option<std::string> chip{
      *this, "chip", llvm::cl::desc("Target chip, sm_80 or newer"),
      llvm::cl::init("sm_90")};
  PassOptions::Option<KernelFormat> format{
      *this, "format",
      llvm::cl::desc("Kernel format embedded in the host code"),
      llvm::cl::init(KernelFormat::Bin),
      llvm::cl::values(
          clEnumValN(KernelFormat::Bin, "bin", "cubin"),
          clEnumValN(KernelFormat::Isa, "isa",
                     "PTX, compiled by the driver when loaded"),
          clEnumValN(KernelFormat::Fatbin, "fatbin", "fat binary"))};
  PassOptions::Option<std::string> toolkit{
      *this, "toolkit",
      llvm::cl::desc("CUDA toolkit (ptxas); default $CUDA_HOME, else "
                     "/usr/local/cuda if it exists"),
      llvm::cl::init("")};
  PassOptions::Option<std::string> features{
      *this, "features",
      llvm::cl::desc("PTX features (default +ptx81: sm_90, and st.async, "
                     "which the attention's cluster merge sends with)"),
      llvm::cl::init("")};
  PassOptions::Option<int> optLevel{
      *this, "opt-level", llvm::cl::desc("LLVM optimization level of kernels"),
      llvm::cl::init(3)};
  PassOptions::Option<int64_t> numMultiprocessors{
      *this, "num-sms",
      llvm::cl::desc("Multiprocessors the grids are sized for (0: the chip's "
                     "usual)"),
      llvm::cl::init(0)};
  PassOptions::Option<int64_t> maxClusterSize{
      *this, "max-cluster-size",
      llvm::cl::desc("CTAs per thread block cluster the kernels may use (-1, "
                     "the default: the chip's, 16 on sm_90; 0: none)"),
      llvm::cl::init(-1)};
  PassOptions::Option<bool> clusterSelect{
      *this, "cluster-select",
      llvm::cl::desc("l1_topk of one row per CTA as one cluster kernel "
                     "(see adamas-lower-to-gpu)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> tensorCoreDistances{
      *this, "tensor-core-distances",
      llvm::cl::desc("l1_topk's distances from binary tensor-core products "
                     "where a CTA ranks several queries (see "
                     "adamas-lower-to-gpu)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> l2CacheHints{
      *this, "l2-cache-hints",
      llvm::cl::desc("l1_topk's distances kept in L2 between its kernels by "
                     "cache hints (see adamas-lower-to-gpu)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> selectReleasesLate{
      *this, "select-releases-late",
      llvm::cl::desc("l1_topk's threshold and compaction kernels let the "
                     "next kernel launch only as they finish (see "
                     "adamas-lower-to-gpu)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> selectPipelinesKeys{
      *this, "select-pipelines-keys",
      llvm::cl::desc("l1_topk's popcount histogram pass loads each thread's "
                     "next keys while it ranks the current ones (see "
                     "adamas-lower-to-gpu)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> selectAsyncKeyCopies{
      *this, "select-async-key-copies",
      llvm::cl::desc("l1_topk's tensor-core histogram pass streams its key "
                     "codes into shared memory by asynchronous copies "
                     "(see adamas-lower-to-gpu)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> selectShortPassKeyCopies{
      *this, "select-short-pass-key-copies",
      llvm::cl::desc("l1_topk's tensor-core histogram pass takes the key "
                     "ring where its grid is small (see adamas-lower-to-gpu)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> selectGridSync{
      *this, "select-grid-sync",
      llvm::cl::desc("l1_topk's histogram pass plans and compacts after a "
                     "grid-wide barrier, where one selection row is a CTA's "
                     "(see adamas-lower-to-gpu)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> selectPrecompactsCandidates{
      *this, "select-precompacts-candidates",
      llvm::cl::desc("the grid-synchronised selection compacts each chunk's "
                     "candidates while its CTAs wait at the grid-wide "
                     "barrier (see adamas-lower-to-gpu)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> selectEncodesQueries{
      *this, "select-encodes-queries",
      llvm::cl::desc("l1_topk encodes its queries and the new keys' codes "
                     "are written last (see adamas-lower-to-gpu)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> attendLongSplits{
      *this, "attend-long-splits",
      llvm::cl::desc("sparse_attn's long-split form for large grids (see "
                     "adamas-lower-to-gpu)"),
      llvm::cl::init(true)};
  PassOptions::Option<int64_t> attendLongFormCtasPerSm{
      *this, "attend-long-form-ctas-per-sm",
      llvm::cl::desc("CTAs per multiprocessor from which the long-split "
                     "form is taken (see adamas-lower-to-gpu)"),
      llvm::cl::init(6)};
  PassOptions::Option<bool> attendLongFormTensorCoreDots{
      *this, "attend-long-form-tensor-core-dots",
      llvm::cl::desc("sparse_attn's long-split form keeps tensor-core "
                     "scores, a warp per 16 slots (see adamas-lower-to-gpu)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> attendLongFormClusterMerge{
      *this, "attend-long-form-cluster-merge",
      llvm::cl::desc("sparse_attn's long form (tensor-core scores, or one "
                     "head per CTA) merges its splits in a cluster where "
                     "its grid is one wave (see adamas-lower-to-gpu)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> attendSoftmaxInQuads{
      *this, "attend-softmax-in-quads",
      llvm::cl::desc("sparse_attn's tensor-core scores take their softmax "
                     "in the lanes that hold them (see adamas-lower-to-gpu)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> attendTensorCoreDots{
      *this, "attend-tensor-core-dots",
      llvm::cl::desc("sparse_attn's scores from tensor-core products with "
                     "shared_group (see adamas-lower-to-gpu)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> attendCompactsSelection{
      *this, "attend-compacts-selection",
      llvm::cl::desc("sparse_attn compacts the l1_topk selection it attends "
                     "(see adamas-lower-to-gpu)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> attendAsyncClusterMerge{
      *this, "attend-async-cluster-merge",
      llvm::cl::desc("sparse_attn's cluster form sends the splits' partials "
                     "to the leader with st.async (see adamas-lower-to-gpu)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> attendAsyncClusterCompaction{
      *this, "attend-async-cluster-compaction",
      llvm::cl::desc("sparse_attn's cluster CTAs send the positions they "
                     "compact with st.async (see adamas-lower-to-gpu)"),
      llvm::cl::init(true)};
  PassOptions::Option<int64_t> attendClusterWaves{
      *this, "attend-cluster-waves",
      llvm::cl::desc("waves of one-head CTAs up to which sparse_attn takes "
                     "its cluster form (see adamas-lower-to-gpu)"),
      llvm::cl::init(2)};
};

/// Decode-step functions on tensors to fused GPU kernels (`gpu.binary`) and
/// host code in the LLVM dialect calling the runtime's mgpu* functions; see
/// adamas-lower-to-gpu for the function contract.
void buildGPUPipeline(OpPassManager &pm, const GPUPipelineOptions &options);

/// $CUDA_HOME, else /usr/local/cuda if it exists, else "" (PTX needs no
/// toolkit: the kernels call no libdevice function).
std::string defaultCudaToolkit();

/// Registers `adamas-cpu-pipeline` and `adamas-gpu-pipeline` with the textual
/// pass registry.
void registerAdamasPipelines();

/// Options of `adamas-sparsify`: those of adamas-raise-attention.
struct SparsifyPipelineOptions
    : public PassPipelineOptions<SparsifyPipelineOptions> {
  Option<int64_t> budget{*this, "budget",
                         llvm::cl::desc("Keys selected per query row"),
                         llvm::cl::init(256)};
  Option<int64_t> bits{*this, "bits", llvm::cl::desc("Bits per code: 1, 2 or 3"),
                       llvm::cl::init(2)};
  ListOption<float> thresholds{
      *this, "thresholds",
      llvm::cl::desc("2^bits - 1 increasing thresholds (default -10,0,10 "
                     "for 2 bits, 0 for 1 bit)")};
  Option<int64_t> sink{*this, "sink",
                       llvm::cl::desc("First positions always selected"),
                       llvm::cl::init(0)};
  Option<int64_t> recent{*this, "recent",
                         llvm::cl::desc("Last positions always selected"),
                         llvm::cl::init(1)};
  Option<bool> sharedGroup{
      *this, "shared-group",
      llvm::cl::desc("One selection per KV head (GQA)"), llvm::cl::init(false)};
  Option<int64_t> minContext{
      *this, "min-context",
      llvm::cl::desc("Leave static contexts shorter than this dense"),
      llvm::cl::init(0)};
  Option<int64_t> maxQueries{
      *this, "max-queries",
      llvm::cl::desc("Only attention with at most this many query rows"),
      llvm::cl::init(16)};
  Option<int64_t> skipLayers{
      *this, "skip-layers",
      llvm::cl::desc("The first n attention sites of a function stay dense"),
      llvm::cl::init(0)};
};

/// Model IR in, decode attention as adamas ops out: adamas-raise-attention
/// then adamas-cache-key-codes. The cleanup is the raise's own (it erases
/// what it replaced and folds the reshapes it made); nothing program-wide
/// runs, so the rest of the model is left exactly as it was.
void buildSparsifyPipeline(OpPassManager &pm,
                           const SparsifyPipelineOptions &options);

/// Registers `adamas-sparsify` with the textual pass registry.
void registerAdamasSparsifyPipeline();

} // namespace mlir::adamas

#endif // ADAMAS_PIPELINES_PIPELINES_H
