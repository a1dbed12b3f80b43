"""`pip install ./python` offline, and `import adamas` without torch or a GPU
(issue 9): the in-tree build backend makes a wheel with nothing downloaded."""

import os
import subprocess
import sys

import pytest

from conftest import run_without_torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_pip_install_offline_and_import_without_torch(tmp_path):
    target = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-index", "--no-deps", "--quiet",
         "--target", str(target), os.path.join(REPO, "python")],
        capture_output=True, text=True)
    if proc.returncode != 0 and "No module named pip" in proc.stderr:
        pytest.skip("pip is not installed for this interpreter")
    assert proc.returncode == 0, proc.stderr
    assert (target / "adamas" / "__init__.py").exists()
    assert (target / "adamas" / "compile.py").exists()
    assert (target / "adamas" / "torch" / "__init__.py").exists()
    assert (target / "adamas" / "torch" / "hf.py").exists()
    # A clean interpreter with only the installed package on its path: no
    # checkout, no torch (a stub that fails to import stands in for it).
    code = ("import adamas, adamas.reference, adamas.compile, adamas.runtime\n"
            "spec = adamas.compile.DecodeStep(q_heads=8, kv_heads=2)\n"
            "assert 'adamas.l1_topk' in adamas.compile.decode_step_ir(spec)\n"
            "print(adamas.compile.compiler_version())\n")
    run = run_without_torch(tmp_path, code, target, drop_env=("ADAMAS_BUILD_DIR",))
    assert run.returncode == 0, run.stderr
    # Installed, not a checkout: the compiler identity has no source hash.
    assert run.stdout.strip().endswith("[installed]")


def test_native_library_from_adamas_lib_dir(tmp_path, monkeypatch):
    from adamas import runtime
    monkeypatch.delenv("ADAMAS_RUNTIME_LIBRARY", raising=False)
    monkeypatch.setenv("ADAMAS_LIB_DIR", str(tmp_path))
    assert runtime._candidate_paths()[0] == os.path.join(str(tmp_path), runtime.LIBRARY_NAME)
