//===- AdamasBase.td - Adamas dialect definition -----------*- tablegen -*-===//
//
// The adamas dialect: Hadamard sparse attention (Adamas, arXiv 2510.18413)
// for long-context decoding. See DESIGN.md section 2 for the contract.
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_DIALECT_ADAMAS_IR_ADAMASBASE_TD
#define ADAMAS_DIALECT_ADAMAS_IR_ADAMASBASE_TD

include "mlir/IR/OpBase.td"

def Adamas_Dialect : Dialect {
  let name = "adamas";
  let cppNamespace = "::mlir::adamas";
  let summary = "Hadamard sparse attention for long-context decoding";
  let description = [{
    Four ops express one decode step of Hadamard sparse attention over a
    BHND (batch, head, token, feature) KV cache:

    1. `adamas.hadamard`: orthonormal Walsh-Hadamard transform of Q and K.
    2. `adamas.bucketize`: 1/2/3-bit codes per coordinate, packed as bit
       planes into i32 words.
    3. `adamas.l1_topk`: exact L1 distance between query and key codes,
       exact, deterministic top-k selection of positions.
    4. `adamas.sparse_attn`: exact softmax attention over the selected
       positions only.

    `adamas.cache_write` writes the new tokens' key codes into the code
    cache at each batch row's length, so a step encodes only its new keys.
  }];
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
}

class Adamas_Op<string mnemonic, list<Trait> traits = []>
    : Op<Adamas_Dialect, mnemonic, traits>;

#endif // ADAMAS_DIALECT_ADAMAS_IR_ADAMASBASE_TD
