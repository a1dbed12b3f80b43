"""Make `import adamas` find python/adamas when pytest runs from a checkout."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_bench_cases():
    """bench/steps/cases.py as a module of its own name: test/Integration/CPU/
    Inputs has a `cases` module too, and pytest may have imported that one
    under the plain name `cases` first (both suites run in one process)."""
    import importlib.util
    name = "adamas_bench_steps_cases"
    if name in sys.modules:
        return sys.modules[name]
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.path.join(repo, "bench", "steps", "cases.py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
