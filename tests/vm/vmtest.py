#!/usr/bin/env python3
"""Boot one Toro program and check what it did: exit code and serial output.

Usage: vmtest.py TORO BUILD_DIR IMAGE [--bochs] [--expect-exit N] [--expect REGEX]... [--reject REGEX]...
                 [-- toro run options...]
Every --expect must match, in the given order, in the serial output; every --expect-any somewhere;
no --reject may match.
A VM that crashes, hangs (timeout) or exits with another code fails the test."""
import argparse
import os
import re
import subprocess
import sys


def main():
    p = argparse.ArgumentParser()
    p.add_argument("toro")
    p.add_argument("build_dir")
    p.add_argument("image", help="NAME.elf (QEMU) or NAME.bochs.img (Bochs)")
    p.add_argument("--bochs", action="store_true")
    p.add_argument("--expect-exit", type=int, default=0)
    p.add_argument("--expect", action="append", default=[])
    p.add_argument("--reject", action="append", default=[])
    p.add_argument("--expect-any", action="append", default=[], help="must match somewhere (any order)")
    args, run_args = p.parse_known_args()
    if run_args and run_args[0] == "--":
        run_args = run_args[1:]
    image = os.path.abspath(args.image)
    name = os.path.basename(os.path.dirname(image))
    build_dir = args.build_dir
    if args.bochs:
        cmd = [sys.executable, args.toro, "--build-dir", build_dir, "bochs", name, "--no-build"]
    else:
        cmd = [sys.executable, args.toro, "--build-dir", build_dir, "run", name, "--no-build", "--elf", image]
    cmd += run_args
    print("$ " + " ".join(cmd), flush=True)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    out = r.stdout.decode(errors="replace").replace("\r\n", "\n")  # the serial console sends CR LF
    print(out)
    ok = True
    if r.returncode != args.expect_exit:
        print(f"FAIL: exit code {r.returncode}, expected {args.expect_exit}")
        ok = False
    pos = 0
    for pattern in args.expect:
        m = re.compile(pattern, re.M).search(out, pos)
        if m is None:
            where = "after the previous match" if pos else "anywhere"
            print(f"FAIL: expected /{pattern}/ {where} in the output")
            ok = False
        else:
            pos = m.end()
    for pattern in args.expect_any:
        if not re.search(pattern, out, re.M):
            print(f"FAIL: expected /{pattern}/ somewhere in the output")
            ok = False
    for pattern in args.reject:
        if re.search(pattern, out, re.M):
            print(f"FAIL: /{pattern}/ must not appear in the output")
            ok = False
    print("PASS" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
