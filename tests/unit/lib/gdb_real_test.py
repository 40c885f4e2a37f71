#!/usr/bin/env python3
"""The real gdb against the gdb session (src/lib/gdb_rsp.cpp) on the fake target: gdb must accept
the target description and read registers, memory, threads; set a hardware breakpoint and a
watchpoint (inserted when it steps); step; write a register; detach.
Usage: gdb_real_test.py SERVER"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

EXPECT = [
    r"^0x0000000000001000 in \?\? \(\)",  # connected, stopped at the fake's rip
    r"^rip\s+0x1000\s",                 # info registers rip
    r"^eflags\s+0x1011\s+\[",           # the flags type of the target description
    r"^r15\s+0x100f\s",
    r"0x1000:\s+0x00\s+0x01\s+0x02\s+0x03",   # x/4xb 0x1000: the fake's memory
    r"^\* 1\s+Thread 1 \(Core 0, ready\)",  # info threads, with qThreadExtraInfo
    r"^  3\s+Thread 3 \(Core 2, ready\)",
    r"Hardware assisted breakpoint 1 at 0x1010",
    r"Hardware watchpoint 2: \*\(long \*\)0x1008",
    r"^rip after stepi: 0x1001$",
    r"^rax now: 0x1234$",
    r"\[Inferior 1 \(Remote target\) detached\]",
]


def main():
    server = sys.argv[1]
    gdb = shutil.which("gdb")
    if gdb is None:
        print("FAIL: gdb is not installed")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        portfile = os.path.join(tmp, "port")
        proc = subprocess.Popen([server, portfile], stdout=subprocess.PIPE, text=True)
        for _ in range(100):
            if os.path.exists(portfile) and open(portfile).read().strip():
                break
            time.sleep(0.05)
        port = open(portfile).read().strip()
        commands = [
            "set pagination off", "set confirm off",
            f"target remote 127.0.0.1:{port}",
            "info registers rip", "info registers eflags", "info registers r15",
            "x/4xb 0x1000", "info threads",
            "hbreak *0x1010", "watch *(long *)0x1008",
            "stepi", "delete", "printf \"rip after stepi: 0x%lx\\n\", $rip",
            "set $rax = 0x1234", "printf \"rax now: 0x%lx\\n\", $rax",
            "detach",
        ]
        args = [gdb, "-nx", "-batch"]
        for c in commands:
            args += ["-ex", c]
        r = subprocess.run(args, capture_output=True, text=True, timeout=60)
        try:
            server_out, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            server_out = "(the server did not end after detach)"
    out = r.stdout + r.stderr
    print(out)
    print("server:", server_out)
    missing = [e for e in EXPECT if not re.search(e, out, re.M)]
    for e in missing:
        print("MISSING:", e)
    # gdb inserts the breakpoint (Z1) and the watchpoint (Z2) when it resumes for stepi.
    for want in ("detaches 1", "hardware breakpoints 1", "write watchpoints 1", "bad checksums 0"):
        if want not in server_out:
            print(f"FAIL: the server did not see {want!r}")
            return 1
    print("PASS" if not missing else "FAIL")
    return 0 if not missing else 1


if __name__ == "__main__":
    sys.exit(main())
