"""Sparse decode attention for PyTorch tensors (DESIGN.md sections 4 and 6).

    import adamas.torch as at
    cache = at.CodeCache(batch, kv_heads, capacity, dims=128)
    cache.calibrate(prefill_keys, lengths)       # optional: per-head thresholds
    cache.prefill(keys)                          # codes of the prefill keys
    ...
    # each decode step: the caller appends the new K/V rows to its KV cache at
    # [lengths - M, lengths) (as vLLM / Hugging Face do) and counts them in
    # `lengths`; the step writes the new keys' codes into the code cache.
    out = at.decode_attention(q, new_k, keys, values, cache, lengths, k=256,
                              sink=4, recent=64)

`decode_attention` is the custom op `torch.ops.adamas.decode_attention`
(torch.library, with a fake implementation), so torch.compile traces it and a
step can be captured in a CUDA graph. An eager call outside torch.compile and
outside any TorchDispatchMode (FakeTensorMode, FlopCounterMode, ...) skips the
dispatcher and runs the op's implementation directly (the dispatcher's Python
custom-op path costs tens of microseconds per call). It runs the kernels the compiler
generated (adamas.compile.decode_step: compiled once per shape family, then
served from the runtime's caches) on PyTorch's current stream. fp16 and bf16,
D in {64, 128, 256}; the generated host code loads its kernels on cuda:0.
Every wrong shape, dtype or device raises before anything is launched.
"""

import math
import threading
from typing import List, Optional

import torch

from .. import compile as ac
from .. import runtime as art

DTYPES = {torch.float16: "f16", torch.bfloat16: "bf16"}
_lock = threading.Lock()
_runtime = None
_compiled = {}


def _shared_runtime():
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = art.Runtime()
        return _runtime


def _get(kind, spec, make_ir, name):
    """The compiled function for (kind, spec), compiled or loaded once per
    process."""
    key = (kind, repr(spec))
    with _lock:
        step = _compiled.get(key)
    if step is None:
        step = ac.compile_cached(make_ir(spec, name), name, spec, runtime=_shared_runtime())
        with _lock:
            _compiled[key] = step
    return step


step_spec = ac.step_spec


# --- checks -------------------------------------------------------------------------

def _check_tensor(name, t, device, dtype=None, rank=None):
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"adamas: '{name}' must be a torch.Tensor, got {type(t).__name__}")
    if t.device.type != "cuda":
        raise ValueError(f"adamas: '{name}' must be a CUDA tensor, got device {t.device}")
    if t.device != device:
        raise ValueError(f"adamas: '{name}' is on {t.device}, 'query' on {device}")
    if t.device.index not in (None, 0):
        raise ValueError(f"adamas: '{name}' is on {t.device}; the generated host code loads "
                         "its kernels on cuda:0 only")
    if dtype is not None and t.dtype != dtype:
        raise TypeError(f"adamas: '{name}' must have dtype {dtype}, got {t.dtype}")
    if rank is not None and t.dim() != rank:
        raise ValueError(f"adamas: '{name}' must have rank {rank}, got shape {tuple(t.shape)}")
    if not t.is_contiguous():
        raise ValueError(f"adamas: '{name}' must be contiguous (BHND, row-major)")


def _fine(t, device_index, dtype, rank):
    """What _check_tensor checks, in one expression of cheap attribute reads
    (no torch.device objects): the per-call cost of the eager path."""
    return (isinstance(t, torch.Tensor) and t.is_cuda and t.get_device() == device_index
            and t.dtype == dtype and t.dim() == rank and t.is_contiguous())


def _check_step(query, new_keys, keys, values, code_cache, lengths, k, bits,
                query_thresholds, key_thresholds):
    if isinstance(query, torch.Tensor) and query.dtype in DTYPES and query.is_cuda and \
            query.get_device() == 0 and query.dim() == 4 and query.is_contiguous():
        # The common case, checked cheaply; any failure takes the path below,
        # which names the argument and the rule.
        dtype = query.dtype
        B, Hq, M, D = query.shape
        _, Hkv, N, _ = keys.shape if isinstance(keys, torch.Tensor) and keys.dim() == 4 \
            else (None, None, None, None)
        if (Hkv and _fine(new_keys, 0, dtype, 4) and _fine(keys, 0, dtype, 4)
                and _fine(values, 0, dtype, 4) and _fine(code_cache, 0, torch.int32, 4)
                and _fine(lengths, 0, torch.int32, 1) and D in (64, 128, 256)
                and bits in (1, 2, 3) and 1 <= M <= 16 and Hq % Hkv == 0 and k >= 1
                and new_keys.shape == (B, Hkv, M, D) and keys.shape[0] == B
                and keys.shape[3] == D and values.shape[:3] == (B, Hkv, N)
                and code_cache.shape == (B, Hkv, N, D // 32 * bits)
                and lengths.shape == (B,) and query_thresholds is None
                and key_thresholds is None):
            return
    _check_step_explained(query, new_keys, keys, values, code_cache, lengths, k, bits,
                          query_thresholds, key_thresholds)


def _check_step_explained(query, new_keys, keys, values, code_cache, lengths, k, bits,
                          query_thresholds, key_thresholds):
    if not isinstance(query, torch.Tensor):
        raise TypeError(f"adamas: 'query' must be a torch.Tensor, got {type(query).__name__}")
    if query.dtype not in DTYPES:
        raise TypeError(f"adamas: 'query' must be float16 or bfloat16, got {query.dtype}")
    device, dtype = query.device, query.dtype
    _check_tensor("query", query, device, dtype, 4)
    _check_tensor("new_keys", new_keys, device, dtype, 4)
    _check_tensor("keys", keys, device, dtype, 4)
    _check_tensor("values", values, device, dtype, 4)
    _check_tensor("code_cache", code_cache, device, torch.int32, 4)
    _check_tensor("lengths", lengths, device, torch.int32, 1)
    B, Hq, M, D = query.shape
    _, Hkv, N, _ = keys.shape
    if D not in (64, 128, 256):
        raise ValueError(f"adamas: head dim D must be 64, 128 or 256, got {D}")
    if bits not in (1, 2, 3):
        raise ValueError(f"adamas: bits must be 1, 2 or 3, got {bits}")
    if not 1 <= M <= 16:
        raise ValueError(f"adamas: 1 to 16 query rows per step, got M = {M}")
    if Hkv == 0 or Hq % Hkv:
        raise ValueError(f"adamas: query heads ({Hq}) must be a multiple of KV heads ({Hkv})")
    if k < 1:
        raise ValueError(f"adamas: k must be positive, got {k}")
    expect = {"new_keys": (B, Hkv, M, D), "keys": (B, Hkv, N, D),
              "values": (B, Hkv, N, values.shape[3]),
              "code_cache": (B, Hkv, N, D // 32 * bits), "lengths": (B,)}
    actual = {"new_keys": new_keys, "keys": keys, "values": values,
              "code_cache": code_cache, "lengths": lengths}
    for name, shape in expect.items():
        if tuple(actual[name].shape) != shape:
            what = " (the code cache must hold as many positions as the KV cache)" \
                if name == "code_cache" else ""
            raise ValueError(f"adamas: '{name}' must have shape {shape}{what}, "
                             f"got {tuple(actual[name].shape)}")
    if (query_thresholds is None) != (key_thresholds is None):
        raise ValueError("adamas: give both 'query_thresholds' and 'key_thresholds' or neither")
    if query_thresholds is not None:
        count = (1 << bits) - 1
        _check_tensor("query_thresholds", query_thresholds, device, torch.float32, 2)
        _check_tensor("key_thresholds", key_thresholds, device, torch.float32, 2)
        if tuple(query_thresholds.shape) != (Hq, count) or tuple(key_thresholds.shape) != (Hkv, count):
            raise ValueError(f"adamas: per-head thresholds must be <{Hq} x {count}> and "
                             f"<{Hkv} x {count}>, got {tuple(query_thresholds.shape)} and "
                             f"{tuple(key_thresholds.shape)}")


# --- the op -------------------------------------------------------------------------

_steps = {}   # the op's arguments that choose the step -> its compiled function


def _step_for(query, keys, values, per_head, k, bits, thresholds, sink, recent,
              shared_group, scale):
    """The compiled step for these shapes and settings; a dict hit after the
    first call (step_spec and its repr cost microseconds per call)."""
    _, Hq, M, D = query.shape
    key = (Hq, keys.shape[1], D, values.shape[3], M, query.dtype, k, bits, tuple(thresholds),
           sink, recent, shared_group, scale, per_head)
    step = _steps.get(key)
    if step is None:
        spec = step_spec(Hq, keys.shape[1], D, values.shape[3], M, DTYPES[query.dtype], k,
                         bits, thresholds, sink, recent, shared_group, scale, per_head)
        step = _steps[key] = _get("step", spec, ac.decode_step_ir, "adamas_decode_step")
    return step


def _run_decode_attention(query: torch.Tensor, new_keys: torch.Tensor, keys: torch.Tensor,
                          values: torch.Tensor, code_cache: torch.Tensor,
                          lengths: torch.Tensor, query_thresholds: Optional[torch.Tensor],
                          key_thresholds: Optional[torch.Tensor], k: int, bits: int,
                          thresholds: List[float], sink: int, recent: int,
                          shared_group: bool, scale: Optional[float]) -> torch.Tensor:
    B, Hq, M, _ = query.shape
    per_head = query_thresholds is not None
    step = _step_for(query, keys, values, per_head, k, bits, thresholds, sink, recent,
                     shared_group, scale)
    out = torch.empty((B, Hq, M, values.shape[3]), dtype=query.dtype, device=query.device)
    lib = art.load_library()
    previous = lib.adamas_runtime_current_stream()
    lib.adamas_runtime_set_current_stream(_torch_stream(query))
    try:
        if per_head:
            step(query, new_keys, keys, values, code_cache, lengths, query_thresholds,
                 key_thresholds, out)
        else:
            step(query, new_keys, keys, values, code_cache, lengths, out)
    finally:
        lib.adamas_runtime_set_current_stream(previous)
    return out


_raw_stream = getattr(torch._C, "_cuda_getCurrentRawStream", None)


def _torch_stream(tensor):
    """PyTorch's current CUstream on the tensor's device as the runtime's
    handle, without building a torch.cuda.Stream."""
    if _raw_stream is not None:
        return art._current_stream_handle(_raw_stream(tensor.get_device()))
    return art._current_stream_handle(torch.cuda.current_stream(tensor.device))


_decode_attention = torch.library.custom_op(
    "adamas::decode_attention", _run_decode_attention, mutates_args=("code_cache",))


@_decode_attention.register_fake
def _(query, new_keys, keys, values, code_cache, lengths, query_thresholds, key_thresholds,
      k, bits, thresholds, sink, recent, shared_group, scale):
    B, Hq, M, _ = query.shape
    return query.new_empty((B, Hq, M, values.shape[3]))


def decode_attention(query, new_keys, keys, values, code_cache, lengths, *, k=256, bits=None,
                     thresholds=None, sink=0, recent=1, shared_group=False, scale=None,
                     query_thresholds=None, key_thresholds=None):
    """One decode step of sparse attention over the caller's KV cache.

    query <B x Hq x M x D>, new_keys <B x Hkv x M x D> (the M new keys, already
    appended to `keys` by the caller), keys / values <B x Hkv x N x D / Dv>,
    code_cache <B x Hkv x N x W> int32 (a CodeCache or its `.codes`), lengths
    <B> int32 (valid positions per batch row, the M new ones included).
    Writes the new keys' codes into the code cache and returns the attention
    output <B x Hq x M x Dv>. `k` positions per row (sink first ones and
    recent last ones always), ties toward the more recent; `shared_group`
    makes the Hq / Hkv heads of a group share one selection. A CodeCache
    brings its bits, thresholds and per-head thresholds along."""
    if isinstance(code_cache, CodeCache):
        bits = code_cache.bits if bits is None else bits
        thresholds = code_cache.thresholds if thresholds is None else thresholds
        if query_thresholds is None and code_cache.key_thresholds is not None:
            query_thresholds = code_cache.query_thresholds_for(query.shape[1])
            key_thresholds = code_cache.key_thresholds
        code_cache = code_cache.codes
    bits = 2 if bits is None else bits
    thresholds = list(thresholds if thresholds is not None else ac.DEFAULT_THRESHOLDS[bits])
    _check_step(query, new_keys, keys, values, code_cache, lengths, k, bits,
                query_thresholds, key_thresholds)
    if len(thresholds) != (1 << bits) - 1:
        raise ValueError(f"adamas: bits = {bits} needs {(1 << bits) - 1} thresholds, "
                         f"got {len(thresholds)}")
    if sink < 0 or recent < 0 or sink + recent > k:
        raise ValueError(f"adamas: need 0 <= sink, recent and sink + recent <= k, got "
                         f"sink {sink}, recent {recent}, k {k}")
    args = (query, new_keys, keys, values, code_cache, lengths, query_thresholds,
            key_thresholds, int(k), int(bits), [float(t) for t in thresholds], int(sink),
            int(recent), bool(shared_group), None if scale is None else float(scale))
    if _eager():
        return _run_decode_attention(*args)
    return torch.ops.adamas.decode_attention(*args)


_dispatch_modes = getattr(torch._C, "_len_torch_dispatch_stack", None)


def _eager():
    """True when nothing needs to see the op: not under torch.compile / export
    tracing and no TorchDispatchMode active (FakeTensorMode, profiling and
    debugging modes see the registered op)."""
    if torch.compiler.is_compiling():
        return False
    return _dispatch_modes is not None and _dispatch_modes() == 0


# --- the code cache -----------------------------------------------------------------

def hadamard(x):
    """Orthonormal Walsh-Hadamard transform of the last dimension (f32)."""
    d = x.shape[-1]
    h = torch.ones((1, 1), dtype=torch.float32, device=x.device)
    while h.shape[0] < d:
        h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)], 0)
    return (x.float() @ h) / math.sqrt(d)


def calibrated_thresholds(std, bits, a=0.5):
    """Per-head thresholds from the per-head std `s` of post-Hadamard keys:
    adamas.eval.threshold_grid(bits, a * s), i.e. [-a s, 0, a s] for 2 bits
    (DESIGN.md section 1), [0] for 1 bit, a s * [-3 .. 3] for 3 bits."""
    from ..eval import threshold_grid
    unit = torch.from_numpy(threshold_grid(bits, 1.0)).to(std.device)
    return (a * std.float().reshape(-1, 1)) * unit


class CodeCache:
    """The key-code cache of one attention layer: `codes <B x Hkv x N x W>`
    int32 on the GPU, W = D / 32 * bits, with the thresholds it was encoded
    with (fixed, or per KV head after calibrate())."""

    def __init__(self, batch, kv_heads, capacity, dims=128, bits=2, thresholds=None,
                 device="cuda"):
        if dims % 32:
            raise ValueError(f"adamas: dims must be a multiple of 32, got {dims}")
        self.bits, self.dims = bits, dims
        self.thresholds = tuple(float(t) for t in
                                (thresholds if thresholds is not None
                                 else ac.DEFAULT_THRESHOLDS[bits]))
        self.codes = torch.zeros((batch, kv_heads, capacity, dims // 32 * bits),
                                 dtype=torch.int32, device=device)
        self.key_thresholds = None

    def calibrate(self, keys, lengths=None, a=0.5):
        """Per-KV-head thresholds from the prefill keys `<B x Hkv x L x D>`
        (the first lengths[b] positions of batch row b when given)."""
        h = hadamard(keys)
        if lengths is not None:
            pos = torch.arange(keys.shape[2], device=keys.device)
            mask = (pos[None, :] < lengths.to(keys.device)[:, None])[:, None, :, None]
            count = mask.sum(dim=(0, 2, 3)).clamp(min=1) * keys.shape[3]
            mean = (h * mask).sum(dim=(0, 2, 3)) / count
            var = (((h - mean[None, :, None, None]) ** 2) * mask).sum(dim=(0, 2, 3)) / count
        else:
            var = h.var(dim=(0, 2, 3), unbiased=False)
        self.key_thresholds = calibrated_thresholds(var.sqrt(), self.bits, a).contiguous()
        return self.key_thresholds

    def query_thresholds_for(self, q_heads):
        """A query head uses its KV head's row."""
        groups = q_heads // self.key_thresholds.shape[0]
        return self.key_thresholds.repeat_interleave(groups, dim=0).contiguous()

    def prefill(self, keys):
        """Encodes `keys <B x Hkv x L x D>` (fp16/bf16) into positions [0, L)
        of the cache with the generated encode kernel."""
        _check_tensor("keys", keys, self.codes.device, rank=4)
        if keys.dtype not in DTYPES:
            raise TypeError(f"adamas: 'keys' must be float16 or bfloat16, got {keys.dtype}")
        B, Hkv, L, D = keys.shape
        if (B, Hkv, D) != (self.codes.shape[0], self.codes.shape[1], self.dims) or \
                L > self.codes.shape[2]:
            raise ValueError(f"adamas: keys {tuple(keys.shape)} do not fit a code cache of "
                             f"{tuple(self.codes.shape)} (dims {self.dims})")
        spec = step_spec(Hkv, Hkv, D, D, 1, DTYPES[keys.dtype], 1, self.bits, self.thresholds,
                         recent=0, per_head_thresholds=self.key_thresholds is not None)
        encode = _get("encode", spec, ac.prefill_encode_ir, "adamas_encode_keys")
        codes = self.codes if L == self.codes.shape[2] else torch.empty(
            (B, Hkv, L, self.codes.shape[3]), dtype=torch.int32, device=keys.device)
        args = [keys] + ([self.key_thresholds] if self.key_thresholds is not None else [])
        with art.current_stream(torch.cuda.current_stream(keys.device)):
            encode(*args, codes)
        if codes is not self.codes:
            self.codes[:, :, :L].copy_(codes)
