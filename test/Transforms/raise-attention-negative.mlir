// RUN: adamas-opt %s -split-input-file -adamas-raise-attention="min-context=100" \
// RUN:   | FileCheck %s --implicit-check-not=adamas.
// RUN: adamas-opt %s -split-input-file -adamas-raise-attention="min-context=100" \
// RUN:   --remarks-filter-missed=adamas-raise-attention --remark-format=emitRemark \
// RUN:   -o /dev/null 2>&1 | FileCheck %s --check-prefix=REMARK

// What adamas-raise-attention leaves alone, each with the reason it gives
// under --remarks-filter-missed: the IR keeps its contractions and no adamas
// op appears (the implicit check).

// Prefill: 128 query rows are more than max-queries (16).

// CHECK-LABEL: func.func @prefill(
//       CHECK:   linalg.softmax
//       CHECK:   linalg.batch_matmul
// REMARK: remark: [Missed] AttentionNotRaised {{.*}} Function=prefill {{.*}}prefill (M = 128 query rows > max-queries = 16)
func.func @prefill(%q: tensor<8x128x64xf32>, %k: tensor<8x128x64xf32>, %v: tensor<8x128x64xf32>) -> tensor<8x128x64xf32> {
  %zero = arith.constant 0.0 : f32
  %s_init = tensor.empty() : tensor<8x128x128xf32>
  %s_zero = linalg.fill ins(%zero : f32) outs(%s_init : tensor<8x128x128xf32>) -> tensor<8x128x128xf32>
  %s = linalg.batch_matmul
      indexing_maps = [affine_map<(b, m, n, d) -> (b, m, d)>, affine_map<(b, m, n, d) -> (b, n, d)>,
                       affine_map<(b, m, n, d) -> (b, m, n)>]
      ins(%q, %k : tensor<8x128x64xf32>, tensor<8x128x64xf32>) outs(%s_zero : tensor<8x128x128xf32>) -> tensor<8x128x128xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<8x128x128xf32>) outs(%s_init : tensor<8x128x128xf32>) -> tensor<8x128x128xf32>
  %o_init = tensor.empty() : tensor<8x128x64xf32>
  %o_zero = linalg.fill ins(%zero : f32) outs(%o_init : tensor<8x128x64xf32>) -> tensor<8x128x64xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x128x128xf32>, tensor<8x128x64xf32>) outs(%o_zero : tensor<8x128x64xf32>) -> tensor<8x128x64xf32>
  return %o : tensor<8x128x64xf32>
}

// -----

// q·Kᵀ·V with no softmax in between is not attention.

// CHECK-LABEL: func.func @chain_without_softmax(
//       CHECK:   linalg.batch_matmul
//       CHECK:   linalg.batch_matmul
// REMARK: remark: [Missed] AttentionNotRaised {{.*}} Function=chain_without_softmax {{.*}}contraction chain without a softmax in between: 'linalg.batch_matmul' feeds this contraction directly
func.func @chain_without_softmax(%q: tensor<8x1x64xf32>, %k: tensor<8x128x64xf32>, %v: tensor<8x128x64xf32>) -> tensor<8x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %s_init = tensor.empty() : tensor<8x1x128xf32>
  %s_zero = linalg.fill ins(%zero : f32) outs(%s_init : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %s = linalg.batch_matmul
      indexing_maps = [affine_map<(b, m, n, d) -> (b, m, d)>, affine_map<(b, m, n, d) -> (b, n, d)>,
                       affine_map<(b, m, n, d) -> (b, m, n)>]
      ins(%q, %k : tensor<8x1x64xf32>, tensor<8x128x64xf32>) outs(%s_zero : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %o_init = tensor.empty() : tensor<8x1x64xf32>
  %o_zero = linalg.fill ins(%zero : f32) outs(%o_init : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  %o = linalg.batch_matmul ins(%s, %v : tensor<8x1x128xf32>, tensor<8x128x64xf32>) outs(%o_zero : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  return %o : tensor<8x1x64xf32>
}

// -----

// The softmax runs over the 4 query rows while P·V contracts the keys.

// CHECK-LABEL: func.func @softmax_wrong_axis(
//       CHECK:   linalg.softmax dimension(1)
// REMARK: remark: [Missed] AttentionNotRaised {{.*}} Function=softmax_wrong_axis {{.*}}the softmax axis is not the axis P·V contracts (softmax over the wrong axis)
func.func @softmax_wrong_axis(%q: tensor<8x4x64xf32>, %k: tensor<8x128x64xf32>, %v: tensor<8x128x64xf32>) -> tensor<8x4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %s_init = tensor.empty() : tensor<8x4x128xf32>
  %s_zero = linalg.fill ins(%zero : f32) outs(%s_init : tensor<8x4x128xf32>) -> tensor<8x4x128xf32>
  %s = linalg.batch_matmul
      indexing_maps = [affine_map<(b, m, n, d) -> (b, m, d)>, affine_map<(b, m, n, d) -> (b, n, d)>,
                       affine_map<(b, m, n, d) -> (b, m, n)>]
      ins(%q, %k : tensor<8x4x64xf32>, tensor<8x128x64xf32>) outs(%s_zero : tensor<8x4x128xf32>) -> tensor<8x4x128xf32>
  %p = linalg.softmax dimension(1) ins(%s : tensor<8x4x128xf32>) outs(%s_init : tensor<8x4x128xf32>) -> tensor<8x4x128xf32>
  %o_init = tensor.empty() : tensor<8x4x64xf32>
  %o_zero = linalg.fill ins(%zero : f32) outs(%o_init : tensor<8x4x64xf32>) -> tensor<8x4x64xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x4x128xf32>, tensor<8x128x64xf32>) outs(%o_zero : tensor<8x4x64xf32>) -> tensor<8x4x64xf32>
  return %o : tensor<8x4x64xf32>
}

// -----

// The softmax runs over the single query row (M = 1).

// CHECK-LABEL: func.func @softmax_unit_axis(
//       CHECK:   linalg.softmax dimension(1)
// REMARK: remark: [Missed] AttentionNotRaised {{.*}} Function=softmax_unit_axis {{.*}}the softmax is over an axis of size 1 (the wrong axis)
func.func @softmax_unit_axis(%q: tensor<8x1x64xf32>, %k: tensor<8x128x64xf32>, %v: tensor<8x128x64xf32>) -> tensor<8x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %s_init = tensor.empty() : tensor<8x1x128xf32>
  %s_zero = linalg.fill ins(%zero : f32) outs(%s_init : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %s = linalg.batch_matmul
      indexing_maps = [affine_map<(b, m, n, d) -> (b, m, d)>, affine_map<(b, m, n, d) -> (b, n, d)>,
                       affine_map<(b, m, n, d) -> (b, m, n)>]
      ins(%q, %k : tensor<8x1x64xf32>, tensor<8x128x64xf32>) outs(%s_zero : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %p = linalg.softmax dimension(1) ins(%s : tensor<8x1x128xf32>) outs(%s_init : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %o_init = tensor.empty() : tensor<8x1x64xf32>
  %o_zero = linalg.fill ins(%zero : f32) outs(%o_init : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x1x128xf32>, tensor<8x128x64xf32>) outs(%o_zero : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  return %o : tensor<8x1x64xf32>
}

// -----

// Shapes that do not form attention: the probabilities are contracted with
// one value per key (no value dim).

// CHECK-LABEL: func.func @no_value_dim(
//       CHECK:   linalg.softmax
//       CHECK:   linalg.generic
// REMARK: remark: [Missed] AttentionNotRaised {{.*}} Function=no_value_dim {{.*}}P·V has no value dim
func.func @no_value_dim(%q: tensor<8x1x64xf32>, %k: tensor<8x128x64xf32>, %v: tensor<8x128xf32>) -> tensor<8x1xf32> {
  %zero = arith.constant 0.0 : f32
  %s_init = tensor.empty() : tensor<8x1x128xf32>
  %s_zero = linalg.fill ins(%zero : f32) outs(%s_init : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %s = linalg.batch_matmul
      indexing_maps = [affine_map<(b, m, n, d) -> (b, m, d)>, affine_map<(b, m, n, d) -> (b, n, d)>,
                       affine_map<(b, m, n, d) -> (b, m, n)>]
      ins(%q, %k : tensor<8x1x64xf32>, tensor<8x128x64xf32>) outs(%s_zero : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<8x1x128xf32>) outs(%s_init : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %o_init = tensor.empty() : tensor<8x1xf32>
  %o_zero = linalg.fill ins(%zero : f32) outs(%o_init : tensor<8x1xf32>) -> tensor<8x1xf32>
  %o = linalg.generic {indexing_maps = [affine_map<(b, m, n) -> (b, m, n)>, affine_map<(b, m, n) -> (b, n)>, affine_map<(b, m, n) -> (b, m)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%p, %v : tensor<8x1x128xf32>, tensor<8x128xf32>) outs(%o_zero : tensor<8x1xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %0 = arith.mulf %a, %b : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<8x1xf32>
  return %o : tensor<8x1xf32>
}

// -----

// A head dim of 48 has no Hadamard transform of its own size.

// CHECK-LABEL: func.func @head_dim_48(
//       CHECK:   linalg.softmax
// REMARK: remark: [Missed] AttentionNotRaised {{.*}} Function=head_dim_48 {{.*}}head dim D = 48 is not a power of two in [32, 32768]
func.func @head_dim_48(%q: tensor<8x1x48xf32>, %k: tensor<8x128x48xf32>, %v: tensor<8x128x48xf32>) -> tensor<8x1x48xf32> {
  %zero = arith.constant 0.0 : f32
  %s_init = tensor.empty() : tensor<8x1x128xf32>
  %s_zero = linalg.fill ins(%zero : f32) outs(%s_init : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %s = linalg.batch_matmul
      indexing_maps = [affine_map<(b, m, n, d) -> (b, m, d)>, affine_map<(b, m, n, d) -> (b, n, d)>,
                       affine_map<(b, m, n, d) -> (b, m, n)>]
      ins(%q, %k : tensor<8x1x48xf32>, tensor<8x128x48xf32>) outs(%s_zero : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<8x1x128xf32>) outs(%s_init : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %o_init = tensor.empty() : tensor<8x1x48xf32>
  %o_zero = linalg.fill ins(%zero : f32) outs(%o_init : tensor<8x1x48xf32>) -> tensor<8x1x48xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x1x128xf32>, tensor<8x128x48xf32>) outs(%o_zero : tensor<8x1x48xf32>) -> tensor<8x1x48xf32>
  return %o : tensor<8x1x48xf32>
}

// -----

// A static context of 64 keys is shorter than min-context (100 here).

// CHECK-LABEL: func.func @short_context(
//       CHECK:   linalg.softmax
// REMARK: remark: [Missed] AttentionNotRaised {{.*}} Function=short_context {{.*}}static context N = 64 is shorter than min-context = 100
func.func @short_context(%q: tensor<8x1x64xf32>, %k: tensor<8x64x64xf32>, %v: tensor<8x64x64xf32>) -> tensor<8x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %s_init = tensor.empty() : tensor<8x1x64xf32>
  %s_zero = linalg.fill ins(%zero : f32) outs(%s_init : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  %s = linalg.batch_matmul
      indexing_maps = [affine_map<(b, m, n, d) -> (b, m, d)>, affine_map<(b, m, n, d) -> (b, n, d)>,
                       affine_map<(b, m, n, d) -> (b, m, n)>]
      ins(%q, %k : tensor<8x1x64xf32>, tensor<8x64x64xf32>) outs(%s_zero : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<8x1x64xf32>) outs(%s_init : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  %o_init = tensor.empty() : tensor<8x1x64xf32>
  %o_zero = linalg.fill ins(%zero : f32) outs(%o_init : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x1x64xf32>, tensor<8x64x64xf32>) outs(%o_zero : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  return %o : tensor<8x1x64xf32>
}

// -----

// A mask passed in as an argument has no structure the pass can prove (it
// could hide any positions): the attention stays dense.

// CHECK-LABEL: func.func @mask_argument(
//       CHECK:   linalg.softmax
// REMARK: remark: [Missed] AttentionNotRaised {{.*}} Function=mask_argument {{.*}}mask not expressible as lengths: the mask is function argument #3: its structure cannot be proved
func.func @mask_argument(%q: tensor<8x1x64xf32>, %k: tensor<8x128x64xf32>, %v: tensor<8x128x64xf32>, %mask: tensor<1x1x128xf32>) -> tensor<8x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %s_init = tensor.empty() : tensor<8x1x128xf32>
  %s_zero = linalg.fill ins(%zero : f32) outs(%s_init : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %s = linalg.batch_matmul
      indexing_maps = [affine_map<(b, m, n, d) -> (b, m, d)>, affine_map<(b, m, n, d) -> (b, n, d)>,
                       affine_map<(b, m, n, d) -> (b, m, n)>]
      ins(%q, %k : tensor<8x1x64xf32>, tensor<8x128x64xf32>) outs(%s_zero : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %x = linalg.generic {indexing_maps = [affine_map<(b, m, n) -> (b, m, n)>, affine_map<(b, m, n) -> (0, m, n)>, affine_map<(b, m, n) -> (b, m, n)>],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s, %mask : tensor<8x1x128xf32>, tensor<1x1x128xf32>) outs(%s_init : tensor<8x1x128xf32>) {
  ^bb0(%a: f32, %m: f32, %out: f32):
    %0 = arith.addf %a, %m : f32
    linalg.yield %0 : f32
  } -> tensor<8x1x128xf32>
  %p = linalg.softmax dimension(2) ins(%x : tensor<8x1x128xf32>) outs(%s_init : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %o_init = tensor.empty() : tensor<8x1x64xf32>
  %o_zero = linalg.fill ins(%zero : f32) outs(%o_init : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x1x128xf32>, tensor<8x128x64xf32>) outs(%o_zero : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  return %o : tensor<8x1x64xf32>
}

// -----

// A constant bias (ALiBi-like slopes) is not a mask: it changes the weights
// of the visible keys, which sparse_attn cannot reproduce.

// CHECK-LABEL: func.func @bias_not_mask(
//       CHECK:   linalg.softmax
// REMARK: remark: [Missed] AttentionNotRaised {{.*}} Function=bias_not_mask {{.*}}mask not expressible as lengths: the mask has values other than 0 and -inf (a bias)
func.func @bias_not_mask(%q: tensor<8x1x64xf32>, %k: tensor<8x128x64xf32>, %v: tensor<8x128x64xf32>) -> tensor<8x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %mask = arith.constant dense<[[[-31.75, -31.50, -31.25, -31.00, -30.75, -30.50, -30.25, -30.00, -29.75, -29.50, -29.25, -29.00, -28.75, -28.50, -28.25, -28.00, -27.75, -27.50, -27.25, -27.00, -26.75, -26.50, -26.25, -26.00, -25.75, -25.50, -25.25, -25.00, -24.75, -24.50, -24.25, -24.00, -23.75, -23.50, -23.25, -23.00, -22.75, -22.50, -22.25, -22.00, -21.75, -21.50, -21.25, -21.00, -20.75, -20.50, -20.25, -20.00, -19.75, -19.50, -19.25, -19.00, -18.75, -18.50, -18.25, -18.00, -17.75, -17.50, -17.25, -17.00, -16.75, -16.50, -16.25, -16.00, -15.75, -15.50, -15.25, -15.00, -14.75, -14.50, -14.25, -14.00, -13.75, -13.50, -13.25, -13.00, -12.75, -12.50, -12.25, -12.00, -11.75, -11.50, -11.25, -11.00, -10.75, -10.50, -10.25, -10.00, -9.75, -9.50, -9.25, -9.00, -8.75, -8.50, -8.25, -8.00, -7.75, -7.50, -7.25, -7.00, -6.75, -6.50, -6.25, -6.00, -5.75, -5.50, -5.25, -5.00, -4.75, -4.50, -4.25, -4.00, -3.75, -3.50, -3.25, -3.00, -2.75, -2.50, -2.25, -2.00, -1.75, -1.50, -1.25, -1.00, -0.75, -0.50, -0.25, -0.00]]]> : tensor<1x1x128xf32>
  %s_init = tensor.empty() : tensor<8x1x128xf32>
  %s_zero = linalg.fill ins(%zero : f32) outs(%s_init : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %s = linalg.batch_matmul
      indexing_maps = [affine_map<(b, m, n, d) -> (b, m, d)>, affine_map<(b, m, n, d) -> (b, n, d)>,
                       affine_map<(b, m, n, d) -> (b, m, n)>]
      ins(%q, %k : tensor<8x1x64xf32>, tensor<8x128x64xf32>) outs(%s_zero : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %x = linalg.generic {indexing_maps = [affine_map<(b, m, n) -> (b, m, n)>, affine_map<(b, m, n) -> (0, m, n)>, affine_map<(b, m, n) -> (b, m, n)>],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s, %mask : tensor<8x1x128xf32>, tensor<1x1x128xf32>) outs(%s_init : tensor<8x1x128xf32>) {
  ^bb0(%a: f32, %m: f32, %out: f32):
    %0 = arith.addf %a, %m : f32
    linalg.yield %0 : f32
  } -> tensor<8x1x128xf32>
  %p = linalg.softmax dimension(2) ins(%x : tensor<8x1x128xf32>) outs(%s_init : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %o_init = tensor.empty() : tensor<8x1x64xf32>
  %o_zero = linalg.fill ins(%zero : f32) outs(%o_init : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x1x128xf32>, tensor<8x128x64xf32>) outs(%o_zero : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  return %o : tensor<8x1x64xf32>
}

// -----

// A dynamic number of query rows cannot be proved to be a decode step.

// CHECK-LABEL: func.func @dynamic_rows(
//       CHECK:   linalg.softmax
// REMARK: remark: [Missed] AttentionNotRaised {{.*}} Function=dynamic_rows {{.*}}the number of query rows is dynamic
func.func @dynamic_rows(%q: tensor<8x?x64xf32>, %k: tensor<8x128x64xf32>, %v: tensor<8x128x64xf32>) -> tensor<8x?x64xf32> {
  %zero = arith.constant 0.0 : f32
  %c1 = arith.constant 1 : index
  %m = tensor.dim %q, %c1 : tensor<8x?x64xf32>
  %s_init = tensor.empty(%m) : tensor<8x?x128xf32>
  %s_zero = linalg.fill ins(%zero : f32) outs(%s_init : tensor<8x?x128xf32>) -> tensor<8x?x128xf32>
  %s = linalg.batch_matmul
      indexing_maps = [affine_map<(b, m, n, d) -> (b, m, d)>, affine_map<(b, m, n, d) -> (b, n, d)>,
                       affine_map<(b, m, n, d) -> (b, m, n)>]
      ins(%q, %k : tensor<8x?x64xf32>, tensor<8x128x64xf32>) outs(%s_zero : tensor<8x?x128xf32>) -> tensor<8x?x128xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<8x?x128xf32>) outs(%s_init : tensor<8x?x128xf32>) -> tensor<8x?x128xf32>
  %o_init = tensor.empty(%m) : tensor<8x?x64xf32>
  %o_zero = linalg.fill ins(%zero : f32) outs(%o_init : tensor<8x?x64xf32>) -> tensor<8x?x64xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x?x128xf32>, tensor<8x128x64xf32>) outs(%o_zero : tensor<8x?x64xf32>) -> tensor<8x?x64xf32>
  return %o : tensor<8x?x64xf32>
}

// -----

// A softmax of a tensor that is not q·Kᵀ (router weights, say) times V.

// CHECK-LABEL: func.func @softmax_of_argument(
//       CHECK:   linalg.softmax
// REMARK: remark: [Missed] AttentionNotRaised {{.*}} Function=softmax_of_argument {{.*}}the softmax input is not the result of a contraction
func.func @softmax_of_argument(%x: tensor<8x1x128xf32>, %v: tensor<8x128x64xf32>) -> tensor<8x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %s_init = tensor.empty() : tensor<8x1x128xf32>
  %p = linalg.softmax dimension(2) ins(%x : tensor<8x1x128xf32>) outs(%s_init : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %o_init = tensor.empty() : tensor<8x1x64xf32>
  %o_zero = linalg.fill ins(%zero : f32) outs(%o_init : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x1x128xf32>, tensor<8x128x64xf32>) outs(%o_zero : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  return %o : tensor<8x1x64xf32>
}

// -----

// A plain projection is not attention and not worth a remark.

// CHECK-LABEL: func.func @projection(
//       CHECK:   linalg.matmul
// REMARK-NOT: Function=projection
func.func @projection(%x: tensor<1x512xf32>, %w: tensor<512x512xf32>) -> tensor<1x512xf32> {
  %zero = arith.constant 0.0 : f32
  %init = tensor.empty() : tensor<1x512xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%init : tensor<1x512xf32>) -> tensor<1x512xf32>
  %y = linalg.matmul ins(%x, %w : tensor<1x512xf32>, tensor<512x512xf32>) outs(%fill : tensor<1x512xf32>) -> tensor<1x512xf32>
  return %y : tensor<1x512xf32>
}
