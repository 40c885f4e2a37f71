#!/usr/bin/env python3
"""A thread blocked in a socket call waits without a clock. TcpEcho's accept() waits for a
connection (tcp), UdpEcho's SysSocketRecvFrom for a datagram (udp), or HelloWorldMicroservice's
service thread for its next event (service), while QEMU counts the local APIC's timer
interrupts (trace event apic_local_deliver) over SECONDS: fewer than 150 a second, and at least
one (a trace that records nothing, or a VM that stopped, counts none). Here it is 20-41 a second, from the 50 ms bounds of the packet thread's sleep and of the wait itself
(net/socket/socket.h, wait_for_network; a service's idle pass sleeps until its next DoTimeOut,
the same 50 ms at most), each waking the core once.

Until 2026-12-05 every blocked call looked again each millisecond. That was about 920 timer
interrupts a second, and 6-7 % of a host core for an idle StaticWebServer. An idle service
looked every 5 ms: about 200 a second.

Then 20 connections echo 1000 bytes each (or 20 datagrams come back, or 20 HTTP requests are
answered with HelloWorldMicroservice's exact bytes), one after the other. The
waiting thread is woken by the packet thread when one comes, not by its bound, so they take
less than 20 ms each on average (0.5-2.5 ms here; a wait left to its bound takes most of its
50 ms for each). TcpEcho then ends with exit code 0 after 20 connections, UdpEcho on "quit";
HelloWorldMicroservice must still be running.

Usage: blockwaittest.py TORO BUILD_DIR ELF tcp|udp|service [SECONDS]"""
import os
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

CONNECTIONS = 20
MAX_PER_SECOND = 150


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


def echo_datagram(port, seed):
    data = f"datagram {seed}".encode()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(data, ("127.0.0.1", port))
        try:
            return s.recvfrom(2048)[0] == data
        except OSError:
            return False


def hello(port, seed):
    try:
        return harness.http_get("127.0.0.1", port, f"/wait{seed}", 5) == harness.HELLO
    except OSError:
        return False


def trace_lines(path):
    with open(path, "rb") as f:
        return sum(1 for line in f if b"apic_local_deliver" in line)


def main():
    toro, build_dir, elf, proto = sys.argv[1:5]
    seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 3.0
    udp, service = proto == "udp", proto == "service"
    port = harness.free_port(udp=udp)
    trace = tempfile.NamedTemporaryFile(prefix="toro-blockwait-", suffix=".trace", delete=False).name
    # TcpEcho: static 10.0.2.15, ends after CONNECTIONS; UdpEcho: DHCP on the card named, ends on
    # "quit"; HelloWorldMicroservice: 10.0.2.15 on port 8080, runs until stopped.
    append, guest_port = {"tcp": (str(CONNECTIONS), 7), "udp": ("e1000", 7), "service": ("10.0.2.15,e1000", 8080)}[proto]
    cmd = harness.qemu_command(elf, build_dir, append=append) + [
        "-netdev", f"user,id=n0,hostfwd={'udp' if udp else 'tcp'}:127.0.0.1:{port}-:{guest_port}",
        "-device", "e1000,netdev=n0", "-trace", "apic_local_deliver", "-D", trace]
    vm = harness.Vm(cmd)
    checks = {}
    try:
        up = vm.wait_for(f"listening on port {guest_port}", 60)
        checks[f"the program listens on port {guest_port}"] = up
        if up:
            time.sleep(0.5)  # past the boot's own work (the card's link, DHCP is not used)
            before, t0 = trace_lines(trace), time.monotonic()
            time.sleep(seconds)
            timers, wall = trace_lines(trace) - before, time.monotonic() - t0
            waiting = "the service's thread" if service else "recvfrom()" if udp else "accept()"
            print(f"{waiting}: {timers} timer interrupts in {wall:.2f} s = {timers / wall:.0f} a second", flush=True)
            checks[f"fewer than {MAX_PER_SECOND} timer interrupts a second while blocked"] = \
                timers < MAX_PER_SECOND * wall
            # The packet thread sleeps 50 ms at most: a trace without them saw nothing at all.
            checks["the trace counted timer interrupts (at least one)"] = timers > 0
            start = time.monotonic()
            served = sum((hello if service else echo_datagram if udp else echo)(port, i) for i in range(CONNECTIONS))
            took = time.monotonic() - start
            what = "HTTP requests" if service else "datagrams" if udp else "connections"
            print(f"{served} of {CONNECTIONS} {what} answered in {took:.2f} s", flush=True)
            checks[f"{CONNECTIONS} {what} answered exactly"] = served == CONNECTIONS
            checks["the waiter woken by each, not by its bound (< 20 ms each)"] = took < CONNECTIONS * 0.02
            if service:
                checks["HelloWorldMicroservice still running"] = vm.running()
                return harness.report(checks)  # it serves until stopped (finally)
            if udp:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as q:
                    q.sendto(b"quit", ("127.0.0.1", port))
            code = vm.wait(60)
            done = "UdpEcho: 4 bytes" in vm.text() if udp else f"served {CONNECTIONS} connections" in vm.text()
            checks["the program ended, exit code 0"] = done and code == harness.qemu_status(0)
    finally:
        vm.stop()
        os.unlink(trace)
    print(vm.text()[-1500:])
    return harness.report(checks)


if __name__ == "__main__":
    sys.exit(main())
