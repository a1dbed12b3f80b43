#!/usr/bin/env python3
"""Per kernel of an ncu report: its duration, grid, registers, warps active,
and where its warps' stall samples went (ncu's warp-state sampling), as a
markdown table:

    ncu --import REPORT --page raw --csv | python3 bench/steps/ncu_stalls.py

The report needs the SpeedOfLight, LaunchStats, Occupancy, WarpStateStats
and SourceCounters sections (the SourceCounters section's sampling gives
the smsp__pcsamp_* counts). Each stall reason's share is of the kernel's
samples; a kernel launched several times is listed once (its first launch).
Used for bench/NOTES.md items 61-63: e.g. `imc_miss` is a warp waiting for
a constant-cache miss (kernel parameters), `wait` a fixed-latency
dependency, `long_scoreboard` a global or local memory load.
"""

import csv
import signal
import sys

COLUMNS = (("Kernel Name", "kernel"),
           ("gpu__time_duration.sum", "us"),
           ("launch__grid_size", "CTAs"),
           ("launch__registers_per_thread", "regs"),
           ("sm__warps_active.avg.pct_of_peak_sustained_active", "warps active %"))
STALL_PREFIX = "smsp__pcsamp_warps_issue_stalled_"
SAMPLES = "smsp__pcsamp_sample_count"


def number(text):
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return 0.0


def table(rows):
    """The markdown lines for the report's CSV rows (header, units, then one
    row per kernel launch)."""
    header = rows[0]
    # Row 1 holds the units; kernels follow.
    kernels = [r for r in rows[2:] if len(r) == len(header)]
    stalls = [h for h in header
              if h.startswith(STALL_PREFIX) and not h.endswith("_not_issued")]
    # The reasons that any kernel stalled on, most samples first.
    totals = {h: sum(number(r[header.index(h)]) for r in kernels) for h in stalls}
    reasons = [h for h in sorted(stalls, key=lambda h: -totals[h]) if totals[h] > 0]
    names = [label for key, label in COLUMNS if key in header]
    names += ["samples"] + [h[len(STALL_PREFIX):] + " %" for h in reasons]
    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    seen = set()
    for r in kernels:
        name = r[header.index("Kernel Name")]
        if name in seen:
            continue
        seen.add(name)
        cells = [r[header.index(key)] for key, _ in COLUMNS if key in header]
        samples = number(r[header.index(SAMPLES)]) if SAMPLES in header else 0
        cells.append(f"{samples:.0f}")
        for h in reasons:
            share = 100 * number(r[header.index(h)]) / samples if samples else 0
            cells.append(f"{share:.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def main():
    rows = list(csv.reader(sys.stdin))
    if len(rows) < 3:
        sys.exit("ncu_stalls: no kernel in the report")
    print("\n".join(table(rows)))


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    main()
