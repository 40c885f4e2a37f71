#!/usr/bin/env python3
"""Toro HEAD's NMI shutdown (toro-spec §2.16): boot HelloWorld with `wait` (it sets its
ShutdownProcedure, prints its line and parks), send `nmi` on the QEMU monitor, and check that
the ShutdownProcedure ran, the kernel said why it stopped, and the VM ended with exit code 0.
Without the NMI the VM would run until the timeout.

Usage: nmitest.py TORO BUILD_DIR ELF [SMP]"""
import os
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def monitor_command(path, command, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            break
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    with s:
        s.settimeout(timeout)
        s.recv(4096)  # the monitor's banner and prompt
        s.sendall(command.encode() + b"\n")
        time.sleep(0.5)


def main():
    elf = sys.argv[3]
    smp = sys.argv[4] if len(sys.argv) > 4 else "1"
    with tempfile.TemporaryDirectory() as tmp:
        mon = os.path.join(tmp, "monitor")
        console = [a if a != "none" or i == 0 or harness.QEMU_CONSOLE[i - 1] != "-monitor"
                   else f"unix:{mon},server=on,wait=off" for i, a in enumerate(harness.QEMU_CONSOLE)]
        qemu = harness.Vm(["qemu-system-x86_64", "-M", "pc", "-bios", harness.QBOOT, "-accel", "tcg", "-smp", smp,
                           "-m", "128", "-kernel", elf, "-append", "wait"] + console)
        try:
            qemu.wait_for("Hello World, I am TORO !!!", 60)
            time.sleep(0.5)  # main is parked
            monitor_command(mon, "nmi")
            status = qemu.wait(30)
        finally:
            qemu.stop()
    output = qemu.text()
    print(output)
    lines = output.splitlines()
    order = [next((i for i, l in enumerate(lines) if l.startswith(want)), -1)
             for want in ("Hello World, I am TORO !!!", "Toro: NMI on CPU#", "ShutdownProcedure: called",
                          "System_Exit due to ExitCode: 0")]
    print(f"line order {order}, QEMU status {status}")
    ok = -1 not in order and order == sorted(order) and status == harness.qemu_status(0)
    return harness.verdict(ok)


if __name__ == "__main__":
    sys.exit(main())
