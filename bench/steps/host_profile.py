"""Where the host time of one eager `adamas.torch.decode_attention` call goes.

    ADAMAS_CACHE_DIR=.carry/steps/cache python3 bench/steps/host_profile.py

torch_check.py's shape (its step is in the carried cache). Prints the host
time per call of each layer of the call, innermost first (the native step
alone, the op's Python body, the registered op, the public function) and of
a few of its parts, each over 2000 calls (measure.host_time_us: the calls
timed alone, the GPU catching up untimed), then cProfile's top entries of
the public function. A diagnostic for issue 10's host-overhead target; it
checks nothing.
"""

import cProfile
import os
import pstats
import sys

import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "python"))
sys.path.insert(0, here)
import adamas.runtime as art  # noqa: E402
import adamas.torch as at  # noqa: E402
from measure import host_time_us  # noqa: E402

B, HQ, HKV, D, CAP, K, SINK, RECENT = 2, 32, 8, 128, 4096, 256, 4, 16
CALLS = 2000


def main():
    torch.manual_seed(0)
    dev = "cuda"
    keys = torch.randn(B, HKV, CAP, D, device=dev).half()
    values = torch.randn(B, HKV, CAP, D, device=dev).half()
    cache = at.CodeCache(B, HKV, CAP, dims=D)
    cache.prefill(keys)
    lengths = torch.full((B,), 3000, dtype=torch.int32, device=dev)
    q = torch.randn(B, HQ, 1, D, device=dev).half()
    nk = keys[:, :, 2999:3000].contiguous()
    kwargs = dict(k=K, sink=SINK, recent=RECENT)
    thresholds = [float(t) for t in at.ac.DEFAULT_THRESHOLDS[2]]
    spec = at.step_spec(HQ, HKV, D, D, 1, "f16", K, 2, thresholds, SINK, RECENT, False,
                        None, False)
    step = at._get("step", spec, at.ac.decode_step_ir, "adamas_decode_step")
    out = torch.empty(B, HQ, 1, D, dtype=torch.float16, device=dev)
    stream = torch.cuda.current_stream()
    args = (q, nk, keys, values, cache.codes, lengths)
    op_args = args + (None, None, K, 2, thresholds, SINK, RECENT, False, None)

    def native():
        step(*args, out)

    def native_in_stream():
        with art.current_stream(stream):
            step(*args, out)

    def native_back_to_back():
        # 25 calls with no synchronize between them: what bench.py's eager
        # rows see (host_time_us synchronizes after every 25 calls).
        for _ in range(25):
            step(*args, out)

    tiny = torch.zeros(1, device=dev)
    body = at._run_decode_attention
    rows = [("one torch launch (tiny.add_(1)): the host's speed", lambda: tiny.add_(1)),
            ("step(*args, out): descriptors + native call", native),
            ("  the same, per call of 25 back to back", native_back_to_back, 25),
            ("  + adamas.runtime.current_stream(torch stream)", native_in_stream)]
    rows.append(("  + the op's Python body (step lookup, torch.empty)", lambda: body(*op_args)))
    rows += [("  + torch.ops.adamas.decode_attention dispatch",
              lambda: torch.ops.adamas.decode_attention(*op_args)),
             ("adamas.torch.decode_attention (checks + the body, eager path)",
              lambda: at.decode_attention(q, nk, keys, values, cache, lengths, **kwargs)),
             ("torch.cuda.current_stream()", lambda: torch.cuda.current_stream(q.device)),
             ("torch.empty(out shape)", lambda: torch.empty((B, HQ, 1, D), dtype=q.dtype,
                                                            device=q.device)),
             ("step_spec(...) + repr", lambda: repr(at.step_spec(
                 HQ, HKV, D, D, 1, "f16", K, 2, thresholds, SINK, RECENT, False, None, False))),
             ("_check_step(...)", lambda: at._check_step(q, nk, keys, values, cache.codes,
                                                         lengths, K, 2, None, None))]
    print(f"host time per call, {CALLS} calls (B={B}, {HQ}/{HKV} heads, N={CAP}, k={K})")
    for name, fn, *per in rows:
        per = per[0] if per else 1
        us = host_time_us(fn, CALLS // per, catch_up_every=max(1, 25 // per)) / per
        print(f"  {us:8.1f} us  {name}", flush=True)

    profile = cProfile.Profile()
    for i in range(500):
        profile.enable()
        at.decode_attention(q, nk, keys, values, cache, lengths, **kwargs)
        profile.disable()
        if i % 25 == 24:
            torch.cuda.synchronize()
    torch.cuda.synchronize()
    pstats.Stats(profile).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
