#!/usr/bin/env python3
"""A thread blocked in a socket call waits without a clock. TcpEcho's accept() waits for a
connection while QEMU counts the local APIC's timer interrupts (trace event
apic_local_deliver) over SECONDS: fewer than 50 a second. Here it is about 20 a second, from
the 50 ms bounds of the packet thread's sleep and of the wait itself (net/socket/socket.h,
wait_for_network).

Until 2026-12-05 every blocked call looked again each millisecond. That was about 920 timer
interrupts a second, and 6-7 % of a host core for an idle StaticWebServer.

Then 20 connections echo 1000 bytes each, one after the other. accept() is woken by the packet
thread when a connection comes, not by its bound, so they take less than 20 ms each on average
(about 3 ms here; a wait left to its bound takes most of its 50 ms for each). The guest then
reports them served and exits 0.

Usage: blockwaittest.py TORO BUILD_DIR TCPECHO_ELF [SECONDS]"""
import os
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

CONNECTIONS = 20
MAX_PER_SECOND = 50


def echo(port, seed):
    data = bytes((seed * 7 + i) % 251 for i in range(1000))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        got = b""
        while len(got) < len(data):
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
        s.shutdown(socket.SHUT_WR)
        rest = s.recv(10)
    return got == data and rest == b""


def trace_lines(path):
    with open(path, "rb") as f:
        return sum(1 for line in f if b"apic_local_deliver" in line)


def main():
    toro, build_dir, elf = sys.argv[1:4]
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 3.0
    port = harness.free_port()
    trace = tempfile.NamedTemporaryFile(prefix="toro-blockwait-", suffix=".trace", delete=False).name
    cmd = harness.qemu_command(elf, build_dir, append=str(CONNECTIONS)) + [
        "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:7", "-device", "e1000,netdev=n0",
        "-trace", "apic_local_deliver", "-D", trace]
    vm = harness.Vm(cmd)
    checks = {}
    try:
        up = vm.wait_for("listening on port 7", 60)
        checks["TcpEcho listens"] = up
        if up:
            time.sleep(0.5)  # past the boot's own work (the card's link, DHCP is not used)
            before, t0 = trace_lines(trace), time.monotonic()
            time.sleep(seconds)
            timers, wall = trace_lines(trace) - before, time.monotonic() - t0
            print(f"blocked in accept(): {timers} timer interrupts in {wall:.2f} s = {timers / wall:.0f} a second",
                  flush=True)
            checks[f"fewer than {MAX_PER_SECOND} timer interrupts a second while blocked"] = \
                timers < MAX_PER_SECOND * wall
            start = time.monotonic()
            served = sum(echo(port, i) for i in range(CONNECTIONS))
            took = time.monotonic() - start
            print(f"{served} of {CONNECTIONS} connections echoed in {took:.2f} s", flush=True)
            checks[f"{CONNECTIONS} connections echoed exactly"] = served == CONNECTIONS
            checks["accept() woken by the connection, not by its bound (< 20 ms each)"] = took < CONNECTIONS * 0.02
            code = vm.wait(60)
            checks[f"served {CONNECTIONS} connections, exit code 0"] = \
                f"served {CONNECTIONS} connections" in vm.text() and code == harness.qemu_status(0)
    finally:
        vm.stop()
        os.unlink(trace)
    print(vm.text()[-1500:])
    return harness.report(checks)


if __name__ == "__main__":
    sys.exit(main())
