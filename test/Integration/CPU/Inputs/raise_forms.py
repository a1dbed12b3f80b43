"""The attention forms of test/Transforms/raise-attention-*.mlir, as numbers.

Each form names a function of those lit tests (the numerical checks run the
very IR the lit tests match) and says, in numpy, what it computes: how its
arguments hold q, K and V (BHND arrays), which scale and which visible
positions (l1_topk `lengths`) its mask means, and how its result holds the
attention output. The expected values are then computed by adamas.reference
alone, never by the code under test.
"""

from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

LINALG = "raise-attention-linalg.mlir"
TOSA = "raise-attention-tosa.mlir"


def bhnd(x):
    return x


@dataclass
class Form:
    source: str                 # lit test file under test/Transforms
    function: str
    dtype: str                  # element type of q, K, V and the output
    B: int
    Hq: int
    Hkv: int
    M: int
    N: int
    D: int
    Dv: int
    scale: float                # what the model multiplies q·k by in total
    lengths: int                # the visible positions its mask means
    q_arg: Callable = bhnd      # BHND q -> the function's q argument
    k_arg: Callable = bhnd
    v_arg: Callable = bhnd
    output: Callable = bhnd     # BHND output -> the function's result
    dynamic_n: bool = False     # K and V are passed with a dynamic N
    extra: list = field(default_factory=list)  # (MLIR type, value) after q, k, v
    tosa: bool = False          # lower TOSA to linalg before the CPU pipeline
    # Tolerance of the unraised program against the reference: it computes
    # the scores and P·V in the element type, the reference once in f64.
    model_rtol: Optional[float] = None


def _tile_heads(x, kv_heads):
    """BHND heads ordered (KV head, group) -> ordered (group, KV head)."""
    B, H, M, D = x.shape
    return x.reshape(B, kv_heads, H // kv_heads, M, D).transpose(0, 2, 1, 3, 4).reshape(B, H, M, D)


def _f32(x):
    return float(np.float32(x))


FORMS = {
    "torch_mlir_mha": Form(LINALG, "torch_mlir_mha", "f32", 1, 8, 8, 1, 128, 64, 64,
                           scale=0.125, lengths=128),
    "matmul_transposed_maps_softmax": Form(
        LINALG, "matmul_transposed_maps_softmax", "f32", 1, 1, 1, 1, 256, 64, 32,
        scale=0.125, lengths=256,
        q_arg=lambda x: x[0, 0], k_arg=lambda x: x[0, 0], v_arg=lambda x: x[0, 0],
        output=lambda o: o[0, 0]),
    "hf_f16_dynamic": Form(LINALG, "hf_f16_dynamic", "f16", 1, 32, 32, 1, 48, 128, 128,
                           # 1/sqrt(128) as the model's f16 constant
                           scale=float(np.float16(0.088388347648318433)), lengths=48,
                           dynamic_n=True, model_rtol=2e-2),
    "gqa_repeat_kv": Form(LINALG, "gqa_repeat_kv", "f32", 1, 8, 2, 1, 64, 64, 64,
                          scale=0.125, lengths=64),
    # Model head h = g * Hkv + kv reads KV head kv; BHND head kv * G + g.
    "gqa_tiled_heads": Form(LINALG, "gqa_tiled_heads", "f32", 1, 8, 2, 1, 64, 64, 64,
                            scale=0.125, lengths=64,
                            q_arg=lambda x: _tile_heads(x, 2), output=lambda o: _tile_heads(o, 2)),
    "static_cache_position": Form(LINALG, "static_cache_position", "f32", 1, 8, 8, 1, 512, 64, 64,
                                  scale=0.125, lengths=301, extra=[("index", 300)]),
    "bf16_rows4_causal_constant": Form(LINALG, "bf16_rows4_causal_constant", "bf16",
                                       1, 4, 4, 4, 64, 64, 64, scale=0.125, lengths=64,
                                       model_rtol=6e-2),
    "select_causal_rows2": Form(LINALG, "select_causal_rows2", "f32", 1, 4, 4, 2, 64, 64, 64,
                                scale=0.125, lengths=64),
    "sqrt_scale_both_exp2": Form(
        LINALG, "sqrt_scale_both_exp2", "f32", 1, 4, 4, 1, 96, 64, 64,
        scale=_f32(0.353553390593273762) ** 2 * _f32(1.44269504088896341) * np.log(2.0),
        lengths=96, q_arg=lambda x: x[0], k_arg=lambda x: x[0], v_arg=lambda x: x[0],
        output=lambda o: o[0]),
    "tosa_to_linalg_lowered": Form(LINALG, "tosa_to_linalg_lowered", "f32", 1, 8, 8, 1, 128, 64, 64,
                                   scale=0.125, lengths=128),
    "tosa_mha": Form(TOSA, "tosa_mha", "f32", 1, 8, 8, 1, 128, 64, 64, scale=0.125,
                     lengths=128, tosa=True),
    "tosa_f16_padding_mask": Form(
        TOSA, "tosa_f16_padding_mask", "f16", 1, 4, 4, 1, 128, 64, 64, scale=0.125,
        lengths=100, tosa=True, model_rtol=2e-2,
        output=lambda o: o.transpose(0, 2, 1, 3).reshape(1, 1, 256)),
    "tosa_gqa_tile": Form(TOSA, "tosa_gqa_tile", "f32", 1, 8, 2, 1, 64, 64, 64, scale=0.125,
                          lengths=64, tosa=True),
}


def extract_function(path, name):
    """The `// -----` section of a lit test that defines @name, without comments."""
    with open(path) as f:
        sections = f.read().split("\n// -----\n")
    for section in sections:
        if f"func.func @{name}(" in section:
            lines = [line for line in section.splitlines()
                     if not line.lstrip().startswith("//")]
            return "\n".join(lines).strip() + "\n"
    raise SystemExit(f"no function @{name} in {path}")
