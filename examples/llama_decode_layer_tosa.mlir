// The Llama-style decoder layer of llama_decode_layer_mha.mlir, one decode
// step, in TOSA the way torch-mlir's TOSA backend writes it: rank-3
// tosa.matmul with reshapes around it, tosa.transpose for the heads, RMSNorm
// with reduce_sum and rsqrt, rotary embeddings with slice / negate / concat,
// the softmax as reduce_max, sub, exp, reduce_sum, reciprocal and mul, and a
// KV cache of 127 past tokens grown by tosa.concat. Hidden size 256, 4 heads
// of 64, SwiGLU MLP of 704 (sigmoid).
//
//   adamas-opt llama_decode_layer_tosa.mlir --adamas-sparsify
//
// rewrites the attention into hadamard -> bucketize -> l1_topk -> sparse_attn
// with the key codes cached, and leaves every other TOSA op as it is.

func.func @decode_layer(%x: tensor<1x1x256xf32>, %past_k: tensor<1x4x127x64xf32>, %past_v: tensor<1x4x127x64xf32>,
                        %cos: tensor<1x1x1x64xf32>, %sin: tensor<1x1x1x64xf32>,
                        %w_attn_norm: tensor<1x1x256xf32>, %wq: tensor<1x256x256xf32>, %wk: tensor<1x256x256xf32>, %wv: tensor<1x256x256xf32>,
                        %wo: tensor<1x256x256xf32>, %w_mlp_norm: tensor<1x1x256xf32>, %w_gate: tensor<1x256x704xf32>,
                        %w_up: tensor<1x256x704xf32>, %w_down: tensor<1x704x256xf32>)
    -> (tensor<1x1x256xf32>, tensor<1x4x128x64xf32>, tensor<1x4x128x64xf32>) {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %inv_width = "tosa.const"() <{values = dense<3.906250000e-03> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %eps = "tosa.const"() <{values = dense<9.99999974E-6> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %scale = "tosa.const"() <{values = dense<0.125> : tensor<1x1x1x1xf32>}> : () -> tensor<1x1x1x1xf32>
  %s_heads = tosa.const_shape {values = dense<[1, 1, 4, 64]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %s_hidden = tosa.const_shape {values = dense<[1, 1, 256]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %s_q3 = tosa.const_shape {values = dense<[4, 1, 64]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %s_k3 = tosa.const_shape {values = dense<[4, 64, 128]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %s_v3 = tosa.const_shape {values = dense<[4, 128, 64]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %s_s4 = tosa.const_shape {values = dense<[1, 4, 1, 128]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %s_p3 = tosa.const_shape {values = dense<[4, 1, 128]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %s_o4 = tosa.const_shape {values = dense<[1, 4, 1, 64]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %lo_start = tosa.const_shape {values = dense<[0, 0, 0, 0]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %hi_start = tosa.const_shape {values = dense<[0, 0, 0, 32]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %half = tosa.const_shape {values = dense<[1, 4, 1, 32]> : tensor<4xindex>} : () -> !tosa.shape<4>

  // RMSNorm
  %h_sq = tosa.mul %x, %x, %shift : (tensor<1x1x256xf32>, tensor<1x1x256xf32>, tensor<1xi8>) -> tensor<1x1x256xf32>
  %h_sum = tosa.reduce_sum %h_sq {axis = 2 : i32} : (tensor<1x1x256xf32>) -> tensor<1x1x1xf32>
  %h_mean = tosa.mul %h_sum, %inv_width, %shift : (tensor<1x1x1xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<1x1x1xf32>
  %h_var = tosa.add %h_mean, %eps : (tensor<1x1x1xf32>, tensor<1x1x1xf32>) -> tensor<1x1x1xf32>
  %h_r = tosa.rsqrt %h_var : (tensor<1x1x1xf32>) -> tensor<1x1x1xf32>
  %h_n = tosa.mul %x, %h_r, %shift : (tensor<1x1x256xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<1x1x256xf32>
  %h = tosa.mul %h_n, %w_attn_norm, %shift : (tensor<1x1x256xf32>, tensor<1x1x256xf32>, tensor<1xi8>) -> tensor<1x1x256xf32>
  // Projections to heads, rotary embeddings on q and k.
  %q_proj = tosa.matmul %h, %wq, %zp, %zp : (tensor<1x1x256xf32>, tensor<1x256x256xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x1x256xf32>
  %k_proj = tosa.matmul %h, %wk, %zp, %zp : (tensor<1x1x256xf32>, tensor<1x256x256xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x1x256xf32>
  %v_proj = tosa.matmul %h, %wv, %zp, %zp : (tensor<1x1x256xf32>, tensor<1x256x256xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x1x256xf32>
  %q_heads_r = tosa.reshape %q_proj, %s_heads : (tensor<1x1x256xf32>, !tosa.shape<4>) -> tensor<1x1x4x64xf32>
  %q_heads = tosa.transpose %q_heads_r {perms = array<i32: 0, 2, 1, 3>} : (tensor<1x1x4x64xf32>) -> tensor<1x4x1x64xf32>
  %k_heads_r = tosa.reshape %k_proj, %s_heads : (tensor<1x1x256xf32>, !tosa.shape<4>) -> tensor<1x1x4x64xf32>
  %k_heads = tosa.transpose %k_heads_r {perms = array<i32: 0, 2, 1, 3>} : (tensor<1x1x4x64xf32>) -> tensor<1x4x1x64xf32>
  %v_new_r = tosa.reshape %v_proj, %s_heads : (tensor<1x1x256xf32>, !tosa.shape<4>) -> tensor<1x1x4x64xf32>
  %v_new = tosa.transpose %v_new_r {perms = array<i32: 0, 2, 1, 3>} : (tensor<1x1x4x64xf32>) -> tensor<1x4x1x64xf32>
  // RoPE: q_heads * cos + rotate_half(q_heads) * sin
  %q_lo = tosa.slice %q_heads, %lo_start, %half : (tensor<1x4x1x64xf32>, !tosa.shape<4>, !tosa.shape<4>) -> tensor<1x4x1x32xf32>
  %q_hi = tosa.slice %q_heads, %hi_start, %half : (tensor<1x4x1x64xf32>, !tosa.shape<4>, !tosa.shape<4>) -> tensor<1x4x1x32xf32>
  %q_neg = tosa.negate %q_hi, %zp, %zp : (tensor<1x4x1x32xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x1x32xf32>
  %q_rot = tosa.concat %q_neg, %q_lo {axis = 3 : i32} : (tensor<1x4x1x32xf32>, tensor<1x4x1x32xf32>) -> tensor<1x4x1x64xf32>
  %q_c = tosa.mul %q_heads, %cos, %shift : (tensor<1x4x1x64xf32>, tensor<1x1x1x64xf32>, tensor<1xi8>) -> tensor<1x4x1x64xf32>
  %q_s = tosa.mul %q_rot, %sin, %shift : (tensor<1x4x1x64xf32>, tensor<1x1x1x64xf32>, tensor<1xi8>) -> tensor<1x4x1x64xf32>
  %q = tosa.add %q_c, %q_s : (tensor<1x4x1x64xf32>, tensor<1x4x1x64xf32>) -> tensor<1x4x1x64xf32>
  // RoPE: k_heads * cos + rotate_half(k_heads) * sin
  %k_new_lo = tosa.slice %k_heads, %lo_start, %half : (tensor<1x4x1x64xf32>, !tosa.shape<4>, !tosa.shape<4>) -> tensor<1x4x1x32xf32>
  %k_new_hi = tosa.slice %k_heads, %hi_start, %half : (tensor<1x4x1x64xf32>, !tosa.shape<4>, !tosa.shape<4>) -> tensor<1x4x1x32xf32>
  %k_new_neg = tosa.negate %k_new_hi, %zp, %zp : (tensor<1x4x1x32xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x1x32xf32>
  %k_new_rot = tosa.concat %k_new_neg, %k_new_lo {axis = 3 : i32} : (tensor<1x4x1x32xf32>, tensor<1x4x1x32xf32>) -> tensor<1x4x1x64xf32>
  %k_new_c = tosa.mul %k_heads, %cos, %shift : (tensor<1x4x1x64xf32>, tensor<1x1x1x64xf32>, tensor<1xi8>) -> tensor<1x4x1x64xf32>
  %k_new_s = tosa.mul %k_new_rot, %sin, %shift : (tensor<1x4x1x64xf32>, tensor<1x1x1x64xf32>, tensor<1xi8>) -> tensor<1x4x1x64xf32>
  %k_new = tosa.add %k_new_c, %k_new_s : (tensor<1x4x1x64xf32>, tensor<1x4x1x64xf32>) -> tensor<1x4x1x64xf32>
  // The KV cache grows by the new token.
  %k = tosa.concat %past_k, %k_new {axis = 2 : i32} : (tensor<1x4x127x64xf32>, tensor<1x4x1x64xf32>) -> tensor<1x4x128x64xf32>
  %v = tosa.concat %past_v, %v_new {axis = 2 : i32} : (tensor<1x4x127x64xf32>, tensor<1x4x1x64xf32>) -> tensor<1x4x128x64xf32>
  // Attention: softmax(q @ k^T * scale) @ v.
  %q3 = tosa.reshape %q, %s_q3 : (tensor<1x4x1x64xf32>, !tosa.shape<3>) -> tensor<4x1x64xf32>
  %kt = tosa.transpose %k {perms = array<i32: 0, 1, 3, 2>} : (tensor<1x4x128x64xf32>) -> tensor<1x4x64x128xf32>
  %kt3 = tosa.reshape %kt, %s_k3 : (tensor<1x4x64x128xf32>, !tosa.shape<3>) -> tensor<4x64x128xf32>
  %s3 = tosa.matmul %q3, %kt3, %zp, %zp : (tensor<4x1x64xf32>, tensor<4x64x128xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<4x1x128xf32>
  %s = tosa.reshape %s3, %s_s4 : (tensor<4x1x128xf32>, !tosa.shape<4>) -> tensor<1x4x1x128xf32>
  %scaled = tosa.mul %s, %scale, %shift : (tensor<1x4x1x128xf32>, tensor<1x1x1x1xf32>, tensor<1xi8>) -> tensor<1x4x1x128xf32>
  %row_max = tosa.reduce_max %scaled {axis = 3 : i32} : (tensor<1x4x1x128xf32>) -> tensor<1x4x1x1xf32>
  %shifted = tosa.sub %scaled, %row_max : (tensor<1x4x1x128xf32>, tensor<1x4x1x1xf32>) -> tensor<1x4x1x128xf32>
  %exp = tosa.exp %shifted : (tensor<1x4x1x128xf32>) -> tensor<1x4x1x128xf32>
  %row_sum = tosa.reduce_sum %exp {axis = 3 : i32} : (tensor<1x4x1x128xf32>) -> tensor<1x4x1x1xf32>
  %inv_sum = tosa.reciprocal %row_sum : (tensor<1x4x1x1xf32>) -> tensor<1x4x1x1xf32>
  %probs = tosa.mul %exp, %inv_sum, %shift : (tensor<1x4x1x128xf32>, tensor<1x4x1x1xf32>, tensor<1xi8>) -> tensor<1x4x1x128xf32>
  %p3 = tosa.reshape %probs, %s_p3 : (tensor<1x4x1x128xf32>, !tosa.shape<3>) -> tensor<4x1x128xf32>
  %v3 = tosa.reshape %v, %s_v3 : (tensor<1x4x128x64xf32>, !tosa.shape<3>) -> tensor<4x128x64xf32>
  %o3 = tosa.matmul %p3, %v3, %zp, %zp : (tensor<4x1x128xf32>, tensor<4x128x64xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<4x1x64xf32>
  %o4 = tosa.reshape %o3, %s_o4 : (tensor<4x1x64xf32>, !tosa.shape<4>) -> tensor<1x4x1x64xf32>
  // Heads back to the hidden dim, output projection, residual.
  %ot = tosa.transpose %o4 {perms = array<i32: 0, 2, 1, 3>} : (tensor<1x4x1x64xf32>) -> tensor<1x1x4x64xf32>
  %attn = tosa.reshape %ot, %s_hidden : (tensor<1x1x4x64xf32>, !tosa.shape<3>) -> tensor<1x1x256xf32>
  %o_proj = tosa.matmul %attn, %wo, %zp, %zp : (tensor<1x1x256xf32>, tensor<1x256x256xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x1x256xf32>
  %h1 = tosa.add %x, %o_proj : (tensor<1x1x256xf32>, tensor<1x1x256xf32>) -> tensor<1x1x256xf32>
  // RMSNorm
  %h2_sq = tosa.mul %h1, %h1, %shift : (tensor<1x1x256xf32>, tensor<1x1x256xf32>, tensor<1xi8>) -> tensor<1x1x256xf32>
  %h2_sum = tosa.reduce_sum %h2_sq {axis = 2 : i32} : (tensor<1x1x256xf32>) -> tensor<1x1x1xf32>
  %h2_mean = tosa.mul %h2_sum, %inv_width, %shift : (tensor<1x1x1xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<1x1x1xf32>
  %h2_var = tosa.add %h2_mean, %eps : (tensor<1x1x1xf32>, tensor<1x1x1xf32>) -> tensor<1x1x1xf32>
  %h2_r = tosa.rsqrt %h2_var : (tensor<1x1x1xf32>) -> tensor<1x1x1xf32>
  %h2_n = tosa.mul %h1, %h2_r, %shift : (tensor<1x1x256xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<1x1x256xf32>
  %h2 = tosa.mul %h2_n, %w_mlp_norm, %shift : (tensor<1x1x256xf32>, tensor<1x1x256xf32>, tensor<1xi8>) -> tensor<1x1x256xf32>
  // SwiGLU MLP, residual.
  %gate = tosa.matmul %h2, %w_gate, %zp, %zp : (tensor<1x1x256xf32>, tensor<1x256x704xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x1x704xf32>
  %up = tosa.matmul %h2, %w_up, %zp, %zp : (tensor<1x1x256xf32>, tensor<1x256x704xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x1x704xf32>
  %sig = tosa.sigmoid %gate : (tensor<1x1x704xf32>) -> tensor<1x1x704xf32>
  %silu = tosa.mul %gate, %sig, %shift : (tensor<1x1x704xf32>, tensor<1x1x704xf32>, tensor<1xi8>) -> tensor<1x1x704xf32>
  %act = tosa.mul %silu, %up, %shift : (tensor<1x1x704xf32>, tensor<1x1x704xf32>, tensor<1xi8>) -> tensor<1x1x704xf32>
  %down = tosa.matmul %act, %w_down, %zp, %zp : (tensor<1x1x704xf32>, tensor<1x704x256xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x1x256xf32>
  %out = tosa.add %h1, %down : (tensor<1x1x256xf32>, tensor<1x1x256xf32>) -> tensor<1x1x256xf32>
  return %out, %k, %v : tensor<1x1x256xf32>, tensor<1x4x128x64xf32>, tensor<1x4x128x64xf32>
}
