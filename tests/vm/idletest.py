#!/usr/bin/env python3
"""An idle VM costs the host almost no CPU: boot IdleSleep (every core sleeps SECONDS) with
-smp 2 and read the QEMU process's CPU time (/proc/PID/stat utime + stime) while the guest
sleeps; it must stay below 10 % of one core. Another program may say when its wait starts and
ends (InterCoreComm: two cores each waiting for the other's message).

Usage: idletest.py TORO BUILD_DIR ELF [SECONDS [APPEND START_LINE END_LINE]]
       (defaults: APPEND = SECONDS, "IdleSleep: sleeping", "IdleSleep: awake")"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def main():
    elf = sys.argv[3]
    seconds = int(sys.argv[4]) if len(sys.argv) > 4 else 10
    append, start, end = (sys.argv[5:8] if len(sys.argv) > 7 else (str(seconds), "IdleSleep: sleeping", "IdleSleep: awake"))
    # QEMU itself (not tools/toro), so that its process is the one measured.
    qemu = harness.Vm(["qemu-system-x86_64", "-M", "pc", "-bios", harness.QBOOT, "-accel", "tcg", "-smp", "2",
                       "-m", "128", "-kernel", elf, "-append", append] + harness.QEMU_CONSOLE)
    try:
        qemu.wait_for(start, seconds + 60)
        time.sleep(0.5)  # past the boot's own work
        cpu0, wall0 = harness.cpu_seconds(qemu.pid), time.monotonic()
        qemu.wait_for(end, seconds + 60)
        cpu1, wall1 = harness.cpu_seconds(qemu.pid), time.monotonic()
        status = qemu.wait(30)
    finally:
        qemu.stop()
    output = qemu.text()
    print(output)
    busy = (cpu1 - cpu0) / (wall1 - wall0) if wall1 > wall0 else 1.0
    print(f"idle VM: {cpu1 - cpu0:.2f} s of CPU in {wall1 - wall0:.2f} s = {busy * 100:.1f} % of one core")
    ok = (end in output and status == harness.qemu_status(0) and busy < 0.10 and
          wall1 - wall0 > seconds / 2)
    return harness.verdict(ok)


if __name__ == "__main__":
    sys.exit(main())
