"""bench/accuracy.py --kernel-check without torch: its arguments, the kernels
it requests (bench/steps/cases.accuracy_functions, precompiled by prepare.py
into the carried cache) and its table. The check itself needs a GPU."""

import os
import runpy

import pytest

from adamas import compile as ac

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def accuracy():
    # Loaded as a module (not __main__): defines the functions, runs nothing.
    return runpy.run_path(os.path.join(REPO, "bench", "accuracy.py"), run_name="accuracy")


@pytest.fixture(scope="module")
def cases():
    from conftest import load_bench_cases
    return load_bench_cases()


def test_kernel_check_arguments(accuracy):
    parse = accuracy["parse_args"]
    args = parse([])
    assert not args.kernel_check and not args.no_kernel_check
    assert (args.check_windows, args.check_context, args.check_tokens) == (2, 1024, 64)
    assert args.kernel_out.endswith(os.path.join("bench", "ACCURACY-kernels.md"))
    args = parse(["--kernel-check", "--train-minutes", "0.5", "--byte-lm", "lm.pt",
                  "--check-tokens", "128", "--kernel-out", ""])
    assert args.kernel_check and args.train_minutes == 0.5 and args.byte_lm == "lm.pt"
    assert args.check_tokens == 128 and args.kernel_out == ""
    for bad in (["--kernel-check", "--no-kernel-check"], ["--kernel-check", "--model", "x"],
                ["--check-tokens", "1024"], ["--check-tokens", "0"],
                ["--check-windows", "0"], ["--check-tolerance", "0"]):
        with pytest.raises(SystemExit):
            parse(bad)


def test_kernel_methods_are_the_compiled_ones(accuracy, cases):
    methods = accuracy["kernel_methods"]()
    assert [(m[1], m[2], m[3]) for m in methods] == [("adamas", 2, True), ("adamas", 2, False)]
    assert all(m in accuracy["PPL_METHODS"] for m in methods)
    assert tuple(accuracy["PPL_BUDGETS"]) == cases.ACCURACY_BUDGETS
    assert (accuracy["BYTE_LM_Q_HEADS"], accuracy["BYTE_LM_KV_HEADS"],
            accuracy["BYTE_LM_HEAD_DIM"]) == (cases.ACCURACY_Q_HEADS, cases.ACCURACY_KV_HEADS,
                                              cases.ACCURACY_HEAD_DIM)


def torch_requests(Hq, Hkv, D, k, per_head, sink, recent):
    """The specs adamas.torch builds for a fp16 CodeCache with default
    thresholds (decode_attention: the cache's tuple as a list of floats,
    scale None; CodeCache.prefill: the tuple, recent 0)."""
    cache_thresholds = tuple(float(t) for t in ac.DEFAULT_THRESHOLDS[2])
    step = ac.step_spec(Hq, Hkv, D, D, 1, "f16", int(k), 2, [float(t) for t in cache_thresholds],
                        int(sink), int(recent), False, None, per_head)
    encode = ac.step_spec(Hkv, Hkv, D, D, 1, "f16", 1, 2, cache_thresholds, recent=0,
                          per_head_thresholds=per_head)
    return step, encode


def test_accuracy_functions_cover_every_budget_and_threshold_kind(cases):
    functions = cases.accuracy_functions()
    keys = [(kind, repr(spec)) for kind, spec, _ in functions]
    assert len(keys) == len(set(keys))
    assert len(functions) == 2 * (len(cases.ACCURACY_BUDGETS) + 1)
    irs = {(kind, ac.decode_step_ir(spec, name) if kind == "step"
            else ac.prefill_encode_ir(spec, name)) for kind, spec, name in functions}
    for per_head in (True, False):
        for k in cases.ACCURACY_BUDGETS:
            step, encode = torch_requests(4, 2, 128, k, per_head, cases.ACCURACY_SINK,
                                          cases.ACCURACY_RECENT)
            # The cache is keyed by the IR: the same text is the same artifact.
            assert ("step", ac.decode_step_ir(step, "adamas_decode_step")) in irs
        assert ("encode", ac.prefill_encode_ir(encode, "adamas_encode_keys")) in irs
    for kind, spec, name in functions:
        assert (spec.q_heads if kind == "step" else spec.kv_heads, spec.kv_heads, spec.dims,
                spec.dtype, spec.bits) == ((4 if kind == "step" else 2), 2, 128, "f16", 2)
        if kind == "step":
            assert (spec.rows, spec.sink, spec.recent, spec.shared_group, spec.scale) == \
                (1, 0, 1, False, None)
            assert name == "adamas_decode_step"


def test_prepare_compiles_the_accuracy_functions():
    text = open(os.path.join(REPO, "bench", "steps", "prepare.py")).read()
    assert "cases.accuracy_functions()" in text


def test_kernel_table_rows_have_one_shape(accuracy):
    rows = accuracy["kernel_table"]([
        dict(method="adamas 2b fixed [-10,0,10]", budget=16, tokens=128, max=0.01, mean=0.001,
             whole=0.02, spread=0.02, lock_bad=0, lock_calls=512, lock_err=1e-3,
             out_delta=1e-3, same_sel=32, total_sel=32, out_err=1e-4, code_diff=0,
             code_total=4096, ok=True),
        dict(method="adamas 2b calibrated a=0.5", budget=64, error="RuntimeError: a / b",
             ok=False)])
    assert len({row.count("|") for row in rows}) == 1
    assert rows[2].endswith("| PASS |") and "FAIL: RuntimeError" in rows[3]


def test_gpu_check_has_the_accuracy_section():
    text = open(os.path.join(REPO, "bench", "gpu_check.sh")).read()
    assert "$only == accuracy" in text and "accuracy.py\" --kernel-check" in text
