#!/usr/bin/env python3
"""Make a Bochs hard-disk image: the boot sector, then the flat kernel image.

Usage: mkbochsdisk.py bootsect.bin NAME.bin NAME.bochs.img
The kernel's sector count goes into the boot sector at offset 0x1F8 (`kernel_sectors` in
src/arch/x86_64/bochs/bootsect.S). The image is padded to whole cylinders of 16 heads x 63
sectors, the geometry tools/toro gives Bochs."""
import struct
import sys

SECTOR = 512
CYLINDER = 16 * 63 * SECTOR


def main():
    bootsect, kernel, out = sys.argv[1:4]
    boot = bytearray(open(bootsect, "rb").read())
    image = open(kernel, "rb").read()
    sectors = (len(image) + SECTOR - 1) // SECTOR
    boot[0x1F8:0x1FC] = struct.pack("<I", sectors)
    data = bytes(boot) + image + bytes(sectors * SECTOR - len(image))
    data += bytes(-len(data) % CYLINDER)
    with open(out, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main()
