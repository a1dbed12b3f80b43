"""The timing method of DESIGN.md section 8, shared by timing.py and bench.py.

One CUDA graph per side holds one call per input set, rotating through
enough sets that one round reads past the 60 MB L2; the time per call is the
median replay time (CUDA events) over the number of sets. Dense attention is
PyTorch's scaled_dot_product_attention with its fastest backend here (each
backend timed the same way, the best kept). Per-kernel device times come from
torch.profiler over eager calls; the eager host overhead is the wall time per
call of many eager calls (synchronized at the end) minus the graph time.

Everything that needs torch imports it inside the function, so the constants
and the byte arithmetic are usable (and testable) without torch.
"""

import math
import os
import statistics
import subprocess
import time

L2_BYTES = 60 * 2**20
COPY_TBPS = 4.23   # measured device-to-device copy, read + write (DESIGN 8)
# The H200's population counts: 16 per clock per SM (CUDA C++ Programming
# Guide, arithmetic instruction throughput, compute capability 9.0), 132 SMs
# at the 1.98 GHz boost clock.
POPC_PER_SM_CLOCK = 16
SMS = 132
BOOST_GHZ = 1.98
KEEP_SETS = 16     # adamas.compile.Function keeps descriptors for 16 argument sets


def code_bytes(spec, B, N):
    """Bytes of the code cache one step reads: B x Hkv x N x W x 4."""
    return B * spec.kv_heads * N * spec.words * 4


def rotation_sets(nbytes, factor=4, cap=None):
    """Input sets so that one round of `nbytes` each reads `factor` x the L2."""
    sets = max(2, math.ceil(factor * L2_BYTES / max(nbytes, 1)))
    return min(sets, cap) if cap else sets


def byte_floor_us(spec, B, N, tbps=COPY_TBPS):
    """DESIGN 8: code cache read once + k rows of K and V per query head (per
    KV head with shared_group), at the copy bandwidth. k is capped at N."""
    kv_row = (spec.dims + spec.value_dims) * (4 if spec.dtype == "f32" else 2)
    rows = min(spec.k, N)
    return (code_bytes(spec, B, N) + B * spec.index_heads * spec.rows * rows * kv_row) \
        / (tbps * 1e12) * 1e6


def popcounts_per_distance(spec):
    """Population counts of one exact L1 distance between two code rows
    (CodeArithmetic.cpp, buildGroupDistance): per 32 dims 1 at 1 bit, 2 at 2
    bits (the low plane's differences and the two-apart ones), and one per
    thermometer plane, 2^b - 1, at 3 bits."""
    per_group = {1: 1, 2: 2}.get(spec.bits, (1 << spec.bits) - 1)
    return spec.dims // 32 * per_group


def popcount_floor_us(spec, B, N, per_sm_clock=POPC_PER_SM_CLOCK, sms=SMS,
                      ghz=BOOST_GHZ):
    """The select's other floor: every query row's distance to every key of
    its KV head (B x Hq x M x N of them; shared_group too computes all G and
    keeps the minimum) at the chip's popcount rate."""
    distances = B * spec.q_heads * spec.rows * N
    return distances * popcounts_per_distance(spec) / (per_sm_clock * sms * ghz * 1e3)


# Before each timed replay the stream gets a spin kernel of this many clocks
# (~1 ms): the start event then waits behind it while the host submits the
# graph, so the interval measures the graph's GPU time and not the host's
# cudaGraphLaunch (which, divided by only 2 sets at B=16, added ~10% there
# and made the same step measure differently in two processes; NOTES.md
# item 26). ADAMAS_TIMING_HIDE_LAUNCH=0 times the old way.
HIDE_LAUNCH_CLOCKS = 2_000_000


def hide_launch():
    """True iff graph_time_us puts a spin kernel before its start event."""
    return os.environ.get("ADAMAS_TIMING_HIDE_LAUNCH", "1") != "0"


def gpu_state():
    """The GPU's SM clock, power and temperature now (nvidia-smi), or ''."""
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=clocks.sm,clocks.mem,power.draw,temperature.gpu",
             "--format=csv,noheader"], capture_output=True, text=True, timeout=10)
        return out.stdout.strip().splitlines()[0] if out.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError, IndexError):
        return ""


def graph_time_us(make_calls, sets, reps, adamas_stream=True):
    """Median over `reps` replays of a graph running every set once, per set
    (the host's launch of the graph hidden behind a spin kernel).
    adamas_stream: the calls run adamas functions, so the adamas runtime's
    current stream is bound to PyTorch's around them; False for calls of
    torch or Triton alone (no adamas runtime library needed)."""
    import contextlib
    import torch

    def bound():
        if not adamas_stream:
            return contextlib.nullcontext()
        from adamas import runtime as art
        return art.current_stream(torch.cuda.current_stream())
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        with bound():
            for s in range(sets):      # warm-up outside capture: lookups, pool, JIT
                make_calls(s)
    torch.cuda.current_stream().wait_stream(stream)
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        with bound():
            for s in range(sets):
                make_calls(s)
    graph.replay()
    torch.cuda.synchronize()
    spin = hide_launch() and hasattr(torch.cuda, "_sleep")
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        if spin:
            torch.cuda._sleep(HIDE_LAUNCH_CLOCKS)
        start.record()
        graph.replay()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) * 1e3 / sets)
    del graph
    return statistics.median(times)


def eager_time_us(make_calls, sets, calls=200, warmup=None):
    """Eager calls from Python on PyTorch's stream, rotating over min(sets,
    KEEP_SETS) input sets: (wall time per call with a synchronize at the end,
    host time per call to issue them). The host overhead of a step is the
    first minus the graph time."""
    import torch
    from adamas import runtime as art
    sets = max(1, min(sets, KEEP_SETS))
    warmup = 2 * sets if warmup is None else warmup
    with art.current_stream(torch.cuda.current_stream()):
        for i in range(warmup):
            make_calls(i % sets)
        torch.cuda.synchronize()
        start = time.perf_counter()
        for i in range(calls):
            make_calls(i % sets)
        issued = time.perf_counter()
        torch.cuda.synchronize()
        done = time.perf_counter()
    return (done - start) / calls * 1e6, (issued - start) / calls * 1e6


def host_time_us(call, calls, warmup=20, catch_up_every=25):
    """Host time per call of `call()`: only the calls are timed; the GPU
    catches up (synchronized, untimed) every `catch_up_every` calls, so no
    launch waits for a full launch queue and the GPU's time is not counted."""
    import torch
    for _ in range(warmup):
        call()
    torch.cuda.synchronize()
    spent = 0.0
    for i in range(calls):
        start = time.perf_counter()
        call()
        spent += time.perf_counter() - start
        if i % catch_up_every == catch_up_every - 1:
            torch.cuda.synchronize()
    torch.cuda.synchronize()
    return spent / calls * 1e6


def kernel_breakdown(call, reps=20):
    """Mean device time per launch of each kernel a call runs (eager), as
    [(name, us, launches per call)], longest first."""
    import torch
    from torch.profiler import ProfilerActivity, profile
    from adamas import runtime as art
    with art.current_stream(torch.cuda.current_stream()):
        call()
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(reps):
                call()
            torch.cuda.synchronize()
    rows = []
    for event in prof.key_averages():
        total = getattr(event, "device_time_total", None)
        if total is None:
            total = getattr(event, "cuda_time_total", 0.0)
        if total and event.count:
            rows.append((event.key, total / event.count, event.count / reps))
    return sorted(rows, key=lambda r: -r[1])


def sdpa_backends():
    from torch.nn.attention import SDPBackend
    return (SDPBackend.CUDNN_ATTENTION, SDPBackend.FLASH_ATTENTION,
            SDPBackend.EFFICIENT_ATTENTION)


def dense_time_us(q, keys, values, sets, reps):
    """(us, backend name) of the fastest SDPA backend, each timed by
    graph_time_us; MATH only when no fused backend runs the shape."""
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel
    gqa = q[0].shape[1] != keys[0].shape[1]
    best = None
    errors = []
    for backend in sdpa_backends() + (SDPBackend.MATH,):
        if backend == SDPBackend.MATH and best is not None:
            break
        try:
            with sdpa_kernel([backend]):
                def calls(s):
                    F.scaled_dot_product_attention(q[s], keys[s], values[s], enable_gqa=gqa)
                t = graph_time_us(calls, sets, reps)
        except Exception as e:  # backend unavailable for this shape
            errors.append(f"{backend.name}: {type(e).__name__}")
            continue
        if best is None or t < best[0]:
            best = (t, backend.name)
    if best is None:
        raise RuntimeError("no SDPA backend ran: " + "; ".join(errors))
    return best
