OUT0=$OUT
GPU_CHECK_ONLY=build OUT=$OUT0/x bench/gpu_check.sh > /dev/null 2>&1
export ADAMAS_RUNTIME_LIBRARY=$PWD/build-rt-gpu/lib/libadamas_runtime.so PYTHONPATH=$PWD/python ADAMAS_PROGRAMMATIC_LAUNCH=0
M=gpu__time_duration.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,sm__throughput.avg.pct_of_peak_sustained_elapsed,sm__warps_active.avg.pct_of_peak_sustained_active,launch__grid_size,launch__registers_per_thread
for c in "gqa_d128_k256 16 32768" "gqa_d128_k256 1 32768" "mha_d128_k256 1 32768" "gqa_shared_d128_k256 16 32768" "gqa_shared_d128_k256 64 32768"; do
  echo "== $c"
  timeout 100 ncu --clock-control none -k 'regex:select0|attend0|encode' --launch-skip 12 --launch-count 6 --metrics $M --csv python3 bench/steps/profile_step.py --cache .carry/steps/cache $c 2>&1 | grep '^"' | awk -F'","' '{print $5" | "$(NF-2)" | "$NF}' | sed 's/"//g' | grep -v "^Kernel"
done > $OUT0/ncu.txt 2>&1
cat $OUT0/ncu.txt
