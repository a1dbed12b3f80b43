"""The Hugging Face integration's plain-Python half (adamas.hf_settings):
argument checks of enable(), the kernels a model needs, and that the carried
artifact cache (bench/steps/cases.hf_functions) holds what hf_check.py and
examples/hf_generate.py ask for. Needs neither torch nor transformers."""

import ast
import math
import os

import pytest

from adamas import compile as ac
from adamas.hf_settings import (Settings, check_heads, kernel_functions,
                                normalized_scale)
from conftest import run_without_torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_defaults():
    s = Settings()
    assert (s.budget, s.skip_layers, s.bits, s.sink, s.recent) == (256, 2, 2, 4, 16)
    assert s.thresholds == ac.DEFAULT_THRESHOLDS[2]
    assert s.dense_up_to == 256
    assert Settings(min_context=0).dense_up_to == 0


@pytest.mark.parametrize("kwargs, error, text", [
    (dict(budget=0), ValueError, "1 <= budget <= 4096"),
    (dict(budget=4097), ValueError, "budget = 4097"),
    (dict(budget=64.0), TypeError, "budget must be an int"),
    (dict(budget=True), TypeError, "budget must be an int"),
    (dict(skip_layers=-1), ValueError, "skip_layers"),
    (dict(bits=4), ValueError, "bits must be 1, 2 or 3"),
    (dict(budget=32, sink=16, recent=17), ValueError, "sink 16 + recent 17 > budget 32"),
    (dict(max_rows=17), ValueError, "max_rows"),
    (dict(min_context=-1), ValueError, "min_context"),
    (dict(thresholds=(1.0, 0.0, 2.0)), ValueError, "strictly increasing"),
    (dict(thresholds=(0.0, 1.0)), ValueError, "needs 3 thresholds"),
    (dict(thresholds=(0.0, float("nan"), 1.0)), ValueError, "finite"),
    (dict(thresholds="abc"), TypeError, "sequence of numbers"),
    (dict(calibrate=1), TypeError, "calibrate must be a bool"),
    (dict(calibrate_scale=0), ValueError, "calibrate_scale"),
])
def test_bad_settings_raise_clearly(kwargs, error, text):
    with pytest.raises(error, match="adamas.torch.hf") as info:
        Settings(**kwargs)
    assert text in str(info.value)


def test_replace_checks_names_and_follows_bits():
    s = Settings().replace(bits=3)
    assert s.thresholds == ac.DEFAULT_THRESHOLDS[3]     # the grid of the new bits
    assert Settings().replace(bits=1, thresholds=[0.5]).thresholds == (0.5,)
    with pytest.raises(TypeError, match="unknown setting"):
        Settings().replace(budgte=64)


def test_heads():
    check_heads(32, 8, 128)
    check_heads(14, 2, 64)
    with pytest.raises(ValueError, match="head_dim 96"):
        check_heads(4, 4, 96)
    with pytest.raises(ValueError, match="multiple of KV heads"):
        check_heads(6, 4, 128)


def test_scale_of_transformers_models_is_the_default():
    # Llama/Mistral/Qwen2 pass scaling = head_dim ** -0.5: the default kernel.
    for d in (64, 128):
        assert normalized_scale(d ** -0.5, d) is None
        assert normalized_scale(None, d) is None
        assert normalized_scale(0.5, d) == 0.5
    assert math.isclose(normalized_scale(1 / 11.0, 128), 1 / 11.0)


def test_kernel_functions_are_what_adamas_torch_compiles():
    s = Settings(budget=128, max_rows=2, sink=2, recent=8)
    functions = kernel_functions(32, 8, 128, "bf16", s, scaling=128 ** -0.5)
    assert [(kind, spec.rows) for kind, spec, _ in functions] == \
        [("step", 1), ("step", 2), ("encode", 1)]
    kind, step, name = functions[0]
    # The spec adamas.torch.decode_attention builds for these arguments
    # (adamas/torch/__init__.py: _step_for), hence the same IR and key.
    same = ac.step_spec(32, 8, 128, 128, 1, "bf16", 128, 2, list(ac.DEFAULT_THRESHOLDS[2]),
                        2, 8, False, None, True)
    assert name == "adamas_decode_step"
    assert ac.decode_step_ir(step, name) == ac.decode_step_ir(same, name)
    kind, encode, name = functions[-1]
    # ... and the one CodeCache.prefill builds.
    same = ac.step_spec(8, 8, 128, 128, 1, "bf16", 1, 2, ac.DEFAULT_THRESHOLDS[2], recent=0,
                        per_head_thresholds=True)
    assert name == "adamas_encode_keys"
    assert ac.prefill_encode_ir(encode, name) == ac.prefill_encode_ir(same, name)
    fixed = kernel_functions(32, 8, 128, "f16", Settings(calibrate=False))
    assert not any(spec.per_head_thresholds for _, spec, _ in fixed)
    with pytest.raises(ValueError, match="dtype"):
        kernel_functions(32, 8, 128, "f32", Settings())


def test_carried_cache_covers_the_check_and_the_example():
    from conftest import load_bench_cases
    cases = load_bench_cases()
    functions = cases.hf_functions()
    keys = [(kind, repr(spec)) for kind, spec, _ in functions]
    assert len(keys) == len(set(keys))
    have = {(kind, spec.q_heads, spec.kv_heads, spec.dims, spec.dtype, spec.k,
             spec.per_head_thresholds) for kind, spec, _ in functions}
    for m in cases.HF_CHECK_MODELS.values():
        for k in cases.HF_CHECK_BUDGETS:
            assert ("step", m["heads"], m["kv_heads"], m["head_dim"], m["dtype"], k, True) in have
        assert ("encode", m["kv_heads"], m["kv_heads"], m["head_dim"], m["dtype"], 1,
                True) in have
    example = cases._example_module()          # importable without torch
    for m in example.PRESETS.values():
        check_heads(m["heads"], m["kv_heads"], m["head_dim"])
        for k in example.BUDGETS:
            for dtype in example.DTYPES:
                assert ("step", m["heads"], m["kv_heads"], m["head_dim"], dtype, k,
                        True) in have


def test_hf_module_imports_transformers_lazily():
    # transformers is imported by register()/enable(), never at import time.
    path = os.path.join(REPO, "python", "adamas", "torch", "hf.py")
    tree = ast.parse(open(path).read())
    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    names = [a.name for n in top if isinstance(n, ast.Import) for a in n.names] + \
        [n.module or "" for n in top if isinstance(n, ast.ImportFrom)]
    assert not any(name.startswith("transformers") for name in names), names


def test_settings_import_without_torch(tmp_path):
    code = ("import adamas.hf_settings as h\n"
            "print(len(h.kernel_functions(32, 8, 128, 'f16', h.Settings())))\n"
            "try:\n    import adamas.torch.hf\nexcept ImportError as e:\n"
            "    print('no torch:', e)\n")
    run = run_without_torch(tmp_path, code, os.path.join(REPO, "python"))
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["2", "no torch: no torch here"]
