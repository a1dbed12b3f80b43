"""adamas.runtime (ctypes over runtime/include/adamas/runtime.h) against the
built libadamas_runtime.so and the fake CUDA driver of the runtime's unit
tests (runtime/test/FakeCudaDriverControl.h), which keeps "device memory" in
host memory and runs a host emulation of a few test kernels.

Needs a build: $ADAMAS_BUILD_DIR (scripts/test.sh sets it; then a missing
library is a failure), else build/ of this checkout (else the tests skip).
"""

import ctypes
import hashlib
import os
import struct
import threading

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _build_dir():
    explicit = os.environ.get("ADAMAS_BUILD_DIR")
    build = explicit or os.path.join(REPO, "build")
    runtime = os.path.join(build, "lib", "libadamas_runtime.so")
    fake = os.path.join(build, "runtime", "test", "libadamas_fake_cuda.so")
    missing = [p for p in (runtime, fake) if not os.path.exists(p)]
    if missing:
        if explicit:
            pytest.fail(f"ADAMAS_BUILD_DIR={explicit} lacks {missing}")
        pytest.skip(f"no build: {missing} (set ADAMAS_BUILD_DIR)")
    return runtime, fake


@pytest.fixture(scope="module")
def rtmod():
    runtime_path, fake_path = _build_dir()
    # The runtime dlopens the driver on first use and reads these then.
    os.environ["ADAMAS_CUDA_DRIVER"] = fake_path
    os.environ["ADAMAS_RUNTIME_QUIET"] = "1"
    os.environ["ADAMAS_RUNTIME_LIBRARY"] = runtime_path
    from adamas import runtime
    runtime.load_library()
    return runtime


class FakeLaunch(ctypes.Structure):
    # runtime/test/FakeCudaDriverControl.h's FakeLaunchRecord, field for field:
    # fakecuda_last_launch writes the whole C struct into this buffer.
    _fields_ = [("function", ctypes.c_char * 128),
                ("grid", ctypes.c_uint * 3),
                ("block", ctypes.c_uint * 3),
                ("cluster", ctypes.c_uint * 3),
                ("sharedMemBytes", ctypes.c_uint),
                ("stream", ctypes.c_void_p),
                ("params", ctypes.POINTER(ctypes.c_void_p)),
                ("maxDynamicSharedBytes", ctypes.c_int),
                ("cooperative", ctypes.c_int),
                ("programmatic", ctypes.c_int)]


@pytest.fixture(scope="module")
def fake(rtmod):
    # RTLD_NOLOAD-like: the runtime has already loaded it (check_driver), so
    # this returns the same instance, whose counters the runtime drives.
    rtmod.check_driver()
    lib = ctypes.CDLL(os.environ["ADAMAS_CUDA_DRIVER"])
    lib.fakecuda_call_count.restype = ctypes.c_uint64
    lib.fakecuda_call_count.argtypes = [ctypes.c_char_p]
    lib.fakecuda_fail_next.argtypes = [ctypes.c_char_p, ctypes.c_int]
    lib.fakecuda_last_launch.restype = ctypes.c_bool
    lib.fakecuda_last_launch.argtypes = [ctypes.POINTER(FakeLaunch)]
    lib.fakecuda_live_streams.restype = ctypes.c_size_t
    lib.fakecuda_launch_record_size.restype = ctypes.c_size_t
    # A mirror shorter than the C struct would let fakecuda_last_launch write
    # past the ctypes buffer (it did once: a crash in a later GC).
    assert ctypes.sizeof(FakeLaunch) == lib.fakecuda_launch_record_size()
    lib.fakecuda_reset()
    return lib


def independent_key(ir, pipeline_options, chip, compiler_version):
    """runtime.h: SHA-256 of "adamas.artifact.v1", then each field as a
    little-endian u64 length and its bytes."""
    h = hashlib.sha256(b"adamas.artifact.v1")
    for field in (ir, pipeline_options.encode(), chip.encode(),
                  compiler_version.encode()):
        h.update(struct.pack("<Q", len(field)) + field)
    return h.hexdigest()


class CountingCompiler:
    def __init__(self, make=lambda request: b"FAKE:" + request.ir):
        self.calls = []
        self.make = make

    def __call__(self, request, key):
        self.calls.append((request, key))
        return self.make(request)


# --- keys and the caches -------------------------------------------------------

def test_api_version_and_key(rtmod):
    assert rtmod.load_library().adamas_runtime_api_version() == rtmod.API_VERSION
    ir = b"gpu.module @m {}\x00with a NUL"
    assert (rtmod.artifact_key(ir, "opt=1", "sm_90", "adamas 0.1")
            == independent_key(ir, "opt=1", "sm_90", "adamas 0.1"))
    # Every field is part of the key, and field boundaries count.
    assert (rtmod.artifact_key(b"ab", "c") != rtmod.artifact_key(b"a", "bc"))


def test_compile_once_then_memory_then_disk(rtmod, tmp_path):
    compiler = CountingCompiler()
    ir = "gpu.module @k {} // " + str(tmp_path)
    with rtmod.Runtime(cache_dir=str(tmp_path)) as rt:
        assert rt.disk_cache_dir and rt.disk_cache_dir.startswith(str(tmp_path))
        rt.set_compiler(compiler)
        first = rt.get_or_compile(ir, "o", "sm_90", "v1")
        again = rt.get_or_compile(ir, "o", "sm_90", "v1")
        assert (first.source, again.source) == ("compiler", "memory")
        assert first.data == b"FAKE:" + ir.encode() == again.data
        assert first.key == independent_key(ir.encode(), "o", "sm_90", "v1")
        request, key = compiler.calls[0]
        assert len(compiler.calls) == 1 and key == first.key
        assert request == rtmod.CompileRequest(ir.encode(), "o", "sm_90", "v1")
        assert rt.stats()["artifact_compiles"] == 1
        assert rt.stats()["artifact_memory_hits"] == 1
    # A new runtime over the same directory, without a compiler: from disk.
    with rtmod.Runtime(cache_dir=str(tmp_path)) as rt:
        artifact = rt.get_or_compile(ir, "o", "sm_90", "v1")
        assert artifact.source == "disk"
        assert artifact.data == b"FAKE:" + ir.encode()
        assert rt.lookup(artifact.key).source == "memory"


def test_miss_without_compiler_names_the_key(rtmod, tmp_path):
    with rtmod.Runtime(cache_dir=str(tmp_path)) as rt:
        with pytest.raises(rtmod.AdamasRuntimeError) as error:
            rt.get_or_compile(b"never compiled")
        assert error.value.status == "ADAMAS_ERROR_NOT_FOUND"
        assert independent_key(b"never compiled", "", "", "") in error.value.message
        with pytest.raises(rtmod.AdamasRuntimeError, match="NOT_FOUND"):
            rt.lookup("0" * 64)


def test_compiler_failures_become_compile_failed(rtmod, tmp_path):
    def broken(request):
        raise ValueError("no kernel for " + request.chip)

    with rtmod.Runtime(cache_dir=str(tmp_path)) as rt:
        rt.set_compiler(CountingCompiler(broken))
        with pytest.raises(rtmod.AdamasRuntimeError) as error:
            rt.get_or_compile(b"x", chip="sm_42")
        assert error.value.status == "ADAMAS_ERROR_COMPILE_FAILED"
        assert "ValueError: no kernel for sm_42" in error.value.message
        rt.set_compiler(CountingCompiler(lambda request: "not bytes"))
        with pytest.raises(rtmod.AdamasRuntimeError, match="not bytes"):
            rt.get_or_compile(b"y")
        # Removing the compiler: a miss is NOT_FOUND again.
        rt.set_compiler(None)
        with pytest.raises(rtmod.AdamasRuntimeError, match="NOT_FOUND"):
            rt.get_or_compile(b"z")


def test_corrupt_disk_entry_is_rebuilt(rtmod, tmp_path):
    with rtmod.Runtime(cache_dir=str(tmp_path)) as rt:
        rt.set_compiler(CountingCompiler())
        key = rt.get_or_compile(b"kernel bytes").key
    entry = os.path.join(tmp_path, "artifacts-v1", key + ".bin")
    data = bytearray(open(entry, "rb").read())
    data[-1] ^= 0x40  # One payload bit: only the checksum can tell.
    open(entry, "wb").write(bytes(data))
    with rtmod.Runtime(cache_dir=str(tmp_path)) as rt:
        compiler = CountingCompiler()
        rt.set_compiler(compiler)
        artifact = rt.get_or_compile(b"kernel bytes")
        assert artifact.source == "compiler" and len(compiler.calls) == 1
        assert artifact.data == b"FAKE:kernel bytes"
        assert rt.stats()["artifact_corrupt_entries"] == 1


def test_memory_only_runtime(rtmod, tmp_path):
    with rtmod.Runtime(cache_dir=str(tmp_path), disable_disk_cache=True) as rt:
        assert rt.disk_cache_dir is None
        rt.set_compiler(CountingCompiler())
        rt.get_or_compile(b"m")
    assert not os.path.exists(os.path.join(tmp_path, "artifacts-v1"))


def test_compiler_called_from_many_threads(rtmod, tmp_path):
    compiler = CountingCompiler()
    errors = []
    with rtmod.Runtime(cache_dir=str(tmp_path)) as rt:
        rt.set_compiler(compiler)

        def work(i):
            try:
                for j in range(20):
                    art = rt.get_or_compile(f"ir {j % 5}")
                    assert art.data == f"FAKE:ir {j % 5}".encode()
            except Exception as error:  # Reported below, not lost in a thread.
                errors.append(error)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        # Each distinct request was compiled at least once, and every
        # compile was of one of them.
        assert {r.ir for r, _ in compiler.calls} == {f"ir {j}".encode() for j in range(5)}


# --- modules and launches through the fake driver -------------------------------

def test_module_loaded_once_and_function_lookup(rtmod, fake, tmp_path):
    image = b"FAKE:python-module-test add_index other\x00"
    fake.fakecuda_reset()
    with rtmod.Runtime(cache_dir=str(tmp_path)) as rt:
        first, second = rt.load(image), rt.load(image)
        assert first.cu_module == second.cu_module != 0
        assert fake.fakecuda_call_count(b"cuModuleLoadData") == 1
        assert first.function("add_index").cu_function != 0
        with pytest.raises(rtmod.AdamasRuntimeError) as error:
            first.function("missing_kernel")
        assert error.value.status == "ADAMAS_ERROR_CUDA"
        assert "cuModuleGetFunction" in error.value.message
        assert "missing_kernel" in error.value.message


def test_bad_image_reports_the_cuda_call(rtmod, fake, tmp_path):
    with rtmod.Runtime(cache_dir=str(tmp_path)) as rt:
        with pytest.raises(rtmod.AdamasRuntimeError) as error:
            rt.load(b"FAKE:FAKE-BAD\x00")
        assert "cuModuleLoadData" in error.value.message
        assert "CUDA_ERROR_INVALID_IMAGE" in error.value.message


def test_launch_passes_memref_arguments(rtmod, fake, tmp_path):
    # add_index(x: memref<?xi32>, n: index): x[i] += i, emulated on the host
    # by the fake; its "device memory" is host memory, so numpy's will do.
    x = np.arange(100, 200, dtype=np.int32)
    expected = x + np.arange(x.size, dtype=np.int32)
    with rtmod.Runtime(cache_dir=str(tmp_path)) as rt:
        rt.set_compiler(CountingCompiler(lambda r: b"FAKE:add_index\x00"))
        kernel = rt.load(rt.get_or_compile(b"add_index IR")).function("add_index")
        args = rtmod.memref_args(x.ctypes.data, [x.size]) + [ctypes.c_int64(x.size)]
        kernel.launch(grid=(4,), block=(32, 1), args=args, shared_mem=128,
                      stream=None)
        np.testing.assert_array_equal(x, expected)
        record = FakeLaunch()
        assert fake.fakecuda_last_launch(ctypes.byref(record))
        assert record.function == b"add_index"
        assert list(record.grid) == [4, 1, 1] and list(record.block) == [32, 1, 1]
        assert record.sharedMemBytes == 128 and not record.stream
        # (The emulation read the aligned pointer, offset and size of the
        # memref and n from params 1, 2, 3 and 5: x's values prove the order.)


def test_prepared_launch_reuses_and_updates_its_arguments(rtmod, fake, tmp_path):
    x = np.zeros(64, dtype=np.int32)
    with rtmod.Runtime(cache_dir=str(tmp_path)) as rt:
        kernel = rt.load(b"FAKE:prepared add_index\x00").function("add_index")
        launch = kernel.prepare(grid=2, block=32, args=rtmod.memref_args(
            x.ctypes.data, [x.size]) + [ctypes.c_int64(x.size)])
        launch()
        launch()
        np.testing.assert_array_equal(x, 2 * np.arange(64, dtype=np.int32))
        launch.values[5].value = 10  # n: only the first 10 elements now.
        launch()
        expected = 2 * np.arange(64, dtype=np.int32)
        expected[:10] += np.arange(10, dtype=np.int32)
        np.testing.assert_array_equal(x, expected)


def test_launch_errors(rtmod, fake, tmp_path):
    with rtmod.Runtime(cache_dir=str(tmp_path)) as rt:
        kernel = rt.load(b"FAKE:launch-error-test k\x00").function("k")
        fake.fakecuda_fail_next(b"cuLaunchKernel", 719)  # LAUNCH_FAILED
        with pytest.raises(rtmod.AdamasRuntimeError) as error:
            kernel.launch(grid=1, block=1)
        assert "cuLaunchKernel" in error.value.message
        assert "unspecified launch failure" in error.value.message
        with pytest.raises(TypeError, match="argument 0"):
            kernel.launch(grid=1, block=1, args=[3])  # Width unknown.
        with pytest.raises(ValueError, match="grid"):
            kernel.launch(grid=(0,), block=1)


def test_memref_args_layout(rtmod):
    args = rtmod.memref_args(0x1000, [2, 3, 4], offset=5)
    values = [a.value for a in args]
    assert values == [0x1000, 0x1000, 5, 2, 3, 4, 12, 4, 1]
    assert [type(a) for a in args[:3]] == [ctypes.c_void_p, ctypes.c_void_p,
                                           ctypes.c_int64]


# --- the current stream ----------------------------------------------------------

class TorchLikeStream:
    """What set_current_stream reads from a torch.cuda.Stream."""

    def __init__(self, cuda_stream):
        self.cuda_stream = cuda_stream


def test_current_stream_is_set_read_and_cleared(rtmod):
    assert rtmod.get_current_stream() is None
    rtmod.set_current_stream(0x5000)
    assert rtmod.get_current_stream() == 0x5000
    rtmod.set_current_stream(TorchLikeStream(0x6000))
    assert rtmod.get_current_stream() == 0x6000
    # PyTorch's default stream reports 0: the legacy default stream, since
    # NULL means "none" to the C API.
    rtmod.set_current_stream(0)
    assert rtmod.get_current_stream() == rtmod.STREAM_LEGACY == 1
    rtmod.set_current_stream(TorchLikeStream(0))
    assert rtmod.get_current_stream() == rtmod.STREAM_LEGACY
    rtmod.set_current_stream(None)
    assert rtmod.get_current_stream() is None
    for bad in ("0x5000", 1.5, -1, True):
        with pytest.raises(TypeError, match="stream must be"):
            rtmod.set_current_stream(bad)
    assert rtmod.get_current_stream() is None


def test_current_stream_context_manager_nests_and_restores(rtmod):
    with rtmod.current_stream(0x7000):
        assert rtmod.get_current_stream() == 0x7000
        with pytest.raises(ValueError):
            with rtmod.current_stream(TorchLikeStream(0x8000)):
                assert rtmod.get_current_stream() == 0x8000
                raise ValueError("restored all the same")
        assert rtmod.get_current_stream() == 0x7000
        with rtmod.current_stream(None):
            assert rtmod.get_current_stream() is None
        assert rtmod.get_current_stream() == 0x7000
    assert rtmod.get_current_stream() is None


def test_current_stream_is_per_thread(rtmod):
    seen = []
    with rtmod.current_stream(0x9000):
        thread = threading.Thread(target=lambda: seen.append(
            rtmod.get_current_stream()))
        thread.start()
        thread.join()
        assert rtmod.get_current_stream() == 0x9000
    assert seen == [None]


def test_generated_code_borrows_the_current_stream(rtmod, fake):
    # The mgpu* calls MLIR's lowering of `gpu.wait async` ... `gpu.wait`
    # makes, straight into the library.
    lib = rtmod.load_library()
    lib.mgpuStreamCreate.restype = ctypes.c_void_p
    lib.mgpuStreamSynchronize.argtypes = [ctypes.c_void_p]
    lib.mgpuStreamDestroy.argtypes = [ctypes.c_void_p]
    callers = lib.mgpuStreamCreate()  # The caller's own stream.
    assert callers
    streams = fake.fakecuda_live_streams()
    fake.fakecuda_reset()
    with rtmod.current_stream(callers):
        for _ in range(3):
            stream = lib.mgpuStreamCreate()
            assert stream == callers
            lib.mgpuStreamSynchronize(stream)
            lib.mgpuStreamDestroy(stream)
    for call in (b"cuStreamCreate", b"cuStreamSynchronize", b"cuStreamDestroy_v2"):
        assert fake.fakecuda_call_count(call) == 0, call
    assert fake.fakecuda_live_streams() == streams
    lib.mgpuStreamDestroy(callers)  # No longer current: really destroyed.
    assert fake.fakecuda_call_count(b"cuStreamDestroy_v2") == 1
    assert fake.fakecuda_live_streams() == streams - 1
