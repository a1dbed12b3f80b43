#!/usr/bin/env python3
"""op_counts.py BEFORE.mlir AFTER.mlir: how many of each op the two printed
modules hold, for every op whose count differs ("name: before -> after",
sorted by name). A test can then pin down exactly what a pass changed."""

import collections
import re
import sys

OP = re.compile(r"(?:^|=\s*|\s)([a-z_][a-z0-9_]*\.[a-z_][a-z0-9_.]*)(?=[\s(<{\"]|$)")


def counts(path):
    c = collections.Counter()
    for line in open(path):
        line = line.split("//", 1)[0].strip()
        if not line or line.startswith("#") or line.startswith("^"):
            continue
        # The op of a line is the first dialect.op token after any results.
        m = re.match(r"(?:%[\w#:, %]+=\s*)?\"?([a-z_][a-z0-9_]*\.[a-z_][a-z0-9_.]*)", line)
        if m:
            c[m.group(1)] += 1
    return c


def main():
    before, after = counts(sys.argv[1]), counts(sys.argv[2])
    for name in sorted(set(before) | set(after)):
        if before[name] != after[name]:
            print(f"{name}: {before[name]} -> {after[name]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
