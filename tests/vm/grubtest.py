#!/usr/bin/env python3
"""The multiboot2 entry: GRUB (grub-mkrescue ISO, `multiboot2 /boot/NAME.elf ARGS`) boots the
image in QEMU from a CD; the kernel must see multiboot2's memory map and command line.

Usage: grubtest.py TORO BUILD_DIR ELF"""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

GRUB_CFG = """set timeout=0
set default=0
menuentry "toro" {
  multiboot2 /boot/kernel.elf grubarg1,grubarg2
  boot
}
"""


def main():
    elf = sys.argv[3]
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, "iso")
        os.makedirs(os.path.join(root, "boot", "grub"))
        subprocess.run(["cp", elf, os.path.join(root, "boot", "kernel.elf")], check=True)
        with open(os.path.join(root, "boot", "grub", "grub.cfg"), "w") as f:
            f.write(GRUB_CFG)
        iso = os.path.join(tmp, "toro.iso")
        subprocess.run(["grub-mkrescue", "-o", iso, root], check=True, capture_output=True)
        r = harness.run(["qemu-system-x86_64", "-M", "pc", "-accel", "tcg", "-m", "128", "-cdrom", iso] +
                        harness.QEMU_CONSOLE, timeout=120, merge_stderr=False)
    out = r.out.replace("\r\n", "\n")
    print(out)
    return harness.report({
        "exit code 0 (QEMU status 1)": r.code == harness.qemu_status(0),
        "multiboot2 memory map": re.search(r"^entry\[\d+\]: \[0x0000000000100000:0x[0-9A-F]{16}\], usable$", out, re.M),
        "multiboot2 command line": "param[0]: grubarg1" in out and "param[1]: grubarg2" in out,
        "app ran": "Hello World, I am TORO !!!" in out,
        "clean exit": "System_Exit due to ExitCode: 0" in out,
    })


if __name__ == "__main__":
    sys.exit(main())
