#!/usr/bin/env python3
"""Greedy generation with a Hugging Face Llama-family model, dense (sdpa) and
with adamas sparse decode attention, side by side.

    examples/hf_generate.py [--preset llama|mistral|qwen2 | --model PATH]
        [--prompt-tokens 4096] [--new-tokens 64] [--budget 256] [--skip-layers 2]
        [--cache dynamic,static] [--compile] [--dtype f16|bf16] [--batch 1]

A preset is a small random-weight model (Llama: MHA; Mistral and Qwen2: GQA)
built on the GPU; --model loads a local checkpoint instead (no network
needed). The prompt is random token ids (or --text with --model's tokenizer).
For every cache (transformers' dynamic cache; the static cache with
cache_implementation="static", generate's auto-compile off unless --compile)
it generates --new-tokens greedily with attn_implementation="sdpa" and then
with adamas (adamas.torch.hf.enable), and prints the prefill time, the
per-token decode latency (median and p90, CUDA-synchronized timestamps taken
after every step) and how many generated tokens agree with the dense run.

With the dynamic cache the KV length changes every step, and PyTorch's cuDNN
SDPA backend builds a new execution plan for every new length (measured on
the H200: 45 ms per token dense instead of 9); the example turns that backend
off for the dynamic-cache runs (--keep-cudnn-sdpa keeps it), so the dense
baseline runs the flash / memory-efficient kernels there.

Random weights make near-uniform attention and near-tied logits: expect the
tokens to diverge from dense at small budgets and to agree when the budget
covers the context (--budget >= prompt + new tokens). On a machine without
the adamas compiler the kernels come from the artifact cache
($ADAMAS_CACHE_DIR, prepared by bench/steps/prepare.py for the presets,
BUDGETS and DTYPES below).
"""

import argparse
import os
import statistics
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, os.pardir, "python"))

# Small models for the example (random weights; ~0.5B parameters for Llama).
# bench/steps/cases.py compiles the kernels of every preset x BUDGETS x DTYPES.
PRESETS = {
    "llama": dict(arch="llama", hidden=2048, heads=16, kv_heads=16, head_dim=128, layers=8,
                  intermediate=5632),
    "mistral": dict(arch="mistral", hidden=2048, heads=16, kv_heads=4, head_dim=128, layers=8,
                    intermediate=5632),
    "qwen2": dict(arch="qwen2", hidden=896, heads=14, kv_heads=2, head_dim=64, layers=8,
                  intermediate=4864),
}
BUDGETS = (64, 256, 1024)
DTYPES = ("f16", "bf16")


def build_config(m, vocab=32000, max_positions=32768):
    """A transformers config of the model described by `m` (PRESETS, or
    bench/steps/cases.HF_CHECK_MODELS)."""
    import transformers
    common = dict(vocab_size=vocab, hidden_size=m["hidden"],
                  intermediate_size=m.get("intermediate", 4 * m["hidden"]),
                  num_hidden_layers=m["layers"], num_attention_heads=m["heads"],
                  num_key_value_heads=m["kv_heads"], head_dim=m["head_dim"],
                  max_position_embeddings=max_positions, tie_word_embeddings=False)
    if m["arch"] == "llama":
        return transformers.LlamaConfig(**common)
    if m["arch"] == "mistral":    # full attention: sliding-window layers would stay dense
        return transformers.MistralConfig(sliding_window=None, **common)
    if m["arch"] == "qwen2":
        return transformers.Qwen2Config(use_sliding_window=False, **common)
    raise ValueError(f"unknown arch {m['arch']!r}")


def build_model(m, dtype, seed=0, vocab=32000, attn="sdpa"):
    import torch
    import transformers
    torch.manual_seed(seed)
    config = build_config(m, vocab)
    with torch.device("cuda"):
        model = transformers.AutoModelForCausalLM.from_config(config, attn_implementation=attn)
    return model.to(dtype).eval()


def step_times():
    """A stopping criterion that never stops and timestamps every step
    (after a device synchronization: generate calls it once per token)."""
    import torch
    from transformers import StoppingCriteria

    class StepTimes(StoppingCriteria):
        def __init__(self):
            self.stamps = []

        def __call__(self, input_ids, scores, **kwargs):
            torch.cuda.synchronize()
            self.stamps.append(time.perf_counter())
            return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)

    return StepTimes()


def generate(model, ids, new_tokens, cache, compile_static):
    import torch
    from transformers import StoppingCriteriaList
    times = step_times()
    kwargs = dict(max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                  stopping_criteria=StoppingCriteriaList([times]), pad_token_id=0,
                  attention_mask=torch.ones_like(ids))
    if cache == "static":
        kwargs["cache_implementation"] = "static"
        kwargs["disable_compile"] = not compile_static
    torch.cuda.synchronize()
    start = time.perf_counter()
    with torch.no_grad():
        out = model.generate(ids, **kwargs)
    prefill = times.stamps[0] - start
    steps = [b - a for a, b in zip(times.stamps, times.stamps[1:])]
    return out[:, ids.shape[1]:], prefill, steps


def summary(label, prefill, steps):
    ms = sorted(s * 1e3 for s in steps)
    p90 = ms[min(len(ms) - 1, int(0.9 * len(ms)))] if ms else float("nan")
    med = statistics.median(ms) if ms else float("nan")
    print(f"  {label:<26} prefill {prefill * 1e3:8.1f} ms   per token: median {med:7.2f} ms, "
          f"p90 {p90:7.2f} ms ({len(ms)} steps)", flush=True)
    return med


def agreement(dense, sparse):
    same = (dense == sparse)
    rows = []
    for b in range(dense.shape[0]):
        diff = (~same[b]).nonzero()
        rows.append(int(diff[0]) if len(diff) else dense.shape[1])
    return float(same.float().mean()), rows


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--preset", choices=sorted(PRESETS), default="llama")
    p.add_argument("--model", help="a local transformers checkpoint instead of a preset")
    p.add_argument("--text", help="prompt text (with --model's tokenizer), repeated to length")
    p.add_argument("--prompt-tokens", type=int, default=4096)
    p.add_argument("--new-tokens", type=int, default=64)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--budget", type=int, default=256)
    p.add_argument("--skip-layers", type=int, default=2)
    p.add_argument("--sink", type=int, default=4)
    p.add_argument("--recent", type=int, default=16)
    p.add_argument("--no-calibrate", action="store_true",
                   help="fixed thresholds instead of per-head calibration")
    p.add_argument("--cache", default="dynamic,static",
                   help="comma-separated: dynamic, static")
    p.add_argument("--compile", action="store_true",
                   help="let generate() auto-compile the static-cache decode step "
                        "(torch.compile, CUDA graphs)")
    p.add_argument("--keep-cudnn-sdpa", action="store_true",
                   help="leave PyTorch's cuDNN SDPA backend on for the dynamic cache (it "
                        "plans again for every new KV length)")
    p.add_argument("--dtype", choices=DTYPES, default="f16")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    import torch
    import adamas.torch.hf as ahf
    dtype = {"f16": torch.float16, "bf16": torch.bfloat16}[args.dtype]
    torch.manual_seed(args.seed)
    if args.model:
        import transformers
        model = transformers.AutoModelForCausalLM.from_pretrained(
            args.model, attn_implementation="sdpa").to("cuda", dtype).eval()
        what = args.model
    else:
        model = build_model(PRESETS[args.preset], dtype, seed=args.seed)
        what = f"preset {args.preset} (random weights)"
    cfg = model.config
    vocab = cfg.vocab_size
    if args.text:
        import transformers
        tok = transformers.AutoTokenizer.from_pretrained(args.model)
        ids = tok(args.text, return_tensors="pt").input_ids[0]
        ids = ids.repeat(args.prompt_tokens // len(ids) + 1)[:args.prompt_tokens]
        ids = ids[None].repeat(args.batch, 1).cuda()
    else:
        ids = torch.randint(0, vocab, (args.batch, args.prompt_tokens), device="cuda")
    params = sum(p.numel() for p in model.parameters()) / 1e6
    print(f"model: {what}, {params:.0f}M parameters, {cfg.num_hidden_layers} layers, "
          f"{cfg.num_attention_heads} query / {cfg.num_key_value_heads} KV heads, "
          f"{args.dtype}; {torch.cuda.get_device_name()}")
    print(f"prompt {args.prompt_tokens} tokens x batch {args.batch}, {args.new_tokens} new "
          f"tokens; adamas budget {args.budget}, skip_layers {args.skip_layers}, sink "
          f"{args.sink}, recent {args.recent}, "
          f"{'fixed' if args.no_calibrate else 'calibrated'} thresholds")
    settings = dict(sink=args.sink, recent=args.recent, calibrate=not args.no_calibrate)

    for cache in args.cache.split(","):
        cache = cache.strip()
        if cache not in ("dynamic", "static"):
            sys.exit(f"unknown cache {cache!r}")
        label = cache + (" + compile" if cache == "static" and args.compile else "")
        cudnn_sdpa = cache == "static" or args.keep_cudnn_sdpa
        torch.backends.cuda.enable_cudnn_sdp(cudnn_sdpa)
        print(f"\n== {label} cache (cuDNN SDPA {'on' if cudnn_sdpa else 'off'})")
        # Warm-up on the same prompt (kernels loaded, CUDA graphs recorded:
        # with --compile the static cache's shape must be the measured one).
        warm_tokens = args.new_tokens if cache == "static" and args.compile else 4
        ahf.disable(model)
        generate(model, ids, warm_tokens, cache, args.compile)
        dense, prefill, steps = generate(model, ids, args.new_tokens, cache, args.compile)
        dense_ms = summary("dense (sdpa)", prefill, steps)
        ahf.enable(model, budget=args.budget, skip_layers=args.skip_layers, **settings)
        generate(model, ids, warm_tokens, cache, args.compile)
        ahf.layer_stats(model, clear=True)
        sparse, prefill, steps = generate(model, ids, args.new_tokens, cache, args.compile)
        sparse_ms = summary(f"adamas (k={args.budget})", prefill, steps)
        stats = ahf.layer_stats(model)
        sparse_calls = sum(s["sparse"] for s in stats.values())
        agree, first = agreement(dense, sparse)
        print(f"  decode speedup (median per token): {dense_ms / sparse_ms:.2f}x; "
              f"sparse attention calls (eager): {sparse_calls}")
        print(f"  token agreement with dense: {agree * 100:.1f}% "
              f"(first divergence per row: {first} of {args.new_tokens})")
    ahf.disable(model)


if __name__ == "__main__":
    main()
