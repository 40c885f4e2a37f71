#!/usr/bin/env python3
"""The in-guest gdb stub (src/kernel/gdb_stub.cpp) on two cores with GdbThreads (its threads:
main on core 0, Napper sleeping on core 0, Sleeper sleeping on core 1):

  gdb (batch) breaks in ThreadsReady: `info threads` lists every Toro thread of both cores with
  its core and state, `thread apply all bt` walks the sleeping ones to their Sleep lines and
  core 1's idle thread to the idle loop (so core 1 stopped too: its registers come from where it
  parked); gdb detaches and the program ends by itself;
  booted with `-append fault`, gdb continues into a write through a null pointer and must stop
  there with SIGSEGV at the faulting line; its next `continue` passes the signal on and the
  fault takes its course (the kernel's report, exit code 120);
  then, booted with `-append spin`, a client lets the program run, sends Ctrl-C (0x03) while
  main spins on core 0 and must get a SIGINT stop reply; it clears g_spin through the stub
  (an M packet), detaches, and the program says gdb stopped the spin and exits 0.

With --link virtio all three run with the stub on a virtio-console of its own (`gdb=virtio`):
Ctrl-C then arrives through the device's interrupt.

Usage: gdbstubthreads.py TORO BUILD_DIR ELF [--link com2|virtio] [--machine pc|microvm]"""
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
from gdbstubtest import frame  # noqa: E402

GDB_EXPECT = {
    "stopped in ThreadsReady": r"hit Breakpoint 1, ThreadsReady \(\) at \S*GdbThreads/main\.cpp:\d+",
    "info threads: Napper's thread sleeping on core 0": r"^\s+\d+\s+Thread \d+ \(Core 0, sleeping\)",
    "info threads: Sleeper's thread sleeping on core 1": r"^\s+\d+\s+Thread \d+ \(Core 1, sleeping\)",
    "info threads: core 1's idle thread": r"^\s+\d+\s+Thread \d+ \(Core 1, idle\)",
    "info threads: main running on core 0": r"^\*\s+\d+\s+Thread \d+ \(Core 0, running\)\s+ThreadsReady",
    "bt of the sleeping Napper": r"in \(anonymous namespace\)::Napper \(\) at \S*GdbThreads/main\.cpp:20",
    "bt of the sleeping Sleeper (core 1)": r"in \(anonymous namespace\)::Sleeper \(\) at \S*GdbThreads/main\.cpp:14",
    "bt of core 1's idle thread, from where core 1 parked (its halt)":
        r"^Thread \d+ \(Thread \d+ \(Core 1, idle\)\):\n#0 .* in arch::enable_interrupts_and_halt \(\)",
    "detached": r"\[Inferior 1 \(Remote target\) detached\]",
}


def connect(port):
    for _ in range(100):
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=10)
        except OSError:
            time.sleep(0.1)
    return None


def read_packet(sock, seconds):
    """The next packet's payload ('$...#xx'), acknowledged; None on timeout."""
    sock.settimeout(seconds)
    data = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        m = re.search(rb"\$([^#]*)#[0-9a-f]{2}", data)
        if m:
            sock.sendall(b"+")
            return m[1]
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    return None


LINK, MACHINE = "com2", "pc"  # main() sets them from --link and --machine
WHERE = {"com2": "COM2", "virtio": "VirtIOConsole"}


def boot(build_dir, elf, append):
    """GdbThreads on two cores with the stub's line (COM2 or a virtio-console) at a TCP port: (vm, port)."""
    cmd, port, _ = harness.gdb_stub_boot(elf, build_dir, link=LINK, machine=MACHINE, smp=2, append=append)
    return harness.Vm(cmd), port


def waits_for_gdb(vm):
    return vm.wait_for("waits for gdb on " + WHERE[LINK], 30)


def threads_with_gdb(toro, build_dir, elf, checks):
    vm, port = boot(build_dir, elf, "")
    try:
        checks["the kernel says it waits for gdb"] = waits_for_gdb(vm)
        gdb = ["gdb", "-nx", "-batch", elf, "-ex", "set pagination off", "-ex", "set confirm off",
               "-ex", f"target remote 127.0.0.1:{port}",
               "-ex", "break ThreadsReady", "-ex", "continue",
               "-ex", "info threads", "-ex", "thread apply all bt", "-ex", "detach"]
        r = harness.run(gdb, timeout=90)
        print(r.out)
        for name, pattern in GDB_EXPECT.items():
            checks[name] = re.search(pattern, r.out or "", re.M) is not None
        checks["gdb did not lose the target"] = "Remote connection closed" not in (r.out or "")
        code = vm.wait(60)
    finally:
        vm.stop()
    text = vm.text()
    print(text[-1500:])
    checks["the program ran on after detach and ended"] = "GdbThreads: done" in text and code == 1


def ctrl_c(toro, build_dir, elf, checks):
    nm = subprocess.run(["nm", elf], capture_output=True, text=True).stdout
    m = re.search(r"^([0-9a-f]+) [bBdD] g_spin$", nm, re.M)
    if not m:
        checks["g_spin's address"] = False
        return
    address = int(m[1], 16)
    vm, port = boot(build_dir, elf, "spin")
    try:
        checks["the kernel says it waits for gdb (spin)"] = waits_for_gdb(vm)
        sock = connect(port)
        if sock is None:
            checks["a client connects to COM2"] = False
            return
        sock.sendall(frame(b"?"))
        checks["stopped at main: a stop reply"] = (read_packet(sock, 10) or b"").startswith(b"T05")
        sock.sendall(frame(b"c"))
        checks["the program spins after continue"] = vm.wait_for("GdbThreads: spinning", 20)
        time.sleep(0.5)
        sock.sendall(b"\x03")
        reply = read_packet(sock, 10) or b""
        print(f"stop reply after Ctrl-C: {reply!r}")
        checks["Ctrl-C stops the spinning program: SIGINT stop reply"] = reply.startswith(b"T02")
        sock.sendall(frame(b"M%x,8:0000000000000000" % address))
        checks["g_spin cleared through the stub"] = read_packet(sock, 10) == b"OK"
        sock.sendall(frame(b"D"))
        checks["detach answered"] = read_packet(sock, 10) == b"OK"
        code = vm.wait(60)
        sock.close()
    finally:
        vm.stop()
    text = vm.text()
    print(text[-800:])
    checks["the program saw g_spin cleared and exited 0"] = "GdbThreads: gdb stopped the spin" in text and code == 1


def fault(toro, build_dir, elf, checks):
    vm, port = boot(build_dir, elf, "fault")
    try:
        checks["the kernel says it waits for gdb (fault)"] = waits_for_gdb(vm)
        gdb = ["gdb", "-nx", "-batch", elf, "-ex", "set pagination off", "-ex", "set confirm off",
               "-ex", f"target remote 127.0.0.1:{port}", "-ex", "continue", "-ex", "print p", "-ex", "continue"]
        r = harness.run(gdb, timeout=90)
        print(r.out)
        checks["gdb stops at the fault with SIGSEGV, at the faulting line"] = re.search(
            r"received signal SIGSEGV, Segmentation fault\.\n(\[\S.*\]\n)?Faults \(p=(p@entry=)?0x0\) at "
            r"\S*GdbThreads/main\.cpp:31", r.out or "") is not None
        checks["a local read at the fault (p = 0x0)"] = re.search(r"^\$1 = \(volatile LongInt \*\) 0x0$", r.out or "",
                                                                    re.M) is not None
        code = vm.wait(60)
    finally:
        vm.stop()
    text = vm.text()
    print(text[-1200:])
    checks["continue passed SIGSEGV on: the kernel's report, exit code 120"] = (
        "Page Fault" in text and "GdbThreads: the fault was skipped" not in text and code == (120 << 1 | 1))


def main():
    global LINK, MACHINE
    p = argparse.ArgumentParser()
    p.add_argument("toro")
    p.add_argument("build_dir")
    p.add_argument("elf")
    p.add_argument("--link", choices=["com2", "virtio"], default="com2")
    p.add_argument("--machine", default="pc")
    args = p.parse_args()
    toro, build_dir, elf, LINK, MACHINE = args.toro, args.build_dir, args.elf, args.link, args.machine
    if shutil.which("gdb") is None:
        print("FAIL: gdb is not installed")
        return 1
    checks = {}
    threads_with_gdb(toro, build_dir, elf, checks)
    fault(toro, build_dir, elf, checks)
    ctrl_c(toro, build_dir, elf, checks)
    return harness.report(checks)


if __name__ == "__main__":
    sys.exit(main())
