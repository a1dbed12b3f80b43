//===- Passes.td - Adamas dialect transformations ----------*- tablegen -*-===//

#ifndef ADAMAS_DIALECT_ADAMAS_TRANSFORMS_PASSES_TD
#define ADAMAS_DIALECT_ADAMAS_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def AdamasRaiseAttention
    : Pass<"adamas-raise-attention", "::mlir::func::FuncOp"> {
  let summary = "Raise decode attention in model IR to adamas ops";
  let description = [{
    Finds attention `softmax(scale * q·Kᵀ + mask) · V` as exporters emit it
    (linalg on tensors: `linalg.matmul`/`batch_matmul` incl. transposed
    indexing maps, `linalg.generic` contractions, `linalg.transpose` and
    permuting generics, `tensor.collapse_shape`/`expand_shape`, scale by
    `mulf`/`divf` on q, K or the scores, an additive or `select` mask,
    `linalg.softmax` or the decomposed exp / sum / div (or reciprocal · mul)
    form, GQA through a broadcast of K and V; TOSA: `tosa.matmul`,
    `tosa.transpose`, `tosa.reshape`, `tosa.mul`, `tosa.add`,
    `tosa.reduce_max`, `tosa.sub`, `tosa.exp`, `tosa.reduce_sum`,
    `tosa.reciprocal`) and rewrites every decode site (query rows
    M <= `max-queries`) into

    ```
    hadamard -> bucketize -> l1_topk -> sparse_attn
    ```

    on BHND tensors, inserting the reshapes and transposes that reach BHND.
    Codes are computed from q and K before any scale; the whole scale moves to
    `sparse_attn`'s `scale`. A causal or length mask becomes `lengths` of
    `l1_topk`; GQA keeps Hkv-headed keys (the repeated keys are never
    materialised). Anything else is left untouched and, with
    `--remarks-filter-missed=adamas-raise-attention`, a missed remark says
    why.
  }];
  let options = [
    Option<"budget", "budget", "int64_t", /*default=*/"256",
           "Token budget: keys selected per query row (l1_topk's k)">,
    Option<"bits", "bits", "int64_t", /*default=*/"2",
           "Bits per code: 1, 2 or 3">,
    ListOption<"thresholds", "thresholds", "float",
               "2^bits - 1 increasing bucket thresholds (default "
               "-10,0,10 for 2 bits, 0 for 1 bit; required for 3 bits)">,
    Option<"sink", "sink", "int64_t", /*default=*/"0",
           "First positions always selected">,
    Option<"recent", "recent", "int64_t", /*default=*/"1",
           "Most recent positions always selected">,
    Option<"sharedGroup", "shared-group", "bool", /*default=*/"false",
           "One selection per KV head (GQA), the minimum distance over "
           "its query heads">,
    Option<"minContext", "min-context", "int64_t", /*default=*/"0",
           "Leave attention over a static context shorter than this dense">,
    Option<"maxQueries", "max-queries", "int64_t", /*default=*/"16",
           "Only attention with at most this many query rows (decode) is "
           "rewritten">,
    Option<"skipLayers", "skip-layers", "int64_t", /*default=*/"0",
           "The first n attention sites of each function stay dense">,
  ];
  let dependentDialects = [
    "::mlir::adamas::AdamasDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def AdamasCacheKeyCodes : Pass<"adamas-cache-key-codes", "::mlir::ModuleOp"> {
  let summary = "Thread key codes through functions as a cache of their own";
  let description = [{
    Where the keys that `adamas.hadamard` -> `adamas.bucketize` encode are
    `tensor.concat(past, new)` (or `tosa.concat`) along N, or a
    `tensor.insert_slice` of new keys
    into a cache, and `past` (the cache) is an argument of the function, the
    codes get the same structure: a new function argument carries the codes
    of the past keys, only the new keys are encoded, and the combined codes
    are a new function result (the cache for the next step). The new argument
    and result carry `adamas.key_codes_of = <index of the key argument>`.
    Functions with callers in the module are left alone (their call sites
    would have to change too).
  }];
  let dependentDialects = [
    "::mlir::adamas::AdamasDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def AdamasOutlineDecodeSteps
    : Pass<"adamas-outline-decode-steps", "::mlir::ModuleOp"> {
  let summary = "Outline the adamas ops of model functions into decode-step "
                "functions";
  let description = [{
    adamas-lower-to-gpu compiles decode-step functions: functions whose body
    holds adamas ops only, every tensor an argument or an adamas result. A
    model function (a whole decoder layer: projections, norms, RoPE, MLP,
    a KV cache grown by `tensor.concat`) holds the adamas ops among other
    ops. This pass moves each group of them into a private function
    `@<function>_adamas_step_<i>` (i = 0, 1, ... in program order) that the
    model calls with `func.call`, so that the steps get the fused kernels and
    the rest of the model any other lowering.

    A group is a maximal set of adamas ops none of which depends on another
    through a non-adamas op: where a non-adamas op sits between two adamas
    ops (e.g. the `tensor.concat` that appends the new keys' codes to the
    code cache adamas-cache-key-codes threads through the function, between
    the encode of the new keys and the `l1_topk` that reads the grown
    cache), the later op starts a new group. Such a model gets two steps:
    encode (query and new keys), then select and attend. The step's
    arguments are the values its ops use from outside (first use first), its
    results the values of its ops used outside (first definition first).
    Non-adamas ops that use a step's results and sat between its ops move
    after the call (they cannot feed the step, by construction).

    The model function gets `llvm.emit_c_interface` (a host entry point
    callable from C, like the steps). Functions whose body already is a
    decode step are left alone. An adamas op in a nested region or a
    function of several blocks is an error.
  }];
  let dependentDialects = [
    "::mlir::adamas::AdamasDialect",
    "::mlir::func::FuncDialect",
  ];
}

#endif // ADAMAS_DIALECT_ADAMAS_TRANSFORMS_PASSES_TD
