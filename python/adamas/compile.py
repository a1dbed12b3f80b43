"""Driver over the compiler: decode-step IR in, cached compiled steps out.

    from adamas import compile as ac
    spec = ac.DecodeStep(q_heads=32, kv_heads=8, dims=128, k=256, dtype="f16")
    step = ac.decode_step(spec)                  # compiled once, then from the cache
    with adamas.runtime.current_stream(torch.cuda.current_stream()):
        step(query, new_keys, keys, values, code_cache, lengths, out)

`decode_step` builds the step's IR, and asks the runtime's artifact cache
(adamas.runtime, $ADAMAS_CACHE_DIR) for it: on a miss, where the compiler is
(adamas-opt, llc, g++), it compiles the IR through adamas-gpu-pipeline into a
shared library and stores it; where it is not (a GPU machine without MLIR),
the library must come from a cache directory compiled elsewhere and carried
over. The lower-level steps are public too: `decode_step_ir`, `compile_ir`
(an x86-64 object embedding the kernels), `link_shared`.

The step's contract is DESIGN.md section 4: arguments (query, new_keys, keys,
values, code_cache, lengths[, query_thresholds, key_thresholds]), results
(output, code_cache). After `adamas-gpu-pipeline` the host function takes the
arguments as memrefs plus the output buffer last; the code cache is updated in
place. `Function` calls such a function's C interface (`_mlir_ciface_<name>`)
with tensors that expose `data_ptr()`, `shape` (PyTorch CUDA tensors) or with
raw device pointers.

Importable without torch, MLIR or a GPU: the tools are looked up when used
($ADAMAS_OPT or the checkout's build/bin/adamas-opt; /usr/lib/llvm-22/bin for
mlir-translate and llc; $CUDA_HOME or /usr/local/cuda for the toolkit).
"""

import ctypes
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

# Part of every artifact key (with, in a checkout, a hash of the compiler's
# sources: see compiler_version), so that a step compiled by another compiler
# is never served.
COMPILER_VERSION = "adamas 0.2 (adamas-gpu-pipeline, MLIR 22)"
_fingerprint = None


def compiler_version():
    """COMPILER_VERSION plus, when running from a checkout, a SHA-256 of the
    sources that generate code (include/, lib/): the same on every machine
    that has the same tree, e.g. here and on a GPU machine with a copy of it,
    and different as soon as a lowering changes."""
    global _fingerprint
    if _fingerprint is None:
        import hashlib
        digest = hashlib.sha256()
        root = _checkout()
        tops = ("include", "lib") if os.path.isdir(os.path.join(root, "include", "adamas")) else ()
        for top in tops:
            for dirpath, dirnames, filenames in sorted(os.walk(os.path.join(root, top))):
                dirnames.sort()
                for name in sorted(filenames):
                    path = os.path.join(dirpath, name)
                    digest.update(os.path.relpath(path, root).encode() + b"\0")
                    with open(path, "rb") as fh:
                        digest.update(fh.read())
        found = os.path.isdir(os.path.join(root, "include", "adamas"))
        _fingerprint = digest.hexdigest()[:16] if found else "installed"
    return f"{COMPILER_VERSION} [{_fingerprint}]"

DTYPES = ("f16", "bf16", "f32")
DEFAULT_THRESHOLDS = {1: (0.0,), 2: (-10.0, 0.0, 10.0),
                      3: (-30.0, -20.0, -10.0, 0.0, 10.0, 20.0, 30.0)}
LLVM_BIN = "/usr/lib/llvm-22/bin"


# --- the decode step ------------------------------------------------------------

@dataclass
class DecodeStep:
    """One decode step of one layer (DESIGN.md section 4). `batch` and
    `capacity` (Nmax of the caches) may be None: dynamic, read from the
    arguments at run time."""

    q_heads: int = 32
    kv_heads: int = 32
    dims: int = 128
    k: int = 256
    batch: int = None
    capacity: int = None
    rows: int = 1                  # M new tokens per step
    value_dims: int = None         # default: dims
    bits: int = 2
    thresholds: tuple = None       # default: DEFAULT_THRESHOLDS[bits]
    per_head_thresholds: bool = False
    sink: int = 0
    recent: int = 1
    shared_group: bool = False
    dtype: str = "f16"
    scale: float = None            # default 1/sqrt(dims)

    def __post_init__(self):
        if self.value_dims is None:
            self.value_dims = self.dims
        if self.thresholds is None:
            self.thresholds = DEFAULT_THRESHOLDS[self.bits]
        self.thresholds = tuple(float(t) for t in self.thresholds)
        if len(self.thresholds) != (1 << self.bits) - 1:
            raise ValueError(f"bits={self.bits} needs {(1 << self.bits) - 1} thresholds")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {self.dtype!r}")
        if self.q_heads % self.kv_heads:
            raise ValueError("q_heads must be a multiple of kv_heads")

    @property
    def words(self):
        return self.dims // 32 * self.bits

    @property
    def index_heads(self):
        return self.kv_heads if self.shared_group else self.q_heads


def step_spec(q_heads, kv_heads, dims, value_dims, rows, dtype, k, bits=2, thresholds=None,
              sink=0, recent=1, shared_group=False, scale=None, per_head_thresholds=False):
    """The DecodeStep adamas.torch compiles for these settings: B and N
    dynamic, so one compiled step serves every batch size and cache length."""
    return DecodeStep(q_heads=q_heads, kv_heads=kv_heads, dims=dims, value_dims=value_dims,
                      k=k, rows=rows, bits=bits, thresholds=thresholds, sink=sink,
                      recent=recent, shared_group=shared_group, dtype=dtype, scale=scale,
                      per_head_thresholds=per_head_thresholds)


def _dim(d):
    return "?" if d is None else str(d)


def tensor_type(shape, elem):
    return "tensor<" + "".join(_dim(d) + "x" for d in shape) + elem + ">"


def _f32_list(values):
    return "[" + ", ".join(f"{float(v):.9e}" for v in values) + "]"


class _Function:
    """Text of one func.func on tensors, op by op (custom assembly forms)."""

    def __init__(self, name):
        self.name, self.args, self.body, self.results = name, [], [], []
        self._n = 0

    def arg(self, name, shape, elem):
        t = tensor_type(shape, elem)
        self.args.append(f"%{name}: {t}")
        return (f"%{name}", t)

    def op(self, text, result_type):
        self._n += 1
        value = f"%v{self._n}"
        self.body.append(f"  {value} = {text}")
        return (value, result_type)

    def ret(self, *values):
        self.results = list(values)

    def text(self):
        results = ", ".join(t for _, t in self.results)
        sig = ", ".join(self.args)
        lines = [f"func.func @{self.name}({sig}) -> ({results}) {{"]
        lines += self.body
        lines.append("  return " + ", ".join(v for v, _ in self.results) + " : " + results)
        lines.append("}")
        return "\n".join(lines) + "\n"


def _encode(f, x, shape, spec, thresholds=None, hadamard=True):
    """hadamard (optional) then bucketize of `x`; returns the codes value."""
    if hadamard:
        x = f.op(f"adamas.hadamard {x[0]} : {x[1]}", x[1])
    codes_shape = list(shape[:-1]) + [shape[-1] // 32 * spec.bits]
    ct = tensor_type(codes_shape, "i32")
    per_head = f" per_head {thresholds[0]}" if thresholds else ""
    types = x[1] + (f", {thresholds[1]}" if thresholds else "")
    return f.op(f"adamas.bucketize {x[0]} {_f32_list(spec.thresholds)}{per_head} : {types} -> {ct}", ct)


def _l1_topk(f, qc, kc, lengths, spec):
    shape = [spec.batch, spec.index_heads, spec.rows, spec.k]
    t = tensor_type(shape, "i32")
    attrs = (f"{{k = {spec.k} : i64, bits = {spec.bits} : i64, sink = {spec.sink} : i64, "
             f"recent = {spec.recent} : i64, shared_group = {str(spec.shared_group).lower()}}}")
    return f.op(f"adamas.l1_topk {qc[0]}, {kc[0]}, {lengths[0]} {attrs} : "
                f"{qc[1]}, {kc[1]}, {lengths[1]} -> {t}", t)


def _sparse_attn(f, q, k, v, idx, spec):
    t = tensor_type([spec.batch, spec.q_heads, spec.rows, spec.value_dims], spec.dtype)
    attrs = f" {{scale = {float(spec.scale):.9e} : f32}}" if spec.scale is not None else ""
    return f.op(f"adamas.sparse_attn {q[0]}, {k[0]}, {v[0]}, {idx[0]}{attrs} : "
                f"{q[1]}, {k[1]}, {v[1]}, {idx[1]} -> {t}", t)


def _thresholds_args(f, spec):
    if not spec.per_head_thresholds:
        return None, None
    n = len(spec.thresholds)
    return (f.arg("query_thresholds", [spec.q_heads, n], "f32"),
            f.arg("key_thresholds", [spec.kv_heads, n], "f32"))


def decode_step_ir(spec, name="adamas_decode_step"):
    """The decode step as adamas ops: encode the query and the new keys, write
    the new keys' codes into the code cache, select, attend."""
    B, N, M, T = spec.batch, spec.capacity, spec.rows, spec.dtype
    f = _Function(name)
    q = f.arg("query", [B, spec.q_heads, M, spec.dims], T)
    new_keys = f.arg("new_keys", [B, spec.kv_heads, M, spec.dims], T)
    keys = f.arg("keys", [B, spec.kv_heads, N, spec.dims], T)
    values = f.arg("values", [B, spec.kv_heads, N, spec.value_dims], T)
    cache = f.arg("code_cache", [B, spec.kv_heads, N, spec.words], "i32")
    lengths = f.arg("lengths", [B], "i32")
    q_thr, k_thr = _thresholds_args(f, spec)
    qc = _encode(f, q, [B, spec.q_heads, M, spec.dims], spec, q_thr)
    kc = _encode(f, new_keys, [B, spec.kv_heads, M, spec.dims], spec, k_thr)
    updated = f.op(f"adamas.cache_write {kc[0]} into {cache[0]} at {lengths[0]} : "
                   f"{kc[1]} into {cache[1]}, {lengths[1]}", cache[1])
    idx = _l1_topk(f, qc, updated, lengths, spec)
    out = _sparse_attn(f, q, keys, values, idx, spec)
    f.ret(out, updated)
    return f.text()


def prefill_encode_ir(spec, name="adamas_encode_keys"):
    """The codes of a whole key buffer `<B x Hkv x N x D>` (B, N dynamic):
    what adamas.torch.CodeCache.prefill runs."""
    return encode_ir(spec, [None, spec.kv_heads, None], name,
                     per_head=spec.per_head_thresholds)


def encode_ir(spec, rows_shape, name="adamas_encode", per_head=False):
    """bucketize(hadamard(x)) of `x <rows_shape x D>`: the encode kernel alone."""
    f = _Function(name)
    shape = list(rows_shape) + [spec.dims]
    x = f.arg("x", shape, spec.dtype)
    thr = f.arg("thresholds", [shape[1], len(spec.thresholds)], "f32") if per_head else None
    f.ret(_encode(f, x, shape, spec, thr))
    return f.text()


def hadamard_ir(spec, rows_shape, name="adamas_hadamard"):
    """hadamard alone (the encode kernel writing transformed rows)."""
    f = _Function(name)
    shape = list(rows_shape) + [spec.dims]
    x = f.arg("x", shape, spec.dtype)
    f.ret(f.op(f"adamas.hadamard {x[0]} : {x[1]}", x[1]))
    return f.text()


def select_ir(spec, name="adamas_select"):
    """l1_topk alone, on codes given as arguments."""
    B, N = spec.batch, spec.capacity
    f = _Function(name)
    qc = f.arg("query_codes", [B, spec.q_heads, spec.rows, spec.words], "i32")
    kc = f.arg("key_codes", [B, spec.kv_heads, N, spec.words], "i32")
    lengths = f.arg("lengths", [B], "i32")
    f.ret(_l1_topk(f, qc, kc, lengths, spec))
    return f.text()


def attend_ir(spec, name="adamas_attend"):
    """sparse_attn alone, on indices given as an argument."""
    B, N, T = spec.batch, spec.capacity, spec.dtype
    f = _Function(name)
    q = f.arg("query", [B, spec.q_heads, spec.rows, spec.dims], T)
    keys = f.arg("keys", [B, spec.kv_heads, N, spec.dims], T)
    values = f.arg("values", [B, spec.kv_heads, N, spec.value_dims], T)
    idx = f.arg("indices", [B, spec.index_heads, spec.rows, spec.k], "i32")
    f.ret(_sparse_attn(f, q, keys, values, idx, spec))
    return f.text()


# --- the compiler ---------------------------------------------------------------

def _checkout():
    return os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))


def find_tool(name):
    """adamas-opt: $ADAMAS_OPT, else $ADAMAS_BUILD_DIR/bin, else the
    checkout's build/bin; LLVM tools: /usr/lib/llvm-22/bin, else PATH."""
    if name == "adamas-opt":
        candidates = [os.environ.get("ADAMAS_OPT"),
                      os.path.join(os.environ.get("ADAMAS_BUILD_DIR", ""), "bin", "adamas-opt"),
                      os.path.join(_checkout(), "build", "bin", "adamas-opt")]
    else:
        candidates = [os.path.join(LLVM_BIN, name)]
    for c in candidates:
        if c and os.path.exists(c):
            return c
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} not found (set ADAMAS_OPT or build the checkout)")
    return found


def _run(cmd, what):
    proc = subprocess.run(cmd, capture_output=True, text=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed ({' '.join(map(str, cmd))}):\n"
                           + proc.stderr.decode(errors="replace"))
    return proc.stdout


def _codegen_options(format, num_sms, max_cluster_size=None, cluster_select=False,
                     tensor_core_distances=True, l2_cache_hints=True,
                     attend_long_splits=True, attend_long_form_ctas_per_sm=None,
                     attend_tensor_core_dots=True, select_encodes_queries=True,
                     attend_compacts_selection=True, select_releases_late=True,
                     select_pipelines_keys=True, attend_async_cluster_merge=True,
                     select_grid_sync=True, attend_async_cluster_compaction=True,
                     attend_cluster_waves=None, attend_long_form_tensor_core_dots=True,
                     attend_softmax_in_quads=True,
                     attend_long_form_cluster_merge=True,
                     select_async_key_copies=False,
                     select_short_pass_key_copies=True,
                     select_precompacts_candidates=False):
    """The adamas-gpu-pipeline options that decide the generated code
    (what an artifact's key holds besides the chip): the keyword arguments
    of that name (`codegen` below) of compile_cached, decode_step,
    compile_ir and pipeline_options. Only options off their default are
    written, so existing keys stay valid."""
    opts = f"format={format}"
    if num_sms:
        opts += f" num-sms={num_sms}"
    if max_cluster_size is not None:
        opts += f" max-cluster-size={max_cluster_size}"
    if cluster_select:
        opts += " cluster-select=true"
    if not tensor_core_distances:
        opts += " tensor-core-distances=false"
    if not l2_cache_hints:
        opts += " l2-cache-hints=false"
    if not attend_long_splits:
        opts += " attend-long-splits=false"
    if attend_long_form_ctas_per_sm is not None:
        opts += f" attend-long-form-ctas-per-sm={attend_long_form_ctas_per_sm}"
    if not attend_tensor_core_dots:
        opts += " attend-tensor-core-dots=false"
    if not select_encodes_queries:
        opts += " select-encodes-queries=false"
    if not attend_compacts_selection:
        opts += " attend-compacts-selection=false"
    if not select_releases_late:
        opts += " select-releases-late=false"
    if not select_pipelines_keys:
        opts += " select-pipelines-keys=false"
    if not attend_async_cluster_merge:
        opts += " attend-async-cluster-merge=false"
    if not select_grid_sync:
        opts += " select-grid-sync=false"
    if not attend_async_cluster_compaction:
        opts += " attend-async-cluster-compaction=false"
    if attend_cluster_waves is not None:
        opts += f" attend-cluster-waves={attend_cluster_waves}"
    if not attend_long_form_tensor_core_dots:
        opts += " attend-long-form-tensor-core-dots=false"
    if not attend_softmax_in_quads:
        opts += " attend-softmax-in-quads=false"
    if not attend_long_form_cluster_merge:
        opts += " attend-long-form-cluster-merge=false"
    if select_async_key_copies:
        opts += " select-async-key-copies=true"
    if not select_short_pass_key_copies:
        opts += " select-short-pass-key-copies=false"
    if select_precompacts_candidates:
        opts += " select-precompacts-candidates=true"
    return opts


def pipeline_options(chip="sm_90", format="bin", toolkit=None, num_sms=0, **codegen):
    """`codegen`: max_cluster_size, cluster_select, tensor_core_distances,
    l2_cache_hints, attend_long_splits, attend_long_form_ctas_per_sm,
    attend_tensor_core_dots, select_encodes_queries,
    attend_compacts_selection, select_releases_late, select_pipelines_keys,
    attend_async_cluster_merge, select_grid_sync,
    attend_async_cluster_compaction, attend_cluster_waves,
    attend_long_form_tensor_core_dots, attend_softmax_in_quads,
    attend_long_form_cluster_merge, select_async_key_copies,
    select_short_pass_key_copies, select_precompacts_candidates
    (adamas-gpu-pipeline's options of those names)."""
    toolkit = toolkit or os.environ.get("CUDA_HOME") or "/usr/local/cuda"
    return f"chip={chip} toolkit={toolkit} " + _codegen_options(format, num_sms, **codegen)


def lower_ir(ir, **options):
    """The IR through adamas-gpu-pipeline: LLVM-dialect text."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "in.mlir")
        with open(src, "w") as fh:
            fh.write(ir)
        return _run([find_tool("adamas-opt"), src,
                     f"--adamas-gpu-pipeline={pipeline_options(**options)}"],
                    "adamas-gpu-pipeline").decode()


def compile_ir(ir, **options):
    """The IR to an x86-64 PIC object (bytes) whose host functions call the
    runtime's mgpu* entry points and embed the kernels."""
    llvm_dialect = lower_ir(ir, **options)
    with tempfile.TemporaryDirectory() as tmp:
        mlir, ll, obj = (os.path.join(tmp, n) for n in ("step.mlir", "step.ll", "step.o"))
        with open(mlir, "w") as fh:
            fh.write(llvm_dialect)
        _run([find_tool("mlir-translate"), "--mlir-to-llvmir", mlir, "-o", ll], "mlir-translate")
        _run([find_tool("llc"), "-O2", "-filetype=obj", "-relocation-model=pic", ll, "-o", obj], "llc")
        with open(obj, "rb") as fh:
            return fh.read()


def link_shared(objects, output, runtime_dir=None, rpath=True):
    """Links host objects (bytes or paths) into a shared library that needs
    libadamas_runtime.so (from `runtime_dir`, also its rpath unless `rpath`
    is False: a library to be carried elsewhere relies on the runtime being
    loaded first, as adamas.runtime does)."""
    runtime_dir = runtime_dir or os.path.join(
        os.environ.get("ADAMAS_BUILD_DIR") or os.path.join(_checkout(), "build"), "lib")
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, o in enumerate(objects if isinstance(objects, (list, tuple)) else [objects]):
            if isinstance(o, bytes):
                p = os.path.join(tmp, f"o{i}.o")
                with open(p, "wb") as fh:
                    fh.write(o)
                o = p
            paths.append(o)
        _run(["g++", "-shared", "-o", output] + paths +
             [f"-L{runtime_dir}", "-ladamas_runtime"] +
             ([f"-Wl,-rpath,{runtime_dir}"] if rpath else []), "link")
    return output


# --- calling a compiled function ----------------------------------------------

_DESCRIPTORS = {}


def _descriptor_type(rank):
    """MLIR's ranked memref descriptor: allocated, aligned, offset, sizes, strides."""
    if rank not in _DESCRIPTORS:
        _DESCRIPTORS[rank] = type(f"MemRef{rank}D", (ctypes.Structure,), {"_fields_": [
            ("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p),
            ("offset", ctypes.c_int64), ("sizes", ctypes.c_int64 * rank),
            ("strides", ctypes.c_int64 * rank)]})
    return _DESCRIPTORS[rank]


def descriptor(tensor):
    """A memref descriptor of a contiguous tensor (`data_ptr()`, `shape`)."""
    shape = [int(s) for s in tensor.shape]
    desc = _descriptor_type(len(shape))()
    desc.allocated = desc.aligned = tensor.data_ptr()
    desc.offset = 0
    stride = 1
    for i in reversed(range(len(shape))):
        desc.sizes[i] = shape[i]
        desc.strides[i] = stride
        stride *= shape[i]
    return desc


class Function:
    """`_mlir_ciface_<name>` of a compiled library, called with tensors.

    The memref descriptors of a call are kept (a few argument sets), so a
    step called again on the same buffers (decode loops, CUDA graphs) costs
    one dictionary lookup and the native call."""

    _KEEP = 16

    def __init__(self, library, name):
        from . import runtime  # the runtime must be loaded before the library
        runtime.load_library()
        self._lib = ctypes.CDLL(library) if isinstance(library, str) else library
        self._fn = getattr(self._lib, f"_mlir_ciface_{name}")
        self._fn.restype = None
        self._prepared = {}

    def __call__(self, *tensors):
        key = tuple((t.data_ptr(), tuple(t.shape)) for t in tensors)
        args = self._prepared.get(key)
        if args is None:
            if len(self._prepared) >= self._KEEP:
                self._prepared.clear()
            descs = [descriptor(t) for t in tensors]
            args = self._prepared[key] = (descs, [ctypes.byref(d) for d in descs])
        self._fn(*args[1])


# --- compiled, cached decode steps ----------------------------------------------

def _compiler_available():
    try:
        for tool in ("adamas-opt", "mlir-translate", "llc", "g++"):
            find_tool(tool)
        return True
    except FileNotFoundError:
        return False


def _compile_library(ir, chip, format, toolkit, num_sms, **codegen):
    obj = compile_ir(ir, chip=chip, format=format, toolkit=toolkit, num_sms=num_sms,
                     **codegen)
    with tempfile.TemporaryDirectory() as tmp:
        path = link_shared(obj, os.path.join(tmp, "step.so"), rpath=False)
        with open(path, "rb") as fh:
            return fh.read()


class Step:
    """A compiled function of adamas ops: `step(*tensors)` on CUDA tensors
    (anything with data_ptr() and shape) runs it on the runtime's current
    stream (adamas.runtime.current_stream): one native call. For a decode
    step the arguments are (query, new_keys, keys, values, code_cache,
    lengths[, query_thresholds, key_thresholds], out); it writes `out` and
    the new keys' codes into `code_cache`."""

    def __init__(self, spec, library_path, name, key=None, source=None):
        self.spec, self.library_path, self.name = spec, library_path, name
        self.key, self.source = key, source
        self._function = Function(library_path, name)

    def __call__(self, *tensors):
        self._function(*tensors)


def compile_cached(ir, name, spec=None, chip="sm_90", format="bin", runtime=None,
                   toolkit=None, num_sms=0, **codegen):
    """The compiled function `name` of `ir`, from the runtime's caches or, on
    a miss, from the compiler (which must then be installed). `codegen`:
    max_cluster_size (None: the chip's), cluster_select,
    tensor_core_distances, l2_cache_hints, attend_long_splits,
    attend_long_form_ctas_per_sm, attend_tensor_core_dots,
    select_encodes_queries, attend_compacts_selection, select_releases_late,
    select_pipelines_keys, attend_async_cluster_merge, select_grid_sync,
    attend_async_cluster_compaction, attend_cluster_waves,
    attend_long_form_tensor_core_dots, attend_softmax_in_quads,
    attend_long_form_cluster_merge, select_async_key_copies,
    select_short_pass_key_copies, select_precompacts_candidates:
    adamas-gpu-pipeline's options of those names."""
    from . import runtime as rt_module
    rt = runtime or rt_module.Runtime()
    # The key holds what determines the artifact, not where the toolkit is.
    options = _codegen_options(format, num_sms, **codegen)
    if _compiler_available():
        rt.set_compiler(lambda request, key: _compile_library(
            request.ir.decode(), chip, format, toolkit, num_sms, **codegen))
    try:
        artifact = rt.get_or_compile(ir, pipeline_options=options, chip=chip,
                                     compiler_version=compiler_version())
    except rt_module.AdamasRuntimeError as e:
        if e.status == "ADAMAS_ERROR_NOT_FOUND":
            raise RuntimeError(f"{name} not in the cache ({rt.disk_cache_dir or 'memory only'}) "
                               f"and no compiler here (adamas-opt, llc, g++): {e.message}") from e
        raise
    return Step(spec, _materialize(rt, artifact), name, artifact.key, artifact.source)


def decode_step(spec, chip="sm_90", format="bin", runtime=None, name="adamas_decode_step",
                toolkit=None, num_sms=0, **codegen):
    """The compiled decode step for `spec` (see compile_cached for
    `codegen`). `format` "bin" embeds cubins (needs ptxas), "isa" PTX the
    driver compiles when loaded."""
    return compile_cached(decode_step_ir(spec, name), name, spec, chip=chip, format=format,
                          runtime=runtime, toolkit=toolkit, num_sms=num_sms, **codegen)


def _materialize(rt, artifact):
    """The artifact as a file the dynamic loader can open: <cache>/libs-v1/
    <key>.so, written once (temporary name, then rename)."""
    # Next to the artifact entries (artifacts-v1/), not among them.
    base = (os.path.dirname(rt.disk_cache_dir) if rt.disk_cache_dir
            else os.path.join(tempfile.gettempdir(), f"adamas-{os.getuid()}"))
    directory = os.path.join(base, "libs-v1")
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, artifact.key + ".so")
    data = artifact.data
    if not (os.path.exists(path) and os.path.getsize(path) == len(data)):
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    return path
