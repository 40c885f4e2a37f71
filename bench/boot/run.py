#!/usr/bin/env python3
"""bench/boot: Toro's boot-time benchmarks (toro-spec §3.3 ProfileBootTime / ProfileKernelInitTime,
§4.3), QEMU's wall time from its start to its exit, beside Toro's published limits and a baseline
measured in the same run.

  python3 bench/boot/run.py [--build-dir build] [--runs 7] [--accel tcg|kvm]

Images (each booted by QEMU -kernel as tools/toro run builds the command: -nic none, 128 MiB,
1 vCPU, isa-debug-exit):
  trivial      the baseline: a 42-byte multiboot image made here whose first instruction writes
               exit code 0 to isa-debug-exit; QEMU + firmware + loading, no kernel at all
  BootProbe    bench/vm/BootProbe: our kernel, stopped at the first line of kernel_entry (Toro's
               -dProfileBootTime: "shutdown at the very start of KernelStart")
  EmptyProgram bench/vm/EmptyProgram: `int main() { return 0; }`, the whole kernel init and exit
               (Toro's ProfileKernelInitTime with -dShutdownWhenFinished)
Machines: pc with qboot, pc with SeaBIOS, microvm (its own qboot-based firmware). Each cell is the
median of --runs runs (min and max beside it). Toro's limits are gates of its repository, not
measurements, and were taken under KVM; ours are TCG unless --accel kvm. It prints numbers; it is
not a pass/fail test.
"""
import argparse
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "vm"))
import harness  # noqa: E402

# Toro's gates (toro-spec §3.3 and §4.3), ms: [2019] BIOS+multiboot whole QEMU run and with qboot;
# [HEAD] microvm PVH boot-to-KernelStart and full init.
TORO_LIMITS = {
    ("BootProbe", "pc-seabios"): 459, ("BootProbe", "pc-qboot"): 135, ("BootProbe", "microvm"): 75,
    ("EmptyProgram", "pc-seabios"): 1230, ("EmptyProgram", "pc-qboot"): 900, ("EmptyProgram", "microvm"): 180,
}
MACHINES = [("pc-qboot", "pc", "qboot"), ("pc-seabios", "pc", "seabios"), ("microvm", "microvm", "qboot")]


def trivial_image(path):
    """A multiboot (v1) image with the a.out kludge (flags bit 16: load addresses in the header),
    loaded at 1 MiB; its code: mov dx, 0xf4; xor eax, eax; out dx, eax; hlt; jmp $-1."""
    load = 0x100000
    code = bytes([0x66, 0xBA, 0xF4, 0x00, 0x31, 0xC0, 0xEF, 0xF4, 0xEB, 0xFD])
    header_size = 32
    flags = 1 << 16
    magic = 0x1BADB002
    checksum = (-(magic + flags)) & 0xFFFFFFFF
    end = load + header_size + len(code)
    header = struct.pack("<8I", magic, flags, checksum, load, load, end, end, load + header_size)
    with open(path, "wb") as f:
        f.write(header + code)


def command(toro_mod, image, machine, bios, accel):
    ns = argparse.Namespace(machine=machine, bios=bios, accel=accel, smp=1, mem=128, append="", nic="none",
                            net="user", fwd=[], build_dir=None, no_build=True, debug_log=None)
    return toro_mod.qemu_command(ns, image)


def time_run(cmd):
    """Wall seconds from starting QEMU to its exit, and whether it exited with guest code 0."""
    start = time.monotonic()
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=120)
    elapsed = time.monotonic() - start
    return elapsed, r.returncode == harness.qemu_status(0), r.stderr.decode(errors="replace")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--accel", choices=["tcg", "kvm"], default="tcg")
    args = p.parse_args()
    toro_mod = harness.load_toro()
    images = {}
    with tempfile.TemporaryDirectory(prefix="toro-bootbench-") as tmp:
        images["trivial"] = os.path.join(tmp, "trivial.img")
        trivial_image(images["trivial"])
        for name in ("BootProbe", "EmptyProgram"):
            images[name] = os.path.join(os.path.abspath(args.build_dir), "bench", "vm", name, name + ".elf")
            if not os.path.isfile(images[name]):
                sys.exit(f"bench/boot: {images[name]} is missing: ninja -C {args.build_dir}")
        print(f"bench/boot: QEMU start to exit, {args.accel}, median of {args.runs} runs (min..max), ms")
        print(f"{'image':<13} {'machine':<11} {'median':>7} {'min..max':>13}  {'Toro limit':>10}")
        for name in ("trivial", "BootProbe", "EmptyProgram"):
            for label, machine, bios in MACHINES:
                cmd = command(toro_mod, images[name], machine, bios, args.accel)
                times, failed = [], ""
                for _ in range(args.runs):
                    t, ok, err = time_run(cmd)
                    if not ok:
                        failed = err.strip().splitlines()[-1] if err.strip() else "no exit code 0"
                        break
                    times.append(t * 1000)
                limit = TORO_LIMITS.get((name, label))
                limit_text = f"<= {limit}" if limit else "-"
                if failed:
                    print(f"{name:<13} {label:<11} {'failed':>7} {'':>13}  {limit_text:>10}  ({failed})")
                    continue
                print(f"{name:<13} {label:<11} {statistics.median(times):7.0f} "
                      f"{min(times):6.0f}..{max(times):<6.0f}  {limit_text:>10}", flush=True)
        print("$ " + " ".join(command(toro_mod, "IMAGE", "pc", "qboot", args.accel)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
