"""adamas: compiler for Hadamard sparse attention (see DESIGN.md).

Importable without torch and without a GPU: submodules that need native
libraries or torch are imported explicitly (`import adamas.runtime`).
"""

from . import reference

__all__ = ["reference"]
