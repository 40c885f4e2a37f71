#!/usr/bin/env python3
"""Run a Google Benchmark binary whose benchmarks are named BM_<case>/<impl>/<arg> and print each
case side by side: Toro against the baseline (glibc) measured in the same run, with the ratio.

Usage: compare.py BENCH_BINARY [baseline-name]"""
import json
import subprocess
import sys


def main():
    binary = sys.argv[1]
    baseline = sys.argv[2] if len(sys.argv) > 2 else "glibc"
    out = subprocess.run([binary, "--benchmark_format=json", "--benchmark_min_time=0.2"],
                         check=True, capture_output=True, text=True).stdout
    runs = {}
    for b in json.loads(out)["benchmarks"]:
        parts = b["name"].split("/")
        case, impl, arg = parts[0], parts[1], parts[2] if len(parts) > 2 else ""
        runs.setdefault((case, arg), {})[impl] = b["items_per_second"]
    print(f"{'case':<16} {'size':>6} {'toro Mops/s':>12} {baseline + ' Mops/s':>13} {'toro/' + baseline:>11}")
    for (case, arg), impls in runs.items():
        t, g = impls.get("toro"), impls.get(baseline)
        if t is None or g is None:
            continue
        print(f"{case:<16} {arg:>6} {t / 1e6:>12.1f} {g / 1e6:>13.1f} {t / g:>10.2f}x")


if __name__ == "__main__":
    main()
