#!/usr/bin/env python3
"""toro-ksyms: make the symbol table that a Toro image embeds for its fault backtraces.

Usage: ksyms.py IMAGE.elf OUT.o

Reads the function symbols of IMAGE.elf (a first link of the program) with `nm`, writes them in
the layout of src/lib/symbols.h, and assembles the blob into an object file whose section `.ksyms`
the linker script places after .bss, so that linking the program again with OUT.o moves no
other address. The table records the address of kernel_entry; the kernel ignores a table whose
anchor does not match (a stale OUT.o from another link).
Out-of-tree apps use it as `toro-ksyms` (see README, "Out of tree").
"""
import os
import struct
import subprocess
import sys
import tempfile


def read_symbols(elf):
    out = subprocess.run(["nm", "-n", "-S", "-C", "--defined-only", elf],
                         check=True, capture_output=True, text=True).stdout
    symbols = []
    anchor = None
    text_end = None
    for line in out.splitlines():
        parts = line.split(None, 1)
        if len(parts) < 2:
            continue
        address = int(parts[0], 16)
        rest = parts[1]
        size = 0
        fields = rest.split(None, 1)
        if len(fields[0]) > 1:  # a size column is present
            size = int(fields[0], 16)
            fields = fields[1].split(None, 1)
        if len(fields) < 2:
            continue
        kind, name = fields[0], fields[1]
        if name == "__text_end":
            text_end = address
        if kind not in "TtWw" or (size == 0 and name.startswith("__")):
            continue  # data, and linker-script markers such as __text_end
        if name == "kernel_entry":
            anchor = address
        symbols.append((address, size, name))
    if anchor is None or text_end is None:
        sys.exit(f"ksyms: {elf} has no kernel_entry or __text_end: is it linked with libtoro?")
    # A nameless sentinel at the end of the code: addresses past it belong to no function.
    symbols.append((text_end, 0, ""))
    return symbols, anchor


def build_blob(symbols, anchor):
    strings = bytearray()
    entries = bytearray()
    for address, size, name in symbols:
        offset = len(strings)
        strings += name.encode("utf-8", "replace") + b"\0"
        entries += struct.pack("<QII", address, min(size, 0xFFFFFFFF), offset)
    header = b"KSYM" + struct.pack("<III", 1, len(symbols), len(strings)) + struct.pack("<Q", anchor)
    return bytes(header + entries + strings)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    elf, out = sys.argv[1], sys.argv[2]
    symbols, anchor = read_symbols(elf)
    blob = build_blob(symbols, anchor)
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "ksyms.bin")
        asm = os.path.join(tmp, "ksyms.s")
        with open(raw, "wb") as f:
            f.write(blob)
        with open(asm, "w") as f:
            f.write('.section .ksyms, "a"\n.balign 8\n.incbin "%s"\n'
                    '.section .note.GNU-stack, "", @progbits\n' % raw)
        subprocess.run(["as", "--64", "-o", out, asm], check=True)

if __name__ == "__main__":
    main()
