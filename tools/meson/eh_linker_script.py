#!/usr/bin/env python3
"""linker.ld for programs built with C++ exceptions (tools/meson/program.meson): the same
layout, but .eh_frame_hdr, .eh_frame and .gcc_except_table are kept in the read-only segment
(after .rodata) instead of discarded, and __eh_frame_hdr_start marks the table libgcc_eh's
_Unwind_Find_FDE searches (src/kernel/exceptions.cpp)."""
import sys

ANCHOR = "  .rodata : { *(.rodata .rodata.*) } :rodata\n"
DISCARDED = "    *(.eh_frame) *(.eh_frame_hdr)\n"
KEPT = (
    "  .eh_frame_hdr : { __eh_frame_hdr_start = .; KEEP(*(.eh_frame_hdr)) } :rodata\n"
    "  .eh_frame : { KEEP(*(.eh_frame)) } :rodata\n"
    "  .gcc_except_table : { *(.gcc_except_table .gcc_except_table.*) } :rodata\n"
)


def main() -> int:
    src, dst = sys.argv[1], sys.argv[2]
    text = open(src, encoding="utf-8").read()
    if text.count(ANCHOR) != 1 or text.count(DISCARDED) != 1:
        sys.stderr.write(f"{src}: the .rodata or /DISCARD/ line this script edits has changed\n")
        return 1
    text = text.replace(ANCHOR, ANCHOR + KEPT).replace(DISCARDED, "")
    with open(dst, "w", encoding="utf-8") as out:
        out.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
