// RUN: adamas-opt %s -split-input-file -adamas-cache-key-codes | FileCheck %s --enable-var-scope
// RUN: adamas-opt %s -split-input-file -adamas-cache-key-codes \
// RUN:   --remarks-filter-missed=adamas-cache-key-codes --remark-format=emitRemark \
// RUN:   -o /dev/null 2>&1 | FileCheck %s --check-prefix=REMARK

// Keys appended to the past keys with tensor.concat: the past codes come in
// as a new argument, only the new key is encoded, and the concatenated codes
// go out as a new result; both are marked with the index of the key
// argument they shadow.

// CHECK-LABEL: func.func @concat(
//  CHECK-SAME:     %[[Q:[^:]+]]: tensor<1x8x1x64xf32>, %[[PAST:[^:]+]]: tensor<1x2x?x64xf32>, %[[NEW:[^:]+]]: tensor<1x2x1x64xf32>,
//  CHECK-SAME:     %[[V:[^:]+]]: tensor<1x2x?x64xf32>, %[[LEN:[^:]+]]: tensor<1xi32>,
//  CHECK-SAME:     %[[CODES:[^:]+]]: tensor<1x2x?x4xi32> {adamas.key_codes_of = 1 : i64})
//  CHECK-SAME:     -> (tensor<1x8x1x64xf32>, tensor<1x2x?x4xi32> {adamas.key_codes_of = 1 : i64})
//       CHECK:   %[[K:.+]] = tensor.concat dim(2) %[[PAST]], %[[NEW]]
//       CHECK:   %[[NH:.+]] = adamas.hadamard %[[NEW]] : tensor<1x2x1x64xf32>
//       CHECK:   %[[NC:.+]] = adamas.bucketize %[[NH]] [-1.000000e+00, 0.000000e+00, 1.000000e+00] : tensor<1x2x1x64xf32> -> tensor<1x2x1x4xi32>
//       CHECK:   %[[KC:.+]] = tensor.concat dim(2) %[[CODES]], %[[NC]]
//       CHECK:   %[[IDX:.+]] = adamas.l1_topk %{{.+}}, %[[KC]], %[[LEN]]
//       CHECK:   %[[O:.+]] = adamas.sparse_attn %[[Q]], %[[K]], %[[V]], %[[IDX]]
//       CHECK:   return %[[O]], %[[KC]]
//   CHECK-NOT:   adamas.hadamard %[[K]]
func.func @concat(%q: tensor<1x8x1x64xf32>, %past: tensor<1x2x?x64xf32>, %new: tensor<1x2x1x64xf32>,
                  %v: tensor<1x2x?x64xf32>, %len: tensor<1xi32>) -> tensor<1x8x1x64xf32> {
  %k = tensor.concat dim(2) %past, %new : (tensor<1x2x?x64xf32>, tensor<1x2x1x64xf32>) -> tensor<1x2x?x64xf32>
  %qh = adamas.hadamard %q : tensor<1x8x1x64xf32>
  %kh = adamas.hadamard %k : tensor<1x2x?x64xf32>
  %qc = adamas.bucketize %qh [-1.0, 0.0, 1.0] : tensor<1x8x1x64xf32> -> tensor<1x8x1x4xi32>
  %kc = adamas.bucketize %kh [-1.0, 0.0, 1.0] : tensor<1x2x?x64xf32> -> tensor<1x2x?x4xi32>
  %idx = adamas.l1_topk %qc, %kc, %len {k = 16 : i64}
      : tensor<1x8x1x4xi32>, tensor<1x2x?x4xi32>, tensor<1xi32> -> tensor<1x8x1x16xi32>
  %o = adamas.sparse_attn %q, %k, %v, %idx
      : tensor<1x8x1x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x8x1x16xi32> -> tensor<1x8x1x64xf32>
  return %o : tensor<1x8x1x64xf32>
}

// -----

// A static cache the new key is inserted into at the current position: the
// code cache is inserted into the same way. Per-head thresholds carry over.

// CHECK-LABEL: func.func @insert_slice(
//  CHECK-SAME:     %[[CACHE:[^:]+]]: tensor<1x2x512x64xf16>, %[[NEW:[^:]+]]: tensor<1x2x1x64xf16>, %[[POS:[^:]+]]: index, %[[T:[^:]+]]: tensor<2x3xf32>,
//  CHECK-SAME:     %[[CODES:[^:]+]]: tensor<1x2x512x4xi32> {adamas.key_codes_of = 0 : i64})
//  CHECK-SAME:     -> (tensor<1x2x512x4xi32>, tensor<1x2x512x4xi32> {adamas.key_codes_of = 0 : i64})
//       CHECK:   %[[NH:.+]] = adamas.hadamard %[[NEW]] : tensor<1x2x1x64xf16>
//       CHECK:   %[[NC:.+]] = adamas.bucketize %[[NH]] [-1.000000e+00, 0.000000e+00, 1.000000e+00] per_head %[[T]]
//       CHECK:   %[[KC:.+]] = tensor.insert_slice %[[NC]] into %[[CODES]][0, 0, %[[POS]], 0] [1, 2, 1, 4] [1, 1, 1, 1]
//       CHECK:   return %[[KC]], %[[KC]]
func.func @insert_slice(%cache: tensor<1x2x512x64xf16>, %new: tensor<1x2x1x64xf16>, %pos: index,
                        %t: tensor<2x3xf32>) -> tensor<1x2x512x4xi32> {
  %k = tensor.insert_slice %new into %cache[0, 0, %pos, 0] [1, 2, 1, 64] [1, 1, 1, 1]
      : tensor<1x2x1x64xf16> into tensor<1x2x512x64xf16>
  %kh = adamas.hadamard %k : tensor<1x2x512x64xf16>
  %kc = adamas.bucketize %kh [-1.0, 0.0, 1.0] per_head %t : tensor<1x2x512x64xf16>, tensor<2x3xf32> -> tensor<1x2x512x4xi32>
  return %kc : tensor<1x2x512x4xi32>
}

// -----

// The same with TOSA's concat (a static cache of 127 past tokens).

// CHECK-LABEL: func.func @tosa_concat(
//  CHECK-SAME:     %[[PAST:[^:]+]]: tensor<1x4x127x64xf32>, %[[NEW:[^:]+]]: tensor<1x4x1x64xf32>,
//  CHECK-SAME:     %[[CODES:[^:]+]]: tensor<1x4x127x4xi32> {adamas.key_codes_of = 0 : i64})
//       CHECK:   %[[NC:.+]] = adamas.bucketize {{.+}} : tensor<1x4x1x64xf32> -> tensor<1x4x1x4xi32>
//       CHECK:   %[[KC:.+]] = tensor.concat dim(2) %[[CODES]], %[[NC]] : (tensor<1x4x127x4xi32>, tensor<1x4x1x4xi32>) -> tensor<1x4x128x4xi32>
//       CHECK:   return %[[KC]], %[[KC]]
func.func @tosa_concat(%past: tensor<1x4x127x64xf32>, %new: tensor<1x4x1x64xf32>) -> tensor<1x4x128x4xi32> {
  %k = tosa.concat %past, %new {axis = 2 : i32} : (tensor<1x4x127x64xf32>, tensor<1x4x1x64xf32>) -> tensor<1x4x128x64xf32>
  %kh = adamas.hadamard %k : tensor<1x4x128x64xf32>
  %kc = adamas.bucketize %kh [-1.0, 0.0, 1.0] : tensor<1x4x128x64xf32> -> tensor<1x4x128x4xi32>
  return %kc : tensor<1x4x128x4xi32>
}

// -----

// Two layers, two caches: each gets its own code cache.

// CHECK-LABEL: func.func @two_layers(
//  CHECK-SAME:     %{{[^:]+}}: tensor<1x1x8x2xi32> {adamas.key_codes_of = 0 : i64}, %{{[^:]+}}: tensor<1x1x8x2xi32> {adamas.key_codes_of = 2 : i64})
//  CHECK-SAME:     -> (tensor<1x1x9x2xi32>, tensor<1x1x9x2xi32>, tensor<1x1x9x2xi32> {adamas.key_codes_of = 0 : i64}, tensor<1x1x9x2xi32> {adamas.key_codes_of = 2 : i64})
//   CHECK-NOT:   adamas.hadamard {{.+}} : tensor<1x1x9x32xf32>
func.func @two_layers(%p0: tensor<1x1x8x32xf32>, %n0: tensor<1x1x1x32xf32>,
                      %p1: tensor<1x1x8x32xf32>, %n1: tensor<1x1x1x32xf32>)
    -> (tensor<1x1x9x2xi32>, tensor<1x1x9x2xi32>) {
  %k0 = tensor.concat dim(2) %p0, %n0 : (tensor<1x1x8x32xf32>, tensor<1x1x1x32xf32>) -> tensor<1x1x9x32xf32>
  %k1 = tensor.concat dim(2) %p1, %n1 : (tensor<1x1x8x32xf32>, tensor<1x1x1x32xf32>) -> tensor<1x1x9x32xf32>
  %h0 = adamas.hadamard %k0 : tensor<1x1x9x32xf32>
  %h1 = adamas.hadamard %k1 : tensor<1x1x9x32xf32>
  %c0 = adamas.bucketize %h0 [-1.0, 0.0, 1.0] : tensor<1x1x9x32xf32> -> tensor<1x1x9x2xi32>
  %c1 = adamas.bucketize %h1 [-1.0, 0.0, 1.0] : tensor<1x1x9x32xf32> -> tensor<1x1x9x2xi32>
  return %c0, %c1 : tensor<1x1x9x2xi32>, tensor<1x1x9x2xi32>
}

// -----

// Left alone: keys that are an argument (no cache structure), a concat along
// another dim, and a function with a caller (its signature cannot change).

// CHECK-LABEL: func.func @plain_keys(
//  CHECK-SAME:     %{{[^:]+}}: tensor<1x2x64x64xf32>) -> tensor<1x2x64x4xi32> {
//       CHECK:   adamas.hadamard
func.func @plain_keys(%k: tensor<1x2x64x64xf32>) -> tensor<1x2x64x4xi32> {
  %kh = adamas.hadamard %k : tensor<1x2x64x64xf32>
  %kc = adamas.bucketize %kh [-1.0, 0.0, 1.0] : tensor<1x2x64x64xf32> -> tensor<1x2x64x4xi32>
  return %kc : tensor<1x2x64x4xi32>
}

// CHECK-LABEL: func.func @concat_heads(
//  CHECK-SAME:     -> tensor<1x3x8x4xi32> {
func.func @concat_heads(%a: tensor<1x2x8x64xf32>, %b: tensor<1x1x8x64xf32>) -> tensor<1x3x8x4xi32> {
  %k = tensor.concat dim(1) %a, %b : (tensor<1x2x8x64xf32>, tensor<1x1x8x64xf32>) -> tensor<1x3x8x64xf32>
  %kh = adamas.hadamard %k : tensor<1x3x8x64xf32>
  %kc = adamas.bucketize %kh [-1.0, 0.0, 1.0] : tensor<1x3x8x64xf32> -> tensor<1x3x8x4xi32>
  return %kc : tensor<1x3x8x4xi32>
}

// CHECK-LABEL: func.func @called(
//  CHECK-SAME:     -> tensor<1x1x9x2xi32> {
// REMARK: remark: [Missed] KeyCodesNotCached {{.*}} Function=called {{.*}}'called' has callers in the module; its signature cannot change
func.func @called(%p: tensor<1x1x8x32xf32>, %n: tensor<1x1x1x32xf32>) -> tensor<1x1x9x2xi32> {
  %k = tensor.concat dim(2) %p, %n : (tensor<1x1x8x32xf32>, tensor<1x1x1x32xf32>) -> tensor<1x1x9x32xf32>
  %h = adamas.hadamard %k : tensor<1x1x9x32xf32>
  %c = adamas.bucketize %h [-1.0, 0.0, 1.0] : tensor<1x1x9x32xf32> -> tensor<1x1x9x2xi32>
  return %c : tensor<1x1x9x2xi32>
}

func.func @caller(%p: tensor<1x1x8x32xf32>, %n: tensor<1x1x1x32xf32>) -> tensor<1x1x9x2xi32> {
  %c = call @called(%p, %n) : (tensor<1x1x8x32xf32>, tensor<1x1x1x32xf32>) -> tensor<1x1x9x2xi32>
  return %c : tensor<1x1x9x2xi32>
}
