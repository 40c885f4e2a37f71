#!/usr/bin/env python3
"""gdb in batch mode over QEMU's GDB stub, or the in-guest one with `run --stub` (via `tools/toro
debug --batch`) or on Bochs (`image bochs`: `tools/toro bochs --gdb --batch`): stop at the case's
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
    options = ["--batch", "--stop-at", case.stop_at, "--gdb-ex", "bt"]
    if case.image == "bochs":  # the in-guest stub on Bochs: tools/toro bochs --gdb
        cmd = harness.toro_command(args.toro, args.build_dir, "bochs", app, options=["--gdb", "--timeout", "120"] + options)
    else:
        cmd = harness.toro_command(args.toro, args.build_dir, "debug", app, args.image, options + ["--timeout", "60"])
    r = harness.run(cmd + list(case.run))
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
