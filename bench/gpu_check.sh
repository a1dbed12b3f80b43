#!/usr/bin/env bash
# End-to-end check of the adamas runtime on a machine with an NVIDIA GPU
# (CUDA driver, CMake, g++; no LLVM/MLIR needed). Run from anywhere:
#
#   bench/gpu_prepare.sh   # on a machine with MLIR 22 + CUDA toolkit:
#                          # lowers bench/runtime/*.mlir into .carry/runtime/
#   bench/gpu_check.sh     # on the GPU machine, with .carry/runtime/ copied over
#
# It builds libadamas_runtime.so (and its unit tests if GoogleTest is there),
# links the carried host objects (upstream MLIR's gpu-to-llvm output) against
# it, runs them and checks their results, then exercises the C API's caches
# with bench/runtime/cache_demo.cpp over a fresh cache directory: a cold run
# (compile on miss), a second process (disk hit), a truncated and a
# byte-flipped entry (detected, removed, rebuilt), and a final disk hit.
# A summary table is printed last. Logs go to $OUT (default build-gpu-check/).
# Exit status 0 only if every check passed.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
carry=${CARRY_DIR:-$root/.carry/runtime}
build=${BUILD_DIR:-$root/build-rt-gpu}
out=${OUT:-$root/build-gpu-check}
mkdir -p "$out"
log=$out/gpu_check.log
: > "$log"
summary=()
failed=0

say() { echo "$*" | tee -a "$log"; }
row() { # CHECK RESULT DETAIL
  summary+=("| $1 | $2 | $3 |")
  [[ $2 == PASS* || $2 == ok* || $2 == skipped* ]] || failed=1
}
run() { # LABEL COMMAND...: runs, logs, returns the command's status
  say "\$ ${*:2}"
  "${@:2}" > "$out/step.txt" 2>&1
  local rc=$?
  cat "$out/step.txt" >> "$log"
  return $rc
}
link_objects() { # CARRY_DIR LIB_DIR: each carried host object as a shared
  # library against the runtime built here; fails if any link does
  mkdir -p "$2"
  local obj status=0
  for obj in "$1"/*.o; do
    run link g++ -shared -o "$2/$(basename "${obj%.o}").so" "$obj" \
      -L"$lib" -ladamas_runtime -Wl,-rpath,"$lib" || status=1
  done
  return $status
}
check_rows() { # PREFIX: a row per "PASS  check: detail" / "FAIL  ..." line of step.txt
  local line check detail
  while IFS= read -r line; do
    check=$(echo "$line" | sed 's/^\(PASS\|FAIL\)  //; s/: .*$//')
    detail=$(echo "$line" | sed 's/^\(PASS\|FAIL\)  [^:]*: //')
    row "$1: $check" "$(echo "$line" | awk '{print $1}')" "$detail"
  done < <(grep '^PASS  \|^FAIL  ' "$out/step.txt")
}

say "== machine"
gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -1)
say "gpu: $gpu"
nvidia-smi >> "$log" 2>&1
say "cuda driver api: $(nvidia-smi 2>/dev/null | grep -o 'CUDA Version: [0-9.]*' | head -1)"
say "host: $(uname -sm), $(nproc) cores, $(g++ --version | head -1), $(cmake --version | head -1)"
[[ -f $carry/MANIFEST ]] && { say "carried objects:"; sed 's/^/  /' "$carry/MANIFEST" | tee -a "$log" > /dev/null; }

say "== build"
generator=()
command -v ninja > /dev/null && generator=(-G Ninja)
start=$(date +%s%N)
if run build cmake -S "$root/runtime" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
   && run build cmake --build "$build" -j "$(nproc)"; then
  row "build runtime (cmake, standalone)" ok "$(( ($(date +%s%N) - start) / 1000000 )) ms on $(nproc) cores"
else
  row "build runtime (cmake, standalone)" FAIL "see $log"
  tail -30 "$out/step.txt"
  printf '%s\n' "${summary[@]}"
  exit 1
fi
lib=$build/lib

# GPU_CHECK_ONLY selects one part: =steps the generated-kernel sections (a
# quicker kernel check), =hf the transformers integration
# (bench/steps/hf_check.py; HF_CHECK_ARGS, e.g. "--no-compile", go to it),
# =examples the example decoder layers, =bench and =e2e the benchmark or the end-to-end decoding (issue 10),
# =accuracy the generated kernels decoding bench/accuracy.py's byte-level LM
# (--kernel-check; ACCURACY_TRAIN_MINUTES, default 0.5, ACCURACY_ARGS go to it); the
# default (all) runs every section (longer than one 10-minute device call).
only=${GPU_CHECK_ONLY:-all}
steps_carry=${STEPS_CARRY_DIR:-$root/.carry/steps}
examples_carry=${EXAMPLES_CARRY_DIR:-$root/.carry/examples}

if [[ $only == all ]]; then
say "== unit tests (fake driver)"
if [[ -x $build/test/adamas-runtime-tests ]]; then
  if run tests ctest --test-dir "$build" -j "$(nproc)" --output-on-failure; then
    row "GoogleTest suite (fake driver)" PASS "$(grep -o '[0-9]*% tests passed.*' "$out/step.txt" | head -1)"
  else
    row "GoogleTest suite (fake driver)" FAIL "$(grep -o '[0-9]*% tests passed.*' "$out/step.txt" | head -1)"
  fi
else
  row "GoogleTest suite (fake driver)" "skipped" "GoogleTest not installed here; runs in CI"
fi

say "== MLIR-lowered programs"
programs=$build/lowered-programs
if run link g++ -std=c++17 -O2 -I"$root/runtime/include" "$root/bench/runtime/programs_main.cpp" \
     "$carry/vecadd.o" "$carry/vecadd_again.o" "$carry/reduce.o" "$carry/loop.o" \
     -L"$lib" -ladamas_runtime -Wl,-rpath,"$lib" -o "$programs"; then
  for attempt in 1 2; do
    run programs env ADAMAS_RUNTIME_VERBOSE=1 "$programs"
    rc=$?
    cat "$out/step.txt"
    while IFS= read -r line; do
      name=$(echo "$line" | awk '{print $1}')
      [[ $name == vecadd || $name == vecadd_again || $name == block_sum ||
         $name == add_index_loop || $name == module ]] || continue
      [[ $attempt == 2 && $name != module ]] && continue
      result=$(echo "$line" | grep -o -m1 'PASS\|FAIL')
      detail=$(echo "$line" | sed 's/^.*\(PASS\|FAIL\)  //')
      label="program $name"
      [[ $name == module ]] && label="module cache, process $attempt"
      [[ $line == "vecadd (warm)"* ]] && label="program vecadd (2nd call)"
      [[ $line == vecadd_again* ]] && label="program vecadd_again"
      row "$label" "$result" "$detail"
    done < "$out/step.txt"
    [[ $rc == 0 ]] || row "programs exit status (run $attempt)" FAIL "$rc"
  done
else
  row "link programs against libadamas_runtime.so" FAIL "see $log"
fi

say "== MLIR-lowered programs, PTX embedded (mgpuModuleLoadJIT)"
if [[ -f $carry/isa/vecadd.o ]]; then
  if run link g++ -std=c++17 -O2 -I"$root/runtime/include" "$root/bench/runtime/programs_main.cpp" \
       "$carry/isa/vecadd.o" "$carry/isa/vecadd_again.o" "$carry/isa/reduce.o" "$carry/isa/loop.o" \
       -L"$lib" -ladamas_runtime -Wl,-rpath,"$lib" -o "$programs-jit" &&
     run programs-jit "$programs-jit"; then
    row "programs with PTX (driver JIT)" PASS "$(grep '^module cache' "$out/step.txt" | sed 's/^.*PASS  //')"
  else
    row "programs with PTX (driver JIT)" FAIL "$(grep -v PASS "$out/step.txt" | head -3 | tr '\n' ' ')"
  fi
  cat "$out/step.txt"
fi

say "== C API caches (cache_demo)"
demo=$build/cache_demo
if run link g++ -std=c++17 -O2 -I"$root/runtime/include" "$root/bench/runtime/cache_demo.cpp" \
     -L"$lib" -ladamas_runtime -Wl,-rpath,"$lib" -o "$demo"; then
  cache=$(mktemp -d)
  demo_run() { # LABEL EXPECTED
    run demo "$demo" "$cache" "$carry/vecadd.ptx" "$carry/vecadd.cubin" "$2"
    local line
    line=$(grep '^CACHE_DEMO' "$out/step.txt")
    cat "$out/step.txt"
    row "$1" "$(echo "$line" | awk '{print $2}') (source $(echo "$line" | grep -o 'source=[a-z]*' | cut -d= -f2))" \
        "$(echo "$line" | cut -d' ' -f5- | sed 's/ key=.*//')"
  }
  demo_run "cache_demo 1: cold cache" compiler
  demo_run "cache_demo 2: new process" disk
  entry=$(ls "$cache"/artifacts-v1/*.bin)
  truncate -s 100 "$entry"
  demo_run "cache_demo 3: entry truncated" compiler
  python3 -c "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[-200]^=0x40; open(p,'wb').write(b)" "$entry"
  demo_run "cache_demo 4: payload byte flipped" compiler
  : > "$entry"
  demo_run "cache_demo 5: zero-length entry" compiler
  demo_run "cache_demo 6: new process" disk
  rm -rf "$cache"
else
  row "link cache_demo" FAIL "see $log"
fi

say "== Python binding (adamas.runtime) with PyTorch tensors"
if python3 -c "import torch" 2> /dev/null; then
  cache=$(mktemp -d)
  run python env PYTHONPATH="$root/python" ADAMAS_RUNTIME_LIBRARY="$lib/libadamas_runtime.so" \
    python3 "$root/bench/runtime/python_check.py" "$cache" "$carry/vecadd.cubin"
  rc=$?
  cat "$out/step.txt"
  grep -q '^PYCHECK' "$out/step.txt" || row "python_check.py" FAIL "exit $rc: $(tail -1 "$out/step.txt")"
  while IFS= read -r line; do
    row "python $(echo "$line" | awk '{print $2}')" "$(echo "$line" | awk '{print $3}')" \
        "$(echo "$line" | cut -d' ' -f4- | sed 's/^ *//')"
  done < <(grep '^PYCHECK' "$out/step.txt")
  [[ $rc == 0 ]] || row "python_check.py exit status" FAIL "$rc"
  rm -rf "$cache"
else
  row "Python binding with PyTorch" "skipped" "no torch here"
fi

fi # only == all

if [[ $only == all || $only == steps ]]; then
say "== generated kernels (adamas-gpu-pipeline) against the reference"
if [[ -f $steps_carry/manifest.json ]] && python3 -c "import torch" 2> /dev/null; then
  libs=$build/steps
  if link_objects "$steps_carry" "$libs" && cp "$steps_carry/manifest.json" "$libs/"; then
    # One process per spec: a kernel fault loses its CUDA context, not the run.
    seed=${CHECK_SEED:-$(( $(date +%s) % 100000 ))}
    : > "$out/steps.txt"
    for spec in $(python3 -c "import json,sys; print(' '.join(json.load(open(sys.argv[1]))['specs']))" "$libs/manifest.json"); do
      run steps env PYTHONUNBUFFERED=1 ADAMAS_RUNTIME_LIBRARY="$lib/libadamas_runtime.so" \
        python3 "$root/bench/steps/check.py" "$libs" \
        --seed "$seed" --only "$spec"
      rc=$?
      cat "$out/step.txt" >> "$out/steps.txt"
      line=$(grep '^== GPU checks' "$out/step.txt")
      row "generated kernels: $spec" "$([[ $rc == 0 ]] && echo PASS || echo FAIL)" \
          "${line#== GPU checks: }"
    done
    grep -h '^PASS\|^FAIL\|^seed' "$out/steps.txt" | sort -u | head -5
    if [[ ${GPU_CHECK_SANITIZE:-1} == 1 ]] && command -v compute-sanitizer > /dev/null; then
      # TOOL LABEL CHECK_ARGS...: check.py under compute-sanitizer TOOL, its
      # output appended to $out/TOOL.txt, one row.
      sanitize() {
        local tool=$1 label=$2 rc summary_line checks_line
        run sanitize compute-sanitizer --tool "$tool" --error-exitcode 9 \
          --target-processes all env PYTHONUNBUFFERED=1 ADAMAS_RUNTIME_LIBRARY="$lib/libadamas_runtime.so" \
          python3 "$root/bench/steps/check.py" "$libs" --seed "$seed" "${@:3}"
        rc=$?
        cat "$out/step.txt" >> "$out/$tool.txt"
        summary_line=$(grep -h "ERROR SUMMARY\|RACECHECK SUMMARY" "$out/step.txt" | tail -1)
        checks_line=$(grep -h '^== GPU checks' "$out/step.txt" | tail -1)
        row "compute-sanitizer $tool ($label)" "$([[ $rc == 0 ]] && echo PASS || echo FAIL)" \
            "${summary_line:-exit $rc}; ${checks_line:-checks did not run}"
      }
      for tool in memcheck racecheck; do
        : > "$out/$tool.txt"
        # Small runs of every kernel family.
        sanitize "$tool" "2 specs, all kernels" --first-run --only mha_d128_k256 g7_d64_b3_m4_bf16
        # The attention's long-split form takes grids of many rows only: the
        # B = 32 run of mha_d128_k64_f32 (1024 rows, one split).
        sanitize "$tool" "long attention form, B=32" --only mha_d128_k64_f32 --runs 2 --kinds attend
        # shared_group's partial with tensor-core scores (f16 and bf16, G = 4
        # and 7): its key and query pieces are loads of their own.
        sanitize "$tool" "shared_group tensor-core scores" --first-run --kinds attend \
          --only gqa_shared_d128_k256 g7_shared_d64_b1_k1024_bf16
        # Their long form (B=16: 4 splits, 16 slots per warp).
        sanitize "$tool" "shared_group long form, tensor-core scores, B=16" --runs 1 \
          --kinds attend --only gqa_shared_d128_k256
        # The per-head long form's cluster merge (B=16: 1024 CTAs, 2 splits).
        sanitize "$tool" "per-head long form, cluster merge, B=16" --runs 3 \
          --kinds attend --only gqa_d128_k256
        # The grid-synchronised selection (B = 4 x 4K, B = 1 x 32K), and
        # every key equal (B = 4 x 32K: the tie rule decides every slot).
        sanitize "$tool" "grid select, ties" --runs 1 2 5 \
          --kinds select --only mha_d128_k256
        # The GQA histogram passes with the key ring (B = 1: small grids).
        sanitize "$tool" "GQA select, key ring, B=1" --first-run \
          --kinds select --only gqa_d128_k256 gqa_shared_d128_k256
      done
    fi
    if [[ ${GPU_CHECK_TIMING:-1} == 1 ]]; then
      run timing env PYTHONUNBUFFERED=1 ADAMAS_RUNTIME_LIBRARY="$lib/libadamas_runtime.so" \
        python3 "$root/bench/steps/timing.py" "$libs" --cache "$steps_carry/cache"
      rc=$?
      cp "$out/step.txt" "$out/timing.txt"
      row "timing vs dense SDPA (bench/steps/timing.py)" "$([[ $rc == 0 ]] && echo ok || echo FAIL)" \
          "table in timing.txt"
    fi
    if [[ ${GPU_CHECK_TORCH:-1} == 1 ]]; then
      # adamas.torch: its steps come from the carried cache (no compiler here).
      run torch env PYTHONUNBUFFERED=1 ADAMAS_RUNTIME_LIBRARY="$lib/libadamas_runtime.so" \
        ADAMAS_CACHE_DIR="$steps_carry/cache" CHECK_SEED="$seed" \
        python3 "$root/bench/steps/torch_check.py"
      rc=$?
      cp "$out/step.txt" "$out/torch.txt"
      line=$(grep '^== GPU checks' "$out/step.txt")
      row "adamas.torch (steps, compile, CUDA graph, errors)" \
          "$([[ $rc == 0 ]] && echo PASS || echo FAIL)" "${line#== GPU checks: }"
    fi
  else
    row "link generated step objects" FAIL "see $log"
  fi
else
  row "generated kernels vs reference" "skipped" "no $steps_carry/manifest.json (bench/gpu_prepare.sh) or no torch"
fi
fi # only == all or steps

if [[ $only == all || $only == hf ]]; then
say "== Hugging Face transformers: attn_implementation=\"adamas\" (bench/steps/hf_check.py)"
if [[ -d $steps_carry/cache ]] && python3 -c "import torch, transformers" 2> /dev/null; then
  # Its kernels come from the carried cache (cases.hf_functions()).
  run hf env PYTHONUNBUFFERED=1 ADAMAS_RUNTIME_LIBRARY="$lib/libadamas_runtime.so" \
    ADAMAS_CACHE_DIR="$steps_carry/cache" CHECK_SEED="${seed:-${CHECK_SEED:-$(( $(date +%s) % 100000 ))}}" \
    python3 "$root/bench/steps/hf_check.py" ${HF_CHECK_ARGS:-}
  rc=$?
  cp "$out/step.txt" "$out/hf.txt"
  cat "$out/step.txt"
  check_rows hf
  line=$(grep '^== GPU checks' "$out/step.txt")
  row "adamas.torch.hf with transformers (hf_check.py)" \
      "$([[ $rc == 0 ]] && echo PASS || echo FAIL)" "${line#== GPU checks: }"
else
  row "adamas.torch.hf with transformers" "skipped" \
      "no $steps_carry/cache (bench/gpu_prepare.sh) or no torch/transformers"
fi
fi # only == all or hf

if [[ $only == all || $only == accuracy ]]; then
say "== accuracy: the byte-level LM decoded through the generated kernels (bench/accuracy.py --kernel-check)"
if [[ -d $steps_carry/cache ]] && python3 -c "import torch" 2> /dev/null; then
  # Trains the LM briefly, decodes held-out bytes token by token through
  # adamas.torch (kernels from the carried cache: cases.accuracy_functions())
  # and compares them with the perplexity path's torch selection masks.
  # shellcheck disable=SC2086
  run accuracy env PYTHONUNBUFFERED=1 ADAMAS_RUNTIME_LIBRARY="$lib/libadamas_runtime.so" \
    ADAMAS_CACHE_DIR="$steps_carry/cache" \
    python3 "$root/bench/accuracy.py" --kernel-check \
    --train-minutes "${ACCURACY_TRAIN_MINUTES:-0.5}" --kernel-out "$out/ACCURACY-kernels.md" \
    ${ACCURACY_ARGS:-}
  rc=$?
  cp "$out/step.txt" "$out/accuracy.txt"
  cat "$out/step.txt"
  check_rows accuracy
  row "bench/accuracy.py --kernel-check" "$([[ $rc == 0 ]] && echo PASS || echo FAIL)" \
      "exit $rc; $(grep -c '^PASS  ' "$out/step.txt") cases passed, $(grep -c '^FAIL  ' "$out/step.txt") failed; table in ACCURACY-kernels.md"
else
  row "bench/accuracy.py --kernel-check" "skipped" "no $steps_carry/cache (bench/gpu_prepare.sh) or no torch"
fi
fi # only == all or accuracy

# The benchmark and the end-to-end decoding (issue 10): kernels from the
# carried artifact cache, nothing compiled here. BENCH_QUICK=1 / E2E_QUICK=1
# for shorter runs; BENCH_ARGS / E2E_ARGS are passed through.
have_steps_cache() { [[ -d $steps_carry/cache ]] && python3 -c "import torch" 2> /dev/null; }
if [[ $only == all || $only == bench ]]; then
  say "== decode-step benchmark (bench/steps/bench.py)"
  if have_steps_cache; then
    # shellcheck disable=SC2046,SC2086
    run bench env PYTHONUNBUFFERED=1 ADAMAS_RUNTIME_LIBRARY="$lib/libadamas_runtime.so" \
      python3 "$root/bench/steps/bench.py" --cache "$steps_carry/cache" --out "$out" \
      $([[ ${BENCH_QUICK:-0} == 1 ]] && echo --quick) ${BENCH_ARGS:-}
    rc=$?
    cp "$out/step.txt" "$out/bench.txt"
    line=$(grep -E '^[0-9]+ cases timed' "$out/bench.txt" | tail -1)
    row "decode-step benchmark (bench/steps/bench.py)" "$([[ $rc == 0 ]] && echo ok || echo FAIL)" \
        "${line:-exit $rc, see bench.txt}; tables in bench.md"
  else
    row "decode-step benchmark" "skipped" "no $steps_carry/cache (bench/gpu_prepare.sh) or no torch"
  fi
fi
if [[ $only == all || $only == e2e ]]; then
  say "== end-to-end decoding, Llama-2-7B shape (bench/steps/e2e.py)"
  if have_steps_cache; then
    # shellcheck disable=SC2046,SC2086
    run e2e env PYTHONUNBUFFERED=1 ADAMAS_RUNTIME_LIBRARY="$lib/libadamas_runtime.so" \
      python3 "$root/bench/steps/e2e.py" --cache "$steps_carry/cache" --out "$out" \
      $([[ ${E2E_QUICK:-0} == 1 ]] && echo --quick) ${E2E_ARGS:-}
    rc=$?
    cp "$out/step.txt" "$out/e2e.txt"
    while IFS= read -r line; do
      name=${line#* }   # "PASS|FAIL <check>\t<detail>"
      row "e2e: ${name%%$'\t'*}" "${line%% *}" "${name#*$'\t'}"
    done < <(grep -P '^(PASS|FAIL) .*\t' "$out/e2e.txt")
    speed=$(grep -E '^\| (mha|gqa) \([0-9/]+\) \| [0-9]+K \|.*x \|' "$out/e2e.txt" |
      awk -F' *[|] *' '{printf "%s%s %s %s: %s", sep, $2, $3, $5, $8; sep="; "}')
    row "e2e decoding (bench/steps/e2e.py)" "$([[ $rc == 0 ]] && echo ok || echo FAIL)" \
        "${speed:-exit $rc, see e2e.txt}; tables in e2e.md"
  else
    row "e2e decoding" "skipped" "no $steps_carry/cache (bench/gpu_prepare.sh) or no torch"
  fi
fi

if [[ $only == all || $only == examples ]]; then
say "== example decoder layers (examples/*.mlir, adamas-gpu-pipeline) against numpy"
# Whole Llama layers: the fused adamas steps plus the upstream-mapped kernels
# of projections, norms, RoPE, MLP and cache growth, one host function each.
if [[ -f $examples_carry/manifest.json ]] && python3 -c "import torch" 2> /dev/null; then
  libs=$build/examples
  if link_objects "$examples_carry" "$libs"; then
    seed=${CHECK_SEED:-$(( $(date +%s) % 100000 ))}
    : > "$out/examples.txt"
    for variant in $(python3 -c "import json,sys; print(' '.join(json.load(open(sys.argv[1]))['variants']))" "$examples_carry/manifest.json"); do
      # One process per layer: a kernel fault loses its CUDA context only.
      run examples env PYTHONUNBUFFERED=1 ADAMAS_RUNTIME_LIBRARY="$lib/libadamas_runtime.so" \
        python3 "$root/bench/steps/examples.py" check "$libs" --seed "$seed" --only "$variant"
      rc=$?
      cat "$out/step.txt" >> "$out/examples.txt"
      grep '^PASS\|^FAIL' "$out/step.txt"
      line=$(grep '^== example layers' "$out/step.txt")
      row "example layer: $variant" "$([[ $rc == 0 ]] && echo PASS || echo FAIL)" \
          "${line:-exit $rc: $(tail -1 "$out/step.txt")}"
    done
  else
    row "link example layer objects" FAIL "see $log"
  fi
else
  row "example decoder layers" "skipped" "no $examples_carry/manifest.json (bench/gpu_prepare.sh) or no torch"
fi
fi # only == all or examples

{
  echo
  echo "== summary ($gpu)"
  echo "| check | result | detail |"
  echo "|---|---|---|"
  printf '%s\n' "${summary[@]}"
  echo
  [[ $failed == 0 ]] && echo "ALL CHECKS PASSED" || echo "SOME CHECKS FAILED"
} | tee -a "$log" > "$out/summary.md"
cat "$out/summary.md"
[[ -f $out/timing.txt ]] && { echo; grep '^|' "$out/timing.txt"; }
[[ $only == all || $only == bench ]] && [[ -f $out/bench.md ]] && { echo; cat "$out/bench.md"; }
[[ $only == all || $only == e2e ]] && [[ -f $out/e2e.md ]] && { echo; cat "$out/e2e.md"; }
[[ $only == all || $only == accuracy ]] && [[ -f $out/ACCURACY-kernels.md ]] && { echo; cat "$out/ACCURACY-kernels.md"; }
rm -f "$out/step.txt"
exit $failed
