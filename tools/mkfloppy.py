#!/usr/bin/env python3
"""Assemble the Bochs boot sector and write a 1.44 MB floppy image holding it.

Usage: mkfloppy.py bootsect.S floppy.img [-I include_dir]
The kernel itself is not on the floppy: Bochs preloads the flat image at 1 MiB
(`optramimage1`), and the boot sector only collects the E820 map and jumps there."""
import os
import subprocess
import sys
import tempfile


def main():
    src, out = sys.argv[1], sys.argv[2]
    includes = sys.argv[3:]
    with tempfile.TemporaryDirectory() as tmp:
        obj = os.path.join(tmp, "bootsect.o")
        binary = os.path.join(tmp, "bootsect.bin")
        subprocess.run(["cc", "-m32", "-c", "-o", obj, src] + includes, check=True)
        subprocess.run(["ld", "-m", "elf_i386", "-Ttext", "0x7c00", "--oformat", "binary",
                        "-e", "start", "-o", binary, obj], check=True)
        data = open(binary, "rb").read()
    if len(data) != 512 or data[510:512] != b"\x55\xaa":
        sys.exit(f"mkfloppy: boot sector is {len(data)} bytes or lacks its signature")
    with open(out, "wb") as f:
        f.write(data + bytes(1474560 - 512))


if __name__ == "__main__":
    main()
