#!/usr/bin/env python3
"""Boot one Toro program and check what it did: exit code and serial output, as its test case
says (the program's tests.expect; the format: tests/vm/cases.py).

Usage: vmtest.py TORO BUILD_DIR IMAGE --case FILE NAME
IMAGE is NAME.elf (QEMU, tools/toro run) or NAME.bochs.img (the case says `image bochs`:
tools/toro bochs). Every `expect` must match, in the given order, in the serial output; every
`expect-any` somewhere; no `reject` may match. With debug-line/debug-lines/debug-any lines, the
debug device (COM2, tools/toro --debug-log) is checked too: it must hold the exact set of lines
the case lists, so a VM that crashes before the dump fails. A VM that crashes, hangs (timeout) or exits with
another code fails the test."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cases  # noqa: E402
import harness  # noqa: E402


def main():
    args, case = cases.driver_arguments("NAME.elf (QEMU) or NAME.bochs.img (Bochs)")
    image = os.path.abspath(args.image)
    name = os.path.basename(os.path.dirname(image))
    with tempfile.TemporaryDirectory(prefix="toro-vmtest-") as tmp:
        options = list(case.run)
        debug_log = os.path.join(tmp, "debug.log")
        if case.uses_debug:
            options += ["--debug-log", debug_log]
        if case.image == "bochs":
            cmd = harness.toro_command(args.toro, args.build_dir, "bochs", name, options=options)
        else:
            cmd = harness.toro_command(args.toro, args.build_dir, "run", name, image, options)
        r = harness.run(cmd)
        out = r.out.replace("\r\n", "\n")  # the serial console sends CR LF
        print(out)
        failures = case.check(out, r.code)
        if case.uses_debug:
            debug = open(debug_log, "rb").read().decode(errors="replace").replace("\r\n", "\n")
            print("--- debug device (COM2) ---\n" + debug)
            failures += case.check_debug(debug)
    for failure in failures:
        print(f"FAIL: {failure}")
    return harness.verdict(not failures)


if __name__ == "__main__":
    sys.exit(main())
