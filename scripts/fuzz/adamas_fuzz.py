#!/usr/bin/env python3
"""Fuzzer of adamas-opt: no crash, no sanitizer report, no hang, no output
that does not parse again, on any input (issue 11).

Inputs are
  * the lit corpus (every .mlir under test/ and examples/, split at
    `// -----`), mutated: sizes (0, 1, huge, dynamic, +-1), element types,
    ranks, attributes (k, sink, recent, bits, thresholds, scale,
    shared_group), operand counts, and byte flips;
  * generated op IR: one adamas op with sizes, types and attributes drawn
    around the valid ones, in the custom or the generic form;
  * generated runnable programs: one op on small random data with some
    sizes dynamic and, in most programs, one dynamic size that breaks a rule.

Batches of inputs go through adamas-opt (best built with
-DLLVM_USE_SANITIZER="Address;Undefined", see scripts/test.sh) with
-split-input-file: parse + verify, -adamas-lower-to-linalg and
-adamas-cpu-pipeline; what each prints must parse and verify again. A
runnable program is compiled with adamas-cpu-pipeline{runtime-verification=2}
and run under mlir-runner: with consistent sizes it must exit 0; with a broken
rule it must stop with a run-time verification message about an adamas op
(a failed bounds check of the lowered code, or a crash without message, is a
bug).

A failure is a signal (crash), a sanitizer or LLVM crash report, a time-out,
output that does not parse again, a valid generated program rejected, or a
run that ends other than expected. The fuzzer prints the seed, the case
number and the failing input, writes them to --out, and exits 1.

Cases are a deterministic function of (--seed, case number): the time limit
only decides how many are tried, and `--replay N` re-runs case N alone.

  adamas_fuzz.py --adamas-opt build-san/bin/adamas-opt --seconds 60
  ADAMAS_FUZZ_SECONDS=600 adamas_fuzz.py ...      (a longer local run)
"""

import argparse
import concurrent.futures
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LLVM_PREFIX = "/usr/lib/llvm-22"

# Sizes that have broken something before or sit on a bound.
HUGE = [2**31 - 1, 2**31, 2**32, 2**58, 2**62, 2**63 - 1,
        288230376151711744, 4611686018427387904, 9223372036854775807]
EDGE = [0, 1, 2, 3, 31, 32, 33, 64, 128, 1024, 3072, 3073, 32768, 32800, 65536]
ELEMENT_TYPES = ["f16", "bf16", "f32", "f64", "i1", "i8", "i32", "i64", "index"]
INT_ATTRS = ["k", "sink", "recent", "bits"]

SEPARATOR = "\n// -----\n"

# What a crash, a sanitizer or an assertion leaves on stderr.
CRASH_MARKERS = [
    "ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
    "UndefinedBehaviorSanitizer", "PLEASE submit a bug report",
    "Stack dump:", "Assertion `", "LLVM ERROR:", "UNREACHABLE executed",
]

# Exit codes the sanitizers use here (so that they differ from adamas-opt's
# ordinary 1 for a diagnostic).
SAN_ENV = {
    "ASAN_OPTIONS": "exitcode=86:detect_leaks=1",
    "UBSAN_OPTIONS": "exitcode=87:halt_on_error=1:print_stacktrace=1",
}


class Failure(Exception):
    """A finding: `kind`, the input, and what the tool printed."""

    def __init__(self, kind, text, detail):
        super().__init__(kind)
        self.kind, self.text, self.detail = kind, text, detail


#===----------------------------------------------------------------------===#
# Running tools
#===----------------------------------------------------------------------===#

class Tools:
    def __init__(self, adamas_opt, mlir_runner, timeout, workdir):
        self.adamas_opt = adamas_opt
        self.mlir_runner = mlir_runner
        self.timeout = timeout
        self.workdir = workdir
        # Our options last: they win over the caller's.
        self.env = dict(os.environ)
        for name, value in SAN_ENV.items():
            self.env[name] = ":".join(filter(None, [os.environ.get(name),
                                                    value]))
        libs = [os.path.join(LLVM_PREFIX, "lib", n) for n in
                ("libmlir_runner_utils.so", "libmlir_c_runner_utils.so")]
        self.shared_libs = ",".join(libs)

    def run(self, argv, what, text, timeout=None):
        """Runs argv; returns (returncode, stdout, stderr). Raises Failure on
        a signal, a sanitizer/LLVM crash report or a time-out."""
        try:
            p = subprocess.run(argv, capture_output=True, text=True,
                               errors="replace", env=self.env,
                               timeout=timeout or self.timeout)
        except subprocess.TimeoutExpired:
            raise Failure(f"hang ({what}: no exit in {timeout or self.timeout} s)",
                          text, " ".join(argv))
        crashed = p.returncode < 0 or p.returncode in (86, 87)
        marker = next((m for m in CRASH_MARKERS if m in p.stderr), None)
        if crashed or marker:
            why = f"signal {-p.returncode}" if p.returncode < 0 else \
                f"exit {p.returncode}"
            raise Failure(f"crash ({what}: {marker or why})", text,
                          " ".join(argv) + "\n" + p.stderr[-6000:])
        return p.returncode, p.stdout, p.stderr

    def write(self, name, text):
        path = os.path.join(self.workdir, name)
        with open(path, "w") as f:
            f.write(text)
        return path


def check_batch(tools, chunks, tag):
    """Parse+verify, lower, pipeline a batch; re-parse what each prints.
    Returns per-stage counts of chunks that got through."""
    text = SEPARATOR.join(chunks)
    path = tools.write(f"{tag}.mlir", text)
    counts = {}
    for stage, flags in (("verify", []),
                         ("lower-to-linalg", ["-adamas-lower-to-linalg"]),
                         ("cpu-pipeline", ["-adamas-cpu-pipeline"])):
        argv = [tools.adamas_opt, path, "-split-input-file"] + flags
        _, out, err = tools.run(argv, stage, text)
        printed = [c for c in out.split("// -----") if c.strip()]
        counts[stage] = len(printed)
        if stage == "verify" and not printed:
            break  # Nothing verified: the other stages have nothing to do.
        if printed:
            # The printed modules, rejoined: adamas-opt separates the outputs
            # of failed chunks too, and a file that starts with a separator
            # does not split (upstream quirk).
            out = SEPARATOR.join(printed)
            again = tools.write(f"{tag}.{stage}.out.mlir", out)
            rc, _, err2 = tools.run(
                [tools.adamas_opt, again, "-split-input-file"],
                f"re-parse after {stage}", text)
            if rc != 0:
                raise Failure(f"unparseable output of {stage}", text,
                              err2[-4000:] + "\n--- output ---\n" + out[:4000])
    return counts


def isolate(tools, chunks, tag, failure):
    """The first chunk that fails alone (the batch failed as a whole)."""
    for i, chunk in enumerate(chunks):
        try:
            check_batch(tools, [chunk], f"{tag}.{i}")
        except Failure as alone:
            return alone
    return failure  # Only fails together (e.g. a hang of the whole batch).


#===----------------------------------------------------------------------===#
# Corpus and mutations
#===----------------------------------------------------------------------===#

ADAMAS_OP = re.compile(
    r"adamas\.(hadamard|bucketize|l1_topk|sparse_attn|cache_write)\b")


def load_corpus():
    chunks = []
    for top in ("test", "examples"):
        for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, top)):
            dirnames.sort()
            for name in sorted(filenames):
                if not name.endswith(".mlir"):
                    continue
                with open(os.path.join(dirpath, name)) as f:
                    body = "".join(l for l in f if "RUN:" not in l
                                   and "DEFINE:" not in l)
                # Chunks with adamas ops in their code (not only in CHECK
                # comments): mutating model IR without them fuzzes upstream
                # parsers (linalg.transpose's crashes on a mutated
                # permutation, seen), not adamas.
                found = [c for c in re.split(r"^// -----$", body, flags=re.M)
                         if ADAMAS_OP.search("\n".join(
                             l for l in c.splitlines()
                             if not l.lstrip().startswith("//")))]
                chunks.append((name, found))
    return {"all": [c for _, cs in chunks for c in cs],
            "valid": [c for name, cs in chunks for c in cs
                      if name != "invalid.mlir"]}


TENSOR = re.compile(r"tensor<([0-9?x]*?)([a-z][a-z0-9]*)>")


def pick_size(rng):
    r = rng.random()
    if r < 0.3:
        return rng.choice(EDGE)
    if r < 0.5:
        return rng.choice(HUGE)
    if r < 0.75:
        return "?"
    return rng.randint(0, 16)


def mutate_size(rng, text):
    types = list(TENSOR.finditer(text))
    if not types:
        return text
    m = rng.choice(types)
    dims = [d for d in m.group(1).split("x") if d]
    if not dims:
        return text
    i = rng.randrange(len(dims))
    old = dims[i]
    if old.isdigit() and rng.random() < 0.3:
        dims[i] = str(max(0, int(old) + rng.choice([-1, 1, 32, -32])))
    else:
        dims[i] = str(pick_size(rng))
    new = "tensor<" + "x".join(dims) + "x" + m.group(2) + ">"
    # Change every occurrence of this type half of the time, so that the
    # function signature and the op keep agreeing and the op is reached.
    if rng.random() < 0.5:
        return text.replace(m.group(0), new)
    return text[:m.start()] + new + text[m.end():]


def mutate_rank(rng, text):
    types = list(TENSOR.finditer(text))
    if not types:
        return text
    m = rng.choice(types)
    dims = [d for d in m.group(1).split("x") if d]
    if dims and rng.random() < 0.5:
        del dims[rng.randrange(len(dims))]
    else:
        dims.insert(rng.randrange(len(dims) + 1), str(pick_size(rng)))
    new = "tensor<" + "".join(d + "x" for d in dims) + m.group(2) + ">"
    return text.replace(m.group(0), new)


def mutate_element_type(rng, text):
    types = list(TENSOR.finditer(text))
    if not types:
        return text
    m = rng.choice(types)
    new = "tensor<" + m.group(1) + rng.choice(ELEMENT_TYPES) + ">"
    return text.replace(m.group(0), new) if rng.random() < 0.5 else \
        text[:m.start()] + new + text[m.end():]


def interesting_int(rng):
    return rng.choice([0, 1, 2, 3, 4, -1, -2, 7, 64, 2**31 - 1, 2**31,
                       2**62, 2**63 - 1, -2**63, 4611686018427387904])


def mutate_attribute(rng, text):
    options = []
    for name in INT_ATTRS:
        for m in re.finditer(rf"\b{name} = (-?[0-9]+) : i64", text):
            options.append((m, f"{name} = {interesting_int(rng)} : i64"))
    for m in re.finditer(r"shared_group = (true|false)", text):
        options.append((m, "shared_group = " + rng.choice(["true", "false"])))
    for m in re.finditer(r"scale = [^:]+: f32", text):
        options.append((m, "scale = " + rng.choice(
            ["0.0", "-1.0", "1.0e+38", "0x7F800000", "0x7FC00000"]) + " : f32"))
    # Number lists ([-1.0, 0.0, 1.0]). Each token is a maximal run of the
    # class between ", ": no nested ambiguous repetition, so no
    # catastrophic backtracking on long constants.
    for m in re.finditer(r"\[[0-9.e+-]+(?:, [0-9.e+-]+)*\]", text):
        n = rng.choice([0, 1, 2, 3, 3, 7, 8])
        vals = sorted(rng.uniform(-20, 20) for _ in range(n))
        if vals and rng.random() < 0.3:
            rng.shuffle(vals)
        options.append((m, "[" + ", ".join(f"{v:.2f}" for v in vals) + "]"))
    if not options:
        # No attribute to change: add one to the first adamas op.
        m = re.search(r"(adamas\.l1_topk [^{:]*)(:)", text)
        if m:
            attr = f"{{k = {interesting_int(rng)} : i64}} "
            return text[:m.start(2)] + attr + text[m.start(2):]
        return text
    m, new = rng.choice(options)
    return text[:m.start()] + new + text[m.end():]


def mutate_operands(rng, text):
    # Drop or repeat an SSA operand of an adamas op (custom or generic form).
    ops = list(re.finditer(r"adamas\.[a-z_0-9]+\"?\(?((?:%[\w#]+(?:, )?)+)",
                           text))
    if not ops:
        return text
    m = rng.choice(ops)
    operands = [o.strip() for o in m.group(1).split(",") if o.strip()]
    if len(operands) > 1 and rng.random() < 0.5:
        del operands[rng.randrange(len(operands))]
    else:
        operands.insert(rng.randrange(len(operands) + 1), rng.choice(operands))
    new = ", ".join(operands) + " "
    return text[:m.start(1)] + new + text[m.end(1):]


def mutate_bytes(rng, text):
    if not text:
        return text
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(chars))
        r = rng.random()
        if r < 0.4:
            chars[i] = chr(rng.randrange(32, 127))
        elif r < 0.7:
            del chars[i]
            if not chars:
                return ""
        else:
            chars.insert(i, rng.choice("<>x?0123456789{}[](),:%\"-"))
    return "".join(chars)


def mutate_lines(rng, text):
    lines = text.split("\n")
    if len(lines) < 2:
        return text
    i = rng.randrange(len(lines))
    if rng.random() < 0.5:
        del lines[i]
    else:
        lines.insert(rng.randrange(len(lines)), lines[i])
    return "\n".join(lines)


MUTATORS = [(mutate_size, 6), (mutate_rank, 1), (mutate_element_type, 2),
            (mutate_attribute, 4), (mutate_operands, 1), (mutate_bytes, 2),
            (mutate_lines, 1)]


def mutate(rng, text):
    fns, weights = zip(*MUTATORS)
    for _ in range(rng.choice([1, 1, 2, 3])):
        text = rng.choices(fns, weights)[0](rng, text)
    return text


#===----------------------------------------------------------------------===#
# Generated op IR
#===----------------------------------------------------------------------===#

def ty(dims, elt):
    return "tensor<" + "".join(f"{d}x" for d in dims) + elt + ">"


def perturb(rng, dims, p=0.15):
    """Each size: kept, made dynamic, or replaced by an edge/huge one."""
    out = []
    for d in dims:
        r = rng.random()
        out.append("?" if r < 0.25 else pick_size(rng) if r < 0.25 + p else d)
    return out


def gen_op(rng):
    """One adamas op in a function. Half of them are valid (consistent sizes,
    some dynamic, edge values such as 0 tokens or 2^40 static ones), half
    have sizes and element types perturbed at random."""
    op = rng.choice(["hadamard", "bucketize", "l1_topk", "sparse_attn"])
    wild = rng.random() < 0.5
    elt = rng.choice(["f16", "bf16", "f32"] * 4 + (ELEMENT_TYPES if wild else []))
    B = rng.choice([0, 1, 1, 2, 3, 2**31])
    M = rng.choice([0, 1, 1, 2, 5])
    N = rng.choice([0, 1, 5, 64, 2**31 - 1, 2**40])
    H, G = rng.choice([1, 2, 4, 8]), rng.choice([1, 2, 4])
    bits = rng.choice([1, 2, 3])
    D = rng.choice([32, 64, 128, 96, 32768]) if op != "hadamard" else \
        rng.choice([2, 8, 64, 128, 32768])
    W = D // 32 * bits
    generic = rng.random() < 0.3

    def shape(dims, static=()):
        if wild:
            return perturb(rng, dims)
        return [d if i in static or rng.random() < 0.7 else "?"
                for i, d in enumerate(dims)]

    if op == "hadamard":
        x = ty(shape([B, H, N, D], static=(3,)), elt)
        args, operands, result, attrs = [x], ["%a0"], x, ""
    elif op == "bucketize":
        n = {1: 1, 2: 3, 3: 7}[bits]
        th = sorted(rng.sample(range(-20, 20), n))
        x = ty(shape([B, H, N, D], static=(3,)), elt)
        result = ty(shape([B, H, N, W], static=(3,)), "i32")
        args, operands = [x], ["%a0"]
        attrs = "thresholds = array<f32: " + ", ".join(f"{t}.0" for t in th) + ">"
        if rng.random() < 0.3:
            args.append(ty(shape([H, n], static=(1,)), "f32"))
            operands.append("%a1")
    elif op == "l1_topk":
        k = rng.choice([1, 2, 4, 8, 64, 2**31 - 1])
        sink = rng.randint(0, min(k, 2))
        recent = rng.randint(0, min(k - sink, 2))
        shared = rng.random() < 0.3
        qc = ty(shape([B, H * G, M, W], static=(3,)), "i32")
        kc = ty(shape([B, H, min(N, 2**31 - 1), W]), "i32")
        ln = ty(shape([B]), "i32")
        result = ty(shape([B, H if shared else H * G, M, k], static=(3,)), "i32")
        args, operands = [qc, kc, ln], ["%a0", "%a1", "%a2"]
        attrs = (f"k = {k} : i64, bits = {bits} : i64, sink = {sink} : i64, "
                 f"recent = {recent} : i64, shared_group = "
                 f"{'true' if shared else 'false'}")
    else:
        K, Dv = rng.choice([0, 1, 4, 16]), rng.choice([D, 16, 0])
        hi = rng.choice([H * G, H])
        args = [ty(shape([B, H * G, M, D], static=(3,)), elt),
                ty(shape([B, H, N, D]), elt),
                ty(shape([B, H, N, Dv]), elt),
                ty(shape([B, hi, M, K]), "i32")]
        operands = ["%a0", "%a1", "%a2", "%a3"]
        result = ty(shape([B, H * G, M, Dv]), elt)
        attrs = "scale = 0.125 : f32" if rng.random() < 0.3 else ""
    sig = ", ".join(f"%a{i}: {t}" for i, t in enumerate(args))
    if generic:
        props = f" <{{{attrs}}}>" if attrs else ""
        line = (f'%r = "adamas.{op}"({", ".join(operands)}){props} : '
                f'({", ".join(args)}) -> {result}')
    elif op == "hadamard":
        line = f"%r = adamas.hadamard %a0 : {args[0]}"
    elif op == "bucketize":
        values = attrs[attrs.index(":") + 1:-1].strip()
        per_head = " per_head %a1" if len(args) > 1 else ""
        line = (f"%r = adamas.bucketize %a0 [{values}]{per_head} : "
                f"{', '.join(args)} -> {result}")
    else:
        attr_dict = f" {{{attrs}}}" if attrs else ""
        line = (f"%r = adamas.{op} {', '.join(operands)}{attr_dict} : "
                f"{', '.join(args)} -> {result}")
    return (f"func.func @f({sig}) -> {result} {{\n  {line}\n"
            f"  return %r : {result}\n}}\n")


#===----------------------------------------------------------------------===#
# Generated runnable programs
#===----------------------------------------------------------------------===#

def dense(rng, dims, elt):
    """A constant of `dims` with random values (a `tensor.empty` if empty)."""
    count = 1
    for d in dims:
        count *= d
    if elt == "i32":
        vals = [str(rng.randint(-2**31, 2**31 - 1)) for _ in range(count)]
    else:
        vals = [f"{rng.gauss(0, 8):.3f}" for _ in range(count)]
    return dense_from(vals, dims, elt)


def dense_from(vals, dims, elt):
    if not vals:
        return f"tensor.empty() : {ty(dims, elt)}"

    def nest(vs, ds):
        if not ds:
            return vs[0]
        step = len(vs) // ds[0]
        return "[" + ", ".join(nest(vs[i * step:(i + 1) * step], ds[1:])
                               for i in range(ds[0])) + "]"
    return f"arith.constant dense<{nest(vals, dims)}> : {ty(dims, elt)}"


def shape_of(tensor_type):
    """['?', '2', ...] and the element type of 'tensor<?x2x...xf16>'."""
    parts = tensor_type[len("tensor<"):-1].split("x")
    return parts[:-1], parts[-1]


def gen_program(rng):
    """(text, broken) : a program whose kernel runs one adamas op on dynamic
    sizes; `broken` names the rule that one actual size breaks, or None."""
    op = rng.choice(["bucketize", "l1_topk", "sparse_attn", "hadamard"])
    B, Hkv, G, M, N = (rng.randint(1, 2), rng.randint(1, 3), rng.randint(1, 2),
                       rng.randint(1, 3), rng.randint(1, 12))
    Hq = Hkv * G
    bits = rng.choice([1, 2, 3])
    D = 32 * rng.choice([1, 1, 2])
    W = D // 32 * bits
    elt = rng.choice(["f16", "bf16", "f32"])
    k = rng.randint(1, 8)
    sink = rng.randint(0, min(2, k))
    recent = rng.randint(0, k - sink)
    shared = rng.random() < 0.3
    # operands: (name, dims, element type, which dims are the rule's)
    if op == "hadamard":
        operands = [("input", [B, Hq, M, D], elt)]
        breaks = []
    elif op == "bucketize":
        operands = [("input", [B, Hq, N, D], elt)]
        breaks = []
        if rng.random() < 0.5:
            operands.append(("head_thresholds", [Hq, 2**bits - 1], "f32"))
            breaks = [("head_thresholds", 0, "'head_thresholds' dimension 0")]
    elif op == "l1_topk":
        operands = [("query_codes", [B, Hq, M, W], "i32"),
                    ("key_codes", [B, Hkv, N, W], "i32"),
                    ("lengths", [B], "i32")]
        breaks = [("key_codes", 0, "'key_codes' dimension 0"),
                  ("lengths", 0, "'lengths' dimension 0"),
                  ("key_codes", 3, "'key_codes' dimension 3"),
                  ("key_codes", 1, "heads")]
    else:
        K = rng.randint(1, 6)
        Dv = rng.choice([D, 16])
        hi = Hkv if rng.random() < 0.5 else Hq
        operands = [("query", [B, Hq, M, D], elt), ("keys", [B, Hkv, N, D], elt),
                    ("values", [B, Hkv, N, Dv], elt),
                    ("indices", [B, hi, M, K], "i32")]
        breaks = [("keys", 0, "'keys' dimension 0"),
                  ("values", 2, "'values' dimension 2"),
                  ("values", 1, "'values' dimension 1"),
                  ("indices", 0, "'indices' dimension 0"),
                  ("indices", 2, "'indices' dimension 2"),
                  ("indices", 1, "'indices' heads"),
                  ("keys", 3, "'keys' dimension 3"),
                  ("keys", 1, "heads")]
    # Kernel types: each size dynamic with probability 1/2, W and D static
    # where the verifier wants them static.
    static_only = {("input", 3), ("query", 3), ("query_codes", 3),
                   ("head_thresholds", 1)}
    kernel_dims = {}
    for name, dims, _ in operands:
        kernel_dims[name] = [d if (name, i) in static_only or rng.random() < 0.5
                             else "?" for i, d in enumerate(dims)]
    actual = {name: list(dims) for name, dims, _ in operands}
    broken = None
    if breaks and rng.random() < 0.7:
        name, dim, rule = rng.choice(breaks)
        old = actual[name][dim]
        # A size that breaks the rule: Hkv not dividing Hq, H' neither Hq
        # nor Hkv, anything else simply different.
        if rule == "heads":
            ok = lambda v: v == 0 or Hq % v != 0
        elif rule == "'indices' heads":
            ok = lambda v: v not in (Hq, Hkv)
        else:
            ok = lambda v: v != old
        new = rng.choice([v for v in (0, 1, 2, 3, 5, old + 1, old + 2)
                          if ok(v)])
        actual[name][dim] = new
        kernel_dims[name][dim] = "?"
        broken = rule
    if op == "sparse_attn":
        # Indices' heads may only differ from Hq/Hkv at run time.
        kernel_dims["indices"][1] = "?"

    elts = {name: e for name, _, e in operands}
    ktypes = [ty(kernel_dims[n], elts[n]) for n, _, _ in operands]
    if op == "hadamard":
        rtype = ktypes[0]
        line = f"%r = adamas.hadamard %a0 : {rtype}"
    elif op == "bucketize":
        n = 2**bits - 1
        th = ", ".join(f"{t}.0" for t in sorted(rng.sample(range(-9, 9), n)))
        rtype = ty(kernel_dims["input"][:3] + [W], "i32")
        per_head = " per_head %a1" if len(operands) > 1 else ""
        line = (f"%r = adamas.bucketize %a0 [{th}]{per_head} : "
                f"{', '.join(ktypes)} -> {rtype}")
    elif op == "l1_topk":
        qd = kernel_dims["query_codes"]
        heads = kernel_dims["key_codes"][1] if shared else qd[1]
        rtype = ty([qd[0], heads, qd[2], k], "i32")
        line = (f"%r = adamas.l1_topk %a0, %a1, %a2 {{k = {k} : i64, bits = "
                f"{bits} : i64, sink = {sink} : i64, recent = {recent} : i64, "
                f"shared_group = {'true' if shared else 'false'}}} : "
                f"{', '.join(ktypes)} -> {rtype}")
    else:
        qd = kernel_dims["query"]
        rtype = ty(qd[:3] + [kernel_dims["values"][3]], elts["query"])
        line = (f"%r = adamas.sparse_attn %a0, %a1, %a2, %a3 : "
                f"{', '.join(ktypes)} -> {rtype}")
    rdims, relt = shape_of(rtype)
    sig = ", ".join(f"%a{i}: {t}" for i, t in enumerate(ktypes))
    body = ["func.func private @printMemrefI32(tensor<*xi32>)",
            "func.func private @printMemrefF32(tensor<*xf32>)",
            f"func.func @kernel({sig}) {{", f"  {line}"]
    printed, pelt = "%r", relt
    if relt in ("f16", "bf16"):  # Printed widened to f32.
        pelt = "f32"
        body.append(f"  %e = arith.extf %r : {rtype} to {ty(rdims, pelt)}")
        printed = "%e"
    print_fn = "printMemrefI32" if pelt == "i32" else "printMemrefF32"
    body += [f"  %u = tensor.cast {printed} : {ty(rdims, pelt)} to "
             f"tensor<*x{pelt}>",
             f"  call @{print_fn}(%u) : (tensor<*x{pelt}>) -> ()",
             "  return", "}", "func.func @main() {"]
    for i, (name, _, e) in enumerate(operands):
        dims = actual[name]
        if name == "lengths":
            vals = [str(rng.randint(-2, N + 3)) for _ in range(dims[0])]
            c = f"arith.constant dense<[{', '.join(vals)}]> : {ty(dims, 'i32')}" \
                if dims[0] else f"tensor.empty() : {ty(dims, 'i32')}"
        elif name == "indices":
            count = dims[0] * dims[1] * dims[2] * dims[3]
            vals = [str(rng.randint(-2, N + 2)) for _ in range(count)]
            c = dense_from(vals, dims, "i32")
        else:
            c = dense(rng, dims, e)
        body.append(f"  %c{i} = {c}")
        body.append(f"  %d{i} = tensor.cast %c{i} : {ty(dims, e)} to {ktypes[i]}")
    args = ", ".join(f"%d{i}" for i in range(len(operands)))
    body += [f"  call @kernel({args}) : ({', '.join(ktypes)}) -> ()",
             "  return", "}"]
    return "\n".join(body) + "\n", broken


def run_program(tools, text, broken, tag):
    """Compiles with every run-time check and runs; raises Failure unless it
    ends as expected."""
    path = tools.write(f"{tag}.mlir", text)
    rc, out, err = tools.run([tools.adamas_opt, path,
                              "-adamas-cpu-pipeline=runtime-verification=2"],
                             "cpu-pipeline of a runnable program", text)
    if rc != 0:
        raise Failure("valid generated program rejected", text, err[-4000:])
    lowered = tools.write(f"{tag}.ll.mlir", out)
    argv = [tools.mlir_runner, lowered, "-e", "main",
            "-entry-point-result=void", f"-shared-libs={tools.shared_libs}"]
    try:
        p = subprocess.run(argv, capture_output=True, text=True,
                           errors="replace", timeout=tools.timeout)
    except subprocess.TimeoutExpired:
        raise Failure(f"hang (mlir-runner: no exit in {tools.timeout} s)",
                      text, " ".join(argv))
    message = re.search(r"ERROR: Runtime op verification failed\n.*\n\^ (.*)",
                        p.stderr)
    if broken is None:
        if p.returncode != 0:
            raise Failure("run of a program with consistent sizes failed",
                          text, p.stderr[-4000:])
        if "sizes = [" not in p.stdout:
            raise Failure("run printed no result", text, p.stdout[-2000:])
        return "ok"
    if p.returncode == 0:
        raise Failure(f"broken rule ({broken}) not caught at run time", text,
                      p.stdout[-2000:])
    if not message:
        raise Failure(f"run with a broken rule ({broken}) ended without a "
                      "run-time verification message", text,
                      f"exit {p.returncode}\n" + p.stderr[-4000:])
    if not message.group(1).startswith("'adamas."):
        raise Failure("a run-time check of the lowered code failed (the op "
                      f"checks missed {broken})", text, p.stderr[-4000:])
    return "caught"


#===----------------------------------------------------------------------===#
# Driver
#===----------------------------------------------------------------------===#

def make_case(seed, number, corpus, run_share):
    """Case `number`: ("batch", [chunks]) or ("program", (text, broken))."""
    rng = random.Random(f"{seed}:{number}")
    if rng.random() < run_share:
        return "program", gen_program(rng)
    chunks = []
    for _ in range(12):
        if rng.random() < 0.35:
            text = gen_op(rng)
            if rng.random() < 0.5:
                text = mutate(rng, text)
        else:
            # invalid.mlir is most of the corpus but stops at the verifier:
            # prefer chunks that get further.
            pool = corpus["valid"] if rng.random() < 0.7 else corpus["all"]
            text = rng.choice(pool)
            if rng.random() < 0.9:
                text = mutate(rng, text)
        chunks.append(text)
    return "batch", chunks


def run_case(tools, seed, number, corpus, run_share):
    kind, payload = make_case(seed, number, corpus, run_share)
    tag = f"case{number}"
    if kind == "program":
        text, broken = payload
        return kind, {"run-" + run_program(tools, text, broken, tag): 1}
    try:
        return kind, check_batch(tools, payload, tag)
    except Failure as failure:
        raise isolate(tools, payload, tag, failure)


def write_junit(path, seed, results, failure, elapsed):
    """One test case: the run, with what it tried."""
    suite = ET.Element("testsuite", name="adamas-fuzz", tests="1",
                       failures=str(int(failure is not None)),
                       time=f"{elapsed:.1f}")
    case = ET.SubElement(suite, "testcase", classname="adamas-fuzz",
                         name=f"seed {seed}: no crash, sanitizer report, hang "
                              "or unparseable output", time=f"{elapsed:.1f}")
    ET.SubElement(case, "system-out").text = ", ".join(
        f"{k} {v}" for k, v in sorted(results.items()))
    if failure:
        f = ET.SubElement(case, "failure", message=failure.kind)
        f.text = failure.text + "\n\n" + failure.detail
    ET.ElementTree(suite).write(path, encoding="unicode")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--adamas-opt", required=True,
                   help="the adamas-opt to fuzz (a sanitizer build)")
    p.add_argument("--mlir-runner", default=os.path.join(LLVM_PREFIX, "bin",
                                                          "mlir-runner"))
    p.add_argument("--seed", type=int,
                   default=int(os.environ.get("ADAMAS_FUZZ_SEED", "1")))
    p.add_argument("--seconds", type=float,
                   default=float(os.environ.get("ADAMAS_FUZZ_SECONDS", "60")),
                   help="stop starting cases after this long "
                        "(env ADAMAS_FUZZ_SECONDS)")
    p.add_argument("--cases", type=int, help="stop after this many cases")
    p.add_argument("--replay", type=int, help="run case N alone")
    p.add_argument("--run-share", type=float, default=0.12,
                   help="share of cases that are runnable programs")
    p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    p.add_argument("--timeout", type=float, default=120,
                   help="seconds one tool run may take before it is a hang")
    p.add_argument("--out", default=os.path.join(tempfile.gettempdir(),
                                                 "adamas-fuzz"),
                   help="where a failing input is written")
    p.add_argument("--junit", help="write a JUnit report here")
    args = p.parse_args()

    corpus = load_corpus()
    os.makedirs(args.out, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="adamas-fuzz-")
    tools = Tools(args.adamas_opt, args.mlir_runner, args.timeout, workdir)
    print(f"adamas-fuzz: seed {args.seed}, {len(corpus['all'])} corpus chunks, "
          f"{args.adamas_opt}, {args.seconds:g} s, {args.jobs} jobs",
          flush=True)

    start = time.monotonic()
    results, failure, failed_case = {}, None, None
    numbers = [args.replay] if args.replay is not None else None
    next_number = 0

    def more():
        if numbers is not None:
            return bool(numbers)
        if args.cases is not None and next_number >= args.cases:
            return False
        return time.monotonic() - start < args.seconds

    # A case is bounded by its tool runs' time-outs; one that runs far past
    # them means the fuzzer itself is stuck (e.g. a regular expression that
    # backtracks forever): report it instead of hanging CI.
    case_limit = 10 * args.timeout
    pool = concurrent.futures.ThreadPoolExecutor(args.jobs)
    running = {}
    while (more() and failure is None) or running:
        while more() and failure is None and len(running) < args.jobs:
            number = numbers.pop() if numbers is not None else next_number
            next_number += 1
            future = pool.submit(run_case, tools, args.seed, number, corpus,
                                 args.run_share)
            running[future] = (number, time.monotonic())
        done, _ = concurrent.futures.wait(
            running, timeout=10, return_when=concurrent.futures.FIRST_COMPLETED)
        for future in done:
            number, _ = running.pop(future)
            try:
                kind, counts = future.result()
            except Failure as f:
                if failure is None or number < failed_case:
                    failure, failed_case = f, number
                continue
            results["cases"] = results.get("cases", 0) + 1
            for stage, n in counts.items():
                results[stage] = results.get(stage, 0) + n
        stuck = [(n, t) for n, t in running.values()
                 if time.monotonic() - t > case_limit]
        if stuck:
            number = stuck[0][0]
            kind, payload = make_case(args.seed, number, corpus, args.run_share)
            text = payload[0] if kind == "program" else SEPARATOR.join(payload)
            failure, failed_case = Failure(
                f"stuck (case ran over {case_limit:g} s)", text, ""), number
            break
    if failure is not None and failure.kind.startswith("stuck"):
        status = report(args, results, failure, failed_case, start)
        os._exit(status)  # The stuck thread cannot be joined.
    pool.shutdown()
    shutil.rmtree(workdir, ignore_errors=True)
    return report(args, results, failure, failed_case, start)


def report(args, results, failure, failed_case, start):
    """Prints the summary (and the failure), writes the JUnit report;
    returns the exit status."""
    elapsed = time.monotonic() - start
    summary = ", ".join(f"{k} {v}" for k, v in sorted(results.items()))
    print(f"adamas-fuzz: {elapsed:.0f} s, {summary}")
    if args.junit:
        write_junit(args.junit, args.seed, results, failure, elapsed)
    if failure is None:
        print("adamas-fuzz: no failure")
        return 0
    path = os.path.join(args.out, f"seed{args.seed}-case{failed_case}.mlir")
    with open(path, "w") as f:
        f.write(failure.text)
    print(f"adamas-fuzz: FAILURE in case {failed_case} (seed {args.seed}): "
          f"{failure.kind}\n  input: {path}\n  replay: {sys.argv[0]} "
          f"--adamas-opt {args.adamas_opt} --seed {args.seed} --replay "
          f"{failed_case}\n--- input ---\n{failure.text}\n--- detail ---\n"
          f"{failure.detail}", flush=True)
    return 1

if __name__ == "__main__":
    sys.exit(main())
