#!/usr/bin/env python3
"""HeldSend: a blocking socket's send is held until its thread gives up the CPU, and each way of
giving it up lets the bytes out while the connection stays open. Four connections in turn to
the guest's port 7 (forwarded from a free host port); on each the guest sends one line and then
holds the connection 5 s: spinning in SysThreadSwitch, in Sleep, or (the third) ending its
thread without closing; on the fourth it closes at once. Each line must arrive byte-exact within
2.5 s (a close would have sent it only after the hold), the fourth line in the same segment as
the FIN, in the frames QEMU recorded (filter-dump): that is what fails if sends are not held at
all, which the timings alone cannot tell. Then the VM must exit 0 with "all four done". Before that the guest
checks the scheduler's side (sched::run_before_yield's work runs on the thread that gives up the
CPU, for SysThreadSwitch, Sleep, sched::sleep_unless, BeginThread on the other core (two
vCPUs), SysSuspendThread and a thread's end; one slot per core), which
the network checks cannot tell apart: any thread's next yield would send the line too.

Usage: heldsendtest.py TORO BUILD_DIR ELF"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

MODES = ["switch", "sleep", "exit", "close"]
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
    options = ["--nic", "virtio", "--smp", "2", "--fwd", f"tcp:{port}:7", "--timeout", "120"]
    if os.environ.get("TORO_PCAP"):  # the harness records the frames there
        pcap = f"{os.environ['TORO_PCAP']}-HeldSend.pcap"
    else:
        pcap = os.path.join(build_dir, "heldsendtest.pcap")
        options += ["--pcap", pcap]
    if os.path.exists(pcap):
        os.unlink(pcap)
    vm = harness.Vm.toro(toro, build_dir, "HeldSend", elf, options)
    checks = {}
    held = []
    code = None
    try:
        listening = vm.wait_for("listening on port 7", 60)
        checks["the guest listens on port 7"] = listening
        for mode in MODES if listening else []:
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
    for how in ["SysThreadSwitch", "Sleep", "a wait on a flag (sched::sleep_unless)", "BeginThread on another core",
                "SysSuspendThread",
                "SysThreadSwitch, the slot taken once (same work again: yes; other work: no)", "a thread's end"]:
        line = f"HeldSend: run_before_yield before {how}: PASSED"
        checks[line] = line in text
    checks["all four threads done, exit code 0"] = code == 0 and "HeldSend: all four done" in text
    try:
        segments = [g for g in harness.tcp_segments(pcap) if g["sport"] == 7 and g["payload"]]
    except (OSError, ValueError) as e:
        print(f"no frames: {e}")
        segments = []
    for g in segments:
        print(f"guest segment: flags 0x{g['flags']:02x}, {g['payload']!r}")
    # A segment sent again (a retransmission, if slirp's ACK came late) is the same segment: the
    # checks are on each line's distinct sequence numbers, and every copy must look the same.
    def copies(mode):
        return [g for g in segments if g["payload"] == f"held-send {mode}\n".encode()]
    closing = copies("close")
    checks["close: the held line left in one segment with the FIN"] = \
        len({g["seq"] for g in closing}) == 1 and all(g["flags"] & 0x01 for g in closing)
    checks["switch, sleep, exit: each line in a segment of its own, without a FIN"] = all(
        len({g["seq"] for g in copies(m)}) == 1 and not any(g["flags"] & 0x01 for g in copies(m)) for m in MODES[:3])
    return harness.report(checks)


if __name__ == "__main__":
    sys.exit(main())
