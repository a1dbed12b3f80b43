"""Settings of the Hugging Face integration (adamas.torch.hf), in plain Python.

Importable without torch and transformers, so that the settings are checked
the same way everywhere and so that the compile side (bench/steps/prepare.py,
on a machine without torch) can list the kernels a model will ask for:

    from adamas.hf_settings import Settings, kernel_functions
    s = Settings(budget=256, skip_layers=2)
    kernel_functions(q_heads=32, kv_heads=8, head_dim=128, dtype="f16", settings=s)
    # -> [("step", DecodeStep(...), "adamas_decode_step"),
    #     ("encode", DecodeStep(...), "adamas_encode_keys")]

The (kind, spec, name) triples are exactly what adamas.torch compiles or
loads at run time (adamas.torch._get), so precompiling them into an artifact
cache lets a GPU machine without the compiler run the model.
"""

import math
from dataclasses import dataclass, fields

from . import compile as ac

# What the generated kernels support (adamas.torch._check_step and the
# lowering): head dims, query rows per step, the budget.
HEAD_DIMS = (64, 128)
MAX_ROWS = 16
MAX_BUDGET = 4096
DTYPES = ("f16", "bf16")


@dataclass(frozen=True)
class Settings:
    """How a model decodes with adamas.

    budget        keys attended per query row (k), sink and recent included
    skip_layers   the first `skip_layers` layers stay dense (the paper keeps
                  the first two)
    bits          code bits per dimension (1, 2 or 3)
    thresholds    the bucket thresholds (2^bits - 1, increasing); default the
                  published ones, adamas.compile.DEFAULT_THRESHOLDS
    calibrate     per-KV-head thresholds from the prefill keys
                  (calibrate_scale * std of the post-Hadamard keys, DESIGN.md
                  section 1); the thresholds above then only fix `bits`
    sink, recent  first / last positions always selected
    shared_group  the query heads of a GQA group share one selection
    min_context   decode steps whose cache holds at most this many tokens stay
                  dense (default: budget, where sparse selects everything
                  anyway); 0 forces the kernels for every decode step
    max_rows      decode calls with up to this many new tokens run sparse
                  (1 for ordinary generation; more for speculative decoding,
                  each row count is a compiled kernel of its own)
    """

    budget: int = 256
    skip_layers: int = 2
    bits: int = 2
    thresholds: tuple = None
    calibrate: bool = True
    calibrate_scale: float = 0.5
    sink: int = 4
    recent: int = 16
    shared_group: bool = False
    min_context: int = None
    max_rows: int = 1

    def __post_init__(self):
        def integer(name, low, high=None):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"adamas.torch.hf: {name} must be an int, got "
                                f"{type(value).__name__} {value!r}")
            if value < low or (high is not None and value > high):
                bound = f"{low} <= {name}" + (f" <= {high}" if high is not None else "")
                raise ValueError(f"adamas.torch.hf: need {bound}, got {name} = {value}")

        integer("budget", 1, MAX_BUDGET)
        integer("skip_layers", 0)
        integer("sink", 0)
        integer("recent", 0)
        integer("max_rows", 1, MAX_ROWS)
        if self.bits not in (1, 2, 3) or isinstance(self.bits, bool):
            raise ValueError(f"adamas.torch.hf: bits must be 1, 2 or 3, got {self.bits!r}")
        if self.sink + self.recent > self.budget:
            raise ValueError(f"adamas.torch.hf: sink + recent must not exceed the budget: "
                             f"sink {self.sink} + recent {self.recent} > budget {self.budget} "
                             "(lower sink/recent or raise the budget)")
        if self.min_context is not None:
            integer("min_context", 0)
        if not isinstance(self.calibrate, bool):
            raise TypeError(f"adamas.torch.hf: calibrate must be a bool, got {self.calibrate!r}")
        if not (isinstance(self.calibrate_scale, (int, float)) and
                math.isfinite(self.calibrate_scale) and self.calibrate_scale > 0):
            raise ValueError(f"adamas.torch.hf: calibrate_scale must be a positive number, "
                             f"got {self.calibrate_scale!r}")
        if not isinstance(self.shared_group, bool):
            raise TypeError(f"adamas.torch.hf: shared_group must be a bool, "
                            f"got {self.shared_group!r}")
        thresholds = self.thresholds
        if thresholds is None:
            thresholds = ac.DEFAULT_THRESHOLDS[self.bits]
        try:
            thresholds = tuple(float(t) for t in thresholds)
        except (TypeError, ValueError):
            raise TypeError(f"adamas.torch.hf: thresholds must be a sequence of numbers, "
                            f"got {self.thresholds!r}") from None
        if len(thresholds) != (1 << self.bits) - 1:
            raise ValueError(f"adamas.torch.hf: bits = {self.bits} needs "
                             f"{(1 << self.bits) - 1} thresholds, got {len(thresholds)}")
        if not all(math.isfinite(t) for t in thresholds) or \
                any(a >= b for a, b in zip(thresholds, thresholds[1:])):
            raise ValueError(f"adamas.torch.hf: thresholds must be finite and strictly "
                             f"increasing, got {thresholds}")
        object.__setattr__(self, "thresholds", thresholds)

    @property
    def dense_up_to(self):
        """Decode steps over at most this many cached tokens stay dense."""
        return self.budget if self.min_context is None else self.min_context

    def replace(self, **changes):
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        unknown = set(changes) - set(values)
        if unknown:
            raise TypeError(f"adamas.torch.hf: unknown setting(s) {sorted(unknown)}; "
                            f"known: {sorted(values)}")
        if "bits" in changes and "thresholds" not in changes:
            values["thresholds"] = None      # the default grid of the new bits
        values.update(changes)
        return Settings(**values)


def check_heads(q_heads, kv_heads, head_dim):
    """Raises ValueError when the kernels cannot run this attention shape."""
    if head_dim not in HEAD_DIMS:
        raise ValueError(f"adamas.torch.hf: head_dim {head_dim} is not supported by the "
                         f"generated kernels (supported: {HEAD_DIMS})")
    if kv_heads < 1 or q_heads % kv_heads:
        raise ValueError(f"adamas.torch.hf: query heads ({q_heads}) must be a multiple of "
                         f"KV heads ({kv_heads})")


def normalized_scale(scaling, head_dim):
    """The `scale` passed to the kernels: None (the default 1/sqrt(D), one
    compiled kernel for every model) when `scaling` is that value."""
    if scaling is None or math.isclose(float(scaling), 1.0 / math.sqrt(head_dim),
                                       rel_tol=1e-6):
        return None
    return float(scaling)


def kernel_functions(q_heads, kv_heads, head_dim, dtype, settings, value_dim=None,
                     scaling=None):
    """(kind, spec, name) of every function adamas.torch.hf will run for an
    attention of this shape and element type (`dtype` "f16" or "bf16") with
    these settings: one decode step per row count 1..max_rows and the
    key encoder of the prefill."""
    check_heads(q_heads, kv_heads, head_dim)
    if dtype not in DTYPES:
        raise ValueError(f"adamas.torch.hf: dtype must be one of {DTYPES}, got {dtype!r}")
    value_dim = head_dim if value_dim is None else value_dim
    scale = normalized_scale(scaling, head_dim)
    out = []
    for rows in range(1, settings.max_rows + 1):
        step = ac.step_spec(q_heads, kv_heads, head_dim, value_dim, rows, dtype,
                            settings.budget, settings.bits, settings.thresholds,
                            sink=settings.sink, recent=settings.recent,
                            shared_group=settings.shared_group, scale=scale,
                            per_head_thresholds=settings.calibrate)
        out.append(("step", step, "adamas_decode_step"))
    encode = ac.step_spec(kv_heads, kv_heads, head_dim, head_dim, 1, dtype, 1, settings.bits,
                          settings.thresholds, recent=0,
                          per_head_thresholds=settings.calibrate)
    out.append(("encode", encode, "adamas_encode_keys"))
    return out
