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

#endif // ADAMAS_DIALECT_ADAMAS_TRANSFORMS_PASSES_TD
