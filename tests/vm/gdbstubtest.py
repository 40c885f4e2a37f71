#!/usr/bin/env python3
"""The in-guest gdb stub (src/kernel/gdb_stub.cpp) with the real gdb: GdbStub boots with the
kernel command-line token `gdb` and COM2 on a TCP port (QEMU `-serial tcp:...,server=on`), and
gdb in batch mode, connected to it, must
  stop at main with its file and line;
  break in Square (gdb's Z0, an execute debug register here), continue, step a line, print a local;
  watch g_counter (Z2, a write debug register), continue, see the old and new value;
  step one instruction; read rip;
  detach, after which the program runs to its end: "GdbStub: total 14, counter 14", exit 0.
Before gdb, a client sends the stub malformed packets (bad checksums, no checksum, an
unterminated packet, a packet over 4 KiB, binary noise, unknown and truncated commands) and
checks the answers it must get (a '-' for a bad checksum, an empty reply to an unknown packet,
E16 for the oversized one); gdb then connects to the same stub.
With --link virtio the stub's line is a virtio-console of its own (`gdb=virtio`; on microvm
virtio-mmio); with --link virtio-missing the token has no device to take: the kernel says so and
the stub is on COM2.
Usage: gdbstubtest.py TORO BUILD_DIR ELF [--link com2|virtio|virtio-missing] [--machine pc|microvm]"""
import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

GDB_EXPECT = {
    "stopped at main, with its file and line": r"^main \(\) at \S*tests/vm/GdbStub/main\.cpp:\d+",
    "the breakpoint in Square was hit": r"^(Thread \S+ hit )?Breakpoint 1, Square \(x=(x@entry=)?1\) at \S*main\.cpp:\d+",
    "a local read (y after one step over)": r"^\$1 = 1$",
    "the watchpoint fired with old and new values": r"Hardware watchpoint 2: g_counter\s+Old value = 0\s+New value = 1",
    "detached": r"\[Inferior 1 \(Remote target\) detached\]",
}


def frame(payload):
    return b"$" + payload + b"#%02x" % (sum(payload) & 0xFF)


def hostile_client(port, checks):
    """Malformed input first; the stub must answer as the protocol says and stay usable."""
    sock = None
    for _ in range(100):
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            break
        except OSError:
            time.sleep(0.1)
    if sock is None:
        checks["a client connects to COM2"] = False
        return
    got = b""

    def exchange(data, want, seconds=5):
        nonlocal got
        sock.sendall(data)
        deadline = time.monotonic() + seconds
        while want not in got and time.monotonic() < deadline:
            try:
                sock.settimeout(max(0.05, deadline - time.monotonic()))
                chunk = sock.recv(65536)
                if not chunk:
                    break
                got += chunk
            except socket.timeout:
                break
        found = want in got
        got = got[got.find(want) + len(want):] if found else b""
        return found

    checks["a bad checksum gets '-'"] = exchange(b"$?#00", b"-")
    checks["noise and an unterminated packet, then a packet that restarts it, get the stop reply"] = exchange(
        bytes(range(0, 256, 7)) + b"$m1000,4" + frame(b"?"), b"$T05")
    checks["an unknown packet gets an empty reply"] = exchange(frame(b"vNoSuchThing;1"), b"$#00")
    checks["a truncated command gets an error"] = exchange(frame(b"m1000"), b"$E01")
    checks["a packet over 4 KiB gets E16"] = exchange(frame(b"M1000,1:" + b"0" * 5000), b"$E16")
    checks["memory outside the page tables gets E0e, not a fault"] = exchange(frame(b"m800000000000,4"), b"$E0e")
    checks["the stub still answers"] = exchange(frame(b"qC"), b"$QC")
    sock.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("toro")
    p.add_argument("build_dir")
    p.add_argument("elf")
    p.add_argument("--link", choices=["com2", "virtio", "virtio-missing"], default="com2")
    p.add_argument("--machine", default="pc")
    args = p.parse_args()
    build_dir, elf = args.build_dir, args.elf
    if shutil.which("gdb") is None:
        print("FAIL: gdb is not installed")
        return 1
    cmd, port, where = harness.gdb_stub_boot(elf, build_dir, link=args.link, machine=args.machine)
    vm = harness.Vm(cmd)
    checks = {}
    try:
        checks[f"the kernel says it waits for gdb on {where}"] = vm.wait_for(f"waits for gdb on {where}", 30)
        if args.link == "virtio-missing":
            checks["the kernel says gdb=virtio found no device"] = vm.wait_for(
                "gdb: no virtio-console for gdb=virtio", 1)
        hostile_client(port, checks)
        gdb = ["gdb", "-nx", "-batch", elf, "-ex", "set pagination off", "-ex", "set confirm off",
               "-ex", f"target remote 127.0.0.1:{port}",
               "-ex", "break Square", "-ex", "continue",
               "-ex", "next", "-ex", "print y",
               "-ex", "delete", "-ex", "watch g_counter", "-ex", "continue",
               "-ex", "delete",
               "-ex", "set $before = $rip", "-ex", "stepi",
               "-ex", "printf \"rip before 0x%lx, after stepi 0x%lx\\n\", $before, $rip",
               "-ex", "detach"]
        r = harness.run(gdb, timeout=90)
        print(r.out)
        for name, pattern in GDB_EXPECT.items():
            checks[name] = re.search(pattern, r.out or "", re.M) is not None
        m = re.search(r"^rip before 0x([0-9a-f]+), after stepi 0x([0-9a-f]+)$", r.out or "", re.M)
        checks["stepi moved rip"] = m is not None and m[1] != m[2]
        checks["gdb did not lose the target"] = "Remote connection closed" not in (r.out or "")
        code = vm.wait(60)
    finally:
        vm.stop()
    text = vm.text()
    print(text[-2000:])
    checks["the program ran on after detach"] = "GdbStub: total 14, counter 14" in text
    # isa-debug-exit: QEMU's status is (code << 1) | 1, so 1 with the kernel's line is exit code 0.
    checks["exit code 0"] = code == 1 and "System_Exit due to ExitCode: 0" in text
    return harness.report(checks)


if __name__ == "__main__":
    sys.exit(main())
