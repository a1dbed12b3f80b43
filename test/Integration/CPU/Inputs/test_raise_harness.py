"""pytest for the numerical harness of the raise and cache passes
(raise_forms.py, raise_harness.py, llama_layer.py): the pieces that decide
what a test expects, checked without running any compiler.

Run: /usr/bin/python3 -m pytest test/Integration/CPU/Inputs
"""

import argparse
import os

import numpy as np
import pytest

import harness  # noqa: F401  (puts python/ on sys.path when needed)
import llama_layer
import raise_forms
import raise_harness
from adamas import reference as ref


@pytest.mark.parametrize("name", sorted(raise_forms.FORMS))
def test_every_form_names_a_lit_function(name):
    form = raise_forms.FORMS[name]
    text = raise_forms.extract_function(os.path.join(raise_harness.TRANSFORMS, form.source),
                                        form.function)
    assert f"func.func @{form.function}(" in text
    assert "CHECK" not in text and "// -----" not in text


def test_tiled_heads_is_the_model_order():
    # BHND head kv * G + g (what sparse_attn reads) must land on model head
    # g * Hkv + kv, which reads KV head kv.
    Hkv, G = 2, 4
    heads = np.arange(Hkv * G).reshape(1, Hkv * G, 1, 1)
    model = raise_forms._tile_heads(heads, Hkv)
    for h_model in range(Hkv * G):
        h_bhnd = int(model[0, h_model, 0, 0])
        assert h_bhnd // G == h_model % Hkv


def test_link_strips_the_module_of_a_printed_file(tmp_path):
    module = tmp_path / "m.mlir"
    module.write_text("#map = affine_map<(d0) -> (d0)>\nmodule {\n  func.func @f() {\n"
                      "    return\n  }\n}\n")
    main = tmp_path / "main.mlir"
    main.write_text("func.func @main() {\n  return\n}\n")
    linked = raise_harness.link(module, main)
    assert "module" not in linked
    assert linked.index("#map") < linked.index("@f") < linked.index("@main")


def test_sparse_reference_with_a_budget_of_n_is_dense():
    rng = np.random.default_rng(3)
    args = argparse.Namespace(thresholds=[-0.75, 0.0, 0.75], budget=16, sink=0, recent=1)
    q = rng.standard_normal((1, 4, 2, 64)).astype(np.float32)
    k = rng.standard_normal((1, 2, 16, 64)).astype(np.float32)
    v = rng.standard_normal((1, 2, 16, 32)).astype(np.float32)
    lengths = np.array([15], np.int32)
    sparse = raise_harness.sparse_reference(q, k, v, lengths, args, 0.125, "f32")
    dense = ref.dense_attn(q, k, v, lengths, scale=0.125, dtype="f32")
    np.testing.assert_allclose(sparse, dense, rtol=1e-6, atol=1e-6)


def test_llama_layer_attention_sees_the_new_token():
    # With attention replaced by "return v", the layer's attention output is
    # the values; the new token's value is the last cache row.
    v = llama_layer.VARIANTS["gqa"]
    w = llama_layer.draw(v, np.random.default_rng(0))
    seen = {}

    def attention(q, k, vv):
        seen["q"], seen["k"], seen["v"] = q, k, vv
        G = q.shape[1] // k.shape[1]
        return np.repeat(vv[:, :, -1:, :], G, axis=1)

    llama_layer.layer(v, w, attention)
    assert seen["k"].shape == (1, v["Hkv"], v["past"] + 1, llama_layer.D)
    np.testing.assert_array_equal(seen["k"][:, :, :-1], w["past_k"])
    # RoPE keeps norms: rotation by the position's angles.
    x = np.random.default_rng(1).standard_normal((1, 1, 1, llama_layer.D))
    rotated = llama_layer.rope(x, w["cos"], w["sin"])
    assert np.isclose(np.linalg.norm(rotated), np.linalg.norm(x), rtol=1e-6)
