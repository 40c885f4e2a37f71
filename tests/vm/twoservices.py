#!/usr/bin/env python3
"""Two services on two cores, each with its own card: boot tests/vm/TwoServices with -smp 2
and two cards on two QEMU user networks (host ports A and B forwarded to each guest's 8080),
then require that every answer through card A comes from Core#0 and through card B from Core#1,
with each core's request count running 1..N without gaps: one core's requests never reach
the other's card, service or data. Also bursts to both cards at once.

On q35, where each slot has its own interrupt input (on `pc` the PIIX routes both cards' INTA
to the same IRQ and the two packet threads poll instead).

Usage: twoservices.py TORO BUILD_DIR ELF NIC(e1000|virtio)"""
import concurrent.futures
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def main():
    toro, build_dir, elf, nic = sys.argv[1:5]
    card = "e1000" if nic == "e1000" else "virtionet"
    ports = [harness.free_port(), harness.free_port()]
    cmd = harness.qemu_command(elf, build_dir, machine="q35", smp=2, append=card, toro=toro)
    device = "e1000" if nic == "e1000" else "virtio-net-pci"
    for k, port in enumerate(ports):
        cmd += ["-netdev", f"user,id=n{k},hostfwd=tcp:127.0.0.1:{port}-:8080", "-device", f"{device},netdev=n{k}"]
    shim = os.path.join(build_dir, "libslirp-backlog.so")
    if os.path.isfile(shim):
        cmd = ["env", f"LD_PRELOAD={shim}"] + cmd
    vm = harness.Vm(cmd)
    checks = {}
    answers = {0: [], 1: []}
    try:
        checks["both services up"] = vm.wait_for("TwoServices: ready", 60)

        def get(card_index, n):
            try:
                return card_index, harness.http_get("127.0.0.1", ports[card_index], f"/{n}", 30)
            except OSError as e:
                return card_index, f"{type(e).__name__}: {e}".encode()

        for n in range(10):  # sequential, alternating cards
            for k in (0, 1):
                answers[k].append(get(k, n)[1])
        with concurrent.futures.ThreadPoolExecutor(max_workers=60) as pool:  # both at once
            for k, body in pool.map(lambda j: get(j % 3 != 0 and 1 or 0, j), range(90)):
                answers[k].append(body)
        for k in (0, 1):
            counts = []
            other = 0
            for body in answers[k]:
                m = re.search(rb"Core#(\d) request #(\d+)\r\n$", body)
                if m is None or int(m.group(1)) != k:
                    other += 1
                    print(f"  card {k}: {body!r}")
                else:
                    counts.append(int(m.group(2)))
            print(f"card {k}: {len(answers[k])} answers, from Core#{k}: {len(counts)}", flush=True)
            checks[f"card {k}: every answer from Core#{k}"] = other == 0 and len(counts) == len(answers[k])
            checks[f"card {k}: Core#{k}'s count runs 1..{len(answers[k])}"] = sorted(counts) == list(
                range(1, len(answers[k]) + 1))
    finally:
        vm.kill()
    text = vm.text()
    print(text[-2500:])
    checks["each card's interrupt on its own core"] = all(
        re.search(rf"^{card}: (interrupt \d+|MSI-X) routed to Core#{c}\r?$", text, re.M) and
        re.search(rf"^{card}: first interrupt on Core#{c}\r?$", text, re.M) for c in (0, 1))
    checks["no fault"] = "killed by the exception" not in text and "PANIC" not in text.upper()
    return harness.report(checks)


if __name__ == "__main__":
    sys.exit(main())
