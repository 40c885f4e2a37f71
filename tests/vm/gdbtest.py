#!/usr/bin/env python3
"""gdb in batch mode over QEMU's GDB stub, or the in-guest one with `run --stub` (via `tools/toro
debug --batch`): stop at the case's
symbol (`stop-at`), print a backtrace, and require the case's `expect-any` regular expressions
in gdb's output (the program's tests.expect; the format: tests/vm/cases.py).

Usage: gdbtest.py TORO BUILD_DIR ELF --case FILE NAME"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cases  # noqa: E402
import harness  # noqa: E402


def main():
    args, case = cases.driver_arguments("NAME.elf")
    app = os.path.basename(os.path.dirname(os.path.abspath(args.image)))
    r = harness.run(harness.toro_command(args.toro, args.build_dir, "debug", app, args.image,
                                         ["--batch", "--stop-at", case.stop_at, "--gdb-ex", "bt", "--timeout", "60"]
                                         + list(case.run)))
    print(r.out)
    failures = case.check(r.out)
    for failure in failures:
        print(f"FAIL: {failure} (gdb's)")
    ok = not failures
    if "Remote 'g' packet reply is too long" in r.out or "Remote connection closed" in r.out:
        print("FAIL: gdb lost the target")
        ok = False
    return harness.verdict(ok)


if __name__ == "__main__":
    sys.exit(main())
