#!/usr/bin/env python3
"""An idle VM costs the host almost no CPU: boot IdleSleep (every core sleeps SECONDS) with
-smp 2 and read the QEMU process's CPU time (/proc/PID/stat utime + stime) while the guest
sleeps; it must stay below 10 % of one core.

Usage: idletest.py ELF [SECONDS]"""
import os
import subprocess
import sys
import time


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def main():
    elf = sys.argv[1]
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    qemu = subprocess.Popen(["qemu-system-x86_64", "-M", "pc", "-bios", "/usr/share/qemu/qboot.rom", "-accel", "tcg",
                             "-smp", "2", "-m", "128", "-kernel", elf, "-append", str(seconds), "-display", "none",
                             "-monitor", "none", "-serial", "stdio", "-no-reboot",
                             "-device", "isa-debug-exit,iobase=0xf4,iosize=4"],
                            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    output = b""
    try:
        while b"IdleSleep: sleeping" not in output:
            line = qemu.stdout.readline()
            if not line:
                break
            output += line
        time.sleep(0.5)  # past the boot's own work
        cpu0, wall0 = cpu_seconds(qemu.pid), time.monotonic()
        while b"IdleSleep: awake" not in output:
            line = qemu.stdout.readline()
            if not line:
                break
            output += line
            if b"IdleSleep: awake" in line:
                break
        cpu1, wall1 = cpu_seconds(qemu.pid), time.monotonic()
        rest, _ = qemu.communicate(timeout=30)
        output += rest
    finally:
        if qemu.poll() is None:
            qemu.kill()
    print(output.decode(errors="replace"))
    busy = (cpu1 - cpu0) / (wall1 - wall0) if wall1 > wall0 else 1.0
    print(f"idle VM: {cpu1 - cpu0:.2f} s of CPU in {wall1 - wall0:.2f} s = {busy * 100:.1f} % of one core")
    ok = b"IdleSleep: awake" in output and qemu.returncode == 1 and busy < 0.10 and wall1 - wall0 > seconds / 2
    print("PASS" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
