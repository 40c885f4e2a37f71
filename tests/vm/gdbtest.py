#!/usr/bin/env python3
"""gdb in batch mode over QEMU's GDB stub (via `tools/toro debug --batch`): stop at a symbol,
print a backtrace, and require the given regular expressions in gdb's output.

Usage: gdbtest.py TORO BUILD_DIR ELF APP SYMBOL REGEX..."""
import re
import subprocess
import sys


def main():
    toro, build_dir, elf, app, symbol = sys.argv[1:6]
    patterns = sys.argv[6:]
    cmd = [sys.executable, toro, "--build-dir", build_dir, "debug", app, "--no-build", "--elf", elf,
           "--batch", "--stop-at", symbol, "--gdb-ex", "bt", "--timeout", "60"]
    print("$ " + " ".join(cmd), flush=True)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    out = r.stdout.decode(errors="replace")
    print(out)
    ok = True
    for p in patterns:
        if not re.search(p, out, re.M):
            print(f"FAIL: /{p}/ not in gdb's output")
            ok = False
    if "Remote 'g' packet reply is too long" in out or "Remote connection closed" in out:
        print("FAIL: gdb lost the target")
        ok = False
    print("PASS" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
