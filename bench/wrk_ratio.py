#!/usr/bin/python3
"""Requests/s of alternating wrk runs and the ratio of their medians.

  wrk_ratio.py LABEL:WRK_OUTPUT_FILE ...   (in the order the runs were made)
"""

import re
import statistics
import sys


def parse(path):
    text = open(path, encoding="utf-8", errors="replace").read()
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    if not rps:
        sys.exit(f"{path}: no Requests/sec line in wrk's output:\n{text}")
    errors = re.search(r"Socket errors:.*|Non-2xx or 3xx responses: \d+", text)
    return float(rps.group(1)), (errors.group(0) if errors else "")


def main():
    runs = []
    for arg in sys.argv[1:]:
        label, _, path = arg.partition(":")
        rps, errors = parse(path)
        runs.append((label, rps, errors))
    by_label = {}
    for i, (label, rps, errors) in enumerate(runs, 1):
        by_label.setdefault(label, []).append(rps)
        note = f"   ({errors})" if errors else ""
        print(f"  run {i:>2}  {label:<7} {rps:>12,.0f} requests/s{note}")
    for label, values in by_label.items():
        print(f"  {label:<7} median {statistics.median(values):>12,.0f} requests/s "
              f"(min {min(values):,.0f}, max {max(values):,.0f})")
    if "stock" in by_label and "module" in by_label:
        ratio = statistics.median(by_label["module"]) / statistics.median(by_label["stock"])
        print(f"  module/stock ratio of medians: {ratio:.3f} ({(ratio - 1) * 100:+.1f}%)"
              "   -- run-to-run noise on this machine is about +-7%:"
              " a difference inside that is not a finding")


if __name__ == "__main__":
    main()
