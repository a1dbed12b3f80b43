#!/usr/bin/env python3
"""Where a kernel's warps stall, from an ncu report's source page:

    ncu --import REPORT --page source --print-source sass --csv \\
        | python3 bench/steps/ncu_hotspots.py [--top 40]

Prints the SASS instructions with the most stall samples (all samples),
each with its share of the kernel's, its address and the instructions
around it as the report lists them, and the samples summed per region
between the kernel's barriers (BAR / barrier-like instructions), so a
kernel's phases (a pass, a grid barrier's poll, a plan, a compaction)
can be told apart.
"""

import argparse
import csv
import signal
import sys


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--top", type=int, default=40)
    args = p.parse_args()
    rows = list(csv.reader(sys.stdin))
    header_at = next(i for i, r in enumerate(rows) if "Source" in r and "Address" in r)
    header = rows[header_at]
    source = header.index("Source")
    address = header.index("Address")
    samples = next(i for i, h in enumerate(header)
                   if h.startswith("Warp Stall Sampling (All"))
    body = [r for r in rows[header_at + 1:] if len(r) == len(header)]

    def count(r):
        try:
            return int(float(r[samples] or 0))
        except ValueError:
            return 0

    total = sum(count(r) for r in body) or 1
    print(f"{len(body)} instructions, {total} stall samples")
    print("\n## top instructions")
    ranked = sorted(range(len(body)), key=lambda i: -count(body[i]))[:args.top]
    for i in sorted(ranked):
        print(f"{100 * count(body[i]) / total:5.1f}%  {body[i][address]}  {body[i][source]}")
    print("\n## regions between barriers (BAR, WARPSYNC excluded)")
    start, acc = 0, 0
    for i, r in enumerate(body):
        acc += count(r)
        if r[source].lstrip().startswith(("BAR", "@P0 BAR", "EXIT")) or i == len(body) - 1:
            print(f"{100 * acc / total:5.1f}%  [{body[start][address]} .. {r[address]}] "
                  f"ends {r[source].strip()[:40]}")
            start, acc = i + 1, 0


if __name__ == "__main__":
    # Piped into `head`: stop quietly when the reader has what it wants.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    main()
