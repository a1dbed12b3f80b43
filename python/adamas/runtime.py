"""ctypes binding of the adamas runtime's C API (runtime/include/adamas/runtime.h).

    from adamas import runtime
    rt = runtime.Runtime()                      # $ADAMAS_CACHE_DIR or ~/.cache/adamas
    rt.set_compiler(lambda request, key: compile_somehow(request.ir))
    artifact = rt.get_or_compile(ir, chip="sm_90", pipeline_options="...")
    kernel = rt.load(artifact, device=0).function("main_kernel")
    kernel.launch(grid=(n // 256, 1, 1), block=(256, 1, 1),
                  args=runtime.memref_args(x.data_ptr(), [n]) + [ctypes.c_int64(n)])

    with runtime.current_stream(torch.cuda.current_stream()):
        step(...)   # generated host code enqueues on PyTorch's stream

Generated host code (adamas-gpu-pipeline) runs on the calling thread's
current stream when one is set (`set_current_stream`, `current_stream`):
it neither creates, synchronizes nor destroys a stream, so a step is ordered
with the caller's work and can be captured in a CUDA graph.

Everything the library reports as a failure raises `RuntimeError`'s subclass
`AdamasRuntimeError`, carrying the status name and the library's message
(which names the failed CUDA call, or the missing cache key).

Where the library comes from: the `library` argument of `load_library`, else
$ADAMAS_RUNTIME_LIBRARY, else $ADAMAS_LIB_DIR, else `adamas/lib/` next to this
file (an installed package), else `build/lib/` of the checkout this file is
in, else the system loader's search path. Only this module needs the native library; importing
`adamas` does not load it.
"""

import contextlib
import ctypes
import os
import threading
from dataclasses import dataclass

API_VERSION = 1  # ADAMAS_RUNTIME_API_VERSION of the header this binds.
LIBRARY_NAME = "libadamas_runtime.so"
KEY_HEX_SIZE = 65

# adamas_status_t
OK = 0
STATUS_NAMES = {
    0: "ADAMAS_OK",
    1: "ADAMAS_ERROR_INVALID_ARGUMENT",
    2: "ADAMAS_ERROR_VERSION_MISMATCH",
    3: "ADAMAS_ERROR_DRIVER_UNAVAILABLE",
    4: "ADAMAS_ERROR_CUDA",
    5: "ADAMAS_ERROR_NOT_FOUND",
    6: "ADAMAS_ERROR_COMPILE_FAILED",
    7: "ADAMAS_ERROR_IO",
}

# The driver's special stream handles (runtime.h: ADAMAS_STREAM_LEGACY,
# ADAMAS_STREAM_PER_THREAD), for naming a default stream as the current one.
STREAM_LEGACY = 0x1
STREAM_PER_THREAD = 0x2

# adamas_artifact_source_t, as the strings Artifact.source holds.
SOURCES = {0: "memory", 1: "disk", 2: "compiler"}


class AdamasRuntimeError(RuntimeError):
    """A failed runtime call: `status` (e.g. "ADAMAS_ERROR_CUDA") and the
    library's message."""

    def __init__(self, status, message):
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


# --- the C structs -----------------------------------------------------------

class _Options(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32),
                ("cache_dir", ctypes.c_char_p),
                ("cache_max_bytes", ctypes.c_uint64),
                ("disable_disk_cache", ctypes.c_int32)]


class _CompileRequest(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32),
                ("ir", ctypes.c_void_p),
                ("ir_size", ctypes.c_size_t),
                ("pipeline_options", ctypes.c_char_p),
                ("chip", ctypes.c_char_p),
                ("compiler_version", ctypes.c_char_p)]


_STAT_FIELDS = [
    "module_driver_loads", "module_cache_hits", "module_resident",
    "module_load_ns_total", "module_load_ns_last", "module_hit_ns_last",
    "kernel_launches", "cuda_errors",
    "artifact_memory_hits", "artifact_disk_hits", "artifact_disk_misses",
    "artifact_compiles", "artifact_corrupt_entries", "artifact_disk_writes",
    "artifact_evictions",
]


class _Stats(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32)] + [
        (name, ctypes.c_uint64) for name in _STAT_FIELDS]


_CompileCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(_CompileRequest),
    ctypes.c_char_p, ctypes.c_void_p)


# --- loading the library -----------------------------------------------------

_library = None
_library_lock = threading.Lock()


def _candidate_paths():
    here = os.path.dirname(os.path.abspath(__file__))
    env = os.environ.get("ADAMAS_RUNTIME_LIBRARY")
    if env:
        return [env]  # An explicit choice is not second-guessed.
    lib_dir = os.environ.get("ADAMAS_LIB_DIR")
    return ([os.path.join(lib_dir, LIBRARY_NAME)] if lib_dir else []) + [
            os.path.join(here, "lib", LIBRARY_NAME),
            os.path.join(os.path.dirname(os.path.dirname(here)), "build", "lib",
                         LIBRARY_NAME),
            LIBRARY_NAME]


def _declare(lib):
    """Argument and result types of every C API function used here."""
    c = ctypes
    P = c.c_void_p
    status = c.c_int
    table = {
        "adamas_runtime_api_version": (c.c_int, []),
        "adamas_status_name": (c.c_char_p, [status]),
        "adamas_runtime_last_error": (c.c_char_p, []),
        "adamas_runtime_create": (status, [c.c_int, c.POINTER(_Options),
                                           c.POINTER(P)]),
        "adamas_runtime_destroy": (None, [P]),
        "adamas_runtime_disk_cache_dir": (c.c_char_p, [P]),
        "adamas_runtime_check_driver": (status, []),
        "adamas_artifact_key": (status, [c.POINTER(_CompileRequest), c.c_char_p]),
        "adamas_compile_result_set_binary": (None, [P, c.c_char_p, c.c_size_t]),
        "adamas_compile_result_set_error": (None, [P, c.c_char_p]),
        "adamas_runtime_set_compiler": (status, [P, _CompileCallback, P]),
        "adamas_runtime_get_or_compile": (status, [P, c.POINTER(_CompileRequest),
                                                   c.POINTER(P),
                                                   c.POINTER(c.c_int)]),
        "adamas_runtime_lookup": (status, [P, c.c_char_p, c.POINTER(P),
                                           c.POINTER(c.c_int)]),
        "adamas_artifact_data": (P, [P]),
        "adamas_artifact_size": (c.c_size_t, [P]),
        "adamas_artifact_key_hex": (c.c_char_p, [P]),
        "adamas_runtime_load_module": (status, [P, c.c_char_p, c.c_size_t, c.c_int,
                                                c.POINTER(P)]),
        "adamas_runtime_load_artifact": (status, [P, P, c.c_int, c.POINTER(P)]),
        "adamas_module_cu_handle": (P, [P]),
        "adamas_module_get_function": (status, [P, c.c_char_p, c.POINTER(P)]),
        "adamas_function_cu_handle": (P, [P]),
        "adamas_launch": (status, [P, c.POINTER(c.c_uint32), c.POINTER(c.c_uint32),
                                   c.c_uint32, P, c.POINTER(P)]),
        "adamas_runtime_get_stats": (status, [P, c.POINTER(_Stats)]),
        "adamas_module_cache_trim": (c.c_size_t, []),
        "adamas_runtime_set_current_stream": (None, [P]),
        "adamas_runtime_current_stream": (P, []),
    }
    for name, (restype, argtypes) in table.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes


def load_library(library=None):
    """The runtime library, loaded once per process (see the module docstring
    for where it is looked for). Checks the API version."""
    global _library
    with _library_lock:
        if _library is not None:
            if library and os.path.abspath(library) != _library._name:
                raise AdamasRuntimeError(
                    "ADAMAS_ERROR_INVALID_ARGUMENT",
                    f"the runtime library is already loaded from "
                    f"{_library._name}; cannot switch to {library}")
            return _library
        candidates = [library] if library else _candidate_paths()
        problems = []
        for path in candidates:
            if os.sep in path and not os.path.exists(path):
                problems.append(f"{path}: no such file")
                continue
            try:
                lib = ctypes.CDLL(os.path.abspath(path) if os.sep in path else path)
            except OSError as error:
                problems.append(f"{path}: {error}")
                continue
            _declare(lib)
            version = lib.adamas_runtime_api_version()
            if version != API_VERSION:
                raise AdamasRuntimeError(
                    "ADAMAS_ERROR_VERSION_MISMATCH",
                    f"{path} implements runtime API version {version}; this "
                    f"binding needs {API_VERSION}")
            _library = lib
            return lib
        raise AdamasRuntimeError(
            "ADAMAS_ERROR_IO",
            "cannot load the adamas runtime library (set "
            "ADAMAS_RUNTIME_LIBRARY to its path); tried: " + "; ".join(problems))


def _check(lib, status):
    if status != OK:
        name = lib.adamas_status_name(status).decode()
        raise AdamasRuntimeError(name, lib.adamas_runtime_last_error().decode(
            errors="replace"))


def _bytes_or_none(text):
    return None if text is None else text.encode()


# --- requests and artifacts --------------------------------------------------

@dataclass(frozen=True)
class CompileRequest:
    """What an artifact is compiled from; every field is part of its key."""
    ir: bytes
    pipeline_options: str = ""
    chip: str = ""
    compiler_version: str = ""


def _as_request(ir, pipeline_options, chip, compiler_version):
    if isinstance(ir, CompileRequest):
        return ir
    if isinstance(ir, str):
        ir = ir.encode()
    return CompileRequest(bytes(ir), pipeline_options, chip, compiler_version)


class _CRequest:
    """A _CompileRequest and the buffers it points into, kept alive together."""

    def __init__(self, request):
        self._ir = ctypes.create_string_buffer(request.ir, len(request.ir))
        self.struct = _CompileRequest(
            ctypes.sizeof(_CompileRequest), ctypes.cast(self._ir, ctypes.c_void_p),
            len(request.ir), request.pipeline_options.encode(),
            request.chip.encode(), request.compiler_version.encode())


def artifact_key(ir, pipeline_options="", chip="", compiler_version=""):
    """The hex cache key of a request (adamas_artifact_key)."""
    lib = load_library()
    request = _CRequest(_as_request(ir, pipeline_options, chip, compiler_version))
    out = ctypes.create_string_buffer(KEY_HEX_SIZE)
    _check(lib, lib.adamas_artifact_key(ctypes.byref(request.struct), out))
    return out.value.decode()


class Artifact:
    """A compiled artifact owned by a Runtime: `key`, `source` ("memory",
    "disk" or "compiler": where this lookup found it) and `data` (bytes)."""

    def __init__(self, runtime, handle, source):
        self._runtime = runtime  # Keeps the owner alive.
        self._handle = handle
        self.source = source
        lib = runtime._lib
        self.key = lib.adamas_artifact_key_hex(handle).decode()
        self.size = lib.adamas_artifact_size(handle)

    @property
    def data(self):
        return ctypes.string_at(self._runtime._lib.adamas_artifact_data(self._handle),
                                self.size)

    def __repr__(self):
        return f"Artifact(key={self.key[:16]}..., size={self.size}, source={self.source})"


# --- modules, functions, launches -------------------------------------------

class Module:
    """A module loaded on one device; owned by its Runtime."""

    def __init__(self, runtime, handle):
        self._runtime = runtime
        self._handle = handle

    @property
    def cu_module(self):
        """The driver's CUmodule, as an int."""
        return self._runtime._lib.adamas_module_cu_handle(self._handle) or 0

    def function(self, name):
        lib = self._runtime._lib
        out = ctypes.c_void_p()
        _check(lib, lib.adamas_module_get_function(self._handle, name.encode(),
                                                   ctypes.byref(out)))
        return Function(self._runtime, out.value, name)


def _dim3(value, what):
    if isinstance(value, int):
        value = (value,)
    value = tuple(value)
    if not 1 <= len(value) <= 3 or not all(isinstance(v, int) and v >= 1
                                           for v in value):
        raise ValueError(f"{what} must be 1 to 3 positive ints, got {value!r}")
    return (ctypes.c_uint32 * 3)(*(value + (1,) * (3 - len(value))))


def _stream_handle(stream):
    """None (the default stream), an int CUstream, or an object with a
    `cuda_stream` attribute (torch.cuda.Stream)."""
    if stream is None:
        return None
    handle = getattr(stream, "cuda_stream", stream)
    if not isinstance(handle, int):
        raise TypeError(f"stream must be None, an int CUstream or have "
                        f"`cuda_stream`, got {type(stream).__name__}")
    return handle or None


def _kernel_argument(value, position):
    """A ctypes value for one kernel argument. Integers and floats have no
    width of their own in Python, so they must come as ctypes values; objects
    with `data_ptr()` (torch tensors) pass their device pointer."""
    if isinstance(value, ctypes._SimpleCData):
        return value
    if hasattr(value, "data_ptr"):
        return ctypes.c_void_p(value.data_ptr())
    raise TypeError(
        f"kernel argument {position}: give a ctypes value (c_int32, c_int64, "
        f"c_float, c_void_p, ...) or a tensor, got {type(value).__name__}")


class Function:
    """A kernel of a loaded module."""

    def __init__(self, runtime, handle, name):
        self._runtime = runtime
        self._handle = handle
        self.name = name

    @property
    def cu_function(self):
        return self._runtime._lib.adamas_function_cu_handle(self._handle) or 0

    def launch(self, grid, block, args=(), shared_mem=0, stream=None):
        """Launches asynchronously on `stream` (see _stream_handle);
        `args` in the kernel's parameter order (see memref_args)."""
        self.prepare(grid, block, args, shared_mem, stream)()

    def prepare(self, grid, block, args=(), shared_mem=0, stream=None):
        """A launch with everything converted once: calling it launches again
        with the same arguments, paying only the C call (see PreparedLaunch)."""
        return PreparedLaunch(self, grid, block, args, shared_mem, stream)


class PreparedLaunch:
    """The C-level arguments of one launch, built once. Calling it launches;
    `values[i]` is the ctypes value of argument i, which may be updated in
    place (e.g. `values[5].value = n`) between calls."""

    def __init__(self, function, grid, block, args, shared_mem, stream):
        self.function = function
        self.values = [_kernel_argument(v, i) for i, v in enumerate(args)]
        self._params = (ctypes.c_void_p * max(len(self.values), 1))(
            *[ctypes.cast(ctypes.pointer(v), ctypes.c_void_p) for v in self.values])
        self._grid, self._block = _dim3(grid, "grid"), _dim3(block, "block")
        self._shared_mem = shared_mem
        self._stream = _stream_handle(stream)
        self._launch = function._runtime._lib.adamas_launch

    def __call__(self):
        status = self._launch(self.function._handle, self._grid, self._block,
                              self._shared_mem, self._stream, self._params)
        if status != OK:
            _check(self.function._runtime._lib, status)


def memref_args(pointer, sizes, strides=None, offset=0):
    """The kernel parameters MLIR passes for one memref (its expanded
    descriptor): allocated and aligned pointer, offset, sizes, strides
    (default: contiguous). `pointer` is an int or has `data_ptr()`."""
    if hasattr(pointer, "data_ptr"):
        pointer = pointer.data_ptr()
    sizes = [int(s) for s in sizes]
    if strides is None:
        strides, running = [], 1
        for size in reversed(sizes):
            strides.insert(0, running)
            running *= size
    if len(strides) != len(sizes):
        raise ValueError(f"{len(sizes)} sizes but {len(strides)} strides")
    return ([ctypes.c_void_p(pointer), ctypes.c_void_p(pointer),
             ctypes.c_int64(offset)] + [ctypes.c_int64(s) for s in sizes] +
            [ctypes.c_int64(int(s)) for s in strides])


# --- the runtime ---------------------------------------------------------------

class Runtime:
    """An adamas runtime: artifact caches (memory and disk) and module loads.

    cache_dir: None for $ADAMAS_CACHE_DIR, else ~/.cache/adamas.
    cache_max_bytes: 0 for $ADAMAS_CACHE_MAX_BYTES, else 1 GiB.
    disable_disk_cache: keep artifacts in memory only.
    """

    def __init__(self, cache_dir=None, cache_max_bytes=0,
                 disable_disk_cache=False, library=None):
        self._lib = load_library(library)
        options = _Options(ctypes.sizeof(_Options), _bytes_or_none(cache_dir),
                           cache_max_bytes, int(bool(disable_disk_cache)))
        handle = ctypes.c_void_p()
        _check(self._lib, self._lib.adamas_runtime_create(
            API_VERSION, ctypes.byref(options), ctypes.byref(handle)))
        self._handle = handle.value
        self._callback = None  # The registered _CompileCallback, kept alive.
        self._compiler = None

    def close(self):
        """Destroys the runtime; its artifacts, modules and functions become
        invalid. Called on garbage collection too."""
        if getattr(self, "_handle", None):
            self._lib.adamas_runtime_destroy(self._handle)
            self._handle = None

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _live(self):
        if not self._handle:
            raise AdamasRuntimeError("ADAMAS_ERROR_INVALID_ARGUMENT",
                                     "the runtime was closed")
        return self._handle

    @property
    def disk_cache_dir(self):
        """Where the disk entries live, or None when memory-only."""
        path = self._lib.adamas_runtime_disk_cache_dir(self._live())
        return path.decode() if path else None

    def set_compiler(self, compiler):
        """Registers `compiler(request: CompileRequest, key: str) -> bytes`,
        called on a cache miss; None removes it. An exception it raises
        becomes an ADAMAS_ERROR_COMPILE_FAILED carrying its message."""
        if compiler is None:
            _check(self._lib, self._lib.adamas_runtime_set_compiler(
                self._live(), _CompileCallback(), None))
            self._callback = self._compiler = None
            return

        lib = self._lib

        def trampoline(_user_data, request_pointer, key_hex, result):
            try:
                r = request_pointer.contents
                request = CompileRequest(
                    ctypes.string_at(r.ir, r.ir_size) if r.ir_size else b"",
                    (r.pipeline_options or b"").decode(),
                    (r.chip or b"").decode(),
                    (r.compiler_version or b"").decode())
                binary = compiler(request, key_hex.decode())
                if not isinstance(binary, (bytes, bytearray, memoryview)):
                    raise TypeError(f"the compiler returned "
                                    f"{type(binary).__name__}, not bytes")
                binary = bytes(binary)
                lib.adamas_compile_result_set_binary(result, binary, len(binary))
                return 0
            except BaseException as error:  # Nothing may unwind into C.
                message = f"{type(error).__name__}: {error}"
                lib.adamas_compile_result_set_error(result, message.encode())
                return 1

        callback = _CompileCallback(trampoline)
        _check(lib, lib.adamas_runtime_set_compiler(self._live(), callback, None))
        self._callback, self._compiler = callback, compiler

    def get_or_compile(self, ir, pipeline_options="", chip="", compiler_version=""):
        """The artifact of a request, from memory, disk or the compiler.
        `ir` is bytes, str or a CompileRequest (then the rest is ignored)."""
        request = _CRequest(_as_request(ir, pipeline_options, chip,
                                        compiler_version))
        out, source = ctypes.c_void_p(), ctypes.c_int()
        _check(self._lib, self._lib.adamas_runtime_get_or_compile(
            self._live(), ctypes.byref(request.struct), ctypes.byref(out),
            ctypes.byref(source)))
        return Artifact(self, out.value, SOURCES[source.value])

    def lookup(self, key):
        """The artifact stored under a hex key, from memory or disk; raises
        ADAMAS_ERROR_NOT_FOUND without compiling."""
        out, source = ctypes.c_void_p(), ctypes.c_int()
        _check(self._lib, self._lib.adamas_runtime_lookup(
            self._live(), key.encode(), ctypes.byref(out), ctypes.byref(source)))
        return Artifact(self, out.value, SOURCES[source.value])

    def load(self, image, device=0):
        """Loads an Artifact or a binary image (cubin, fatbin, PTX) on a
        device; the same bytes are loaded by the driver once per process."""
        out = ctypes.c_void_p()
        if isinstance(image, Artifact):
            if image._runtime is not self:
                raise AdamasRuntimeError("ADAMAS_ERROR_INVALID_ARGUMENT",
                                         "the artifact belongs to another runtime")
            status = self._lib.adamas_runtime_load_artifact(
                self._live(), image._handle, device, ctypes.byref(out))
        else:
            image = bytes(image)
            status = self._lib.adamas_runtime_load_module(
                self._live(), image, len(image), device, ctypes.byref(out))
        _check(self._lib, status)
        return Module(self, out.value)

    def stats(self):
        """Counters of the process (module_*, kernel_launches, cuda_errors)
        and of this runtime (artifact_*), as a dict."""
        return stats(self)


def stats(runtime=None):
    """adamas_runtime_get_stats as a dict; per-runtime counters are 0
    without a runtime."""
    lib = runtime._lib if runtime else load_library()
    out = _Stats(struct_size=ctypes.sizeof(_Stats))
    _check(lib, lib.adamas_runtime_get_stats(
        runtime._live() if runtime else None, ctypes.byref(out)))
    return {name: getattr(out, name) for name in _STAT_FIELDS}


def check_driver():
    """Raises ADAMAS_ERROR_DRIVER_UNAVAILABLE (with the reason) unless the
    CUDA driver loads and initializes."""
    lib = load_library()
    _check(lib, lib.adamas_runtime_check_driver())


def module_cache_trim():
    """Unloads the process-wide cache's modules nobody holds; returns how many."""
    return load_library().adamas_module_cache_trim()


# --- the current stream ----------------------------------------------------------

def _current_stream_handle(stream):
    """The CUstream to make current: None clears; an int CUstream or an object
    with `cuda_stream` (torch.cuda.Stream). 0, the handle PyTorch reports for
    its default stream, is the legacy default stream (STREAM_LEGACY): the C
    API reserves NULL for "no current stream"."""
    if stream is None:
        return None
    handle = getattr(stream, "cuda_stream", stream)
    if not isinstance(handle, int) or isinstance(handle, bool) or handle < 0:
        raise TypeError(f"stream must be None, a non-negative int CUstream or "
                        f"have `cuda_stream`, got {stream!r}")
    return handle or STREAM_LEGACY


def set_current_stream(stream):
    """Sets the calling thread's current stream (None clears it): generated
    host code run on this thread then enqueues its work on that stream
    instead of creating, synchronizing and destroying its own (see
    adamas_runtime_set_current_stream in runtime.h). The caller owns the
    stream and synchronizes it before reading results on the host. Costs one
    ctypes call; per thread, like PyTorch's current stream."""
    load_library().adamas_runtime_set_current_stream(
        _current_stream_handle(stream))


def get_current_stream():
    """The calling thread's current stream as an int, or None when unset."""
    return load_library().adamas_runtime_current_stream() or None


@contextlib.contextmanager
def current_stream(stream):
    """Makes `stream` (as for set_current_stream) the calling thread's current
    stream for the `with` block, then restores the previous one:

        with adamas.runtime.current_stream(torch.cuda.current_stream()):
            step(...)
    """
    lib = load_library()
    previous = lib.adamas_runtime_current_stream()
    lib.adamas_runtime_set_current_stream(_current_stream_handle(stream))
    try:
        yield
    finally:
        lib.adamas_runtime_set_current_stream(previous)
