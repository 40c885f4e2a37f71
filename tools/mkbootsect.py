#!/usr/bin/env python3
"""Assemble the Bochs boot sector into a raw 512-byte sector.

Usage: mkbootsect.py bootsect.S bootsect.bin [-I include_dir]"""
import os
import subprocess
import sys
import tempfile


def main():
    src, out = sys.argv[1], sys.argv[2]
    includes = sys.argv[3:]
    with tempfile.TemporaryDirectory() as tmp:
        obj = os.path.join(tmp, "bootsect.o")
        subprocess.run(["cc", "-m32", "-c", "-o", obj, src] + includes, check=True)
        subprocess.run(["ld", "-m", "elf_i386", "-Ttext", "0x7c00", "--oformat", "binary",
                        "-e", "start", "-o", out, obj], check=True)
    data = open(out, "rb").read()
    if len(data) != 512 or data[510:512] != b"\x55\xaa":
        sys.exit(f"mkbootsect: boot sector is {len(data)} bytes or lacks its signature")


if __name__ == "__main__":
    main()
