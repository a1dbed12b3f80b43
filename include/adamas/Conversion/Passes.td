//===- Passes.td - Adamas conversion passes ----------------*- tablegen -*-===//

#ifndef ADAMAS_CONVERSION_PASSES_TD
#define ADAMAS_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def AdamasAssertToLLVM : Pass<"adamas-assert-to-llvm", "::mlir::ModuleOp"> {
  let summary = "Lower cf.assert to a message on stderr and abort()";
  let description = [{
    Upstream's lowering of `cf.assert` prints the message with `puts`, to
    stdout, and then calls `abort()`, which does not flush stdio: when stdout
    is a pipe the message of a failed run-time check is lost. This pass
    rewrites every `cf.assert` (in a function whose body is a CFG, i.e. after
    SCF-to-CF) into a branch to a block that writes the message and a newline
    to file descriptor 2 with `write` (unbuffered) and calls `abort()`.
  }];
  let dependentDialects = [
    "::mlir::cf::ControlFlowDialect",
    "::mlir::LLVM::LLVMDialect",
  ];
}

def AdamasLowerToLinalg : Pass<"adamas-lower-to-linalg"> {
  let summary = "Lower adamas ops to portable linalg/scf/tensor/arith/math";
  let description = [{
    The reference lowering of every adamas op on tensors: the oracle that CI
    executes on the CPU (through `adamas-cpu-pipeline` and `mlir-runner`).
    `l1_topk` is an exact histogram (counting) select: one pass over the
    keys builds a histogram of the L1 distances, a prefix sum finds the
    threshold distance, one compaction emits the selected positions in
    ascending order. No sort.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def AdamasLowerToGPU : Pass<"adamas-lower-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Lower decode-step functions of adamas ops to fused GPU kernels";
  let description = [{
    Rewrites every function that holds adamas ops into a host function on
    memrefs that launches generated kernels (DESIGN.md section 4), built as
    `gpu.func`s of a `gpu.module @<function>_kernels`:

    * encode: `bucketize`, fused with the `hadamard` that feeds it and with
      the `cache_write` it feeds (codes go straight into the cache), all of
      a function's jobs in one launch (warp FWHT by shuffles, ballots pack
      the bit planes);
    * select (`l1_topk`): per-chunk exact L1 distances and shared-memory
      histograms over 16-byte loads of the codes, then the threshold and an
      ordered compaction by warp ballots;
    * attend (`sparse_attn`): split-K flash decoding, f32 merge, one K/V load
      for the G heads that share indices.

    The function must be a decode step: every tensor is an argument or the
    result of an adamas op, and the body holds nothing else. Tensor
    arguments become memrefs (identity layout), results become trailing
    output arguments the caller provides, except a `cache_write` into an
    argument, which updates that argument in place. Scratch comes from
    `gpu.alloc` on the step's stream (the runtime's pool) and is freed at the
    end. What a kernel cannot do is reported on the op, never miscompiled.

    Calls of a step on tensors in other functions (see
    adamas-outline-decode-steps) are rewritten to the new signature:
    arguments through `bufferization.to_buffer`, outputs `memref.alloc`ed at
    the call and read back through `bufferization.to_tensor restrict
    writable`, ready for one-shot bufferization of the caller.
  }];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_90\"",
           "Target chip (sm_80 or newer)">,
    Option<"numMultiprocessors", "num-sms", "int64_t", /*default=*/"0",
           "Multiprocessors the grids are sized for (0: the chip's usual)">,
    Option<"maxClusterSize", "max-cluster-size", "int64_t", /*default=*/"-1",
           "CTAs per thread block cluster the kernels may use (-1, the "
           "default: the chip's, 16 on sm_90; 0: none). With clusters of at "
           "least its splits, sparse_attn merges them in the cluster (one "
           "kernel instead of two)">,
    Option<"clusterSelect", "cluster-select", "bool", /*default=*/"false",
           "l1_topk with one selection row per CTA (MHA-like, M = 1) as one "
           "kernel in thread block clusters instead of three (needs "
           "max-cluster-size >= 2; on the H200 no faster at 32K and slower "
           "at 128K: bench/NOTES.md item 10)">,
    Option<"tensorCoreDistances", "tensor-core-distances", "bool",
           /*default=*/"true",
           "l1_topk's distances from binary tensor-core products (mma.sync "
           ".b1.and.popc) where a histogram CTA ranks several queries (GQA, "
           "M > 1) and D / 32 is a multiple of 4 or divides 4; false: "
           "per-thread popcounts everywhere">,
    Option<"l2CacheHints", "l2-cache-hints", "bool", /*default=*/"true",
           "l1_topk's distances kept in L2 between the histogram pass and "
           "the compaction: the pass reads the key codes evict-first "
           "(ld.global.cs) and the compaction discards the distance lines it "
           "has read (discard.global.L2); false: plain loads, lines written "
           "back">,
    Option<"selectReleasesLate", "select-releases-late", "bool",
           /*default=*/"true",
           "l1_topk's threshold and compaction kernels let the next kernel "
           "launch (programmatic dependent launch) only as their CTAs "
           "finish, not at their start, so its CTAs are not placed beside "
           "theirs (bench/NOTES.md items 54 and 55)">,
    Option<"selectPipelinesKeys", "select-pipelines-keys", "bool",
           /*default=*/"true",
           "l1_topk's popcount histogram pass (one query per CTA: MHA) loads "
           "each thread's next keys while it ranks the current ones, and its "
           "first keys before waiting for the query's encoding "
           "(bench/NOTES.md item 56)">,
    Option<"selectAsyncKeyCopies", "select-async-key-copies", "bool",
           /*default=*/"false",
           "l1_topk's tensor-core histogram pass streams each warp's key "
           "codes into a ring of shared-memory slots by asynchronous copies "
           "(cp.async, a group per slot), a few iterations ahead of the "
           "warp, instead of loading them into registers; off by default: "
           "it hides the loads' latency but adds instructions, and measured "
           "slower (bench/NOTES.md items 77-79)">,
    Option<"selectShortPassKeyCopies", "select-short-pass-key-copies",
           "bool", /*default=*/"true",
           "where select-async-key-copies is off, l1_topk's tensor-core "
           "histogram pass is also built with that key ring, and the host "
           "takes it where the pass's grid is at most 2 CTAs per "
           "multiprocessor (B = 1 GQA at any context), whose warps' register "
           "loads alone keep too few bytes in flight (bench/NOTES.md items "
           "79, 81)">,
    Option<"selectGridSync", "select-grid-sync", "bool",
           /*default=*/"true",
           "l1_topk with one selection row per histogram CTA, where its "
           "threshold and compaction kernels would run: one kernel instead, "
           "whose CTAs meet at a grid-wide barrier after their histograms, "
           "then plan their row and compact their chunk (launched "
           "cooperatively; launches of one step must not overlap: one "
           "stream; bench/NOTES.md item 60)">,
    Option<"selectPrecompactsCandidates", "select-precompacts-candidates",
           "bool", /*default=*/"false",
           "in select-grid-sync's kernels whose distances stay in shared "
           "memory, each CTA compacts its chunk's candidates (the positions "
           "at or below the first distance where its own running count "
           "reaches the row's free slots: the row's threshold is at most "
           "that) between its arrival at the grid-wide barrier and its wait "
           "there, and after the plan compacts those instead of the chunk "
           "(off by default until measured on the GPU: bench/NOTES.md item "
           "87)">,
    Option<"selectEncodesQueries", "select-encodes-queries", "bool",
           /*default=*/"true",
           "l1_topk's histogram pass encodes the queries itself where their "
           "codes (a bucketize, of a hadamard, of the query) feed nothing "
           "else, and the new keys' codes are written after the step's "
           "attention where every selection forces the new positions "
           "(recent >= M): no encode kernel before the selection; false: "
           "one encode kernel first">,
    Option<"attendLongSplits", "attend-long-splits", "bool",
           /*default=*/"true",
           "sparse_attn also built with fewer, longer splits (a warp per 32 "
           "slots, prefetching its next group's K/V rows), which the host "
           "takes for grids of many rows (large B); false: one form">,
    Option<"attendLongFormCtasPerSm", "attend-long-form-ctas-per-sm",
           "int64_t", /*default=*/"6",
           "the host takes sparse_attn's long-split form where its grid "
           "(rows x long splits CTAs) has at least this many CTAs per "
           "multiprocessor (half, rounded up, for the tensor-core long "
           "form); 0: wherever it is built">,
    Option<"attendLongFormTensorCoreDots", "attend-long-form-tensor-core-dots",
           "bool", /*default=*/"true",
           "where sparse_attn's scores come from tensor-core products "
           "(shared_group), its long-split form keeps them, a warp per 16 "
           "slots, taken from half the CTAs per multiprocessor "
           "(bench/NOTES.md item 70); false: a warp per 32 slots with "
           "per-lane dots">,
    Option<"attendLongFormClusterMerge", "attend-long-form-cluster-merge",
           "bool", /*default=*/"true",
           "where sparse_attn's long-split form has tensor-core scores or "
           "one head per CTA and its splits fit a cluster, grids of up to "
           "one wave (4 CTAs per multiprocessor with tensor-core scores, "
           "else 8) merge their splits in the cluster by st.async "
           "(bench/NOTES.md items 72 and 75; needs "
           "attend-async-cluster-merge); false: its partial and merge "
           "kernels">,
    Option<"attendSoftmaxInQuads", "attend-softmax-in-quads", "bool",
           /*default=*/"true",
           "where sparse_attn's scores come from tensor-core products "
           "(shared_group), each lane takes the softmax of its own two "
           "scores of a group and the heads' maxima and weights are "
           "shuffled to every lane (bench/NOTES.md item 71); false: every "
           "score broadcast and every weight computed in every lane">,
    Option<"attendTensorCoreDots", "attend-tensor-core-dots", "bool",
           /*default=*/"true",
           "sparse_attn's scores from f16/bf16 tensor-core products where a "
           "CTA serves several heads (shared_group); false: per-lane dots "
           "summed over the warp">,
    Option<"attendCompactsSelection", "attend-compacts-selection", "bool",
           /*default=*/"true",
           "sparse_attn's CTAs compact the slots they attend from the "
           "l1_topk that selects them (its distances and plan) where nothing "
           "else reads the indices: no compaction kernel before the "
           "attention where a chunk of the selection is at most one pass of "
           "an attention CTA's runs and the host does not take the "
           "long-split form; false: the compaction kernels write the "
           "indices">,
    Option<"attendAsyncClusterMerge", "attend-async-cluster-merge", "bool",
           /*default=*/"true",
           "sparse_attn's cluster form sends each split's partial to the "
           "cluster's leader with st.async, completing on an mbarrier the "
           "leader waits on, instead of stores and a cluster barrier "
           "(bench/NOTES.md item 59)">,
    Option<"attendAsyncClusterCompaction", "attend-async-cluster-compaction",
           "bool", /*default=*/"true",
           "where sparse_attn's cluster CTAs compact the selection, each "
           "sends the positions it selects to the CTA holding their slot "
           "with st.async, completing on an mbarrier that CTA waits on, "
           "instead of stores and a cluster barrier (bench/NOTES.md item "
           "65)">,
    Option<"attendClusterWaves", "attend-cluster-waves", "int64_t",
           /*default=*/"2",
           "where a CTA attends one head, the host takes sparse_attn's "
           "cluster form (no merge kernel) for grids of up to this many "
           "waves of its CTAs (4 per multiprocessor; bench/NOTES.md item "
           "68); CTAs of several heads (shared_group) take it for one wave "
           "(6 per multiprocessor); 0: never">,
    Option<"toolkit", "toolkit", "std::string", /*default=*/"",
           "CUDA toolkit a later gpu-module-to-binary uses; checked here to "
           "be a directory (upstream reports a missing one without failing)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::func::FuncDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def AdamasHostToDeviceBuffers
    : Pass<"adamas-host-to-device-buffers", "::mlir::ModuleOp"> {
  let summary = "Put every buffer of the host functions in device memory";
  let description = [{
    For host functions on memrefs whose linalg ops are to become GPU kernels
    (adamas-gpu-pipeline, after bufferization): `memref.alloc` becomes
    `gpu.alloc` (freed by `gpu.dealloc` at the end of the function),
    `memref.dealloc` `gpu.dealloc`, `memref.copy` `gpu.memcpy` between
    identity layouts or else `linalg.copy` (a kernel), and
    `memref.get_global` a device buffer filled from the global. Anything else
    that would access a buffer on the host is an error naming the op. With
    `verify-only` (after gpu-kernel-outlining) it only checks that no op but
    the GPU runtime ops, views and calls touches a buffer on the host.
  }];
  let options = [
    Option<"verifyOnly", "verify-only", "bool", /*default=*/"false",
           "Only check that no host op accesses a buffer (after the loops "
           "became kernels)">,
  ];
  let dependentDialects = [
    "::mlir::gpu::GPUDialect",
    "::mlir::linalg::LinalgDialect",
  ];
}

#endif // ADAMAS_CONVERSION_PASSES_TD
