#!/usr/bin/env python3
"""HelloWorldMicroservice's image stays under 128 KiB (the goal bench/http reports): the bytes
its ELF's LOAD segments take in the file (code, read-only data, data and the embedded symbol
table; .bss takes none).

Usage: image_size_check.py ELF LIMIT_BYTES"""
import subprocess
import sys


def loadable_bytes(elf):
    out = subprocess.run(["readelf", "-lW", elf], capture_output=True, text=True, check=True).stdout
    return sum(int(line.split()[4], 16) for line in out.splitlines() if line.strip().startswith("LOAD"))


def main():
    elf, limit = sys.argv[1], int(sys.argv[2])
    size = loadable_bytes(elf)
    print(f"{elf}: {size:,} loadable bytes, limit {limit:,} ({limit - size:,} to spare)")
    if size == 0:
        print("FAIL: no LOAD segment found")
        return 1
    if size >= limit:
        print("FAIL: over the limit (bench/RESULTS.md lists what the image holds; -Os for cold code: meson.build)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
