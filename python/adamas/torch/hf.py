"""Hugging Face transformers integration: sparse decode attention in generate().

    import adamas.torch.hf as ahf
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float16).cuda()
    ahf.enable(model, budget=256, skip_layers=2)      # registers "adamas" too
    out = model.generate(ids, max_new_tokens=128)     # dynamic cache
    out = model.generate(ids, max_new_tokens=128, cache_implementation="static")

or, after `ahf.register()`, `from_pretrained(..., attn_implementation="adamas")`
(default Settings; `ahf.enable(model, ...)` changes them). `ahf.disable(model)`
goes back to "sdpa".

"adamas" is registered in transformers' attention-function registry
(ALL_ATTENTION_FUNCTIONS) and, with sdpa's mask builder, in the mask registry
(ALL_MASK_ATTENTION_FUNCTIONS), so models whose attention goes through
`attention_interface(self, q, k, v, attention_mask, scaling=..., ...)`
(Llama, Mistral, Qwen2 and most Llama-family models) call it after their KV
cache update, with the whole cache as key/value.

What runs where (per attention layer, `module.layer_idx`):
- layers < skip_layers, prefill (more than `max_rows` new tokens, or no past),
  and every unsupported call: dense, through transformers' own sdpa function,
  i.e. exactly what attn_implementation="sdpa" computes. Unsupported: f32,
  training or dropout, head dims other than 64/128, sliding-window layers
  (`sliding_window` given), masks that are not a prefix of the cache per
  batch row (left padding: detected at prefill, the sequence then stays
  dense), a mask whose length is not the cache's.
- prefill also sets up the layer's key-code cache: per-KV-head thresholds
  calibrated from the prefill keys (Settings.calibrate), the codes of every
  cached key (adamas.torch.CodeCache).
- decode steps over more than Settings.dense_up_to cached tokens: the
  generated kernels (adamas.torch.decode_attention, which also writes the new
  keys' codes). Per-row valid lengths come from the attention mask (last
  query row; all of the cache when there is no mask), so the static cache
  (a [B, Hkv, Nmax, D] buffer) needs no host synchronization: a decode step
  is torch.compile / CUDA-graph friendly, and the code cache of a static KV
  cache is allocated once, at prefill, with the KV cache's capacity.
  With the dynamic cache (which concatenates K and V every step) the code
  cache is concatenated the same way (the kernels take contiguous BHND
  caches whose length is the KV cache's), at 1/16 of the K/V copy for D=128,
  2 bits.

Limitations: beam search (cache reordering) and cache cropping between calls
are not tracked for the static cache (the dynamic cache re-encodes when its
length does not follow); the prefill must run eagerly (transformers does);
kernels are those adamas.compile can build or the artifact cache holds
(adamas.hf_settings.kernel_functions lists them; enable(preload=True) loads
them up front and fails early when one is missing).
"""

import threading
import warnings

import torch

from .. import compile as ac
from ..hf_settings import Settings, check_heads, kernel_functions, normalized_scale
from . import DTYPES, CodeCache, _get, decode_attention

NAME = "adamas"
__all__ = ["NAME", "Settings", "register", "enable", "disable", "reset", "layer_stats",
           "attention_forward", "kernel_functions"]

_defaults = Settings()
_registered = False
_register_lock = threading.Lock()
_sdpa_forward = None


def _transformers():
    try:
        from transformers.integrations.sdpa_attention import sdpa_attention_forward
        from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS
    except ImportError as e:
        raise ImportError(f"adamas.torch.hf needs transformers (with AttentionInterface): {e}") \
            from e
    try:
        from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask
    except ImportError:           # before masking_utils: masks were built per model
        ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask = None, None
    return sdpa_attention_forward, ALL_ATTENTION_FUNCTIONS, ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask


def register(**defaults):
    """Registers attn_implementation "adamas" with transformers (idempotent).
    Keyword arguments set the default Settings of layers that enable() did not
    configure (a model loaded with attn_implementation="adamas")."""
    global _registered, _sdpa_forward, _defaults
    if defaults:
        _defaults = _defaults.replace(**defaults)
    with _register_lock:
        if _registered:
            return
        sdpa_forward, attention_functions, mask_functions, sdpa_mask = _transformers()
        attention_functions.register(NAME, attention_forward)
        if mask_functions is not None:
            # The masks sdpa gets (boolean, True = attend, None when causal
            # needs none); without an entry transformers would build none.
            mask_functions.register(NAME, sdpa_mask)
        _sdpa_forward = sdpa_forward
        _registered = True


# --- per-layer state -------------------------------------------------------------

class _Sequence:
    """The key-code cache of one layer for the sequence being generated."""

    def __init__(self, codes, key_thresholds, query_thresholds, key, padded, scale):
        self.codes = codes                      # <B, Hkv, cap, W> int32
        self.key_thresholds = key_thresholds    # <Hkv, 2^b-1> f32 or None
        self.query_thresholds = query_thresholds
        self.shape = (key.shape[0], key.shape[1], key.shape[3], key.dtype, key.device)
        self.key_ptr = key.data_ptr()
        self.padded = padded                    # the mask is no per-row prefix
        self.scale = scale                      # the kernels' `scale` (None: 1/sqrt(D))


class _Layer:
    """What adamas keeps on an attention module (`module._adamas`)."""

    def __init__(self, settings, layer_idx):
        self.settings = settings
        self.layer_idx = layer_idx
        self.sequence = None
        self.stats = {"prefill": 0, "sparse": 0, "dense": 0}
        self.reasons = {}        # why calls ran dense (eager calls only)

    def count(self, what, reason=None):
        if torch.compiler.is_compiling():
            return
        self.stats[what] += 1
        if reason:
            self.reasons[reason] = self.reasons.get(reason, 0) + 1


def _layer(module):
    layer = getattr(module, "_adamas", None)
    if layer is None:
        layer = _Layer(_defaults, getattr(module, "layer_idx", None))
        module._adamas = layer
    return layer


def _attention_modules(model):
    return [m for m in model.modules()
            if type(m).__name__.endswith("Attention") and hasattr(m, "layer_idx")
            and hasattr(m, "config")]


# --- the attention function ------------------------------------------------------

def _dense(module, query, key, value, attention_mask, dropout, scaling, kwargs):
    return _sdpa_forward(module, query, key, value, attention_mask, dropout=dropout,
                         scaling=scaling, **kwargs)


def _valid_keys(attention_mask, B, N):
    """<B, N> bool: the positions the last query row may attend, or None."""
    if attention_mask is None:
        return None
    m = attention_mask[:, 0, -1, :]
    if m.dtype != torch.bool:                 # additive: 0 attend, -inf / min not
        m = m > torch.finfo(m.dtype).min / 2
    return m.expand(B, N)


def _lengths(attention_mask, B, N, device):
    valid = _valid_keys(attention_mask, B, N)
    if valid is None:
        return torch.full((B,), N, dtype=torch.int32, device=device)
    return valid.sum(-1, dtype=torch.int32)


def _unsupported(module, query, key, value, attention_mask, dropout, kwargs):
    """Why this call cannot run sparse (a short reason), or None."""
    if query.dtype not in DTYPES:
        return f"dtype {query.dtype}"
    if query.device.type != "cuda" or query.device.index not in (None, 0):
        return f"device {query.device} (kernels run on cuda:0)"
    if module.training or dropout:
        return "training / dropout"
    if query.shape[-1] not in (64, 128) or key.shape[-1] != query.shape[-1]:
        return f"head dim {query.shape[-1]}"
    if kwargs.get("sliding_window") is not None:
        return "sliding-window layer"
    if key.shape[1] == 0 or query.shape[1] % key.shape[1]:
        return "heads"
    if attention_mask is not None and (not isinstance(attention_mask, torch.Tensor) or
                                       attention_mask.dim() != 4 or
                                       attention_mask.shape[-1] != key.shape[2]):
        return "mask shape"
    return None


def _start(layer, query, key, attention_mask, scaling):
    """Prefill (eager): calibrate, encode every cached key, note padding."""
    s = layer.settings
    B, Hkv, N, D = key.shape
    key = key.contiguous()
    valid = _valid_keys(attention_mask, B, N)
    if valid is None:
        lengths = torch.full((B,), N, dtype=torch.int32, device=key.device)
        padded = False
    else:
        lengths = valid.sum(-1, dtype=torch.int32)
        prefix = torch.arange(N, device=key.device)[None, :] < lengths[:, None]
        padded = not bool(torch.equal(prefix, valid))
    cache = CodeCache(B, Hkv, N, dims=D, bits=s.bits, thresholds=s.thresholds,
                      device=key.device)
    query_thresholds = None
    if s.calibrate:
        longest = max(int(lengths.max()), 1)
        cache.calibrate(key[:, :, :longest], lengths, a=s.calibrate_scale)
        query_thresholds = cache.query_thresholds_for(query.shape[1])
    cache.prefill(key)
    try:    # a static KV cache: its code cache keeps its address (CUDA graphs)
        torch._dynamo.mark_static_address(cache.codes)
    except Exception:  # noqa: BLE001  (older torch: nothing to mark)
        pass
    layer.sequence = _Sequence(cache.codes, cache.key_thresholds, query_thresholds, key,
                               padded, normalized_scale(scaling, D))


def _encode_all(seq, key, settings):
    """Re-encodes every key into a code cache of the key cache's length (the
    dynamic cache after dense steps, or after a crop)."""
    B, Hkv, N, D = key.shape
    cache = CodeCache(B, Hkv, N, dims=D, bits=settings.bits, thresholds=settings.thresholds,
                      device=key.device)
    cache.key_thresholds = seq.key_thresholds
    cache.prefill(key.contiguous())
    seq.codes = cache.codes


def attention_forward(module, query, key, value, attention_mask, dropout=0.0, scaling=None,
                      **kwargs):
    """The "adamas" attention function (signature of transformers'
    sdpa_attention_forward): query <B, Hq, M, D>, key / value the whole KV
    cache <B, Hkv, N, D> after the update; returns (<B, M, Hq, D>, None)."""
    layer = _layer(module)
    s = layer.settings
    if layer.layer_idx is None or layer.layer_idx < s.skip_layers:
        layer.count("dense", "skip_layers" if layer.layer_idx is not None else "no layer_idx")
        return _dense(module, query, key, value, attention_mask, dropout, scaling, kwargs)
    reason = _unsupported(module, query, key, value, attention_mask, dropout, kwargs)
    if reason is not None:
        layer.count("dense", reason)
        return _dense(module, query, key, value, attention_mask, dropout, scaling, kwargs)

    B, Hq, M, D = query.shape
    N = key.shape[2]
    seq = layer.sequence
    fresh = (M > s.max_rows or N <= M or seq is None or
             seq.shape != (B, key.shape[1], D, key.dtype, key.device))
    compiling = torch.compiler.is_compiling()
    if not fresh and not compiling and N == seq.codes.shape[2] and key.data_ptr() != seq.key_ptr:
        fresh = True        # another static KV cache: a new sequence
    if fresh:
        out = _dense(module, query, key, value, attention_mask, dropout, scaling, kwargs)
        if compiling:
            return out      # prefill runs eagerly in transformers; see the docstring
        _start(layer, query, key, attention_mask, scaling)
        layer.count("prefill")
        return out
    if seq.padded:
        layer.count("dense", "padding")
        return _dense(module, query, key, value, attention_mask, dropout, scaling, kwargs)
    if N <= s.dense_up_to:
        layer.count("dense", "short context")
        return _dense(module, query, key, value, attention_mask, dropout, scaling, kwargs)

    capacity = seq.codes.shape[2]
    if N == capacity + M:            # dynamic cache: M more keys than last time
        seq.codes = torch.cat([seq.codes, seq.codes.new_zeros(B, key.shape[1], M,
                                                              seq.codes.shape[3])], dim=2)
    elif N != capacity:              # lost track (dense steps, crop): re-encode all
        _encode_all(seq, key, s)
    lengths = _lengths(attention_mask, B, N, key.device)
    rows = (lengths.long()[:, None] - M + torch.arange(M, device=key.device)).clamp(0, N - 1)
    new_keys = key.gather(2, rows[:, None, :, None].expand(B, key.shape[1], M, D))
    out = decode_attention(
        query.contiguous(), new_keys, key.contiguous(), value.contiguous(), seq.codes, lengths,
        k=s.budget, bits=s.bits, thresholds=s.thresholds, sink=s.sink, recent=s.recent,
        shared_group=s.shared_group, scale=seq.scale,
        query_thresholds=seq.query_thresholds, key_thresholds=seq.key_thresholds)
    layer.count("sparse")
    return out.transpose(1, 2).contiguous(), None


# --- user API --------------------------------------------------------------------

def _model_shape(model):
    config = getattr(model, "config", None)
    if config is None or not hasattr(config, "num_attention_heads"):
        raise TypeError(f"adamas.torch.hf: expected a transformers model with a config, "
                        f"got {type(model).__name__}")
    config = getattr(config, "get_text_config", lambda: config)()
    heads = config.num_attention_heads
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
    layers = config.num_hidden_layers
    return config, heads, kv_heads, head_dim, layers


def _set_implementation(model, name):
    setter = getattr(model, "set_attn_implementation", None)
    if setter is not None:
        try:
            setter(name)
            return
        except (ValueError, AttributeError, TypeError):
            pass
    model.config._attn_implementation = name


def enable(model, budget=256, skip_layers=2, *, preload=True, **settings):
    """Makes `model` (Llama, Mistral, Qwen2, ... through transformers'
    attention registry) decode with adamas: registers "adamas", configures
    every attention layer with Settings(budget, skip_layers, **settings) and
    switches the model's attn_implementation. With `preload` (and the model
    on CUDA) the kernels are compiled or loaded from the artifact cache now,
    so a missing one fails here and not in the middle of generate().
    Returns the model."""
    s = _defaults.replace(budget=budget, skip_layers=skip_layers, **settings)
    config, heads, kv_heads, head_dim, layers = _model_shape(model)
    check_heads(heads, kv_heads, head_dim)
    if s.skip_layers >= layers:
        raise ValueError(f"adamas.torch.hf: skip_layers ({s.skip_layers}) must be smaller "
                         f"than the number of layers ({layers}): every layer would stay dense")
    modules = _attention_modules(model)
    if not modules:
        raise ValueError(f"adamas.torch.hf: no attention modules with a layer_idx in "
                         f"{type(model).__name__} (Llama-family models are supported)")
    register()
    if getattr(config, "sliding_window", None) is not None and \
            getattr(config, "use_sliding_window", True):
        warnings.warn(f"adamas.torch.hf: config.sliding_window = {config.sliding_window}: "
                      "sliding-window layers stay dense", stacklevel=2)
    parameter = next(model.parameters())
    if parameter.dtype not in DTYPES:
        warnings.warn(f"adamas.torch.hf: the model is {parameter.dtype}; adamas runs fp16 and "
                      "bf16 only, every layer stays dense", stacklevel=2)
    elif preload and parameter.is_cuda:
        # Before the model changes: a missing kernel leaves it as it was.
        preload_kernels(heads, kv_heads, head_dim, DTYPES[parameter.dtype], s,
                        scaling=getattr(modules[0], "scaling", None))
    for m in modules:
        m._adamas = _Layer(s, m.layer_idx)
    _set_implementation(model, NAME)
    return model


def preload_kernels(q_heads, kv_heads, head_dim, dtype, settings, scaling=None):
    """Compiles or loads (artifact cache, $ADAMAS_CACHE_DIR) every kernel
    kernel_functions() lists; raises RuntimeError naming the missing one."""
    for kind, spec, name in kernel_functions(q_heads, kv_heads, head_dim, dtype, settings,
                                             scaling=scaling):
        make = ac.decode_step_ir if kind == "step" else ac.prefill_encode_ir
        try:
            _get(kind, spec, make, name)
        except RuntimeError as e:
            raise RuntimeError(
                f"adamas.torch.hf: the {kind} kernel for {spec} is not available: {e}. "
                "Precompile it where the compiler is (bench/steps/prepare.py compiles "
                "cases.hf_functions() into .carry/steps/cache) and point $ADAMAS_CACHE_DIR "
                "at that cache.") from e


def disable(model, implementation="sdpa"):
    """Back to a dense attention implementation; drops the code caches."""
    reset(model)
    _set_implementation(model, implementation)
    return model


def reset(model):
    """Drops every layer's code cache (the next call starts a new sequence)."""
    for m in _attention_modules(model):
        layer = m.__dict__.get("_adamas")
        if layer is not None:
            layer.sequence = None


def layer_stats(model, clear=False):
    """{layer_idx: {"prefill": n, "sparse": n, "dense": n, "reasons": {...}}}
    of eager calls (compiled calls are not counted)."""
    out = {}
    for m in _attention_modules(model):
        layer = m.__dict__.get("_adamas")
        if layer is not None:
            out[layer.layer_idx] = dict(layer.stats, reasons=dict(layer.reasons))
            if clear:
                layer.stats = {k: 0 for k in layer.stats}
                layer.reasons = {}
    return out
