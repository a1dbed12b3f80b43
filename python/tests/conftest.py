"""Make `import adamas` find python/adamas when pytest runs from a checkout."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_bench_script(name):
    """bench/steps/<name>.py as a module of its own name (adamas_bench_<name>),
    for tests of its plain-Python parts."""
    import importlib.util
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.path.join(repo, "bench", "steps", f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"adamas_bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_bench_cases():
    """bench/steps/cases.py, as bench/accuracy.py loads it: under a module name
    of its own, since test/Integration/CPU/Inputs has a `cases` module too and
    pytest may have imported that one as `cases` first (both suites run in one
    process)."""
    import runpy
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return runpy.run_path(os.path.join(repo, "bench", "accuracy.py"),
                          run_name="accuracy")["cases_module"]()


def run_without_torch(tmp_path, code, pythonpath, drop_env=()):
    """Runs `code` in a fresh interpreter whose `import torch` fails (a stub
    module raising ImportError comes first on its path after `pythonpath`);
    returns the CompletedProcess. `drop_env`: variables to unset for it."""
    import subprocess
    stub = tmp_path / "stub"
    stub.mkdir(exist_ok=True)
    (stub / "torch.py").write_text("raise ImportError('no torch here')\n")
    env = dict(os.environ, PYTHONPATH=f"{pythonpath}{os.pathsep}{stub}")
    for name in drop_env:
        env.pop(name, None)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, cwd=str(tmp_path))
