// A Llama-style decoder layer, one decode step (M = 1 new token), in linalg on
// tensors the way a PyTorch exporter (torch-mlir's linalg backend) writes it:
// hidden size 256, 4 heads of 64 (MHA), SwiGLU MLP of 704,
// RMSNorm (eps 1e-5), rotary embeddings (rotate_half; cos and sin of the
// position come in), and a KV cache that grows by tensor.concat along the
// tokens. The step returns the layer output and the grown cache.
//
//   adamas-opt llama_decode_layer_mha.mlir --adamas-sparsify
//
// rewrites the attention into hadamard -> bucketize -> l1_topk -> sparse_attn
// (with the key codes cached: a new argument and result) and leaves the
// norms, projections, rotary embeddings and MLP as they are.

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row2 = affine_map<(d0, d1) -> (d0)>
#vec2 = affine_map<(d0, d1) -> (d1)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#rope = affine_map<(d0, d1, d2, d3) -> (0, 0, d2, d3)>
#red4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#sq = affine_map<(b, h, m, n, d) -> (b, h, m, d)>
#sk = affine_map<(b, h, m, n, d) -> (b, h, d, n)>
#ss = affine_map<(b, h, m, n, d) -> (b, h, m, n)>
#pp = affine_map<(b, h, m, d, n) -> (b, h, m, n)>
#pv = affine_map<(b, h, m, d, n) -> (b, h, n, d)>
#po = affine_map<(b, h, m, d, n) -> (b, h, m, d)>

func.func @decode_layer(%x: tensor<1x1x256xf32>, %past_k: tensor<1x4x?x64xf32>, %past_v: tensor<1x4x?x64xf32>,
                        %cos: tensor<1x1x1x64xf32>, %sin: tensor<1x1x1x64xf32>,
                        %w_attn_norm: tensor<256xf32>, %wq: tensor<256x256xf32>, %wk: tensor<256x256xf32>,
                        %wv: tensor<256x256xf32>, %wo: tensor<256x256xf32>, %w_mlp_norm: tensor<256xf32>,
                        %w_gate: tensor<256x704xf32>, %w_up: tensor<256x704xf32>, %w_down: tensor<704x256xf32>)
    -> (tensor<1x1x256xf32>, tensor<1x4x?x64xf32>, tensor<1x4x?x64xf32>) {
  %zero = arith.constant 0.000000e+00 : f32
  %one = arith.constant 1.000000e+00 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %eps = arith.constant 9.99999974E-6 : f32
  %width = arith.constant 2.560000e+02 : f32
  %scale = arith.constant 1.250000e-01 : f32
  %c2 = arith.constant 2 : index
  %empty_1 = tensor.empty() : tensor<1xf32>
  %zero_1 = linalg.fill ins(%zero : f32) outs(%empty_1 : tensor<1xf32>) -> tensor<1xf32>
  %empty_e = tensor.empty() : tensor<1x256xf32>
  %empty_256 = tensor.empty() : tensor<1x256xf32>
  %empty_704 = tensor.empty() : tensor<1x704xf32>
  %x2 = tensor.collapse_shape %x [[0, 1], [2]] : tensor<1x1x256xf32> into tensor<1x256xf32>

  // RMSNorm: h = x2 * rsqrt(mean(x2^2) + eps) * weight
  %h_sq = linalg.generic {indexing_maps = [#id2, #row2], iterator_types = ["parallel", "reduction"]}
      ins(%x2 : tensor<1x256xf32>) outs(%zero_1 : tensor<1xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %0 = arith.mulf %a, %a : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<1xf32>
  %h = linalg.generic {indexing_maps = [#id2, #row2, #vec2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x2, %h_sq, %w_attn_norm : tensor<1x256xf32>, tensor<1xf32>, tensor<256xf32>) outs(%empty_e : tensor<1x256xf32>) {
  ^bb0(%a: f32, %s: f32, %g: f32, %o: f32):
    %0 = arith.divf %s, %width : f32
    %1 = arith.addf %0, %eps : f32
    %2 = math.rsqrt %1 : f32
    %3 = arith.mulf %a, %2 : f32
    %4 = arith.mulf %3, %g : f32
    linalg.yield %4 : f32
  } -> tensor<1x256xf32>

  // Projections to heads (BHSD), rotary embeddings on q and k.
  %q_proj_zero = linalg.fill ins(%zero : f32) outs(%empty_256 : tensor<1x256xf32>) -> tensor<1x256xf32>
  %q_proj = linalg.matmul ins(%h, %wq : tensor<1x256xf32>, tensor<256x256xf32>) outs(%q_proj_zero : tensor<1x256xf32>) -> tensor<1x256xf32>
  %k_proj_zero = linalg.fill ins(%zero : f32) outs(%empty_256 : tensor<1x256xf32>) -> tensor<1x256xf32>
  %k_proj = linalg.matmul ins(%h, %wk : tensor<1x256xf32>, tensor<256x256xf32>) outs(%k_proj_zero : tensor<1x256xf32>) -> tensor<1x256xf32>
  %v_proj_zero = linalg.fill ins(%zero : f32) outs(%empty_256 : tensor<1x256xf32>) -> tensor<1x256xf32>
  %v_proj = linalg.matmul ins(%h, %wv : tensor<1x256xf32>, tensor<256x256xf32>) outs(%v_proj_zero : tensor<1x256xf32>) -> tensor<1x256xf32>
  %q_heads_bmhd = tensor.expand_shape %q_proj [[0, 1], [2, 3]] output_shape [1, 1, 4, 64] : tensor<1x256xf32> into tensor<1x1x4x64xf32>
  %q_heads_init = tensor.empty() : tensor<1x4x1x64xf32>
  %q_heads = linalg.transpose ins(%q_heads_bmhd : tensor<1x1x4x64xf32>) outs(%q_heads_init : tensor<1x4x1x64xf32>) permutation = [0, 2, 1, 3]
  %k_heads_bmhd = tensor.expand_shape %k_proj [[0, 1], [2, 3]] output_shape [1, 1, 4, 64] : tensor<1x256xf32> into tensor<1x1x4x64xf32>
  %k_heads_init = tensor.empty() : tensor<1x4x1x64xf32>
  %k_heads = linalg.transpose ins(%k_heads_bmhd : tensor<1x1x4x64xf32>) outs(%k_heads_init : tensor<1x4x1x64xf32>) permutation = [0, 2, 1, 3]
  %v_new_bmhd = tensor.expand_shape %v_proj [[0, 1], [2, 3]] output_shape [1, 1, 4, 64] : tensor<1x256xf32> into tensor<1x1x4x64xf32>
  %v_new_init = tensor.empty() : tensor<1x4x1x64xf32>
  %v_new = linalg.transpose ins(%v_new_bmhd : tensor<1x1x4x64xf32>) outs(%v_new_init : tensor<1x4x1x64xf32>) permutation = [0, 2, 1, 3]
  // RoPE: q = q_heads * cos + rotate_half(q_heads) * sin
  %q_lo = tensor.extract_slice %q_heads[0, 0, 0, 0] [1, 4, 1, 32] [1, 1, 1, 1] : tensor<1x4x1x64xf32> to tensor<1x4x1x32xf32>
  %q_hi = tensor.extract_slice %q_heads[0, 0, 0, 32] [1, 4, 1, 32] [1, 1, 1, 1] : tensor<1x4x1x64xf32> to tensor<1x4x1x32xf32>
  %q_neg_init = tensor.empty() : tensor<1x4x1x32xf32>
  %q_neg = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%q_hi : tensor<1x4x1x32xf32>) outs(%q_neg_init : tensor<1x4x1x32xf32>) {
  ^bb0(%a: f32, %o: f32):
    %0 = arith.negf %a : f32
    linalg.yield %0 : f32
  } -> tensor<1x4x1x32xf32>
  %q_rot = tensor.concat dim(3) %q_neg, %q_lo : (tensor<1x4x1x32xf32>, tensor<1x4x1x32xf32>) -> tensor<1x4x1x64xf32>
  %q_init = tensor.empty() : tensor<1x4x1x64xf32>
  %q = linalg.generic {indexing_maps = [#id4, #rope, #id4, #rope, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%q_heads, %cos, %q_rot, %sin : tensor<1x4x1x64xf32>, tensor<1x1x1x64xf32>, tensor<1x4x1x64xf32>, tensor<1x1x1x64xf32>) outs(%q_init : tensor<1x4x1x64xf32>) {
  ^bb0(%a: f32, %c: f32, %r: f32, %s: f32, %o: f32):
    %0 = arith.mulf %a, %c : f32
    %1 = arith.mulf %r, %s : f32
    %2 = arith.addf %0, %1 : f32
    linalg.yield %2 : f32
  } -> tensor<1x4x1x64xf32>
  // RoPE: k_new = k_heads * cos + rotate_half(k_heads) * sin
  %k_new_lo = tensor.extract_slice %k_heads[0, 0, 0, 0] [1, 4, 1, 32] [1, 1, 1, 1] : tensor<1x4x1x64xf32> to tensor<1x4x1x32xf32>
  %k_new_hi = tensor.extract_slice %k_heads[0, 0, 0, 32] [1, 4, 1, 32] [1, 1, 1, 1] : tensor<1x4x1x64xf32> to tensor<1x4x1x32xf32>
  %k_new_neg_init = tensor.empty() : tensor<1x4x1x32xf32>
  %k_new_neg = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%k_new_hi : tensor<1x4x1x32xf32>) outs(%k_new_neg_init : tensor<1x4x1x32xf32>) {
  ^bb0(%a: f32, %o: f32):
    %0 = arith.negf %a : f32
    linalg.yield %0 : f32
  } -> tensor<1x4x1x32xf32>
  %k_new_rot = tensor.concat dim(3) %k_new_neg, %k_new_lo : (tensor<1x4x1x32xf32>, tensor<1x4x1x32xf32>) -> tensor<1x4x1x64xf32>
  %k_new_init = tensor.empty() : tensor<1x4x1x64xf32>
  %k_new = linalg.generic {indexing_maps = [#id4, #rope, #id4, #rope, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%k_heads, %cos, %k_new_rot, %sin : tensor<1x4x1x64xf32>, tensor<1x1x1x64xf32>, tensor<1x4x1x64xf32>, tensor<1x1x1x64xf32>) outs(%k_new_init : tensor<1x4x1x64xf32>) {
  ^bb0(%a: f32, %c: f32, %r: f32, %s: f32, %o: f32):
    %0 = arith.mulf %a, %c : f32
    %1 = arith.mulf %r, %s : f32
    %2 = arith.addf %0, %1 : f32
    linalg.yield %2 : f32
  } -> tensor<1x4x1x64xf32>

  // The KV cache grows by the new token.
  %k = tensor.concat dim(2) %past_k, %k_new : (tensor<1x4x?x64xf32>, tensor<1x4x1x64xf32>) -> tensor<1x4x?x64xf32>
  %v = tensor.concat dim(2) %past_v, %v_new : (tensor<1x4x?x64xf32>, tensor<1x4x1x64xf32>) -> tensor<1x4x?x64xf32>
  %n = tensor.dim %k, %c2 : tensor<1x4x?x64xf32>

  // Attention: softmax(q @ k^T * scale) @ v, the softmax decomposed.
  %kt_init = tensor.empty(%n) : tensor<1x4x64x?xf32>
  %kt = linalg.transpose ins(%k : tensor<1x4x?x64xf32>) outs(%kt_init : tensor<1x4x64x?xf32>) permutation = [0, 1, 3, 2]
  %s_init = tensor.empty(%n) : tensor<1x4x1x?xf32>
  %s_zero = linalg.fill ins(%zero : f32) outs(%s_init : tensor<1x4x1x?xf32>) -> tensor<1x4x1x?xf32>
  %scores = linalg.generic {indexing_maps = [#sq, #sk, #ss], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %kt : tensor<1x4x1x64xf32>, tensor<1x4x64x?xf32>) outs(%s_zero : tensor<1x4x1x?xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %0 = arith.mulf %a, %b : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<1x4x1x?xf32>
  %scaled = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%scores : tensor<1x4x1x?xf32>) outs(%s_init : tensor<1x4x1x?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %0 = arith.mulf %a, %scale : f32
    linalg.yield %0 : f32
  } -> tensor<1x4x1x?xf32>
  %r_init = tensor.empty() : tensor<1x4x1xf32>
  %r_ninf = linalg.fill ins(%ninf : f32) outs(%r_init : tensor<1x4x1xf32>) -> tensor<1x4x1xf32>
  %row_max = linalg.reduce ins(%scaled : tensor<1x4x1x?xf32>) outs(%r_ninf : tensor<1x4x1xf32>) dimensions = [3]
    (%a: f32, %acc: f32) {
      %0 = arith.maximumf %a, %acc : f32
      linalg.yield %0 : f32
    }
  %exp = linalg.generic {indexing_maps = [#id4, #red4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%scaled, %row_max : tensor<1x4x1x?xf32>, tensor<1x4x1xf32>) outs(%s_init : tensor<1x4x1x?xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %0 = arith.subf %a, %m : f32
    %1 = math.exp %0 : f32
    linalg.yield %1 : f32
  } -> tensor<1x4x1x?xf32>
  %r_zero = linalg.fill ins(%zero : f32) outs(%r_init : tensor<1x4x1xf32>) -> tensor<1x4x1xf32>
  %row_sum = linalg.reduce ins(%exp : tensor<1x4x1x?xf32>) outs(%r_zero : tensor<1x4x1xf32>) dimensions = [3]
    (%a: f32, %acc: f32) {
      %0 = arith.addf %a, %acc : f32
      linalg.yield %0 : f32
    }
  %probs = linalg.generic {indexing_maps = [#id4, #red4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%exp, %row_sum : tensor<1x4x1x?xf32>, tensor<1x4x1xf32>) outs(%s_init : tensor<1x4x1x?xf32>) {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %0 = arith.divf %a, %s : f32
    linalg.yield %0 : f32
  } -> tensor<1x4x1x?xf32>
  %attn_init = tensor.empty() : tensor<1x4x1x64xf32>
  %attn_zero = linalg.fill ins(%zero : f32) outs(%attn_init : tensor<1x4x1x64xf32>) -> tensor<1x4x1x64xf32>
  %attn = linalg.generic {indexing_maps = [#pp, #pv, #po], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%probs, %v : tensor<1x4x1x?xf32>, tensor<1x4x?x64xf32>) outs(%attn_zero : tensor<1x4x1x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %0 = arith.mulf %a, %b : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<1x4x1x64xf32>

  // Heads back to the hidden dim, output projection, residual.
  %attn_t_init = tensor.empty() : tensor<1x1x4x64xf32>
  %attn_t = linalg.transpose ins(%attn : tensor<1x4x1x64xf32>) outs(%attn_t_init : tensor<1x1x4x64xf32>) permutation = [0, 2, 1, 3]
  %attn_2 = tensor.collapse_shape %attn_t [[0, 1], [2, 3]] : tensor<1x1x4x64xf32> into tensor<1x256xf32>
  %o_proj_zero = linalg.fill ins(%zero : f32) outs(%empty_256 : tensor<1x256xf32>) -> tensor<1x256xf32>
  %o_proj = linalg.matmul ins(%attn_2, %wo : tensor<1x256xf32>, tensor<256x256xf32>) outs(%o_proj_zero : tensor<1x256xf32>) -> tensor<1x256xf32>
  %h1 = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x2, %o_proj : tensor<1x256xf32>, tensor<1x256xf32>) outs(%empty_e : tensor<1x256xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %0 = arith.addf %a, %b : f32
    linalg.yield %0 : f32
  } -> tensor<1x256xf32>

  // RMSNorm: h2 = h1 * rsqrt(mean(h1^2) + eps) * weight
  %h2_sq = linalg.generic {indexing_maps = [#id2, #row2], iterator_types = ["parallel", "reduction"]}
      ins(%h1 : tensor<1x256xf32>) outs(%zero_1 : tensor<1xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %0 = arith.mulf %a, %a : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<1xf32>
  %h2 = linalg.generic {indexing_maps = [#id2, #row2, #vec2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%h1, %h2_sq, %w_mlp_norm : tensor<1x256xf32>, tensor<1xf32>, tensor<256xf32>) outs(%empty_e : tensor<1x256xf32>) {
  ^bb0(%a: f32, %s: f32, %g: f32, %o: f32):
    %0 = arith.divf %s, %width : f32
    %1 = arith.addf %0, %eps : f32
    %2 = math.rsqrt %1 : f32
    %3 = arith.mulf %a, %2 : f32
    %4 = arith.mulf %3, %g : f32
    linalg.yield %4 : f32
  } -> tensor<1x256xf32>

  // SwiGLU MLP, residual.
  %gate_zero = linalg.fill ins(%zero : f32) outs(%empty_704 : tensor<1x704xf32>) -> tensor<1x704xf32>
  %gate = linalg.matmul ins(%h2, %w_gate : tensor<1x256xf32>, tensor<256x704xf32>) outs(%gate_zero : tensor<1x704xf32>) -> tensor<1x704xf32>
  %up_zero = linalg.fill ins(%zero : f32) outs(%empty_704 : tensor<1x704xf32>) -> tensor<1x704xf32>
  %up = linalg.matmul ins(%h2, %w_up : tensor<1x256xf32>, tensor<256x704xf32>) outs(%up_zero : tensor<1x704xf32>) -> tensor<1x704xf32>
  %act = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%gate, %up : tensor<1x704xf32>, tensor<1x704xf32>) outs(%empty_704 : tensor<1x704xf32>) {
  ^bb0(%g: f32, %u: f32, %o: f32):
    %0 = arith.negf %g : f32
    %1 = math.exp %0 : f32
    %2 = arith.addf %1, %one : f32
    %3 = arith.divf %g, %2 : f32
    %4 = arith.mulf %3, %u : f32
    linalg.yield %4 : f32
  } -> tensor<1x704xf32>
  %down_zero = linalg.fill ins(%zero : f32) outs(%empty_256 : tensor<1x256xf32>) -> tensor<1x256xf32>
  %down = linalg.matmul ins(%act, %w_down : tensor<1x704xf32>, tensor<704x256xf32>) outs(%down_zero : tensor<1x256xf32>) -> tensor<1x256xf32>
  %out2 = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%h1, %down : tensor<1x256xf32>, tensor<1x256xf32>) outs(%empty_e : tensor<1x256xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %0 = arith.addf %a, %b : f32
    linalg.yield %0 : f32
  } -> tensor<1x256xf32>
  %out = tensor.expand_shape %out2 [[0, 1], [2]] output_shape [1, 1, 256] : tensor<1x256xf32> into tensor<1x1x256xf32>
  return %out, %k, %v : tensor<1x1x256xf32>, tensor<1x4x?x64xf32>, tensor<1x4x?x64xf32>
}
