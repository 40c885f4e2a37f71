#!/usr/bin/env python3
"""HeldSend: a blocking socket's send is held until its thread gives up the CPU, and each way of
giving it up lets the bytes out while the connection stays open. Three connections in turn to
the guest's port 7 (forwarded from a free host port); on each the guest sends one line and then
holds the connection 5 s: spinning in SysThreadSwitch, in Sleep, or (the third) ending its
thread without closing. Each line must arrive byte-exact within 2.5 s (a close would have sent
it only after the hold); then the VM must exit 0 with "all three done". Before that the guest
checks the scheduler's side (sched::run_before_yield's work runs on the thread that gives up the
CPU, for SysThreadSwitch, Sleep, SysSuspendThread and a thread's end; one slot per core), which
the network checks cannot tell apart: any thread's next yield would send the line too.

Usage: heldsendtest.py TORO BUILD_DIR ELF"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

MODES = ["switch", "sleep", "exit"]
LIMIT_S = 2.5  # the guest holds each connection 5 s after its send


def read_line(s):
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(256)
        if not chunk:
            break
        data += chunk
    return data


def main():
    toro, build_dir, elf = sys.argv[1:4]
    port = harness.free_port()
    vm = harness.Vm.toro(toro, build_dir, "HeldSend", elf,
                         ["--nic", "virtio", "--fwd", f"tcp:{port}:7", "--timeout", "120"])
    checks = {}
    held = []
    try:
        vm.wait_for("listening on port 7", 60)
        for mode in MODES:
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            held.append(s)  # open until the end: only the guest's yield can have sent the line
            start = time.monotonic()
            try:
                line = read_line(s)
            except OSError as e:
                line = repr(e).encode()
            took = time.monotonic() - start
            print(f"{mode}: {line!r} after {took:.3f} s", flush=True)
            checks[f"{mode}: the line arrived within {LIMIT_S} s ({took:.2f} s), byte-exact"] = \
                line == f"held-send {mode}\n".encode() and took < LIMIT_S
        code = vm.wait(60)
    finally:
        for s in held:
            s.close()
        vm.stop()
    text = vm.text()
    print(text[-1500:])
    for how in ["SysThreadSwitch", "Sleep", "SysSuspendThread",
                "SysThreadSwitch, the slot taken once (same work again: yes; other work: no)", "a thread's end"]:
        line = f"HeldSend: run_before_yield before {how}: PASSED"
        checks[line] = line in text
    checks["all three threads done, exit code 0"] = code == 0 and "HeldSend: all three done" in text
    return harness.report(checks)


if __name__ == "__main__":
    sys.exit(main())
