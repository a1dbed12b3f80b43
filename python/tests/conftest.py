"""Make `import adamas` find python/adamas when pytest runs from a checkout."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_bench_cases():
    """bench/steps/cases.py, as bench/accuracy.py loads it: under a module name
    of its own, since test/Integration/CPU/Inputs has a `cases` module too and
    pytest may have imported that one as `cases` first (both suites run in one
    process)."""
    import runpy
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return runpy.run_path(os.path.join(repo, "bench", "accuracy.py"),
                          run_name="accuracy")["cases_module"]()
