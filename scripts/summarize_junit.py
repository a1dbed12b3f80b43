#!/usr/bin/env python3
"""Adds up JUnit XML reports (lit, ctest, pytest) into one closing line.

Prints one line per report, then "N passed, N failed, N skipped" alone on
the last line. Exits 1 when a test failed or a report is missing or empty.
"""

import sys
import xml.etree.ElementTree as ET


def count(path):
    root = ET.parse(path).getroot()
    passed = failed = skipped = 0
    for case in root.iter("testcase"):
        tags = {child.tag for child in case}
        if tags & {"failure", "error"}:
            failed += 1
        elif "skipped" in tags:
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped


def main(paths):
    total = [0, 0, 0]
    ok = True
    for path in paths:
        try:
            p, f, s = count(path)
        except (OSError, ET.ParseError) as e:
            print(f"{path}: unreadable report ({e})")
            ok = False
            continue
        if p + f + s == 0:
            print(f"{path}: no tests ran")
            ok = False
        print(f"{path}: {p} passed, {f} failed, {s} skipped")
        total = [t + n for t, n in zip(total, (p, f, s))]
    print(f"{total[0]} passed, {total[1]} failed, {total[2]} skipped")
    return 0 if ok and total[1] == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
