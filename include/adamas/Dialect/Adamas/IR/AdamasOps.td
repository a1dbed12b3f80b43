//===- AdamasOps.td - Adamas operations --------------------*- tablegen -*-===//

#ifndef ADAMAS_DIALECT_ADAMAS_IR_ADAMASOPS_TD
#define ADAMAS_DIALECT_ADAMAS_IR_ADAMASOPS_TD

include "adamas/Dialect/Adamas/IR/AdamasBase.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

// Shapes are checked by the C++ verifiers so that every diagnostic names the
// operand and the rule it breaks; ODS only asks for ranked tensors.

def Adamas_HadamardOp : Adamas_Op<"hadamard", [
    Pure, SameOperandsAndResultType,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
        ["reifyResultShapes"]>]> {
  let summary = "orthonormal Walsh-Hadamard transform of the last dimension";
  let description = [{
    `y = x · H_D / sqrt(D)` along the last dimension (Sylvester, natural
    order), computed in f32 and rounded once to the element type. `D` must be
    a static power of two in `[2, 32768]`; the element type is f16, bf16 or
    f32. The transform is an involution only up to rounding, so
    `hadamard(hadamard(x))` is deliberately not folded.

    ```mlir
    %y = adamas.hadamard %x : tensor<1x32x1x128xf16>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Adamas_BucketizeOp : Adamas_Op<"bucketize", [
    Pure, DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
        ["reifyResultShapes"]>]> {
  let summary = "b-bit codes of each coordinate, packed as bit planes";
  let description = [{
    The code of an element `x` is the number of thresholds `t` with `x > t`
    (strict; NaN gets code 0). `thresholds` has 1, 3 or 7 strictly
    increasing finite values, fixing `b` = 1, 2 or 3 bits. The last dimension
    `D` (a static multiple of 32) becomes `W = D * b / 32` i32 words: for the
    group `g` of dims `32g .. 32g+31`, word `g*b + p` holds at bit `i` the
    bit `p` of the code of dim `32g + i`.

    With the optional `head_thresholds` operand (`<H x (2^b-1) x f32>`, only
    for a rank-4 BHND input), head `h` uses row `h` instead of the
    attribute's values; the attribute still fixes `b`.

    ```mlir
    %c = adamas.bucketize %k [-10.0, 0.0, 10.0]
        : tensor<1x8x?x128xf16> -> tensor<1x8x?x8xi32>
    %c2 = adamas.bucketize %k [-1.0, 0.0, 1.0] per_head %t
        : tensor<1x8x?x128xf16>, tensor<8x3xf32> -> tensor<1x8x?x8xi32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input,
                       DenseF32ArrayAttr:$thresholds,
                       Optional<AnyRankedTensor>:$head_thresholds);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input $thresholds (`per_head` $head_thresholds^)? attr-dict `:`
    type($input) (`,` type($head_thresholds)^)? `->` type($result)
  }];
  let extraClassDeclaration = [{
    /// Number of bits per code (1, 2 or 3), fixed by `thresholds`.
    int64_t getBits();
  }];
  let hasVerifier = 1;
}

def Adamas_L1TopKOp : Adamas_Op<"l1_topk", [
    Pure, DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
        ["reifyResultShapes"]>]> {
  let summary = "exact top-k positions by L1 distance between codes";
  let description = [{
    For batch `b` and query row `m`, positions `[0, L)` are visible with
    `L = clamp(lengths[b] - M + m + 1, 0, N)`. If `L <= k` all are selected;
    otherwise the first `min(sink, L)` and last `min(recent, L)` positions
    are always selected and the other slots go to the smallest L1 distances
    `sum_d |cq_d - ck_d|`, ties toward the larger position. With
    `shared_group`, one selection per KV head uses the minimum distance over
    its `G = Hq / Hkv` query heads. Output: selected positions ascending,
    then `-1` padding up to `k`.

    ```mlir
    %idx = adamas.l1_topk %qc, %kc, %len {k = 256 : i64, sink = 4 : i64}
        : tensor<1x32x1x8xi32>, tensor<1x8x?x8xi32>, tensor<1xi32>
        -> tensor<1x32x1x256xi32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$query_codes,
                       AnyRankedTensor:$key_codes,
                       AnyRankedTensor:$lengths,
                       I64Attr:$k,
                       DefaultValuedAttr<I64Attr, "2">:$bits,
                       DefaultValuedAttr<I64Attr, "0">:$sink,
                       DefaultValuedAttr<I64Attr, "1">:$recent,
                       DefaultValuedAttr<BoolAttr, "false">:$shared_group);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $query_codes `,` $key_codes `,` $lengths attr-dict `:`
    type($query_codes) `,` type($key_codes) `,` type($lengths)
    `->` type($result)
  }];
  let hasVerifier = 1;
}

def Adamas_SparseAttnOp : Adamas_Op<"sparse_attn", [
    Pure, DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
        ["reifyResultShapes"]>]> {
  let summary = "exact softmax attention over selected key positions";
  let description = [{
    For each query row, softmax over the selected positions `j` of
    `scale * q·k_j`, times `v_j`, accumulated in f32. Indices outside
    `[0, N)` (e.g. the `-1` padding of `l1_topk`) are skipped; a row with no
    valid index yields zeros. `indices` has `Hq` heads, or `Hkv` heads when
    the selection is shared by a GQA group. `scale` defaults to `1/sqrt(D)`.

    ```mlir
    %o = adamas.sparse_attn %q, %k, %v, %idx
        : tensor<1x32x1x128xf16>, tensor<1x8x?x128xf16>,
          tensor<1x8x?x128xf16>, tensor<1x32x1x256xi32>
        -> tensor<1x32x1x128xf16>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$query,
                       AnyRankedTensor:$keys,
                       AnyRankedTensor:$values,
                       AnyRankedTensor:$indices,
                       OptionalAttr<F32Attr>:$scale);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $query `,` $keys `,` $values `,` $indices attr-dict `:`
    type($query) `,` type($keys) `,` type($values) `,` type($indices)
    `->` type($result)
  }];
  let extraClassDeclaration = [{
    /// `scale` if given, else 1/sqrt(D).
    float getScaleOrDefault();
  }];
  let hasVerifier = 1;
}

def Adamas_CacheWriteOp : Adamas_Op<"cache_write", [
    Pure, AllTypesMatch<["cache", "result"]>,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
        ["reifyResultShapes"]>]> {
  let summary = "write each batch row's new rows into a cache at its length";
  let description = [{
    The cache update of a decode step (DESIGN.md section 4): batch row `b`
    appended its `M` new tokens last, so they belong at positions
    `lengths[b] - M + m`, `m = 0 .. M-1` (`lengths` counts the new tokens,
    as in `l1_topk`). The result is `cache` with, for every `b`, head `h`
    and `m` whose position lies in `[0, N)`, row
    `result[b, h, lengths[b] - M + m, :] = rows[b, h, m, :]`; rows whose
    position falls outside the cache are dropped. Any element type.

    Key codes of the new tokens are written into the code cache this way, so
    a step encodes only its new keys. The op is in destination style: it
    bufferizes in place onto the cache's buffer, and the GPU lowering fuses
    it into the encode kernel that computes the rows.

    ```mlir
    %c2 = adamas.cache_write %codes into %cache at %lengths
        : tensor<2x8x1x8xi32> into tensor<2x8x?x8xi32>, tensor<2xi32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$rows,
                       AnyRankedTensor:$cache,
                       AnyRankedTensor:$lengths);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $rows `into` $cache `at` $lengths attr-dict `:`
    type($rows) `into` type($cache) `,` type($lengths)
  }];
  let hasVerifier = 1;
}

#endif // ADAMAS_DIALECT_ADAMAS_IR_ADAMASOPS_TD
