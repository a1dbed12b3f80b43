# -*- Python -*-
# lit configuration for the adamas regression and integration tests.

import os
import shutil
import subprocess

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "ADAMAS"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
# Inputs/ holds helper programs and data, never tests.
config.excludes = ["Inputs", "CMakeLists.txt", "README.md", "lit.cfg.py",
                   "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.adamas_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()
# `not`, `count` and FileCheck come from LLVM's bin directory (Debian ships
# them there, not on PATH); lit only substitutes them after a pipe.
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

# Python helpers (numpy reference, harnesses) import the adamas package from
# the source tree.
python_dir = os.path.join(config.adamas_src_root, "python")
llvm_config.with_environment("PYTHONPATH", python_dir, append_path=True)
config.substitutions.append(("%python", config.python_executable))

# The runner utility libraries that printMemref* and friends live in.
runner_utils = os.path.join(config.mlir_lib_dir,
                            "libmlir_runner_utils" + ".so")
c_runner_utils = os.path.join(config.mlir_lib_dir,
                              "libmlir_c_runner_utils" + ".so")
config.substitutions.append(("%mlir_runner_utils", runner_utils))
config.substitutions.append(("%mlir_c_runner_utils", c_runner_utils))
config.substitutions.append(
    ("%cpu_run",
     "mlir-runner -e main -entry-point-result=void "
     "-shared-libs=%s,%s" % (runner_utils, c_runner_utils)))

config.substitutions.append(("%adamas_obj_root", config.adamas_obj_root))
config.substitutions.append(("%adamas_src_root", config.adamas_src_root))
config.substitutions.append(
    ("%llvm_prefix", os.path.dirname(config.mlir_lib_dir)))
config.substitutions.append(
    ("%adamas_plugin",
     os.path.join(config.adamas_obj_root, "lib", "AdamasPlugin.so")))

# In a sanitizer build the plugin is instrumented but upstream mlir-opt is
# not, and the ASan runtime must come first in the process: preload it.
plugin_env = ""
if "asan" in config.available_features:
    libasan = subprocess.run(["gcc", "-print-file-name=libasan.so"],
                             capture_output=True, text=True).stdout.strip()
    plugin_env = "env LD_PRELOAD=%s" % libasan
config.substitutions.append(("%plugin_env", plugin_env))

tool_dirs = [config.adamas_tools_dir, config.llvm_tools_dir]
tools = [
    "adamas-opt",
    ToolSubst("mlir-opt", unresolved="fatal"),
    ToolSubst("mlir-runner", unresolved="fatal"),
    ToolSubst("mlir-translate", unresolved="ignore"),
]
llvm_config.add_tool_substitutions(tools, tool_dirs)


def _has_cuda_gpu():
    """True where nvidia-smi lists at least one GPU."""
    smi = shutil.which("nvidia-smi")
    if not smi:
        return False
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True,
                             timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and "GPU" in out.stdout


if _has_cuda_gpu():
    config.available_features.add("cuda-gpu")

# A CUDA toolkit with ptxas: adamas-gpu-pipeline{format=bin} can build cubins
# (PTX, format=isa, needs none).
_cuda_home = os.environ.get("CUDA_HOME") or "/usr/local/cuda"
if os.path.exists(os.path.join(_cuda_home, "bin", "ptxas")):
    config.available_features.add("cuda-toolkit")
