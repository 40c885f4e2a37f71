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
import re
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
        symbols.append((address, size, name, kind in "Ww" and size == 0))
    # A size-0 weak alias of another function (isr.S's nmi_common) adds no name a backtrace needs.
    named = {a for a, _, _, alias in symbols if not alias}
    symbols = [(a, s, n) for a, s, n, alias in symbols if not (alias and a in named)]
    if anchor is None or text_end is None:
        sys.exit(f"ksyms: {elf} has no kernel_entry or __text_end: is it linked with libtoro?")
    # Only code: libgcc_eh's weak `_.stapsdt.base` (a probe anchor in .rodata) is not a function.
    symbols = [s for s in symbols if s[0] < text_end]
    # A nameless sentinel at the end of the code: addresses past it belong to no function.
    symbols.append((text_end, 0, ""))
    return symbols, anchor


MAX_TOKENS = 31  # bytes 1..31 in a name stand for dictionary strings (src/lib/symbols.h)
MAX_SHARED = 127  # a coded name shares at most this many leading bytes with the previous one


def short_name(name):
    """`name` without its parameter list ("net::tcp::Tcp::tick()" -> "net::tcp::Tcp::tick"), a
    clone suffix kept ("Divide [clone .isra.0]"); the name itself where it has none (data, an
    operator)."""
    clone = ""
    m = re.search(r"( \[clone [^\]]*\])+$", name)
    s = name
    if m:
        clone, s = s[m.start():], s[:m.start()]
    for qualifier in (" const", " volatile", " &&", " &"):
        if s.endswith(qualifier):
            s = s[:-len(qualifier)]
    if not s.endswith(")"):
        return name
    depth = 0
    for i in range(len(s) - 1, -1, -1):
        if s[i] == ")":
            depth += 1
        elif s[i] == "(":
            depth -= 1
            if depth == 0:
                break
    else:
        return name
    base = s[:i]
    if not base or base.endswith("operator"):
        return name
    return base + clone


def shorten(symbols):
    """Names without parameter lists where that leaves them unique (overloads keep theirs): a
    backtrace needs the function, gdb has the rest, and the table shrinks by a third."""
    counts = {}
    for _, _, n in symbols:
        counts[short_name(n)] = counts.get(short_name(n), 0) + 1
    return [(a, size, short_name(n) if counts[short_name(n)] == 1 else n) for a, size, n in symbols]


def boundaries(name):
    """Where a dictionary string may start or end in a demangled name: its ends, and around
    "::", "(", ")", ",", " ", "<", ">", "&", "*"."""
    cuts = {0, len(name)}
    for i, c in enumerate(name):
        if c in "(),<> &*":
            cuts.add(i)
            cuts.add(i + 1)
        elif name.startswith("::", i):
            cuts.add(i + 2)
    return sorted(cuts)


def choose_tokens(names):
    """Greedily, up to MAX_TOKENS strings that save the most bytes when each occurrence becomes
    one byte ("net::tcp::", "unsigned long", ...). Returns them and the names so coded."""
    coded = [list(n) for n in names]  # a name as a list of single characters and token bytes
    tokens = []
    for _ in range(MAX_TOKENS):
        counts = {}
        for parts in coded:
            text = "".join(p if len(p) == 1 and ord(p) > MAX_TOKENS else "\0" for p in parts)
            cuts = boundaries(text)
            for a in range(len(cuts)):
                for b in range(a + 1, min(a + 7, len(cuts))):
                    sub = text[cuts[a]:cuts[b]]
                    if 4 <= len(sub) <= 48 and "\0" not in sub:
                        counts[sub] = counts.get(sub, 0) + 1
        best, gain = None, 0
        for sub, n in counts.items():
            g = n * (len(sub) - 1) - (len(sub) + 1)
            if g > gain:
                best, gain = sub, g
        if best is None:
            break
        tokens.append(best)
        code = chr(len(tokens))
        for parts in coded:
            text = "".join(parts)
            if best in text:
                out, i = [], 0
                while i < len(parts):
                    if "".join(parts[i:i + len(best)]) == best:
                        out.append(code)
                        i += len(best)
                    else:
                        out.append(parts[i])
                        i += 1
                parts[:] = out
    return tokens, ["".join(parts) for parts in coded]


def uleb128(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def build_blob(symbols, anchor):
    names = [name for _, _, name in symbols]
    if any(ord(c) <= MAX_TOKENS for n in names for c in n):
        sys.exit("ksyms: a symbol name holds a control character")
    tokens, coded = choose_tokens(names)
    dictionary = b"".join(t.encode() + b"\0" for t in tokens)
    dictionary += b"\0" * (-len(dictionary) % 4)
    base = symbols[0][0] if symbols else 0
    records = bytearray()
    previous = base
    previous_name = b""
    for i, ((address, size, _), name) in enumerate(zip(symbols, coded)):
        if i + 1 < len(symbols) and address + size == symbols[i + 1][0]:
            size = 0  # ends where the next begins: what size 0 means
        raw = name.encode("utf-8", "replace")
        shared = 0
        limit = min(len(raw), len(previous_name), MAX_SHARED)
        while shared < limit and raw[shared] == previous_name[shared]:
            shared += 1
        head = bytes([shared | (0x80 if size else 0)]) + (uleb128(size) if size else b"")
        records += uleb128(address - previous) + head + raw[shared:] + b"\0"
        previous = address
        previous_name = raw
    header = b"KSYM" + struct.pack("<III", 5, len(symbols), len(records)) + struct.pack("<QQII", anchor, base,
                                                                                         len(dictionary), 0)
    return bytes(header + dictionary + records)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    elf, out = sys.argv[1], sys.argv[2]
    symbols, anchor = read_symbols(elf)
    blob = build_blob(shorten(symbols), anchor)
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
