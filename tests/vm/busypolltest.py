#!/usr/bin/env python3
"""busypoll= (issue 16): the packet thread polls the card for a while after each frame, the card's
receive interrupts left off, so a client's next frame costs no interrupt. Three boots of
HelloWorldMicroservice on virtio-net with netstat=1 (whose lines count the card's interrupts),
the same 100 sequential requests from the host against each, every answer byte-exact:

- busypoll=abc and busypoll=100001 (not a number; over the 100 ms limit): the console says so
  and the interface does not poll; with abc the requests take at least one interrupt each in
  two (each one's SYN finds the core asleep);
- busypoll=100000: the console names the window, and the 100 requests take fewer than a tenth
  as many interrupts; 0.5 s after the last one the VM is idle again (QEMU under 30 % of a host
  core over 3 s: the polling ends with the window, it does not spin on).

(e1000 keeps its receive interrupts on while the packet thread polls: docs/ARCHITECTURE.md.)

Usage: busypolltest.py TORO BUILD_DIR ELF [virtio|virtio-modern]"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

REQUESTS = 100
INTERRUPTS = re.compile(r"netstat: Core#0 .*; interrupts (\d+)")


def interrupts(vm):
    """The card's interrupts so far, from the next netstat line (netstat=1: within ~1 s)."""
    seen = len(INTERRUPTS.findall(vm.text()))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = INTERRUPTS.findall(vm.text())
        if len(found) > seen:
            return int(found[-1])
        time.sleep(0.05)
    return None


def qemu_cpu_seconds(pid):
    """CPU seconds of the QEMU process that tools/toro (process `pid`) runs; None if there is none
    (so the idle check cannot pass on a QEMU it did not find)."""
    for child in open(f"/proc/{pid}/task/{pid}/children").read().split():
        try:
            with open(f"/proc/{child}/comm") as f:
                if f.read().startswith("qemu"):
                    return harness.cpu_seconds(child)
        except OSError:
            continue
    return None


def boot(toro, build_dir, elf, nic, setting, checks, label):
    """One boot with busypoll=`setting`: (interrupts taken by the requests, idle CPU share, console)."""
    port = harness.free_port()
    vm = harness.Vm.toro(toro, build_dir, "HelloWorldMicroservice", elf,
                         ["--nic", nic, "--fwd", f"tcp:{port}:8080", "--timeout", "150", "--append",
                          f"10.0.2.15,virtionet,netstat=1,busypoll={setting}"])
    taken, idle = None, None
    try:
        up = vm.wait_for("listening on port 8080", 90)
        checks[f"{label}: the service answers"] = up and harness.first_hello(port, "/warm", 30) == harness.HELLO
        before = interrupts(vm)
        answers = []
        for i in range(REQUESTS):
            try:
                answers.append(harness.http_get("127.0.0.1", port, f"/seq{i}", 30))
            except OSError as e:
                answers.append(repr(e).encode())
        after = interrupts(vm)
        checks[f"{label}: {REQUESTS} sequential requests, exact bytes"] = all(a == harness.HELLO for a in answers)
        if before is not None and after is not None:
            taken = after - before
        time.sleep(0.5)
        cpu0, wall0 = qemu_cpu_seconds(vm.proc.pid), time.monotonic()
        time.sleep(3)
        cpu1, wall1 = qemu_cpu_seconds(vm.proc.pid), time.monotonic()
        idle = (cpu1 - cpu0) / (wall1 - wall0) if cpu0 is not None and cpu1 is not None else None
    finally:
        vm.stop()
    text = vm.text()
    print(text[-2500:])
    print(f"{label}: the {REQUESTS} requests took {taken} interrupts; idle afterwards: "
          f"{idle * 100 if idle is not None else -1:.1f} % of a host core", flush=True)
    checks[f"{label}: no fault"] = "killed by the exception" not in text and "PANIC" not in text.upper()
    return taken, idle, text


def main():
    toro, build_dir, elf = sys.argv[1:4]
    nic = sys.argv[4] if len(sys.argv) > 4 else "virtio"
    checks = {}
    taken, _, text = boot(toro, build_dir, elf, nic, "abc", checks, "busypoll=abc")
    checks["busypoll=abc: refused on the console, no polling"] = \
        "busypoll=abc is not 0 to 100000 us; not polling" in text and "busy polling" not in text
    checks[f"busypoll=abc: at least {REQUESTS // 2} interrupts for {REQUESTS} requests ({taken})"] = \
        taken is not None and taken >= REQUESTS // 2
    _, _, text = boot(toro, build_dir, elf, nic, "100001", checks, "busypoll=100001")
    checks["busypoll=100001: over the limit, refused on the console, no polling"] = \
        "busypoll=100001 is not 0 to 100000 us; not polling" in text and "busy polling" not in text
    taken, idle, text = boot(toro, build_dir, elf, nic, "100000", checks, "busypoll=100000")
    checks["busypoll=100000: the console names the window"] = \
        re.search(r"virtionet\S*: busy polling 100000 us after each frame", text) is not None
    checks[f"busypoll=100000: fewer than {REQUESTS // 10} interrupts for {REQUESTS} requests ({taken})"] = \
        taken is not None and taken < REQUESTS // 10
    checks[f"busypoll=100000: idle 0.5 s after the load (QEMU below 30 % of a core)"] = idle is not None and idle < 0.30
    return harness.report(checks)


if __name__ == "__main__":
    sys.exit(main())
