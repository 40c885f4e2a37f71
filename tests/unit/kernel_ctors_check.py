#!/usr/bin/env python3
"""No global constructors in the kernel: libtoro.a's objects must not have .init_array or .ctors
entries. The kernel runs .init_array only when the main thread starts (for the app's own
globals), after the boot sequence has filled the kernel's globals: a kernel object with a
dynamic initialiser would be constructed over its boot-time contents. Give such objects
constant initialisers (every member with a default member initialiser, constexpr constructors).

Usage: kernel_ctors_check.py LIBTORO_A"""
import re
import subprocess
import sys


def main():
    lib = sys.argv[1]
    out = subprocess.run(["objdump", "-h", lib], capture_output=True, text=True, check=True).stdout
    member = None
    bad = []
    for line in out.splitlines():
        m = re.match(r"^(\S+\.o):\s+file format", line)
        if m:
            member = m.group(1)
            continue
        fields = line.split()
        if len(fields) >= 2 and re.match(r"^\d+$", fields[0]) and re.match(r"^\.(init_array|ctors)", fields[1]):
            bad.append(f"{member}: {fields[1]}")
    for b in bad:
        print("FAIL: global constructor in the kernel: " + b)
    print(f"{len(bad)} kernel objects with global constructors")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
