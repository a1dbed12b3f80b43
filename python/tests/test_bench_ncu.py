"""bench/steps/ncu_stalls.py: the stall-reason table from an ncu report's raw
CSV page, against a hand-built report (ncu itself runs on the GPU machine)."""

from conftest import load_bench_script


def test_stall_table_shares_per_kernel_first_launch_only():
    s = load_bench_script("ncu_stalls")
    stalled = "smsp__pcsamp_warps_issue_stalled_"
    header = ["ID", "Kernel Name", "gpu__time_duration.sum", "launch__grid_size",
              "smsp__pcsamp_sample_count", stalled + "long_scoreboard",
              stalled + "imc_miss", stalled + "barrier",
              stalled + "long_scoreboard_not_issued"]
    units = ["", "", "us", "", "", "", "", "", ""]
    rows = [header, units,
            ["0", "k_hist", "8.5", "128", "1,000", "500", "100", "0", "7"],
            ["1", "k_attend", "4.0", "256", "200", "20", "50", "0", "3"],
            # A second launch of k_hist: listed once, its first launch's.
            ["2", "k_hist", "9.9", "128", "10", "10", "0", "0", "0"]]
    lines = s.table(rows)
    # Reasons with samples, most first (long_scoreboard 530, imc_miss 150);
    # barrier (none) and the _not_issued counters are left out.
    assert lines[0] == "| kernel | us | CTAs | samples | long_scoreboard % | imc_miss % |"
    # Shares of each kernel's own samples: 500 / 1000, 100 / 1000; 20 / 200,
    # 50 / 200.
    assert lines[2:] == ["| k_hist | 8.5 | 128 | 1000 | 50 | 10 |",
                         "| k_attend | 4.0 | 256 | 200 | 10 | 25 |"]
